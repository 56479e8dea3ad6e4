package dossier

import (
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestFirstControl(t *testing.T) {
	tests := []struct {
		name      string
		s         string
		multiline bool
		want      rune // 0: accepted
		pos       int
	}{
		{"accents", "Évry-Courcouronnes", false, 0, 0},
		{"accents, multi-line", "Coopération décentralisée « Sénégal » – 2030", true, 0, 0},
		{"empty", "", false, 0, 0},
		{"emoji and non-breaking space", "Dakar\u00a0🇸🇳", false, 0, 0},
		{"NUL", "Nan\x00tes", false, 0x00, 4},
		{"NUL, multi-line", "Nan\x00tes", true, 0x00, 4},
		{"ESC sequence", "\x1b[31mrouge", false, 0x1b, 1},
		{"ESC sequence, multi-line", "avis\n\x1b[2J", true, 0x1b, 6},
		{"DEL", "Brest\x7f", false, 0x7f, 6},
		{"DEL, multi-line", "Brest\x7f", true, 0x7f, 6},
		{"C1 control", "Lyon\u0085", false, 0x85, 5},
		{"bell", "é\a", true, 0x07, 2},
		{"tab", "a\tb", false, '\t', 2},
		{"tab, multi-line", "a\tb", true, 0, 0},
		{"newline", "ligne 1\nligne 2", false, '\n', 8},
		{"newline, multi-line", "ligne 1\nligne 2", true, 0, 0},
		{"CRLF", "ligne 1\r\nligne 2", false, '\r', 8},
		{"CRLF, multi-line", "ligne 1\r\n\r\nligne 3\r\n", true, 0, 0},
		{"CR alone", "payé\r1 000 €", false, '\r', 5},
		{"CR alone, multi-line", "payé\r1 000 €", true, '\r', 5},
		{"CR at the end, multi-line", "fin\r", true, '\r', 4},
		{"LFCR, multi-line", "a\n\rb", true, '\r', 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, pos, found := firstControl(tt.s, tt.multiline)
			if found != (tt.want != 0 || tt.pos != 0) || r != tt.want || pos != tt.pos {
				t.Errorf("firstControl(%q, %v) = %U at %d (%v), want %U at %d", tt.s, tt.multiline, r, pos, found, tt.want, tt.pos)
			}
		})
	}
}

// stringPaths lists the JSON paths of the string fields of v.
func stringPaths(v reflect.Value, path string) []string {
	switch v.Kind() {
	case reflect.String:
		return []string{path}
	case reflect.Slice:
		var out []string
		for i := range v.Len() {
			out = append(out, stringPaths(v.Index(i), path+"["+strconv.Itoa(i)+"]")...)
		}
		return out
	case reflect.Struct:
		var out []string
		for i := range v.NumField() {
			if name, ok := jsonName(v.Type().Field(i)); ok {
				out = append(out, stringPaths(v.Field(i), join(path, name))...)
			}
		}
		return out
	}
	return nil
}

// setString sets the string at target in v (addressable) through the same walk.
func setString(v reflect.Value, path, target, s string) bool {
	switch v.Kind() {
	case reflect.String:
		if path == target {
			v.SetString(s)
			return true
		}
	case reflect.Slice:
		for i := range v.Len() {
			if setString(v.Index(i), path+"["+strconv.Itoa(i)+"]", target, s) {
				return true
			}
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if name, ok := jsonName(v.Type().Field(i)); ok && setString(v.Field(i), join(path, name), target, s) {
				return true
			}
		}
	}
	return false
}

// Every text of the dossier, those of today and any added later, refuses a
// control character, on its own path; only the long texts accept lines.
func TestValidateRefusesControlCharacters(t *testing.T) {
	multiline := []string{"mission.objectives", "agents[0].expertise", "agents[1].expertise"}
	paths := stringPaths(reflect.ValueOf(validDossier()), "")
	if len(paths) < 15 {
		t.Fatalf("only %d string fields found: %v", len(paths), paths)
	}
	for _, path := range paths {
		for _, bad := range []string{"\x00", "\x1b", "\x7f", "\r", "\n", "\t"} {
			d := validDossier()
			if !setString(reflect.ValueOf(&d).Elem(), "", path, "A"+bad+"B") {
				t.Fatalf("no field at %s", path)
			}
			_, err := Validate(d, testPolicy(), testNow)
			allowed := slices.Contains(multiline, path) && strings.ContainsAny(bad, "\n\t")
			if allowed {
				if err != nil {
					t.Errorf("%s = %q refused: %v", path, "A"+bad+"B", err)
				}
				continue
			}
			if err == nil {
				t.Errorf("%s = %q accepted", path, "A"+bad+"B")
				continue
			}
			ve := asValidationError(t, err, KindInvalid)
			if !slices.Contains(pairs(ve.Fields), path+" "+RuleNoControl) {
				t.Errorf("%s = %q: errors %v, want %s %s", path, "A"+bad+"B", pairs(ve.Fields), path, RuleNoControl)
			}
		}
	}
}

func TestNoControlMessages(t *testing.T) {
	d := validDossier()
	d.Agents[1].Name = "Lina\x1b[2JHaddad"
	d.Mission.Objectives = "Échanges.\r\nVisite du\x00 quartier."
	_, err := Validate(d, testPolicy(), testNow)
	ve := asValidationError(t, err, KindInvalid)
	want := []FieldError{
		{Field: "agents[1].name", Rule: RuleNoControl,
			MessageFR: "agents[1].name ne doit contenir aucun caractère de contrôle (ici U+001B, caractère n° 5)",
			MessageEN: "agents[1].name must not contain control characters (here U+001B, character 5)"},
		{Field: "mission.objectives", Rule: RuleNoControl,
			MessageFR: "mission.objectives ne doit contenir aucun caractère de contrôle autre que la tabulation et le saut de ligne (ici U+0000, caractère n° 21)",
			MessageEN: "mission.objectives must not contain control characters other than tab and line break (here U+0000, character 21)"},
	}
	if !reflect.DeepEqual(ve.Fields, want) {
		t.Errorf("errors:\n got  %+v\n want %+v", ve.Fields, want)
	}
}

// A text field added to an input tomorrow is covered without a tag, at any
// depth: lists, pointers, maps, embedded structs.
func TestValidateStructCoversEveryText(t *testing.T) {
	type Embedded struct {
		Lifted string `json:"lifted"`
	}
	type inner struct {
		Label string
	}
	type input struct {
		Embedded
		Name    string            `json:"name"`
		Notes   []string          `json:"notes" text:"multiline"`
		Inner   *inner            `json:"inner"`
		Labels  map[string]string `json:"labels"`
		Ignored string            `json:"-"`
		hidden  string
		Raw     []byte `json:"raw"`
	}
	in := input{
		Embedded: Embedded{Lifted: "\x01"},
		Name:     "Évry-Courcouronnes",
		Notes:    []string{"ok\n", "\x00"},
		Inner:    &inner{Label: "\x7f"},
		Labels:   map[string]string{"k": "\x1b"},
		Ignored:  "\x00",
		hidden:   "\x00",
		Raw:      []byte{0},
	}
	_ = in.hidden
	err := ValidateStruct(in)
	ve := asValidationError(t, err, KindInvalid)
	got := pairs(ve.Fields)
	want := []string{"inner.Label nocontrol", "labels.k nocontrol", "lifted nocontrol", "notes[1] nocontrol"}
	if !slices.Equal(got, want) {
		t.Errorf("errors %v, want %v", got, want)
	}
	if err := ValidateStruct(input{Name: "Évry-Courcouronnes", Notes: []string{"a\r\n\tb"}}); err != nil {
		t.Errorf("clean input refused: %v", err)
	}
}
