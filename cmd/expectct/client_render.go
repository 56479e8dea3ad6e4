package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/daect/expectct/internal/apiclient"
	"github.com/daect/expectct/internal/dossier"
	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/store"
)

// The text renderings of the client commands. Every string that comes from
// the server goes through cleanText, so that a comment cannot break a table or
// send escape sequences to the terminal. Times are shown in Paris time, the
// programme's time zone.

const noValue = "-"

// statusNamesFR names the states as DAECT does.
var statusNamesFR = map[lifecycle.Status]string{
	lifecycle.StatusSubmitted:           "déposé",
	lifecycle.StatusEmbassyConsultation: "consultation du poste",
	lifecycle.StatusUnderReview:         "en instruction",
	lifecycle.StatusAwaitingComplements: "en attente de compléments",
	lifecycle.StatusAwaitingDecision:    "en attente de décision",
	lifecycle.StatusApproved:            "accepté",
	lifecycle.StatusRejected:            "refusé",
	lifecycle.StatusWithdrawn:           "retiré",
	lifecycle.StatusClosedWithoutAction: "classé sans suite",
}

// cleanText puts a server string on one line without control characters.
func cleanText(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' || r == '\r' {
			return ' '
		}
		if unicode.IsControl(r) || (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069) {
			return -1 // C0/C1 controls (terminal escapes) and bidi overrides
		}
		return r
	}, s)
}

// cutText shortens a table cell.
func cutText(s string, n int) string {
	s = cleanText(s)
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func orNone(s string) string {
	if strings.TrimSpace(s) == "" {
		return noValue
	}
	return cleanText(s)
}

func parisTime(t time.Time) string {
	if t.IsZero() {
		return noValue
	}
	return t.In(lifecycle.Paris).Format("2006-01-02 15:04 MST")
}

func eurosText(m dossier.Money) string { return m.String() + " EUR" }

func centsText(c *int64) string {
	if c == nil {
		return noValue
	}
	return eurosText(dossier.Money(*c))
}

func actorText(a lifecycle.Actor) string {
	if a.ID == "" && a.Role == "" {
		return noValue
	}
	if a.Role == "" {
		return cleanText(a.ID)
	}
	return fmt.Sprintf("%s (%s)", cleanText(a.ID), cleanText(string(a.Role)))
}

func stateText(s lifecycle.Status) string {
	if fr, ok := statusNamesFR[s]; ok {
		return fmt.Sprintf("%s (%s)", s, fr)
	}
	return orNone(string(s))
}

// renderState prints an application as the status query returns it.
func renderState(w io.Writer, s lifecycle.State) error {
	d := s.Dossier
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
	row("Application", orNone(s.ApplicationID))
	row("Status", stateText(s.Status))
	row("Rules version", orNone(s.RulesVersion))
	if len(s.Flags) > 0 {
		row("Flags", cleanText(strings.Join(s.Flags, ", ")))
	}
	c := d.Collectivite
	row("Collectivité", fmt.Sprintf("%s (%s, SIREN %s, %s)", orNone(c.Name), orNone(c.Kind), orNone(c.SIREN), orNone(c.Region)))
	row("Contact", fmt.Sprintf("%s <%s> %s", orNone(d.Contact.Name), orNone(d.Contact.Email), orNone(d.Contact.Phone)))
	p := d.Partner
	row("Country", orNone(p.Country))
	row("Partner", fmt.Sprintf("%s, %s (%s partnership)", orNone(p.Authority), orNone(p.City), orNone(p.Partnership)))
	m := d.Mission
	dates := noValue
	if !m.StartDate.IsZero() && !m.EndDate.IsZero() {
		dates = fmt.Sprintf("%s to %s (%d days)", m.StartDate, m.EndDate, m.Days())
	}
	row("Mission", fmt.Sprintf("%s [%s], %s", orNone(m.Title), orNone(m.Theme), dates))
	row("Agents", fmt.Sprint(len(d.Agents)))
	row("Submitted", fmt.Sprintf("%s by %s", parisTime(s.SubmittedAt), actorText(s.Submitter)))
	row("Budget", fmt.Sprintf("%s total, own share %s", eurosText(d.Budget.Total()), eurosText(d.Budget.OwnShare)))
	row("Requested", eurosText(d.Budget.Requested))
	recommended, granted := noValue, noValue
	if r := s.Recommendation; r != nil && r.Value == lifecycle.RecommendApprove {
		recommended = eurosText(r.Amount)
	}
	if dec := s.Decision; dec != nil && dec.Value == lifecycle.DecisionApprove {
		granted = eurosText(dec.Amount)
	}
	row("Recommended", recommended)
	row("Granted", granted)
	if o := s.Opinion; o != nil {
		row("Opinion", fmt.Sprintf("%s by %s, %s: %s", orNone(o.Value), actorText(o.Actor), parisTime(o.At), orNone(o.Comment)))
	} else {
		row("Opinion", fmt.Sprintf("%s (embassy contacted: %t)", noValue, s.EmbassyContacted))
	}
	if r := s.Recommendation; r != nil {
		v := orNone(r.Value)
		if r.Value == lifecycle.RecommendApprove {
			v += " " + eurosText(r.Amount)
		}
		row("Recommendation", fmt.Sprintf("%s by %s, %s: %s", v, actorText(r.Actor), parisTime(r.At), orNone(r.Comment)))
	} else {
		row("Recommendation", noValue)
	}
	if dec := s.Decision; dec != nil {
		v := orNone(dec.Value)
		if dec.Value == lifecycle.DecisionApprove {
			v += " " + eurosText(dec.Amount)
		}
		if dec.Motivation != "" {
			v += ": " + cleanText(dec.Motivation)
		}
		row("Decision", fmt.Sprintf("%s (by %s, %s)", v, actorText(dec.Actor), parisTime(dec.At)))
	} else {
		row("Decision", noValue)
	}
	if s.ComplementsRequest != "" {
		v := cleanText(s.ComplementsRequest)
		if s.ComplementsDue != nil {
			v += fmt.Sprintf(" (due %s)", parisTime(*s.ComplementsDue))
		}
		row("Complements", v)
	}
	if s.WithdrawalReason != "" {
		row("Withdrawal", cleanText(s.WithdrawalReason))
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintln(w, "\nPending deadlines:")
	if len(s.Deadlines) == 0 {
		fmt.Fprintln(w, "  none")
	} else {
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  NAME\tDUE")
		for _, dl := range s.Deadlines {
			fmt.Fprintf(tw, "  %s\t%s\n", orNone(dl.Name), parisTime(dl.Due))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}

	fmt.Fprintln(w, "\nSteps:")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  SEQ\tAT\tEVENT\tSTATUS\tACTOR")
	for _, st := range s.Steps {
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\n", st.Seq, parisTime(st.At), orNone(st.Event), orNone(string(st.Status)), actorText(st.Actor))
	}
	return tw.Flush()
}

// renderList prints a page of applications as a table.
func renderList(w io.Writer, items []store.Application, next string) error {
	if len(items) == 0 {
		fmt.Fprintln(w, "no application")
	} else {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tSTATUS\tSUBMITTED\tSIREN\tCOLLECTIVITÉ\tCOUNTRY\tMISSION\tREQUESTED\tRECOMMENDED\tGRANTED")
		for _, a := range items {
			req := a.RequestedCents
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", orNone(a.ID), orNone(a.Status), parisTime(a.SubmittedAt),
				orNone(a.SIREN), orNone(cutText(a.Collectivite, 40)), orNone(a.Country), orNone(cutText(a.MissionTitle, 40)),
				centsText(&req), centsText(a.RecommendedCents), centsText(a.GrantedCents))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if next != "" {
		fmt.Fprintf(w, "more: --cursor %s (or --all)\n", cleanText(next))
	}
	return nil
}

// renderHistory prints the timeline of an application.
func renderHistory(w io.Writer, h apiclient.History) error {
	fmt.Fprintf(w, "History of %s\n", orNone(h.ApplicationID))
	if len(h.Entries) == 0 {
		fmt.Fprintln(w, "no entry")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "AT\tSOURCE\tSTEP\tACTOR\tSTATUS\tDETAILS")
	for _, e := range h.Entries {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", parisTime(e.At), orNone(e.Source), orNone(e.Step), actorText(e.Actor),
			orNone(e.Status), detailsText(e.Details))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if h.NextAttemptsBefore > 0 {
		fmt.Fprintf(w, "older refused attempts: expectct history %s --attempts-before %d\n", cleanText(h.ApplicationID), h.NextAttemptsBefore)
	}
	return nil
}

// detailsText renders a map as key=value, sorted by key; strings as they are,
// anything else as compact JSON.
func detailsText(m map[string]any) string {
	if len(m) == 0 {
		return noValue
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		var v string
		switch x := m[k].(type) {
		case string:
			v = x
		default:
			b, err := json.Marshal(x)
			if err != nil {
				b = []byte(fmt.Sprint(x))
			}
			v = string(b)
		}
		parts = append(parts, cleanText(k)+"="+cleanText(v))
	}
	return strings.Join(parts, " ")
}

// renderAudit prints a verification report.
func renderAudit(w io.Writer, r apiclient.AuditReport) error {
	against := ""
	if r.Checkpoints > 0 {
		against = fmt.Sprintf(" against %d signed checkpoint(s)", r.Checkpoints)
	}
	if r.OK && len(r.Problems) == 0 {
		fmt.Fprintf(w, "OK: %d journal(s) checked%s, the hash chain is intact\n", r.Checked, against)
		return nil
	}
	fmt.Fprintf(w, "FAILED: %d journal(s) checked%s, %d problem(s)\n", r.Checked, against, len(r.Problems))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "APPLICATION\tSEQ\tPROBLEM")
	for _, p := range r.Problems {
		fmt.Fprintf(tw, "%s\t%d\t%s\n", orNone(p.ApplicationID), p.Seq, orNone(p.Problem))
	}
	return tw.Flush()
}

// renderEmbassies prints the embassy directory.
func renderEmbassies(w io.Writer, es []store.Embassy) error {
	if len(es) == 0 {
		fmt.Fprintln(w, "no embassy contact")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "COUNTRY\tNAME\tEMAILS\tUPDATED")
	for _, e := range es {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", orNone(e.Country), orNone(e.Name), orNone(strings.Join(e.Emails, ", ")), parisTime(e.UpdatedAt))
	}
	return tw.Flush()
}
