// Package mail renders the EXPE-CT e-mails (French first, then English) and
// delivers them over SMTP with a stable Message-ID, so that a retried send of
// the same step is recognisable as the same e-mail.
package mail

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"regexp"
	"slices"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/daect/expectct/internal/lifecycle"
)

// templateNames are the lifecycle's e-mails (lifecycle.Mail*), one template each.
var templateNames = []string{
	lifecycle.MailAcknowledgement, lifecycle.MailSecretariatNotice, lifecycle.MailEmbassyConsultation, lifecycle.MailEmbassyReminder,
	lifecycle.MailEmbassyDeadlinePassed, lifecycle.MailEmbassyContactMissing, lifecycle.MailComplementsRequest,
	lifecycle.MailComplementsReceived, lifecycle.MailDecisionReminder, lifecycle.MailDecisionApproved, lifecycle.MailDecisionRejected,
	lifecycle.MailWithdrawn, lifecycle.MailClosedWithoutAction,
	lifecycle.MailRenounced, lifecycle.MailChangesDeclared, lifecycle.MailChangesAcknowledged, lifecycle.MailChangesRefused,
	lifecycle.MailReportRequested, lifecycle.MailReportReminder, lifecycle.MailReportOverdue,
	lifecycle.MailReportGraceExpired, lifecycle.MailReportDeadlineExtended, lifecycle.MailGrantCancelled,
	lifecycle.MailReportReceived, lifecycle.MailReportChangesRequest, lifecycle.MailReportAccepted,
	lifecycle.MailPaymentOrdered, lifecycle.MailPaymentConfirmed, lifecycle.MailFollowedStep,
}

// Templates lists every template name Render knows.
func Templates() []string { return slices.Clone(templateNames) }

// Data is what a template may show. Fields a template does not use are ignored;
// empty ones are left out of the e-mail.
type Data struct {
	ApplicationID    string
	CollectiviteName string
	ContactName      string
	MissionTitle     string
	Country          string // ISO 3166-1 alpha-2, shown with its name
	PartnerAuthority string
	PartnerCity      string
	StartDate        string // YYYY-MM-DD
	EndDate          string // YYYY-MM-DD
	RulesVersion     string

	Requested int64 // euro cents
	Granted   int64 // euro cents
	// Amount is the step's own amount in euro cents: payable once the
	// report is accepted, paid at the payment.
	Amount    int64
	Reference string // accounting reference of the payment
	PaidOn    string // YYYY-MM-DD

	Opinion    string // lifecycle opinion value: favorable, unfavorable, reserved, not_given
	Comment    string
	Motivation string
	Message    string
	Reason     string

	// Status and Event are the step recorded, for its followers; Follower
	// is the name of the one the e-mail goes to.
	Status   string // lifecycle status code, shown with its label
	Event    string
	Follower string

	Deadline time.Time // zero if none; shown as a date in Paris time
	Flags    []string  // submission warnings, e.g. FlagTravelAdviceOrange
}

// Rendered is one e-mail ready to send: a one-line subject, a plain-text body
// and an HTML alternative carrying the same content.
type Rendered struct {
	Subject, Text, HTML string
}

// view is what the templates execute on: Data plus what is derived from it,
// so that templates stay free of logic.
type view struct {
	Data
	Subject string
	Orange  bool
}

//go:embed templates/*.tmpl
var templateFS embed.FS

var funcs = map[string]any{
	"eurosFR":    FormatEurosFR,
	"eurosEN":    FormatEurosEN,
	"dayFR":      dayFR,
	"dayEN":      dayEN,
	"deadlineFR": deadlineFR,
	"deadlineEN": deadlineEN,
	"countryFR":  countryFR,
	"countryEN":  countryEN,
	"opinionFR":  opinionFR,
	"opinionEN":  opinionEN,
	"flagFR":     flagFR,
	"flagEN":     flagEN,
	"quote":      quoteText,
	"statusFR":   func(code string) string { return lifecycle.StatusLabel(code, "fr") },
	"statusEN":   func(code string) string { return lifecycle.StatusLabel(code, "en") },
}

type templateSet struct {
	text *texttemplate.Template
	html *htmltemplate.Template
}

// sets is parsed once at start-up: the templates are embedded, so a parse
// error is a programming error that every test of this package reveals.
var sets = parseAll()

func parseAll() map[string]templateSet {
	out := make(map[string]templateSet, len(templateNames))
	for _, name := range templateNames {
		// Each e-mail gets its own set, so that every file may define "fr" and "en".
		text := texttemplate.Must(texttemplate.New(name).Option("missingkey=error").Funcs(funcs).
			ParseFS(templateFS, "templates/layout.txt.tmpl", "templates/"+name+".txt.tmpl"))
		html := htmltemplate.Must(htmltemplate.New(name).Option("missingkey=error").Funcs(funcs).
			ParseFS(templateFS, "templates/layout.html.tmpl", "templates/"+name+".html.tmpl"))
		out[name] = templateSet{text: text, html: html}
	}
	return out
}

// Render produces the e-mail called name for d.
func Render(name string, d Data) (Rendered, error) {
	set, ok := sets[name]
	if !ok {
		return Rendered{}, fmt.Errorf("mail: unknown template %q", name)
	}
	v := view{Data: d, Orange: slices.Contains(d.Flags, FlagTravelAdviceOrange)}

	var buf bytes.Buffer
	if err := set.text.ExecuteTemplate(&buf, "subject", v); err != nil {
		return Rendered{}, fmt.Errorf("mail: render %s subject: %w", name, err)
	}
	v.Subject = oneLine(buf.String())

	buf.Reset()
	if err := set.text.ExecuteTemplate(&buf, "text", v); err != nil {
		return Rendered{}, fmt.Errorf("mail: render %s text: %w", name, err)
	}
	text := tidyText(buf.String())

	buf.Reset()
	if err := set.html.ExecuteTemplate(&buf, "html", v); err != nil {
		return Rendered{}, fmt.Errorf("mail: render %s html: %w", name, err)
	}
	return Rendered{Subject: v.Subject, Text: text, HTML: tidyHTML(buf.String())}, nil
}

// oneLine keeps a subject on one line whatever the data holds: a line break
// in a header would end it early.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

var blankLines = regexp.MustCompile(`\n{3,}`)

// tidyText removes what template actions leave behind: trailing spaces and
// runs of blank lines. Templates can then be laid out for readability.
func tidyText(s string) string {
	lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t")
	}
	s = blankLines.ReplaceAllString(strings.Join(lines, "\n"), "\n\n")
	return strings.Trim(s, "\n") + "\n"
}

var blankHTMLLines = regexp.MustCompile(`\n(?:[ \t]*\n)+`)

func tidyHTML(s string) string {
	return strings.TrimSpace(blankHTMLLines.ReplaceAllString(s, "\n")) + "\n"
}

// quoteText indents free text written by a person (an instructor's message, a
// motivation) so that it stands apart from the letter around it.
func quoteText(s string) string {
	s = strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n"))
	if s == "" {
		return ""
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = "    " + l
	}
	return strings.Join(lines, "\n")
}
