package dossier

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// FuzzDecodeValidate feeds arbitrary bodies through Decode then Validate:
// nothing panics, every refusal is a *ValidationError whose entries all have
// a path, a rule and two messages, Decode never relies on its fallback, an
// accepted dossier holds no control character where its fields forbid them,
// and it survives a JSON round trip unchanged.
func FuzzDecodeValidate(f *testing.F) {
	example := readExample(f)
	f.Add(example)
	s := string(example)
	for _, broken := range []string{
		"", "{}", "[]", "null", `""`, "{} {}", `{"a":`, `{"agents": [{}, {}, {}, {}, {}]}`,
		strings.Replace(s, `"214401093"`, `"214401094"`, 1),
		strings.Replace(s, `"2400.00"`, `"2400.001"`, 1),
		strings.Replace(s, `"2400.00"`, `2.4e3`, 1),
		strings.Replace(s, `"2400.00"`, `null`, 1),
		strings.Replace(s, `"2030-03-20"`, `"2030-02-30"`, 1),
		strings.Replace(s, `"2030-03-20"`, `"2030-03-01"`, 1),
		strings.Replace(s, `"SN"`, `"ML"`, 1),
		strings.Replace(s, `"SN"`, `"sn"`, 1),
		strings.Replace(s, `"siren"`, `"SIREN"`, 1),
		strings.Replace(s, `"siren"`, `"region": "x", "siren"`, 1),
		strings.Replace(s, `"agents": [`, `"agents": {`, 1),
		strings.Replace(s, `"3500.00"`, `"0"`, 1),
		strings.Replace(s, `"3500.00"`, `"-3500.00"`, 1),
		strings.Replace(s, `"3500.00"`, `"4800.00"`, 1),
		strings.Replace(s, `"start_date": "2030-03-11"`, `"start_date": "\u0032030-03-11"`, 1),
		s + "x",
		s[:len(s)/2],
		strings.Replace(s, `"Commune de Nantes"`, `"Commune\u0000de Nantes"`, 1),
		strings.Replace(s, `"Rufisque"`, `"Ruf\u001b[2Jisque"`, 1),
		strings.Replace(s, `"Claire Martin"`, `"Claire\rMartin"`, 1),
		strings.Replace(s, `"Sophie Bernard"`, "\"Sophie\x7fBernard\"", 1),
		strings.Replace(s, `"Diagnostic partagé`, `"Diagnostic\r\n\tpartagé`, 1),
		strings.Replace(s, `"Diagnostic partagé`, `"Diagnostic\rpartagé`, 1),
		strings.Replace(s, `"Environnement`, `"Environnement\n`, 1),
	} {
		f.Add([]byte(broken))
	}

	const maxBytes = 1 << 16
	policy := testPolicy()
	f.Fuzz(func(t *testing.T, body []byte) {
		d, err := Decode(bytes.NewReader(body), maxBytes)
		if err != nil {
			kind := KindMalformed
			if len(body) > maxBytes {
				kind = KindTooLarge
			}
			ve := asValidationError(t, err, kind)
			if strings.HasPrefix(ve.Fields[0].MessageEN, "The request body could not be read") {
				t.Fatalf("the shape check let through what encoding/json refuses: %v", err)
			}
			return
		}
		if _, err := Validate(d, policy, testNow); err != nil {
			asValidationError(t, err, KindInvalid)
		} else if fields := textErrors(reflect.ValueOf(d), "", false); len(fields) > 0 {
			t.Fatalf("accepted a dossier with control characters: %+v", fields)
		}
		again, err := json.Marshal(d)
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		d2, err := Decode(bytes.NewReader(again), 0)
		if err != nil {
			t.Fatalf("round trip refused: %v\n%s", err, again)
		}
		if !reflect.DeepEqual(d, d2) {
			t.Fatalf("round trip changed the dossier:\n%+v\n%+v", d, d2)
		}
	})
}
