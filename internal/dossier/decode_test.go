package dossier

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

// examplePath is the dossier shipped in examples/, kept valid by this test.
const examplePath = "../../examples/dossier.json"

func readExample(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestExampleDossier(t *testing.T) {
	d, err := Decode(bytes.NewReader(readExample(t)), 0)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if _, err := Validate(d, testPolicy(), testNow); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if d.Budget.Requested != Euros(3500) || len(d.Agents) != 2 || d.Mission.Days() != 10 {
		t.Errorf("unexpected content: %+v", d)
	}
}

// jsonWith returns the example with one change made through a generic map,
// so that each case reads as the JSON a client would send.
func jsonWith(t *testing.T, change func(m map[string]any)) string {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(readExample(t)))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	change(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func obj(m map[string]any, key string) map[string]any { return m[key].(map[string]any) }

func TestDecodeRefusals(t *testing.T) {
	type want struct{ field, rule, fr, en string } // fr, en: exact when not empty
	tests := []struct {
		name string
		body string // used when change is nil
		edit func(m map[string]any)
		kind ErrorKind
		want []want
	}{
		{name: "empty body", body: "", kind: KindMalformed, want: []want{{"$", "malformed",
			"Le corps de la requête est vide : un objet JSON est attendu", "The request body is empty: a JSON object is expected"}}},
		{name: "syntax error", body: `{"collectivite": {"name": "x",}}`, kind: KindMalformed, want: []want{{"$", "malformed",
			"Le corps de la requête n'est pas un JSON valide (octet 30)",
			"The request body is not valid JSON (byte 30): invalid character '}' looking for beginning of object key string"}}},
		{name: "truncated", body: `{"collectivite": {"name": "x"`, kind: KindMalformed, want: []want{{"$", "malformed", "", ""}}},
		{name: "not an object", body: `[]`, kind: KindMalformed, want: []want{{"$", "malformed",
			"Le corps de la requête doit être un objet JSON ({ ... })", "The request body must be a JSON object ({ ... })"}}},
		{name: "null", body: `null`, kind: KindMalformed, want: []want{{"$", "malformed", "", ""}}},
		{name: "two values", body: `{} {}`, kind: KindMalformed, want: []want{{"$", "malformed",
			"Le corps de la requête contient autre chose après l'objet JSON", "The request body holds more data after the JSON object"}}},
		{name: "trailing garbage", body: `{}]`, kind: KindMalformed, want: []want{{"$", "malformed", "", ""}}},
		{name: "unknown top-level field", edit: func(m map[string]any) { m["priority"] = "high" }, kind: KindMalformed, want: []want{{"priority", "unknown_field",
			"Champ inconnu : priority", "Unknown field: priority"}}},
		{name: "unknown nested field", edit: func(m map[string]any) { obj(m, "collectivite")["insee"] = "31555" }, kind: KindMalformed,
			want: []want{{"collectivite.insee", "unknown_field", "", ""}}},
		{name: "unknown field in a list element", edit: func(m map[string]any) { m["agents"].([]any)[1].(map[string]any)["age"] = 40 }, kind: KindMalformed,
			want: []want{{"agents[1].age", "unknown_field", "", ""}}},
		{name: "key in another case", body: `{"collectivite": {"SIREN": "213105554"}}`, kind: KindMalformed, want: []want{{"collectivite.SIREN", "unknown_field",
			"Champ inconnu : collectivite.SIREN (les noms de champ respectent la casse : vouliez-vous dire siren ?)",
			"Unknown field: collectivite.SIREN (field names are case-sensitive: did you mean siren?)"}}},
		{name: "empty key", body: `{"": 1}`, kind: KindMalformed, want: []want{{`""`, "unknown_field", "", ""}}},
		{name: "duplicate key", body: `{"budget": {"requested": 1, "requested": 5000}}`, kind: KindMalformed, want: []want{{"budget.requested", "duplicate_field",
			"Le champ budget.requested apparaît plusieurs fois", "The field budget.requested appears more than once"}}},
		{name: "number for a string", edit: func(m map[string]any) { obj(m, "collectivite")["siren"] = 214401093 }, kind: KindMalformed, want: []want{{"collectivite.siren", "type",
			"collectivite.siren doit être un texte", "collectivite.siren must be a string"}}},
		{name: "object for a list", edit: func(m map[string]any) { m["agents"] = map[string]any{"name": "x"} }, kind: KindMalformed, want: []want{{"agents", "type",
			"agents doit être une liste [ ... ]", "agents must be a list [ ... ]"}}},
		{name: "list for an object", edit: func(m map[string]any) { m["budget"] = []any{1} }, kind: KindMalformed, want: []want{{"budget", "type", "", ""}}},
		{name: "string for a boolean", edit: func(m map[string]any) { m["embassy_requested"] = "yes" }, kind: KindMalformed, want: []want{{"embassy_requested", "type", "", ""}}},
		{name: "boolean for an amount", edit: func(m map[string]any) { obj(m, "budget")["travel"] = true }, kind: KindMalformed, want: []want{{"budget.travel", "type",
			"budget.travel doit être un montant en euros (nombre ou texte, deux décimales au plus)",
			"budget.travel must be an amount in euros (a number or a string, at most two decimals)"}}},
		{name: "null amount", edit: func(m map[string]any) { obj(m, "budget")["other"] = nil }, kind: KindMalformed, want: []want{{"budget.other", "type", "", ""}}},
		{name: "number for a date", edit: func(m map[string]any) { obj(m, "mission")["start_date"] = 20300311 }, kind: KindMalformed, want: []want{{"mission.start_date", "type", "", ""}}},
		{name: "three decimals", edit: func(m map[string]any) { obj(m, "budget")["travel"] = json.Number("2400.125") }, kind: KindMalformed, want: []want{{"budget.travel", "format",
			"Le montant « 2400.125 » de budget.travel n'est pas valide : un nombre d'euros avec au plus deux décimales est attendu, par exemple 1234.50",
			`The amount "2400.125" in budget.travel is not valid: a number of euros with at most two decimals is expected, such as 1234.50`}}},
		{name: "exponent", edit: func(m map[string]any) { obj(m, "budget")["travel"] = json.Number("2.4e3") }, kind: KindMalformed, want: []want{{"budget.travel", "format", "", ""}}},
		{name: "comma decimal in a string", edit: func(m map[string]any) { obj(m, "budget")["own_share"] = "1300,00" }, kind: KindMalformed, want: []want{{"budget.own_share", "format", "", ""}}},
		{name: "French date", edit: func(m map[string]any) { obj(m, "mission")["end_date"] = "20/03/2030" }, kind: KindMalformed, want: []want{{"mission.end_date", "format",
			"La date « 20/03/2030 » de mission.end_date n'est pas valide : le format AAAA-MM-JJ est attendu, par exemple 2030-03-15",
			`The date "20/03/2030" in mission.end_date is not valid: the format YYYY-MM-DD is expected, such as 2030-03-15`}}},
		{name: "impossible date", edit: func(m map[string]any) { obj(m, "mission")["end_date"] = "2030-02-30" }, kind: KindMalformed, want: []want{{"mission.end_date", "format", "", ""}}},
		{name: "every problem at once", edit: func(m map[string]any) {
			m["extra"] = 1
			obj(m, "contact")["phone"] = 240419000
			obj(m, "budget")["travel"] = "12.345"
			obj(m, "mission")["start_date"] = "tomorrow"
		}, kind: KindMalformed, want: []want{
			{"budget.travel", "format", "", ""},
			{"contact.phone", "type", "", ""},
			{"extra", "unknown_field", "", ""},
			{"mission.start_date", "format", "", ""},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := tt.body
			if tt.edit != nil {
				body = jsonWith(t, tt.edit)
			}
			_, err := Decode(strings.NewReader(body), 0)
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("errors.Is(ErrMalformed) false for %v", err)
			}
			ve := asValidationError(t, err, tt.kind)
			var wantPairs []string
			for _, w := range tt.want {
				wantPairs = append(wantPairs, w.field+" "+w.rule)
			}
			if got := pairs(ve.Fields); !slices.Equal(got, wantPairs) {
				t.Fatalf("errors = %q, want %q", got, wantPairs)
			}
			for i, w := range tt.want {
				if got := ve.Fields[i]; w.fr != "" && (got.MessageFR != w.fr || got.MessageEN != w.en) {
					t.Errorf("messages of %s %s:\n got  %q\n      %q\n want %q\n      %q", w.field, w.rule, got.MessageFR, got.MessageEN, w.fr, w.en)
				}
			}
		})
	}
}

func TestDecodeTooLarge(t *testing.T) {
	body := readExample(t)
	if _, err := Decode(bytes.NewReader(body), int64(len(body))); err != nil {
		t.Fatalf("a body of exactly maxBytes refused: %v", err)
	}
	_, err := Decode(bytes.NewReader(body), int64(len(body))-1)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("errors.Is(ErrTooLarge) false for %v", err)
	}
	ve := asValidationError(t, err, KindTooLarge)
	if got := pairs(ve.Fields); !slices.Equal(got, []string{"$ too_large"}) {
		t.Errorf("errors = %q", got)
	}
}

func TestDecodeReadError(t *testing.T) {
	boom := errors.New("connection reset")
	_, err := Decode(iotest.ErrReader(boom), 0)
	var ve *ValidationError
	if !errors.Is(err, boom) || errors.As(err, &ve) {
		t.Errorf("read error = %v, want it wrapped as is", err)
	}
}

func TestDecodeManyErrorsCapped(t *testing.T) {
	var b strings.Builder
	b.WriteString("{")
	for i := range 3 * MaxFieldErrors {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`"k` + strings.Repeat("x", i) + `": [[{}]]`)
	}
	b.WriteString("}")
	_, err := Decode(strings.NewReader(b.String()), 0)
	ve := asValidationError(t, err, KindMalformed)
	if len(ve.Fields) != MaxFieldErrors+1 || ve.Fields[MaxFieldErrors].Rule != RuleTooManyErrors {
		t.Errorf("%d errors, last %+v", len(ve.Fields), ve.Fields[len(ve.Fields)-1])
	}
	for _, f := range ve.Fields {
		if len([]rune(f.Field)) > 41 {
			t.Errorf("long key echoed in full: %q", f.Field)
		}
	}
}

func TestDecodeAccepts(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(m map[string]any)
		check func(d Dossier) bool
	}{
		{"amounts as numbers", func(m map[string]any) {
			b := obj(m, "budget")
			b["travel"], b["own_share"] = json.Number("2400.5"), json.Number("1300.50")
			b["requested"] = json.Number("3500")
		}, func(d Dossier) bool { return d.Budget.Travel == 240050 && d.Budget.OwnShare == 130050 }},
		{"escaped date", func(m map[string]any) { obj(m, "mission")["start_date"] = "\\u0032030-03-11" }, nil},
		{"null string and empty date leave fields unset", func(m map[string]any) {
			obj(m, "contact")["phone"] = nil
			obj(m, "mission")["end_date"] = ""
		}, func(d Dossier) bool { return d.Contact.Phone == "" && d.Mission.EndDate.IsZero() }},
		{"embassy request", func(m map[string]any) { m["embassy_requested"] = true }, func(d Dossier) bool { return d.EmbassyRequested }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := jsonWith(t, tt.edit)
			// json.Marshal escapes the backslash of "\u0032": undo it to
			// send a real JSON escape.
			body = strings.ReplaceAll(body, `\\u0032`, `\u0032`)
			d, err := Decode(strings.NewReader(body), 0)
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if tt.check != nil && !tt.check(d) {
				t.Errorf("decoded %+v", d)
			}
		})
	}
}

// Decode and encoding/json agree on every dossier Decode accepts.
func TestDecodeMatchesEncodingJSON(t *testing.T) {
	body := readExample(t)
	d, err := Decode(bytes.NewReader(body), 0)
	if err != nil {
		t.Fatal(err)
	}
	var std Dossier
	if err := json.Unmarshal(body, &std); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(d, std) {
		t.Errorf("Decode %+v\njson    %+v", d, std)
	}
}

// DecodeJSON holds every request body to the dossier's strictness: a step's
// input has no case-folded, repeated or unknown key either, and a dossier
// carried inside it is checked on its own paths.
func TestDecodeJSONInput(t *testing.T) {
	type input struct {
		Comment string   `json:"comment"`
		Amount  Money    `json:"amount"`
		Dossier *Dossier `json:"dossier"`
	}
	tests := []struct {
		name, body string
		want       []string
	}{
		{"case-folded key", `{"Comment": "x"}`, []string{"Comment unknown_field"}},
		{"repeated key", `{"comment": "x", "comment": "y"}`, []string{"comment duplicate_field"}},
		{"unknown key", `{"comment": "x", "priority": 1}`, []string{"priority unknown_field"}},
		{"wrong type", `{"comment": ["x"]}`, []string{"comment type"}},
		{"bad amount", `{"amount": "1,5"}`, []string{"amount format"}},
		{"array", `[{"comment": "x"}]`, []string{"$ malformed"}},
		{"trailing data", `{"comment": "x"} {}`, []string{"$ malformed"}},
		{"nested dossier not an object", `{"dossier": "voir pièce jointe"}`, []string{"dossier type"}},
		{"nested dossier key", `{"dossier": {"collectivite": {"Siren": "1"}}}`, []string{"dossier.collectivite.Siren unknown_field"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var in input
			err := DecodeJSON(strings.NewReader(tt.body), 0, &in)
			ve := asValidationError(t, err, KindMalformed)
			if got := pairs(ve.Fields); !slices.Equal(got, tt.want) {
				t.Errorf("errors = %q, want %q", got, tt.want)
			}
		})
	}
	var in input
	if err := DecodeJSON(strings.NewReader(`{"comment": "Avis\nfavorable", "amount": "12.50", "dossier": null}`), 0, &in); err != nil {
		t.Fatalf("valid input refused: %v", err)
	}
	if in.Comment != "Avis\nfavorable" || in.Amount != Money(1250) || in.Dossier != nil {
		t.Errorf("decoded %+v", in)
	}
	if err := DecodeJSON(strings.NewReader(`{}`), 0, in); err == nil || errors.Is(err, ErrMalformed) {
		t.Errorf("a non-pointer target: %v, want a programming error", err)
	}
}
