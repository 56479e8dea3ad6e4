package dossier

import (
	"errors"

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
