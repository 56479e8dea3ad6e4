package dossier

import (
	"cmp"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"unicode"
)

// TagText is the struct tag that marks a multi-line text field:
// `text:"multiline"`. Every other string field is a single line.
const TagText = "text"

// textErrors reports every string reachable from v through exported fields,
// list elements, map values and pointers that holds a control character,
// each on its JSON path under path ("" for the root).
//
// It walks the value rather than relying on a validator tag so that a string
// field added later is covered without anyone remembering a tag: control
// characters have no business in any field, they only break the e-mails,
// logs, CSV exports and terminals the texts end up in. A field tagged
// `text:"multiline"` (comments, objectives) may also hold tabs and line
// breaks, LF or CRLF; a CR alone is refused, since it rewrites the line it
// is shown on.
func textErrors(v reflect.Value, path string, multiline bool) []FieldError {
	var errs []FieldError
	switch v.Kind() {
	case reflect.String:
		if r, pos, ok := firstControl(v.String(), multiline); ok {
			errs = append(errs, controlError(path, r, pos, multiline))
		}
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			errs = textErrors(v.Elem(), path, multiline)
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return nil // bytes (json.RawMessage) are not text
		}
		for i := range v.Len() {
			errs = append(errs, textErrors(v.Index(i), path+"["+strconv.Itoa(i)+"]", multiline)...)
		}
	case reflect.Map:
		for it := v.MapRange(); it.Next(); {
			errs = append(errs, textErrors(it.Value(), join(path, fmt.Sprint(it.Key().Interface())), multiline)...)
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			name, ok := jsonName(f)
			if !ok {
				continue
			}
			fpath := path
			// encoding/json lifts the fields of an untagged embedded struct
			// into the parent object, so their paths do not name it.
			if tag, _, _ := strings.Cut(f.Tag.Get("json"), ","); !f.Anonymous || tag != "" {
				fpath = join(path, name)
			}
			errs = append(errs, textErrors(v.Field(i), fpath, f.Tag.Get(TagText) == "multiline")...)
		}
	}
	return errs
}

// jsonName is the key encoding/json gives a struct field; false for a
// field it ignores (unexported, or tagged "-").
func jsonName(f reflect.StructField) (string, bool) {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if !f.IsExported() || name == "-" {
		return "", false
	}
	return cmp.Or(name, f.Name), true
}

// firstControl finds the first control character of s that its kind of
// field does not allow, with its position counted in characters from 1.
// Control characters are those of unicode.IsControl: C0 (U+0000–U+001F),
// DEL (U+007F) and C1 (U+0080–U+009F), which terminals also obey.
func firstControl(s string, multiline bool) (r rune, pos int, found bool) {
	for i, c := range s {
		pos++
		if !unicode.IsControl(c) {
			continue
		}
		if multiline && (c == '\t' || c == '\n' || c == '\r' && strings.HasPrefix(s[i+1:], "\n")) {
			continue
		}
		return c, pos, true
	}
	return 0, 0, false
}

func controlError(path string, r rune, pos int, multiline bool) FieldError {
	if path == "" {
		path = "$"
	}
	m := msgNoControl
	if multiline {
		m = msgNoControlMultiline
	}
	char := fmt.Sprintf("U+%04X", r)
	return FieldError{Field: path, Rule: RuleNoControl, MessageFR: m.fr(path, char, pos), MessageEN: m.en(path, char, pos)}
}
