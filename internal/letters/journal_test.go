package letters

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/daect/expectct/internal/store"
)

// journal makes a chained journal of (event, payload) rows.
func journal(t *testing.T, rows ...[2]string) []store.Entry {
	t.Helper()
	var out []store.Entry
	prev := store.GenesisHash
	for i, r := range rows {
		e := store.Entry{ApplicationID: "EXP-ABCDEFGHIJKLMNOP", Seq: i + 1, EventType: r[0], Status: "x", ActorID: "delegue.un",
			ActorRole: "decider", Payload: []byte(r[1]), OccurredAt: time.Date(2026, 12, 1+i, 9, 0, 0, 0, time.UTC), PrevHash: prev}
		e.Hash = e.ComputeHash()
		prev = e.Hash
		out = append(out, e)
	}
	return out
}

func exampleDossier(t *testing.T, edit func(map[string]any)) string {
	t.Helper()
	raw, err := os.ReadFile("../../examples/dossier.json")
	if err != nil {
		t.Fatal(err)
	}
	var d map[string]any
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(d)
	}
	b, _ := json.Marshal(map[string]any{"dossier": d, "rules_version": "2026.1"})
	return string(b)
}

// TestDataFromTheJournal: a letter reads its journal row and the dossier
// as the rows before it recorded it, so a later change of the dossier does
// not rewrite it; the payment statement finds the amount granted and the
// amount payable in earlier rows.
func TestDataFromTheJournal(t *testing.T) {
	later := exampleDossier(t, func(d map[string]any) { d["mission"].(map[string]any)["end_date"] = "2030-04-30" })
	entries := journal(t,
		[2]string{"submitted", exampleDossier(t, nil)},
		[2]string{"approved", `{"decision":"approve","amount":"2800.00"}`},
		[2]string{"dates_changed", later},
		[2]string{"report_accepted", `{"amount":"2500.00","motivation":"Coûts réels inférieurs"}`},
		[2]string{"payment_confirmed", `{"amount":"2500.00","reference":"DAECT-2031-0007","paid_on":"2031-05-02"}`},
	)
	d, err := build(entries, 1, Approval)
	if err != nil {
		t.Fatal(err)
	}
	if d.Granted != 280000 || d.Requested != 350000 || d.Collectivite != "Commune de Nantes" || d.RulesVersion != "2026.1" ||
		d.MissionEnd.Format(time.DateOnly) != "2030-03-20" || d.ReportDue().Format(time.DateOnly) != "2030-04-19" ||
		d.Code != Code(Approval, entries[1].Hash) || !d.Date.Equal(entries[1].OccurredAt) {
		t.Errorf("approval data %+v", d)
	}
	p, err := build(entries, 4, PaymentStatement)
	if err != nil {
		t.Fatal(err)
	}
	if p.Granted != 280000 || p.Payable != 250000 || p.Paid != 250000 || p.PaymentReference != "DAECT-2031-0007" ||
		p.PaidOn.Format(time.DateOnly) != "2031-05-02" || p.MissionEnd.Format(time.DateOnly) != "2030-04-30" {
		t.Errorf("payment data %+v", p)
	}
	if _, err := build(entries, 1, Refusal); err == nil || !strings.Contains(err.Error(), "not rejected") {
		t.Errorf("a refusal letter of an approval: %v", err)
	}
	text, err := Text(p)
	if err != nil || !strings.Contains(text, "Montant dû :: 2\u202f500,00\u00a0€") {
		t.Errorf("payment statement text (%v):\n%s", err, text)
	}
}
