package web

import (
	"cmp"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/daect/expectct/internal/store"
)

// figuresPage is the programme's figures as a table and a bar chart drawn
// on the server (SVG): no script is needed to read them.
type figuresPage struct {
	Figures      store.Figures
	Statuses     []countRow
	Countries    []countRow
	Bars         []bar
	ChartHeight  int
	OpinionDays  string
	DecisionDays string
}

type countRow struct {
	Key   string
	Count int
}

// bar is one year's requested and granted amounts, in chart units.
type bar struct {
	Year                 int
	Y                    int
	RequestedW, GrantedW int
	Requested, Granted   int64
}

const chartWidth = 600

func newFiguresPage(f store.Figures, lang string) figuresPage {
	fp := figuresPage{Figures: f, OpinionDays: days(f.MedianToOpinion, f.Opinions, lang), DecisionDays: days(f.MedianToDecision, f.Decisions, lang)}
	fp.Statuses = sortedCounts(f.ByStatus)
	fp.Countries = sortedCounts(f.ByCountry)
	var most int64 = 1
	for _, y := range f.ByYear {
		most = max(most, y.RequestedCents, y.GrantedCents)
	}
	for i, y := range f.ByYear {
		fp.Bars = append(fp.Bars, bar{Year: y.Year, Y: i * 56, Requested: y.RequestedCents, Granted: y.GrantedCents,
			RequestedW: int(y.RequestedCents * chartWidth / most), GrantedW: int(y.GrantedCents * chartWidth / most)})
	}
	fp.ChartHeight = max(56, len(fp.Bars)*56)
	return fp
}

func sortedCounts(m map[string]int) []countRow {
	var out []countRow
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, countRow{k, m[k]})
	}
	slices.SortStableFunc(out, func(a, b countRow) int { return cmp.Compare(b.Count, a.Count) })
	return out
}

// days writes a median in days with one decimal; "—" when nothing was
// measured.
func days(d time.Duration, n int, lang string) string {
	if n == 0 {
		return "—"
	}
	s := strconv.FormatFloat(d.Hours()/24, 'f', 1, 64)
	if lang != "en" {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s + " " + tr(lang, "days")
}
