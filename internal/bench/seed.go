package bench

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/daect/expectct/activities"
	"github.com/daect/expectct/internal/dossier"
	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/rules"
	"github.com/daect/expectct/internal/store"
)

// Seed writes n applications straight into the database through the
// worker's own recording (activities.RecordTransition): each one submitted,
// then waiting for its embassy's opinion, with the journal rows, the read
// model and the e-mails those two steps queue. No workflow runs for them:
// they are there for the read and page timings, which read PostgreSQL only,
// and take seconds where a scale run (--scale) takes half an hour.
// Destinations go round the embassy directory (red ones left out); submission dates spread over
// the past year, so the programme figures have something to count.
func Seed(ctx context.Context, databaseURL string, n, concurrency int, progress io.Writer) ([]string, error) {
	st, err := store.Open(ctx, databaseURL)
	if err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	defer st.Close()
	embassies, err := st.Embassies(ctx)
	if err != nil {
		return nil, fmt.Errorf("seed: embassy directory: %w", err)
	}
	prog := rules.Default()
	var countries []string
	for _, e := range embassies {
		if !prog.IsRed(e.Country) { // a red destination is refused at submission
			countries = append(countries, e.Country)
		}
	}
	if len(countries) == 0 {
		return nil, fmt.Errorf("seed: the embassy directory has no destination open to missions")
	}
	var base dossier.Dossier
	if err := json.Unmarshal(ExampleDossier, &base); err != nil {
		return nil, err
	}
	rec := &activities.Activities{Store: st, Secretariat: "secretariat.bench@diplomatie.gouv.fr",
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	now := time.Now().UTC()
	ids := make([]string, n)
	var next, done atomic.Int64
	var firstErr error
	var once sync.Once
	stop := progressEvery(progress, 10*time.Second, func() string {
		return fmt.Sprintf("seed: %d/%d applications written", done.Load(), n)
	})
	defer stop()
	var wg sync.WaitGroup
	for range max(concurrency, 1) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				d := base
				d.Partner.Country = countries[i%len(countries)]
				// The share allowed depends on the destination.
				d.Budget.Requested = min(base.Budget.Requested, prog.MaxRequest(base.Budget.Total(), d.Partner.Country))
				d.Budget.OwnShare = base.Budget.Total() - d.Budget.Requested
				d.Mission.Title = fmt.Sprintf("%s (%d)", base.Mission.Title, i+1)
				submitted := now.Add(-time.Duration(i%365) * 24 * time.Hour).Add(-time.Duration(i) * time.Second)
				id, err := seedOne(ctx, rec, prog, d, submitted)
				if err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				ids[i] = id
				done.Add(1)
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return ids, ctx.Err()
}

// seedOne records an application's first two transitions as the workflow
// sequences them: the submission, then the embassy consulted with its
// deadline. Like the workflow's snapshots, the states carry no steps: the
// read model appends each transition's.
func seedOne(ctx context.Context, rec *activities.Activities, prog rules.Rules, d dossier.Dossier, at time.Time) (string, error) {
	id := seedApplicationID()
	at = at.Truncate(time.Microsecond) // as the workflow's clock
	flags, err := dossier.Validate(d, prog.Policy(), time.Now().In(lifecycle.Paris))
	if err != nil {
		return "", fmt.Errorf("seed: the example dossier is refused: %w", err)
	}
	st := lifecycle.State{ApplicationID: id, Status: lifecycle.StatusSubmitted, RulesVersion: prog.Version, Flags: flags,
		SubmittedAt: at, Submitter: Applicant}
	submitted := lifecycle.Transition{ApplicationID: id, Seq: 1, Event: lifecycle.EventSubmitted, Status: st.Status,
		Actor: Applicant, At: at, State: &st,
		Details: lifecycle.Details{RulesVersion: prog.Version, Flags: flags, Dossier: &d}}
	if err := rec.RecordTransition(ctx, submitted); err != nil {
		return "", fmt.Errorf("seed %s: %w", id, err)
	}
	consulted := at.Add(time.Second)
	due := consulted.Add(prog.Timers.EmbassyDeadline.D())
	next := st
	next.Status, next.EmbassyContacted = lifecycle.StatusEmbassyConsultation, true
	next.Deadlines = []lifecycle.Deadline{{Name: "embassy_opinion", Due: due}}
	t := lifecycle.Transition{ApplicationID: id, Seq: 2, Event: lifecycle.EventEmbassyConsulted, Status: next.Status,
		Actor: lifecycle.System, At: consulted, State: &next,
		Details: lifecycle.Details{Deadline: &due, Flags: flags}}
	if err := rec.RecordTransition(ctx, t); err != nil {
		return "", fmt.Errorf("seed %s: %w", id, err)
	}
	return id, nil
}

// seedApplicationID has the form of the API's IDs: EXP- and the base32 of
// 10 random bytes.
func seedApplicationID() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return "EXP-" + base32.StdEncoding.EncodeToString(b)
}
