package dossier

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
)

// DefaultMaxBytes is the size limit Decode applies when given none. A
// dossier is a few kilobytes; 1 MiB leaves room for long objectives.
const DefaultMaxBytes = 1 << 20

var (
	moneyType = reflect.TypeFor[Money]()
	dateType  = reflect.TypeFor[Date]()
)

// Decode reads one dossier from r with [DecodeJSON]. It does not apply the
// validation rules: call Validate on the result.
func Decode(r io.Reader, maxBytes int64) (Dossier, error) {
	var d Dossier
	if err := DecodeJSON(r, maxBytes, &d); err != nil {
		return Dossier{}, err
	}
	return d, nil
}

// DecodeJSON reads one JSON object from r into v, a pointer to a struct,
// strictly: it is the decoder of every request body, a dossier or a step's
// input. The body must be a single JSON object of at most maxBytes bytes
// (DefaultMaxBytes if maxBytes <= 0), with no key v's type does not have, no
// key spelt in another case (which encoding/json would accept), no key given
// twice, every value of the right JSON type, and amounts and dates that
// parse.
//
// A refused body yields a *ValidationError of kind KindTooLarge or
// KindMalformed listing every problem found, each with the JSON path of the
// field ("$" for the body as a whole). Any other error is a read error from
// r, or a v that is not a pointer to a struct.
func DecodeJSON(r io.Reader, maxBytes int64, v any) error {
	t := reflect.TypeOf(v)
	if t == nil || t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("dossier: DecodeJSON needs a pointer to a struct, not %T", v)
	}
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	body, err := io.ReadAll(io.LimitReader(r, maxBytes+1))
	if err != nil {
		return fmt.Errorf("reading the request body: %w", err)
	}
	if int64(len(body)) > maxBytes {
		return newValidationError(KindTooLarge, []FieldError{{
			Field:     "$",
			Rule:      RuleTooLarge,
			MessageFR: fmt.Sprintf("Le corps de la requête dépasse la taille maximale de %d octets", maxBytes),
			MessageEN: fmt.Sprintf("The request body exceeds the maximum size of %d bytes", maxBytes),
		}})
	}
	if fields := checkShape(body, t.Elem()); len(fields) > 0 {
		return newValidationError(KindMalformed, fields)
	}
	// The shape check has vouched for every key and value, so this cannot
	// fail; it stays strict so that a gap in the check fails closed.
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return newValidationError(KindMalformed, []FieldError{malformed(
			"Le corps de la requête n'a pas pu être lu : "+err.Error(),
			"The request body could not be read: "+err.Error())})
	}
	return nil
}

func malformed(fr, en string) FieldError {
	return FieldError{Field: "$", Rule: RuleMalformed, MessageFR: fr, MessageEN: en}
}

// checkShape walks the JSON tokens of body against the struct type t and
// reports what encoding/json would refuse or silently accept: syntax errors
// and trailing data, unknown keys, case-insensitive key matches, repeated
// keys, wrong JSON types, amounts and dates that do not parse. It reports
// every problem with its path, where encoding/json stops at the first one
// and cannot name the field of a failing UnmarshalJSON.
func checkShape(body []byte, t reflect.Type) []FieldError {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // keep amounts as written, never through float64
	s := &shape{dec: dec}
	tok, err := dec.Token()
	switch {
	case err == io.EOF:
		return []FieldError{malformed(
			"Le corps de la requête est vide : un objet JSON est attendu",
			"The request body is empty: a JSON object is expected")}
	case err != nil:
		return []FieldError{syntaxError(err)}
	case tok != json.Delim('{'):
		return []FieldError{malformed(
			"Le corps de la requête doit être un objet JSON ({ ... })",
			"The request body must be a JSON object ({ ... })")}
	}
	if err := s.object(t, ""); err != nil {
		return []FieldError{syntaxError(err)}
	}
	if _, err := dec.Token(); err != io.EOF {
		return []FieldError{malformed(
			"Le corps de la requête contient autre chose après l'objet JSON",
			"The request body holds more data after the JSON object")}
	}
	return s.errs
}

func syntaxError(err error) FieldError {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return malformed(
			fmt.Sprintf("Le corps de la requête n'est pas un JSON valide (octet %d)", se.Offset),
			fmt.Sprintf("The request body is not valid JSON (byte %d): %s", se.Offset, se.Error()))
	}
	// io.ErrUnexpectedEOF: the body stops in the middle of a value.
	return malformed(
		"Le corps de la requête n'est pas un JSON valide : il s'arrête au milieu d'une valeur",
		"The request body is not valid JSON: it ends in the middle of a value")
}

// shape is the state of one checkShape walk. Its methods return an error
// only for broken JSON, which ends the walk; schema problems go to errs.
type shape struct {
	dec  *json.Decoder
	errs []FieldError
}

// add records a problem. Past one more than MaxFieldErrors it only lets the
// walk go on to find broken JSON: the list will be cut anyway.
func (s *shape) add(field, rule, fr, en string) {
	if len(s.errs) > MaxFieldErrors {
		return
	}
	s.errs = append(s.errs, FieldError{Field: field, Rule: rule, MessageFR: fr, MessageEN: en})
}

// value checks the next value against t.
func (s *shape) value(t reflect.Type, path string) error {
	tok, err := s.dec.Token()
	if err != nil {
		return err
	}
	if tok == nil {
		// null leaves a field unset, as encoding/json does, and Validate
		// then reports it if it is required. Money alone refuses null.
		if t == moneyType {
			s.wrongType(t, path)
		}
		return nil
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem() // an optional value: null (above) or the value itself
	}
	switch t {
	case moneyType:
		var text string
		switch v := tok.(type) {
		case json.Number:
			text = string(v)
		case string:
			text = v
		default:
			s.wrongType(t, path)
			return s.skip(tok)
		}
		if _, err := ParseMoney(text); err != nil {
			s.add(path, RuleFormat,
				fmt.Sprintf("Le montant « %s » de %s n'est pas valide : un nombre d'euros avec au plus deux décimales est attendu, par exemple 1234.50", quote(text), path),
				fmt.Sprintf("The amount %q in %s is not valid: a number of euros with at most two decimals is expected, such as 1234.50", quote(text), path))
		}
		return nil
	case dateType:
		text, ok := tok.(string)
		if !ok {
			s.wrongType(t, path)
			return s.skip(tok)
		}
		if _, err := ParseDate(text); text != "" && err != nil {
			s.add(path, RuleFormat,
				fmt.Sprintf("La date « %s » de %s n'est pas valide : le format AAAA-MM-JJ est attendu, par exemple 2030-03-15", quote(text), path),
				fmt.Sprintf("The date %q in %s is not valid: the format YYYY-MM-DD is expected, such as 2030-03-15", quote(text), path))
		}
		return nil
	}
	switch t.Kind() {
	case reflect.String:
		if _, ok := tok.(string); !ok {
			s.wrongType(t, path)
			return s.skip(tok)
		}
	case reflect.Bool:
		if _, ok := tok.(bool); !ok {
			s.wrongType(t, path)
			return s.skip(tok)
		}
	case reflect.Slice:
		if tok != json.Delim('[') {
			s.wrongType(t, path)
			return s.skip(tok)
		}
		for i := 0; s.dec.More(); i++ {
			if err := s.value(t.Elem(), path+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
		_, err := s.dec.Token() // ]
		return err
	case reflect.Struct:
		if tok != json.Delim('{') {
			s.wrongType(t, path)
			return s.skip(tok)
		}
		return s.object(t, path)
	default:
		// No input has other kinds; a new one must be taught here.
		panic("dossier: checkShape: unhandled kind " + t.Kind().String())
	}
	return nil
}

// object checks the members of an object whose '{' has been read, and
// reads its '}'.
func (s *shape) object(t reflect.Type, path string) error {
	fields := jsonFields(t)
	seen := make(map[string]bool, len(fields))
	for s.dec.More() {
		tok, err := s.dec.Token()
		if err != nil {
			return err
		}
		key := tok.(string) // the decoder only yields strings as keys
		keyPath := join(path, key)
		f, known := fields[key]
		switch {
		case !known:
			fr := "Champ inconnu : " + keyPath
			en := "Unknown field: " + keyPath
			if name, ok := foldMatch(fields, key); ok {
				fr += " (les noms de champ respectent la casse : vouliez-vous dire " + name + " ?)"
				en += " (field names are case-sensitive: did you mean " + name + "?)"
			}
			s.add(keyPath, RuleUnknownField, fr, en)
			if err := s.skipValue(); err != nil {
				return err
			}
		case seen[key]:
			s.add(keyPath, RuleDuplicateField,
				"Le champ "+keyPath+" apparaît plusieurs fois",
				"The field "+keyPath+" appears more than once")
			if err := s.skipValue(); err != nil {
				return err
			}
		default:
			seen[key] = true
			if err := s.value(f, keyPath); err != nil {
				return err
			}
		}
	}
	_, err := s.dec.Token() // }
	return err
}

func (s *shape) wrongType(t reflect.Type, path string) {
	fr, en := expected(t)
	s.add(path, RuleType, path+" doit être "+fr, path+" must be "+en)
}

// expected describes the JSON a Go type reads, in French and English.
func expected(t reflect.Type) (fr, en string) {
	switch {
	case t == moneyType:
		return "un montant en euros (nombre ou texte, deux décimales au plus)", "an amount in euros (a number or a string, at most two decimals)"
	case t == dateType:
		return "une date au format AAAA-MM-JJ", "a date formatted YYYY-MM-DD"
	case t.Kind() == reflect.String:
		return "un texte", "a string"
	case t.Kind() == reflect.Bool:
		return "un booléen (true ou false)", "a boolean (true or false)"
	case t.Kind() == reflect.Slice:
		return "une liste [ ... ]", "a list [ ... ]"
	default:
		return "un objet { ... }", "an object { ... }"
	}
}

// skipValue reads and drops the next value.
func (s *shape) skipValue() error {
	tok, err := s.dec.Token()
	if err != nil {
		return err
	}
	return s.skip(tok)
}

// skip drops the rest of a value whose first token is tok. It loops rather
// than recurses, so deep nesting in an ignored value costs no stack.
func (s *shape) skip(tok json.Token) error {
	depth := 0
	for {
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
		if depth == 0 {
			return nil
		}
		var err error
		if tok, err = s.dec.Token(); err != nil {
			return err
		}
	}
}

// jsonFields maps the JSON keys of a struct to their field types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	m := make(map[string]reflect.Type, t.NumField())
	for f := range t.Fields() {
		if name, ok := jsonName(f); ok {
			m[name] = f.Type
		}
	}
	return m
}

// foldMatch finds the key encoding/json would have matched ignoring case.
func foldMatch(fields map[string]reflect.Type, key string) (string, bool) {
	for name := range fields {
		if strings.EqualFold(name, key) {
			return name, true
		}
	}
	return "", false
}

// join appends a key to a JSON path; a long client-chosen key is shortened
// so that it cannot bloat the error response.
func join(path, key string) string {
	key = quote(key)
	if key == "" {
		key = `""` // a path must never be empty, nor end in a bare dot
	}
	if path == "" {
		return key
	}
	return path + "." + key
}
