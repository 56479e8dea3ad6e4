package dossier

import (
	"cmp"
	"slices"
	"strings"
)

// FieldError is one problem with one field of a dossier.
type FieldError struct {
	// Field is the JSON path of the field: collectivite.siren,
	// agents[1].name, budget.requested; "$" is the whole body.
	Field string `json:"field"`
	// Rule is the name of the broken rule: required, siren, min_notice,
	// unknown_field... Clients may key their own messages on it.
	Rule      string `json:"rule"`
	MessageFR string `json:"message_fr"`
	MessageEN string `json:"message_en"`
}

// ErrorKind tells why a dossier was refused, hence which HTTP status fits.
type ErrorKind string

// The kinds of ValidationError; see the package documentation for the mapping.
const (
	KindInvalid   ErrorKind = "invalid"   // 422: readable, but breaks a rule
	KindMalformed ErrorKind = "malformed" // 400: not a dossier document
	KindTooLarge  ErrorKind = "too_large" // 413: body over the size limit
)

// Sentinels for errors.Is on a *ValidationError of the matching kind.
var (
	ErrInvalid   = &ValidationError{Kind: KindInvalid}
	ErrMalformed = &ValidationError{Kind: KindMalformed}
	ErrTooLarge  = &ValidationError{Kind: KindTooLarge}
)

// MaxFieldErrors bounds the list returned to a client, so a body stuffed
// with thousands of bad keys cannot turn into a much larger error response.
const MaxFieldErrors = 100

// ValidationError is why a dossier was refused: every problem found, sorted
// by field then rule. A zero Kind means KindInvalid.
type ValidationError struct {
	Kind   ErrorKind    `json:"kind"`
	Fields []FieldError `json:"fields"`
}

// Error lists the fields and their English messages, for logs.
func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("dossier ")
	b.WriteString(string(e.kind()))
	for i, f := range e.Fields {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(f.Field)
		b.WriteString(" (")
		b.WriteString(f.Rule)
		b.WriteString("): ")
		b.WriteString(f.MessageEN)
	}
	return b.String()
}

// Is matches the sentinel of the same kind (ErrInvalid, ErrMalformed, ErrTooLarge).
func (e *ValidationError) Is(target error) bool {
	t, ok := target.(*ValidationError)
	return ok && t.kind() == e.kind()
}

func (e *ValidationError) kind() ErrorKind {
	if e.Kind == "" {
		return KindInvalid
	}
	return e.Kind
}

// newValidationError sorts the fields stably by field then rule and caps
// their number; past the cap a last "$" too_many_errors entry says so.
func newValidationError(kind ErrorKind, fields []FieldError) *ValidationError {
	fields = slices.Clone(fields)
	slices.SortStableFunc(fields, func(a, b FieldError) int {
		return cmp.Or(strings.Compare(a.Field, b.Field), strings.Compare(a.Rule, b.Rule))
	})
	if len(fields) > MaxFieldErrors {
		fields = append(fields[:MaxFieldErrors], FieldError{
			Field:     "$",
			Rule:      RuleTooManyErrors,
			MessageFR: msgTooManyErrors.fr(MaxFieldErrors),
			MessageEN: msgTooManyErrors.en(MaxFieldErrors),
		})
	}
	return &ValidationError{Kind: kind, Fields: fields}
}

// Under returns the error with every field path moved under prefix, for a
// dossier carried inside a larger input ({"dossier": {...}}).
func (e *ValidationError) Under(prefix string) *ValidationError {
	out := &ValidationError{Kind: e.Kind, Fields: slices.Clone(e.Fields)}
	for i, f := range out.Fields {
		if f.Field == "$" {
			out.Fields[i].Field = prefix
		} else {
			out.Fields[i].Field = prefix + "." + f.Field
		}
	}
	return out
}
