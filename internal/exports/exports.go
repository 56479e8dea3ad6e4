// Package exports writes applications as files for DAECT's staff and
// auditors: one row per application, from the read model and the journal
// (amounts, the date of each step, the time spent in each phase), as CSV
// for French spreadsheet software or as JSON lines. Rows are written as the
// database cursor yields them, so an export of any size holds one
// application in memory.
package exports

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/daect/expectct/internal/dossier"
	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/store"
)

// Format is the file format of an export.
type Format string

// The formats.
const (
	CSV   Format = "csv"
	JSONL Format = "jsonl"
)

// ContentType is the media type of the format.
func (f Format) ContentType() string {
	if f == JSONL {
		return "application/x-ndjson"
	}
	return "text/csv; charset=utf-8"
}

// FileName is the name an export made at now is saved under, dated in
// Paris: expectct-dossiers-2026-12-04.csv.
func (f Format) FileName(now time.Time) string {
	return "expectct-dossiers-" + now.In(lifecycle.Paris).Format("2006-01-02") + "." + string(f)
}

// Filter selects the applications of an export; zero values select all.
type Filter struct {
	Status  string
	Country string
	// Year is the calendar year of submission, in Paris.
	Year  int
	SIREN string
}

// FirstYear is the first year an application can have been submitted: the
// programme started in July 2020.
const FirstYear = 2020

// Params are the query parameters an export takes.
var Params = []string{"format", "status", "country", "year", "siren"}

// Statuses are the values the status filter accepts: every status of the
// lifecycle.
func Statuses() []string {
	var out []string
	for _, s := range lifecycle.AllStatuses {
		out = append(out, string(s))
	}
	return out
}

// ParseQuery reads and checks an export's parameters (Params): the format
// (csv by default) and the filters. Every problem is reported at once, each
// naming its parameter and rule, in French and English, as a
// *dossier.ValidationError of kind invalid. now bounds the year.
func ParseQuery(q url.Values, now time.Time) (Format, Filter, error) {
	var bad []dossier.FieldError
	add := func(field, rule, fr, en string) {
		bad = append(bad, dossier.FieldError{Field: field, Rule: rule, MessageFR: fr, MessageEN: en})
	}
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		switch {
		case !slices.Contains(Params, k):
			add(k, "unknown_parameter",
				fmt.Sprintf("Paramètre inconnu « %s » : les paramètres possibles sont %s", k, strings.Join(Params, ", ")),
				fmt.Sprintf("Unknown parameter %q: the parameters are %s", k, strings.Join(Params, ", ")))
		case len(q[k]) > 1:
			add(k, "repeated", fmt.Sprintf("Le paramètre %s est donné %d fois : une fois au plus", k, len(q[k])),
				fmt.Sprintf("The parameter %s is given %d times: once at most", k, len(q[k])))
		}
	}
	format := Format(strings.ToLower(q.Get("format")))
	if format == "" {
		format = CSV
	}
	if format != CSV && format != JSONL {
		add("format", "oneof", fmt.Sprintf("format doit être csv ou jsonl, pas « %s »", q.Get("format")),
			fmt.Sprintf("format must be csv or jsonl, not %q", q.Get("format")))
	}
	f := Filter{Status: q.Get("status"), Country: strings.ToUpper(q.Get("country")), SIREN: q.Get("siren")}
	if statuses := Statuses(); f.Status != "" && !slices.Contains(statuses, f.Status) {
		add("status", "oneof", fmt.Sprintf("Statut inconnu « %s » : status doit être l'un de %s", f.Status, strings.Join(statuses, ", ")),
			fmt.Sprintf("Unknown status %q: status must be one of %s", f.Status, strings.Join(statuses, ", ")))
	}
	if f.Country != "" {
		if err := dossier.ValidateCountry(f.Country); err != nil {
			add("country", "iso3166_1_alpha2",
				fmt.Sprintf("« %s » n'est pas un code pays ISO 3166-1 alpha-2 (deux lettres, par exemple SN)", q.Get("country")),
				fmt.Sprintf("%q is not an ISO 3166-1 alpha-2 country code (two letters, such as SN)", q.Get("country")))
		}
	}
	if f.SIREN != "" && !dossier.ValidSIREN(f.SIREN) {
		add("siren", "siren", "Le SIREN doit comporter 9 chiffres sans espace, dont une clé de contrôle valide (algorithme de Luhn)",
			"The SIREN must be 9 digits without spaces, ending with a valid check digit (Luhn algorithm)")
	}
	if y := q.Get("year"); y != "" {
		last := now.In(lifecycle.Paris).Year()
		n, err := strconv.Atoi(y)
		switch {
		case err != nil:
			add("year", "integer", fmt.Sprintf("year doit être une année en chiffres, par exemple %d, pas « %s »", last, y),
				fmt.Sprintf("year must be a year in digits, such as %d, not %q", last, y))
		case n < FirstYear || n > last:
			add("year", "range", fmt.Sprintf("year doit être comprise entre %d (début du programme) et %d", FirstYear, last),
				fmt.Sprintf("year must be from %d (the programme's start) to %d", FirstYear, last))
		default:
			f.Year = n
		}
	}
	if len(bad) > 0 {
		// Sorted as the dossier's errors are: by parameter, then rule.
		slices.SortStableFunc(bad, func(a, b dossier.FieldError) int {
			return cmp.Or(strings.Compare(a.Field, b.Field), strings.Compare(a.Rule, b.Rule))
		})
		return "", Filter{}, &dossier.ValidationError{Kind: dossier.KindInvalid, Fields: bad}
	}
	return format, f, nil
}

// Query is the store's filter for f.
func (f Filter) Query() store.ExportFilter {
	q := store.ExportFilter{Status: f.Status, Country: f.Country, SIREN: f.SIREN, AmountEvents: amountEvents}
	if f.Year != 0 {
		q.SubmittedFrom = time.Date(f.Year, time.January, 1, 0, 0, 0, 0, lifecycle.Paris)
		q.SubmittedBefore = time.Date(f.Year+1, time.January, 1, 0, 0, 0, 0, lifecycle.Paris)
	}
	return q
}

// Source is where an export reads applications (*store.Store).
type Source interface {
	EachForExport(ctx context.Context, f store.ExportFilter, fn func(*store.ExportRecord) error) error
}

// Export writes the applications f selects to w in the format, header
// first, and returns how many rows it wrote. Nothing is buffered beyond
// the row being written: w decides when bytes leave.
func Export(ctx context.Context, src Source, format Format, f Filter, w io.Writer) (int, error) {
	rw := NewWriter(format, w)
	if err := rw.Header(); err != nil {
		return 0, err
	}
	n := 0
	err := src.EachForExport(ctx, f.Query(), func(rec *store.ExportRecord) error {
		row, err := RowOf(rec)
		if err != nil {
			return err
		}
		n++
		return rw.Write(row)
	})
	if err != nil {
		return n, err
	}
	return n, rw.Close()
}
