// Package api is the HTTP API of expectct: JSON under /v1, bearer tokens,
// RFC 9457 problems. Human steps call the workflow's Updates and wait for
// their result, so the caller learns at once whether the step was accepted.
// Every refused attempt by an identified caller is written to the attempts
// table; requests without a valid token are counted, not stored.
package api

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"

	"github.com/daect/expectct/internal/checkpoint"
	"github.com/daect/expectct/internal/codec"
	"github.com/daect/expectct/internal/identity"
	"github.com/daect/expectct/internal/letters"
	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/rules"
	"github.com/daect/expectct/internal/store"
)

// Server serves the API.
type Server struct {
	Temporal client.Client
	Store    *store.Store
	// Verifier checks bearer tokens: OpenID Connect tokens of the issuer.
	Verifier Verifier
	// SignIn tells the CLI and the web application where to sign in.
	SignIn    identity.SignIn
	Rules     rules.Rules
	TaskQueue string
	// Namespace is the Temporal namespace (default "default").
	Namespace     string
	MaxBodyBytes  int64
	UpdateTimeout time.Duration
	Log           *slog.Logger
	// Codec opens the sealed histories the audit reads; it must be the one
	// Temporal's client was given (nil: payloads in clear).
	Codec *codec.Codec
	// CheckpointKeys check the signed checkpoints audit verify reads
	// (EXPECTCT_CHECKPOINT_PUBLIC_KEYS).
	CheckpointKeys checkpoint.PublicKeys
	// DirectoryFallback is how long a person's roles as last read stand in
	// while PostgreSQL is unreachable (0: refuse with 503 at once).
	DirectoryFallback time.Duration
	known             lastKnown
	figuresCache      figuresCache
	// CodecOrigins are the Temporal Web UI origins allowed to call the codec
	// endpoint from a browser (CORS).
	CodecOrigins []string
	// Registry receives the API's metrics; nil means no metrics.
	Registry prometheus.Registerer
	// RateLimits bound anonymous requests per address and writes per
	// person; the zero value is no limit.
	RateLimits RateLimits
	// Letters renders the letters from the journal (downloads) and confirms
	// their codes (the public verify endpoint).
	Letters *letters.Source
	// Now is the clock; tests may set it.
	Now func() time.Time

	m      *metrics
	limits *limiters
	// exportSlots holds a token per export being streamed (maxExports).
	exportSlots chan struct{}
	callRouting
}

// Verifier checks a bearer token and says who it speaks for
// (*identity.Verifier).
type Verifier interface {
	Verify(ctx context.Context, raw string) (identity.Principal, error)
}

// route is one endpoint: its pattern, the action it performs (for the
// permission check and the attempts log) and its handler.
type route struct {
	method, path string
	action       lifecycle.Action
	handle       func(*request) (int, any, error)
}

func (s *Server) routes() []route {
	steps := []route{}
	for _, st := range stepRoutes {
		steps = append(steps, route{"POST", "/v1/applications/{id}/" + st.path, st.action, s.step(st)})
	}
	return append([]route{
		{"POST", "/v1/applications", lifecycle.ActionSubmit, s.submit},
		{"GET", "/v1/applications", lifecycle.ActionList, s.list},
		{"GET", "/v1/applications/{id}", lifecycle.ActionRead, s.read},
		{"GET", "/v1/applications/{id}/history", lifecycle.ActionHistory, s.history},
		{"GET", "/v1/applications/{id}/letters/{kind}", lifecycle.ActionRead, s.letter},
		{"GET", followPath, lifecycle.ActionFollow, s.following},
		{"PUT", followPath, lifecycle.ActionFollow, s.follow},
		{"DELETE", followPath, lifecycle.ActionFollow, s.unfollow},
		// Uploading a file is part of filing the report: the applicant's.
		{"POST", attachmentsPath, lifecycle.ActionReport, s.uploadAttachment},
		{"GET", attachmentPath, lifecycle.ActionRead, s.downloadAttachment},
		{"GET", "/v1/audit/verify", lifecycle.ActionAuditVerify, s.verify},
		{"POST", "/v1/audit/verify", lifecycle.ActionAuditVerify, s.verify},
		{"GET", "/v1/audit/checkpoints", lifecycle.ActionAuditVerify, s.checkpoints},
		{"GET", "/v1/exports/applications", lifecycle.ActionExport, s.export},
		{"GET", "/v1/embassies", lifecycle.ActionEmbassyList, s.listEmbassies},
		{"GET", "/v1/figures", lifecycle.ActionFigures, s.figures},
		{"PUT", "/v1/embassies/{country}", lifecycle.ActionEmbassyDirectory, s.setEmbassy},
		{"GET", "/v1/mail/failed", lifecycle.ActionMailFailed, s.failedMail},
		{"GET", "/v1/me", lifecycle.ActionWhoAmI, s.whoami},
		{"GET", "/v1/people", lifecycle.ActionPeopleList, s.listPeople},
		{"GET", "/v1/people/{person}", lifecycle.ActionPeopleList, s.readPerson},
		{"POST", "/v1/people/{person}/grants", lifecycle.ActionPeopleGrant, s.grant},
		{"POST", "/v1/people/{person}/revocations", lifecycle.ActionPeopleGrant, s.revoke},
		{"GET", "/v1/directory/journal", lifecycle.ActionPeopleList, s.directoryJournal},
		{"POST", "/v1/codec/decode", lifecycle.ActionCodecDecode, s.decodePayloads},
		{"POST", "/v1/webhooks", lifecycle.ActionWebhookManage, s.createWebhook},
		{"GET", "/v1/webhooks", lifecycle.ActionWebhookManage, s.listWebhooks},
		{"DELETE", "/v1/webhooks/{webhook}", lifecycle.ActionWebhookManage, s.removeWebhook},
		{"GET", "/v1/webhooks/{webhook}/deliveries", lifecycle.ActionWebhookDeliveries, s.webhookDeliveries},
	}, steps...)
}

// Handler builds the HTTP handler.
func (s *Server) Handler() http.Handler {
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.Log == nil {
		s.Log = slog.Default()
	}
	if s.MaxBodyBytes <= 0 {
		s.MaxBodyBytes = 1 << 20
	}
	if s.Namespace == "" {
		s.Namespace = "default"
	}
	if s.UpdateTimeout <= 0 {
		s.UpdateTimeout = 30 * time.Second
	}
	m := newMetrics(s.Registry)
	s.m = m
	s.limits = newLimiters(s.RateLimits)
	s.exportSlots = make(chan struct{}, maxExports)
	s.callOnce.Do(s.buildCallMux)
	mux := http.NewServeMux()
	for _, rt := range s.routes() {
		var h http.Handler = s.authenticated(rt)
		if rt.path == codecDecodePath {
			h = s.codecCORS(h)
		}
		mux.Handle(rt.method+" "+rt.path, m.wrap(rt.method+" "+rt.path, h))
	}
	mux.Handle("OPTIONS "+codecDecodePath, m.wrap("OPTIONS "+codecDecodePath, s.codecCORS(http.NotFoundHandler())))
	// The liveness probe is never limited: a 429 there would get a healthy
	// process restarted.
	mux.Handle("GET /healthz", m.wrap("GET /healthz", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "alive"})
	})))
	mux.Handle("GET /readyz", m.wrap("GET /readyz", s.limitedPublic(http.HandlerFunc(s.ready))))
	mux.Handle("GET /v1/auth/config", m.wrap("GET /v1/auth/config", s.limitedPublic(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.SignIn)
	}))))
	mux.Handle("GET "+letterVerifyPath, m.wrap("GET "+letterVerifyPath, s.limitedPublic(http.HandlerFunc(s.verifyLetter))))
	mux.Handle("GET /v1/openapi.json", m.wrap("GET /v1/openapi.json", s.limitedPublic(http.HandlerFunc(serveOpenAPI))))
	mux.Handle("/", m.wrap("unmatched", s.limitedPublic(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, errNotFound("no route "+r.Method+" "+r.URL.Path))
	}))))
	return mux
}

// request is what a handler works with: the caller and the HTTP request.
type request struct {
	*http.Request
	w      http.ResponseWriter
	caller identity.Caller
	// actor is the caller in the role the route's action needs.
	actor  lifecycle.Actor
	action lifecycle.Action
	appID  string
}

// authenticated serves a route to an HTTP client and writes its result.
func (s *Server) authenticated(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		status, body, err := s.run(rt, w, r)
		if stream, ok := body.(streamed); ok && err == nil {
			if err = stream(w); err == nil {
				return
			}
			p := fromError(err)
			s.refused(&request{Request: r, action: rt.action, appID: r.PathValue("id")}, p)
			err = p
		}
		if err != nil {
			writeProblem(w, fromError(err))
			return
		}
		if f, ok := body.(file); ok {
			f.write(w, status)
			return
		}
		writeJSON(w, status, body)
	})
}

// run checks the application ID of the path, then who calls (a bearer
// token, or the web application's session), the rate limits and the role,
// runs the handler and logs any refusal in the attempts table. A stream or
// a file comes back unwritten.
func (s *Server) run(rt route, w http.ResponseWriter, r *http.Request) (int, any, error) {
	hasID := strings.Contains(rt.path, "{id}")
	// Decoding payloads changes nothing, and the Temporal Web UI posts it
	// for every page it shows: a read.
	write := rt.method != http.MethodGet && rt.action != lifecycle.ActionCodecDecode
	if hasID && !validApplicationID(r.PathValue("id")) {
		p := cmp.Or(s.allowAnonymous(r), errBadApplicationID())
		s.refused(&request{Request: r, w: w, action: rt.action}, p)
		return 0, nil, p
	}
	req := &request{Request: r, w: w, action: rt.action, appID: cmp.Or(r.PathValue("id"), r.URL.Query().Get("application_id"))}
	var status int
	var body any
	var err error
	req.caller, req.actor, err = s.identify(r, rt.action)
	var unidentified *Problem
	switch {
	case req.caller.Person.ID != "" && write:
		// Before the role's verdict: a refused write is a row in the
		// attempts table, and a flood of them must not become one.
		if p := s.allowWrite(req.caller.Person.ID); p != nil {
			err = p
		}
	case errors.As(err, &unidentified) && unidentified.Status == http.StatusUnauthorized:
		if p := s.allowAnonymous(r); p != nil {
			err = p
		}
	}
	if err == nil {
		r.Body = http.MaxBytesReader(w, r.Body, s.bodyLimit(rt))
		status, body, err = rt.handle(req)
	}
	if err != nil {
		// One problem for the log and the answer: a 5xx's incident
		// reference must be the same in both.
		p := fromError(err)
		s.refused(req, p)
		return 0, nil, p
	}
	return status, body, nil
}

// identify verifies the bearer token, finds the person in the directory
// and picks the role the action needs among theirs. A caller with no such
// role is identified all the same, so the refusal is recorded under their
// name.
func (s *Server) identify(r *http.Request, action lifecycle.Action) (identity.Caller, lifecycle.Actor, error) {
	p, err := s.principal(r)
	if err != nil {
		return identity.Caller{}, lifecycle.Actor{}, err
	}
	key := p.Issuer + " " + p.Subject
	v, _ := r.Context().Value(visitKey{}).(*visit)
	if v != nil && v.person != nil && v.key == key {
		return s.caller(p, *v.person, action)
	}
	person, err := s.Store.SeePerson(r.Context(), store.Person{Issuer: p.Issuer, Subject: p.Subject, Kind: string(p.Kind), Name: p.Name, Email: p.Email})
	switch {
	case err == nil:
		s.known.remember(key, person, s.Now())
		if v != nil {
			v.key, v.person = key, &person
		}
	case errors.Is(err, store.ErrSubjectTaken):
		return identity.Caller{}, lifecycle.Actor{}, errUnauthorized(err.Error())
	case errors.Is(err, store.ErrUnavailable) && s.DirectoryFallback > 0:
		known, ok := s.known.recall(key, s.Now(), s.DirectoryFallback)
		if !ok {
			return identity.Caller{}, lifecycle.Actor{}, err
		}
		s.Log.Warn("directory unreachable: roles as last read", "person", known.ID, "error", err)
		person = known
	default:
		return identity.Caller{}, lifecycle.Actor{}, err
	}
	return s.caller(p, person, action)
}

// caller picks the role the action needs among the person's.
func (s *Server) caller(p identity.Principal, person store.Person, action lifecycle.Action) (identity.Caller, lifecycle.Actor, error) {
	caller := identity.Caller{Principal: p, Person: person}
	actor, ok := caller.ActorFor(action)
	if !ok && action != lifecycle.ActionWhoAmI {
		return caller, actor, errForbidden(fmt.Sprintf("%s holds no role that may %s", person.ID, action))
	}
	return caller, actor, nil
}

// principal is who the request speaks for: the person of the web
// application's session (Call), or the bearer token's.
func (s *Server) principal(r *http.Request) (identity.Principal, error) {
	if p, ok := r.Context().Value(sessionPrincipal{}).(identity.Principal); ok {
		return p, nil
	}
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || strings.TrimSpace(token) == "" {
		return identity.Principal{}, errUnauthorized("a bearer token is required (Authorization: Bearer ...)")
	}
	p, err := s.Verifier.Verify(r.Context(), strings.TrimSpace(token))
	switch {
	case errors.Is(err, identity.ErrIssuerUnavailable):
		return p, errUnavailable("le fournisseur d'identité ne répond pas / the identity provider does not answer", err)
	case err != nil:
		return p, errUnauthorized(err.Error())
	}
	return p, nil
}

// refused writes a refusal by an identified caller to the attempts table
// (the history never shows it) and every refusal to the log. 404 and 503
// are not attempts against the rules.
func (s *Server) refused(req *request, p *Problem) {
	log := s.Log.With("action", req.action, "application_id", req.appID, "actor", req.actor.ID,
		"role", req.actor.Role, "status", p.Status, "reason", p.Detail)
	if p.Status >= 500 {
		log.Error("request failed", "incident", p.Incident, "error", p.cause)
		return
	}
	// 429 is about pace, not rights: storing it would let the flood it
	// stops fill the attempts table instead, and a line each would fill the
	// log. expectct_rate_limited_total counts them.
	if p.Status == http.StatusTooManyRequests {
		log.Debug("request limited")
		return
	}
	log.Warn("request refused")
	if p.Status == http.StatusNotFound {
		return
	}
	// Without a valid token nobody is identified: such requests are counted,
	// not stored, so anonymous traffic can neither fill the attempts table
	// nor write lines into an application's timeline.
	if p.Status == http.StatusUnauthorized {
		s.m.unauthenticated(req.action)
		return
	}
	actorID := req.actor.ID
	if actorID == "" {
		actorID = "anonymous"
	}
	reason := p.Title
	if p.Detail != "" {
		reason += ": " + p.Detail
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(req.Context()), 5*time.Second)
	defer cancel()
	if err := s.Store.RecordAttempt(ctx, store.Attempt{ActorID: actorID, ActorRole: req.roles(),
		Action: string(req.action), ApplicationID: req.appID, Reason: truncate(reason, 1000), HTTPStatus: p.Status}); err != nil {
		log.Error("could not record refused attempt", "error", err)
	}
}

// roles is the role the caller acted in, or, when none of theirs allowed
// the action, all the roles they hold.
func (r *request) roles() string {
	if r.actor.Role != "" {
		return string(r.actor.Role)
	}
	var roles []string
	for _, a := range r.caller.Actors() {
		roles = append(roles, string(a.Role))
	}
	return strings.Join(roles, ",")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	checks := map[string]string{"postgresql": "ok", "temporal": "ok"}
	status := http.StatusOK
	// The probe says which dependency fails; why is for the log alone.
	failed := func(name string, err error) {
		checks[name], status = "unavailable", http.StatusServiceUnavailable
		s.Log.Error("not ready", "dependency", name, "error", err)
	}
	if err := s.Store.Ping(ctx); err != nil {
		failed("postgresql", err)
	}
	if _, err := s.Temporal.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		failed("temporal", err)
	}
	writeJSON(w, status, checks)
}

// applicationID derives an opaque ID. With an idempotency key it is the same
// for the same collectivité and key, which makes a resubmission find the
// first application; without one it is random. It never carries PII.
func applicationID(siren, idempotencyKey string) string {
	var raw []byte
	if idempotencyKey != "" {
		sum := sha256.Sum256([]byte("expectct/submission/" + siren + "/" + idempotencyKey))
		raw = sum[:10]
	} else {
		raw = make([]byte, 10)
		_, _ = rand.Read(raw)
	}
	return "EXP-" + base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(raw)
}
