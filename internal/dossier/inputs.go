package dossier

import (
	"errors"
	"reflect"
	"strings"

	"github.com/go-playground/validator/v10"
)

// ValidateStruct checks any input carrying validate tags (the payloads of the
// human steps) with the same validator and messages as the dossier, and
// refuses control characters in every text of it, as Validate does. Fields
// are named by their JSON path from the input's root.
func ValidateStruct(v any) error {
	fields := textErrors(reflect.ValueOf(v), "", false)
	err := std.v.Struct(v)
	var verrs validator.ValidationErrors
	switch {
	case errors.As(err, &verrs):
		for _, fe := range verrs {
			fields = append(fields, std.fieldError(fe))
		}
	case err != nil:
		return err
	}
	if len(fields) > 0 {
		return newValidationError(KindInvalid, fields)
	}
	return nil
}

// ValidateCountry checks an ISO 3166-1 alpha-2 code given outside a dossier
// (a URL path, a flag).
func ValidateCountry(cc string) error {
	if err := std.v.Var(cc, "required,iso3166_1_alpha2"); err != nil || strings.ToUpper(cc) != cc {
		return newValidationError(KindInvalid, []FieldError{{Field: "country", Rule: "iso3166_1_alpha2",
			MessageFR: "« " + cc + " » n'est pas un code pays ISO 3166-1 alpha-2 (deux lettres majuscules)",
			MessageEN: "\"" + cc + "\" is not an ISO 3166-1 alpha-2 country code (two capital letters)"}})
	}
	return nil
}
