package e2e_test

import (
	"context"
	"testing"
	"time"

	"github.com/daect/expectct/internal/bench"
	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/testenv"
)

// TestBenchPages runs the benchmark's page timings on the test stack, a
// few reads each: the seeding writes applications the pages list, every
// role signs in through the provider's form as a person does, and every
// page answers 200. The figures themselves are `expectct bench`'s.
func TestBenchPages(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOptions{Rules: slowRules()})
	site := s.Web().URL
	for _, a := range []lifecycle.Actor{bench.Applicant, bench.EmbassySN, bench.Instructor, bench.Decider, bench.Auditor, bench.Admin} {
		s.Grant(a)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	seeded, err := bench.Seed(ctx, s.DBURL, 40, 4, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(seeded) != 40 {
		t.Fatalf("%d applications seeded, want 40", len(seeded))
	}
	id := submitAs(t, s, bench.Applicant, testenv.ExampleDossier(t))
	waitConsulted(t, s, id)

	res, err := bench.RunPages(ctx, bench.NewHTTPClient(2), []string{id},
		bench.PagesOptions{Site: site, Password: testenv.TestPassword, DatabaseURL: s.DBURL, Reads: 3, Concurrency: 2})
	if err != nil {
		t.Fatal(err)
	}
	if res.Applications < 41 {
		t.Errorf("%d applications counted, want at least the 41 written", res.Applications)
	}
	for _, e := range res.Errors {
		t.Errorf("page refused: %s", e)
	}
	for _, p := range res.Pages {
		if p.Count != 3 {
			t.Errorf("%s: %d reads timed, want 3", p.Name, p.Count)
		}
	}
	// The seeded applications are the embassies' to see, as submitted ones are.
	st := readState(t, s, seeded[0])
	if st.Status != lifecycle.StatusEmbassyConsultation || !st.EmbassyContacted || len(st.Deadlines) != 1 {
		t.Errorf("a seeded application reads as %s, contacted %v, deadlines %v", st.Status, st.EmbassyContacted, st.Deadlines)
	}
}
