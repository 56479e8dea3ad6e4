package bench

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/daect/expectct/internal/apiclient"
	"github.com/daect/expectct/internal/dossier"
	"github.com/daect/expectct/internal/lifecycle"
)

// ExampleDossier is a copy of examples/dossier.json (a test keeps them equal),
// embedded so the bench runs from any directory.
//
//go:embed dossier.json
var ExampleDossier []byte

// The actors of a benchmark lifecycle. The decider is not the instructor:
// the four-eyes rule would refuse the decision.
var (
	Applicant  = lifecycle.Actor{ID: "claire.martin", Role: lifecycle.RoleApplicant, SIREN: "214401093"}
	EmbassySN  = lifecycle.Actor{ID: "scac.dakar", Role: lifecycle.RoleEmbassy, Countries: []string{"SN"}}
	Instructor = lifecycle.Actor{ID: "instructeur.daect", Role: lifecycle.RoleInstructor}
	Decider    = lifecycle.Actor{ID: "delegue.daect", Role: lifecycle.RoleDecider}
	// The auditor and the admin read their pages in the page timings.
	Auditor = lifecycle.Actor{ID: "auditeur.daect", Role: lifecycle.RoleAuditor}
	Admin   = lifecycle.Actor{ID: "admin.daect", Role: lifecycle.RoleAdmin}
)

// grant is the amount recommended and granted (the dossier asks 3,500 €).
var grant = dossier.Euros(3000)

// EngineDriver drives lifecycles through the engine's HTTP API, one client
// per actor, all sharing one connection pool.
type EngineDriver struct {
	applicant, embassy, instructor, decider *apiclient.Client
	dossier                                 []byte
	// Prefix makes the idempotency keys of one run unique.
	Prefix string
}

// NewHTTPClient keeps enough idle connections for every concurrent client,
// so the figures do not include TCP connection set-up.
func NewHTTPClient(concurrency int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 4*concurrency + 16
	t.MaxIdleConnsPerHost = 4*concurrency + 16
	t.DialContext = (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	return &http.Client{Timeout: 2 * time.Minute, Transport: t}
}

// NewEngineDriver signs the actors in.
func NewEngineDriver(ctx context.Context, apiURL string, signIn *SignIn, hc *http.Client, prefix string) (*EngineDriver, error) {
	client := func(a lifecycle.Actor) (*apiclient.Client, error) {
		return actorClient(ctx, apiURL, signIn, hc, a)
	}
	d := &EngineDriver{dossier: ExampleDossier, Prefix: prefix}
	var err error
	for _, c := range []struct {
		to *(*apiclient.Client)
		a  lifecycle.Actor
	}{{&d.applicant, Applicant}, {&d.embassy, EmbassySN}, {&d.instructor, Instructor}, {&d.decider, Decider}} {
		if *c.to, err = client(c.a); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// Start submits the example dossier with a unique idempotency key.
func (d *EngineDriver) Start(ctx context.Context, i int) (string, error) {
	key := fmt.Sprintf("%s-%d", d.Prefix, i)
	r, err := d.applicant.Submit(ctx, d.dossier, key)
	if err != nil {
		return "", fmt.Errorf("submit %s: %w", key, err)
	}
	if !r.Value.Created {
		return "", fmt.Errorf("submit %s: the idempotency key matched an earlier application %s", key, r.Value.ApplicationID)
	}
	return r.Value.ApplicationID, nil
}

// Consulted reads the application as the embassy would.
func (d *EngineDriver) Consulted(ctx context.Context, id string) (bool, error) {
	r, err := d.embassy.Status(ctx, id)
	if err != nil {
		return false, fmt.Errorf("status of %s: %w", id, err)
	}
	return r.Value.Status == lifecycle.StatusEmbassyConsultation && r.Value.EmbassyContacted, nil
}

// Step gives the opinion, the recommendation or the decision.
func (d *EngineDriver) Step(ctx context.Context, id, step string) (bool, error) {
	var err error
	switch step {
	case StepOpinion:
		_, err = d.embassy.Opinion(ctx, id, "favorable", "Mission attendue par la commune partenaire.")
		var p *apiclient.Problem
		if errors.As(err, &p) && p.Status == http.StatusConflict {
			return true, nil
		}
	case StepRecommendation:
		_, err = d.instructor.Recommend(ctx, id, "approve", &grant, "Dossier complet, budget cohérent.")
	case StepDecision:
		_, err = d.decider.Decide(ctx, id, "approve", &grant, "")
	default:
		return false, fmt.Errorf("unknown step %q", step)
	}
	if err != nil {
		return false, fmt.Errorf("%s on %s: %w", step, id, err)
	}
	return false, nil
}
