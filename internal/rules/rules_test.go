package rules

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/daect/expectct/internal/dossier"
)

// The shipped example dossier passes the shipped rules.
func TestExampleDossierPassesDefaultRules(t *testing.T) {
	f, err := os.Open("../../examples/dossier.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d, err := dossier.Decode(f, 0)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	// A fixed submission day: the example's mission is in March 2030.
	now := time.Date(2026, time.March, 2, 9, 0, 0, 0, time.UTC)
	flags, err := dossier.Validate(d, Default().Policy(), now)
	if err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if len(flags) != 0 {
		t.Errorf("flags = %v, want none for Senegal", flags)
	}
}

func TestPolicy(t *testing.T) {
	r := Default()
	p := r.Policy()
	if p.MinAgents != 1 || p.MaxAgents != 4 || p.MinMissionDays != 1 || p.MaxMissionDays != 15 ||
		p.MinNoticeDays != 21 || p.MaxSharePercent != 70 || p.LDCSharePercent != 90 || p.CapPerMission != dossier.Euros(5000) {
		t.Errorf("policy = %+v", p)
	}
	// The policy answers as the rules do.
	for _, c := range []string{"SN", "BR", "ML", "HT", "SY", "FR", "sn"} {
		if p.IsRed(c) != r.IsRed(c) || p.IsOrange(c) != r.IsOrange(c) || p.IsLeastDeveloped(c) != r.IsLeastDeveloped(c) ||
			p.SharePercent(c) != r.SharePercent(c) {
			t.Errorf("%s: policy and rules disagree", c)
		}
		for _, total := range []dossier.Money{0, 99, 480001, dossier.Euros(4800), dossier.Euros(20000)} {
			if p.MaxRequest(total, c) != r.MaxRequest(total, c) {
				t.Errorf("%s %s: MaxRequest %s vs %s", c, total, p.MaxRequest(total, c), r.MaxRequest(total, c))
			}
		}
	}
	// The lists are copies: changing the policy cannot change the rules.
	p.TravelAdviceRed[0] = "FR"
	if slices.Contains(r.TravelAdviceRed, "FR") {
		t.Error("Policy shares its lists with the rules")
	}
}

func TestParseRejectsInvalidRules(t *testing.T) {
	base := string(defaultYAML)
	tests := []struct {
		name    string
		yaml    string
		wantAll []string // substrings of the error, to be clear enough to fix the file
	}{
		{"unknown key", strings.Replace(base, "max_agents: 4", "max_agents: 4\nmax_agent: 5", 1),
			[]string{"invalid rules", "max_agent", "not found"}},
		{"bad duration", strings.Replace(base, "embassy_reminder: 168h", "embassy_reminder: 7d", 1),
			[]string{"invalid rules", `"7d" is not a duration such as 168h`}},
		{"max_agents below min_agents", strings.Replace(base, "max_agents: 4", "max_agents: 0", 1),
			[]string{"invalid rules", "MaxAgents", "gtefield"}},
		{"share above 100 %", strings.Replace(base, "ldc_share_percent: 90", "ldc_share_percent: 190", 1),
			[]string{"invalid rules", "LDCSharePercent"}},
		{"bad country code", strings.Replace(base, "travel_advice_orange: [HT,", "travel_advice_orange: [HTI,", 1),
			[]string{"invalid rules", "TravelAdviceOrange"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.yaml == base {
				t.Fatal("the replacement did not apply: default.yaml changed?")
			}
			_, err := Parse([]byte(tt.yaml))
			if err == nil {
				t.Fatal("accepted")
			}
			for _, s := range tt.wantAll {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
		})
	}
}

// The attachment limits default when the rules leave them out, as rules
// written before attachments do, and the shipped file says the same.
func TestAttachmentLimits(t *testing.T) {
	var none Attachments
	if none.FileBytes() != 10<<20 || none.ReportBytes() != 25<<20 || none.Files() != 10 {
		t.Errorf("defaults: %d %d %d", none.FileBytes(), none.ReportBytes(), none.Files())
	}
	if d := Default().Attachments; d.FileBytes() != none.FileBytes() || d.ReportBytes() != none.ReportBytes() || d.Files() != none.Files() {
		t.Errorf("default.yaml %+v differs from the defaults", d)
	}
	r, err := Parse([]byte(strings.Replace(string(defaultYAML), "max_files: 10 ", "max_files: 2 ", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if r.Attachments.Files() != 2 {
		t.Errorf("max_files 2 read as %d", r.Attachments.Files())
	}
	if _, err := Parse([]byte(strings.Replace(string(defaultYAML), "max_files: 10 ", "max_files: -1 ", 1))); err == nil {
		t.Error("a negative limit was accepted")
	}
}
