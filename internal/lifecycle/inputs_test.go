package lifecycle_test

import (
	"errors"
	"os"
	"slices"
	"testing"

	"github.com/daect/expectct/internal/dossier"
	"github.com/daect/expectct/internal/lifecycle"
)

// Every text of every human step refuses control characters; the comments,
// messages, reasons and motivations are multi-line and accept tab, LF and
// CRLF, the actor's fields are single lines.
func TestStepInputsRefuseControlCharacters(t *testing.T) {
	actor := lifecycle.Actor{ID: "instructeur", Role: lifecycle.RoleInstructor}
	f, err := os.Open("../../examples/dossier.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	example, err := dossier.Decode(f, 0)
	if err != nil {
		t.Fatal(err)
	}
	type text struct {
		field     string
		multiline bool
		set       func(s string) any // the input with that field set to s
	}
	texts := []text{
		{"comment", true, func(s string) any {
			return lifecycle.OpinionInput{Actor: actor, Opinion: lifecycle.OpinionFavorable, Comment: s}
		}},
		{"message", true, func(s string) any { return lifecycle.RequestComplementsInput{Actor: actor, Message: s} }},
		{"comment", true, func(s string) any { return lifecycle.ComplementsInput{Actor: actor, Dossier: example, Comment: s} }},
		{"comment", true, func(s string) any {
			return lifecycle.RecommendInput{Actor: actor, Recommendation: lifecycle.RecommendReject, Comment: s}
		}},
		{"motivation", true, func(s string) any {
			return lifecycle.DecideInput{Actor: actor, Decision: lifecycle.DecisionReject, Motivation: s}
		}},
		{"reason", true, func(s string) any { return lifecycle.WithdrawInput{Actor: actor, Reason: s} }},
		{"dossier.mission.title", false, func(s string) any {
			d := example
			d.Mission.Title = s
			return lifecycle.ComplementsInput{Actor: actor, Dossier: d}
		}},
		{"dossier.mission.objectives", true, func(s string) any {
			d := example
			d.Mission.Objectives = s
			return lifecycle.ComplementsInput{Actor: actor, Dossier: d}
		}},
		{"actor.id", false, func(s string) any {
			return lifecycle.WithdrawInput{Actor: lifecycle.Actor{ID: s, Role: lifecycle.RoleApplicant}, Reason: "x"}
		}},
		{"actor.siren", false, func(s string) any {
			return lifecycle.WithdrawInput{Actor: lifecycle.Actor{ID: "a", Role: lifecycle.RoleApplicant, SIREN: s}, Reason: "x"}
		}},
		{"actor.countries[1]", false, func(s string) any {
			return lifecycle.OpinionInput{Actor: lifecycle.Actor{ID: "e", Role: lifecycle.RoleEmbassy, Countries: []string{"SN", s}},
				Opinion: lifecycle.OpinionFavorable, Comment: "x"}
		}},
		{"actor.role", false, func(s string) any {
			return lifecycle.WithdrawInput{Actor: lifecycle.Actor{ID: "a", Role: lifecycle.Role(s)}, Reason: "x"}
		}},
	}
	for _, tx := range texts {
		for _, c := range []struct {
			name, s string
			ok      bool // accepted in a multi-line text
		}{
			{"accents", "Évry-Courcouronnes", true},
			{"NUL", "avis\x00", false},
			{"ESC", "\x1b[1mavis", false},
			{"DEL", "avis\x7f", false},
			{"CR alone", "avis\rfavorable", false},
			{"tab", "avis\tfavorable", true},
			{"newline", "avis\nfavorable", true},
			{"CRLF", "avis\r\nfavorable", true},
		} {
			in := tx.set(c.s)
			err := dossier.ValidateStruct(in)
			accepted := c.name == "accents" || tx.multiline && c.ok
			if accepted {
				if err != nil {
					t.Errorf("%T %s = %q refused: %v", in, tx.field, c.s, err)
				}
				continue
			}
			var ve *dossier.ValidationError
			if !errors.As(err, &ve) || !errors.Is(err, dossier.ErrInvalid) {
				t.Errorf("%T %s = %q: %v, want a nocontrol error", in, tx.field, c.s, err)
				continue
			}
			if !slices.ContainsFunc(ve.Fields, func(f dossier.FieldError) bool {
				return f.Field == tx.field && f.Rule == dossier.RuleNoControl && f.MessageFR != "" && f.MessageEN != ""
			}) {
				t.Errorf("%T %s = %q: errors %+v, want %s nocontrol", in, tx.field, c.s, ve.Fields, tx.field)
			}
		}
	}
}
