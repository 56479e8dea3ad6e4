package dossier

import (
	"errors"
	"strings"

	"github.com/go-playground/validator/v10"
)

// ValidateStruct checks any input carrying validate tags (the payloads of the
// human steps) with the same validator and messages as the dossier. Fields
// are named by their JSON path from the input's root.
func ValidateStruct(v any) error {
	err := std.v.Struct(v)
	if err == nil {
		return nil
	}
	var verrs validator.ValidationErrors
	if !errors.As(err, &verrs) {
		return err
	}
	fields := make([]FieldError, 0, len(verrs))
	for _, fe := range verrs {
		fields = append(fields, std.fieldError(fe))
	}
	return newValidationError(KindInvalid, fields)
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
