package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/daect/expectct/internal/audit"
	"github.com/daect/expectct/internal/dossier"
	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/store"
	"github.com/daect/expectct/workflows"
)

// SubmitResult answers a submission.
type SubmitResult struct {
	ApplicationID string           `json:"application_id"`
	Status        lifecycle.Status `json:"status"`
	RulesVersion  string           `json:"rules_version"`
	Flags         []string         `json:"flags"`
	Created       bool             `json:"created"`
}

func (s *Server) submit(r *request) (int, any, error) {
	// Decode reads the whole body, so the hash covers every byte of it.
	sum := sha256.New()
	d, err := dossier.Decode(io.TeeReader(r.Body, sum), s.MaxBodyBytes)
	if err != nil {
		return 0, nil, decodeErr(err)
	}
	flags, err := dossier.Validate(d, s.Rules.Policy(), s.Now().In(lifecycle.Paris))
	if err != nil {
		return 0, nil, err
	}
	if d.Collectivite.SIREN != r.actor.SIREN {
		return 0, nil, errForbidden(fmt.Sprintf("applicant acts for SIREN %s, not %s", r.actor.SIREN, d.Collectivite.SIREN))
	}
	key, err := idempotencyKey(r)
	if err != nil {
		return 0, nil, err
	}
	bodySum := hex.EncodeToString(sum.Sum(nil))
	var memo map[string]any
	if key != "" {
		memo = map[string]any{memoSubmission: bodySum}
	}
	id := applicationID(d.Collectivite.SIREN, key)
	r.appID = id
	res := SubmitResult{ApplicationID: id, Status: lifecycle.StatusSubmitted, RulesVersion: s.Rules.Version, Flags: flags, Created: true}
	if res.Flags == nil {
		res.Flags = []string{}
	}
	_, err = s.Temporal.ExecuteWorkflow(r.Context(), client.StartWorkflowOptions{
		ID:                    id,
		TaskQueue:             s.TaskQueue,
		Memo:                  memo,
		WorkflowIDReusePolicy: enumsReject,
		// Without it the SDK hides the "already started" error and returns the
		// running workflow, so a resubmission would be answered 201 as new.
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.StatusKey.ValueSet(string(lifecycle.StatusSubmitted)),
			workflows.CountryKey.ValueSet(d.Partner.Country)),
	}, workflows.WorkflowName, lifecycle.StartInput{
		ApplicationID: id, Submitter: r.actor, Dossier: d, Rules: s.Rules, Flags: flags,
	})
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	switch {
	case errors.As(err, &started):
		// The same collectivité sent the same key: this is the first
		// application, if the key came with the same dossier.
		same, derr := s.sameSubmission(r.Context(), id, bodySum)
		if derr != nil {
			return 0, nil, derr
		}
		if !same {
			return 0, nil, errSubmissionKeyReused(id)
		}
		res.Created = false
		if st, qerr := s.state(r.Context(), id); qerr == nil {
			res.Status, res.RulesVersion, res.Flags = st.Status, st.RulesVersion, st.Flags
		}
		return http.StatusOK, res, nil
	case err != nil:
		return 0, nil, err
	}
	s.Log.Info("application submitted", "application_id", id, "actor", r.actor.ID, "country", d.Partner.Country)
	return http.StatusCreated, res, nil
}

// state asks the workflow for the application's full state.
func (s *Server) state(ctx context.Context, id string) (lifecycle.State, error) {
	var st lifecycle.State
	v, err := s.Temporal.QueryWorkflow(ctx, id, "", lifecycle.QueryStatus)
	if err != nil {
		return st, err
	}
	return st, v.Get(&st)
}

// inScope refuses an actor who does not act for this application, judged on
// the read model (or the workflow while the read model is being written).
func (s *Server) inScope(r *request) error {
	siren, country, err := s.scopeOf(r.Context(), r.appID)
	if err != nil {
		return err
	}
	if !r.actor.InScope(siren, country) {
		return errForbidden(fmt.Sprintf("%s %q does not act for application %s", r.actor.Role, r.actor.ID, r.appID))
	}
	return nil
}

func (s *Server) scopeOf(ctx context.Context, id string) (siren, country string, err error) {
	a, err := s.Store.Application(ctx, id)
	if err == nil {
		return a.SIREN, a.Country, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return "", "", err
	}
	st, err := s.state(ctx, id)
	if err != nil {
		return "", "", err
	}
	return st.SIREN(), st.Country(), nil
}

func (s *Server) read(r *request) (int, any, error) {
	if err := s.inScope(r); err != nil {
		return 0, nil, err
	}
	// The read model holds the state as the last transition left it, so a
	// read costs one PostgreSQL row and never wakes the workflow.
	st, err := s.storedState(r.Context(), r.appID)
	if err == nil {
		return http.StatusOK, st, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return 0, nil, err
	}
	// Not recorded yet (just submitted): ask the workflow.
	st, err = s.state(r.Context(), r.appID)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, st, nil
}

// storedState reads the application's state from the read model;
// store.ErrNotFound when it has none yet.
func (s *Server) storedState(ctx context.Context, id string) (lifecycle.State, error) {
	return s.Store.ApplicationState(ctx, id)
}

func (s *Server) list(r *request) (int, any, error) {
	q := r.URL.Query()
	f := store.Filter{Status: q.Get("status"), Country: strings.ToUpper(q.Get("country")), SIREN: q.Get("siren"), Cursor: q.Get("cursor")}
	var bad []dossier.FieldError
	if f.Status != "" && !lifecycle.Status(f.Status).Valid() {
		bad = append(bad, dossier.FieldError{Field: "status", Rule: "oneof",
			MessageFR: "Statut inconnu: " + f.Status, MessageEN: "Unknown status: " + f.Status})
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 200 {
			bad = append(bad, dossier.FieldError{Field: "limit", Rule: "range",
				MessageFR: "limit doit être un entier entre 1 et 200", MessageEN: "limit must be an integer from 1 to 200"})
		}
		f.Limit = n
	}
	if o := q.Get("order"); o != "" {
		f.Order = store.Order(o)
		if !slices.Contains(store.Orders, f.Order) {
			bad = append(bad, dossier.FieldError{Field: "order", Rule: "oneof",
				MessageFR: "order doit valoir newest, oldest ou deadline", MessageEN: "order must be newest, oldest or deadline"})
		}
	}
	if d := q.Get("deadline_within_days"); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil || n < 0 || n > 366 {
			bad = append(bad, dossier.FieldError{Field: "deadline_within_days", Rule: "range",
				MessageFR: "deadline_within_days doit être un entier entre 0 et 366",
				MessageEN: "deadline_within_days must be an integer from 0 to 366"})
		}
		// Within N days: due at most N×24 hours from now (0: overdue).
		f.DeadlineBefore = s.Now().AddDate(0, 0, n)
	}
	switch q.Get("followed") {
	case "":
	case "me":
		if !lifecycle.Allows(r.actor.Role, lifecycle.ActionFollow) {
			bad = append(bad, dossier.FieldError{Field: "followed", Rule: "role",
				MessageFR: "seul le personnel de la DAECT suit des demandes", MessageEN: "only DAECT staff follow applications"})
		}
		f.FollowedBy = r.actor.ID
	default:
		bad = append(bad, dossier.FieldError{Field: "followed", Rule: "oneof",
			MessageFR: "followed ne peut valoir que me", MessageEN: "followed may only be me"})
	}
	if len(bad) > 0 {
		return 0, nil, fromValidation(&dossier.ValidationError{Kind: dossier.KindMalformed, Fields: bad})
	}
	switch r.actor.Role {
	case lifecycle.RoleApplicant:
		if f.SIREN != "" && f.SIREN != r.actor.SIREN {
			return 0, nil, errForbidden("an applicant lists only its own collectivité's applications")
		}
		f.SIREN = r.actor.SIREN
	case lifecycle.RoleEmbassy:
		f.Countries = r.actor.Countries
	}
	page, err := s.Store.List(r.Context(), f)
	if err != nil {
		return 0, nil, err
	}
	if page.Items == nil {
		page.Items = []store.Application{}
	}
	return http.StatusOK, page, nil
}

func (s *Server) history(r *request) (int, any, error) {
	q := r.URL.Query()
	page := store.AttemptsQuery{Limit: audit.DefaultAttemptsLimit}
	var bad []dossier.FieldError
	if l := q.Get("attempts_limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > audit.MaxAttemptsLimit {
			bad = append(bad, dossier.FieldError{Field: "attempts_limit", Rule: "range",
				MessageFR: fmt.Sprintf("attempts_limit doit être un entier entre 1 et %d", audit.MaxAttemptsLimit),
				MessageEN: fmt.Sprintf("attempts_limit must be an integer from 1 to %d", audit.MaxAttemptsLimit)})
		}
		page.Limit = n
	}
	if b := q.Get("attempts_before"); b != "" {
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n < 1 {
			bad = append(bad, dossier.FieldError{Field: "attempts_before", Rule: "cursor",
				MessageFR: "attempts_before doit être le next_attempts_before d'une page précédente",
				MessageEN: "attempts_before must be the next_attempts_before of a previous page"})
		}
		page.Before = n
	}
	if len(bad) > 0 {
		return 0, nil, fromValidation(&dossier.ValidationError{Kind: dossier.KindMalformed, Fields: bad})
	}
	tl, err := audit.HistoryPage(r.Context(), s.Temporal, s.Codec, s.Store, r.appID, page)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, tl, nil
}

func (s *Server) listEmbassies(r *request) (int, any, error) {
	list, err := s.Store.Embassies(r.Context())
	return http.StatusOK, list, err
}

// EmbassyInput sets a country's embassy contact.
type EmbassyInput struct {
	Name   string   `json:"name" validate:"required,max=200"`
	Emails []string `json:"emails" validate:"required,min=1,max=10,dive,email"`
}

func (s *Server) setEmbassy(r *request) (int, any, error) {
	cc := r.PathValue("country")
	var in EmbassyInput
	if err := decode(r.Body, s.MaxBodyBytes, &in); err != nil {
		return 0, nil, err
	}
	if err := dossier.ValidateCountry(cc); err != nil {
		return 0, nil, err
	}
	if err := dossier.ValidateStruct(in); err != nil {
		return 0, nil, err
	}
	e := store.Embassy{Country: cc, Name: in.Name, Emails: in.Emails}
	if err := s.Store.SetEmbassy(r.Context(), e); err != nil {
		return 0, nil, err
	}
	s.Log.Info("embassy contact set", "country", cc, "actor", r.actor.ID)
	if err := s.wakeAwaitingContact(r.Context(), cc); err != nil {
		return 0, nil, err
	}
	saved, err := s.Store.Embassy(r.Context(), cc)
	return http.StatusOK, saved, err
}

// wakeAwaitingContact signals the applications waiting for a contact in the
// country. Setting the contact again is harmless, so a failure answers an
// error the admin can retry rather than leave an application asleep.
func (s *Server) wakeAwaitingContact(ctx context.Context, country string) error {
	ids, err := s.Store.AwaitingEmbassyContact(ctx, country)
	if err != nil {
		return err
	}
	for _, id := range ids {
		err := s.Temporal.SignalWorkflow(ctx, id, "", lifecycle.SignalEmbassyContactSet, nil)
		var done *serviceerror.NotFound
		if err != nil && !errors.As(err, &done) {
			return errUnavailable("contact enregistré, mais un dossier qui l'attend n'a pas pu être réveillé : enregistrez-le à nouveau / "+
				"contact saved, but an application waiting for it could not be woken: set it again",
				fmt.Errorf("wake application %s: %w", id, err))
		}
		s.Log.Info("application woken: embassy contact set", "application_id", id, "country", country)
	}
	return nil
}

// decode reads a request body into v with the one strict decoder of every
// body, the dossier's: unknown, repeated or case-folded keys, wrong types and
// trailing data are refused with their paths.
func decode(body io.Reader, maxBytes int64, v any) error {
	if err := dossier.DecodeJSON(body, maxBytes, v); err != nil {
		return decodeErr(err)
	}
	return nil
}

func decodeErr(err error) error {
	var ve *dossier.ValidationError
	if errors.As(err, &ve) {
		return ve
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return &dossier.ValidationError{Kind: dossier.KindTooLarge, Fields: []dossier.FieldError{{Field: "$", Rule: "too_large",
			MessageFR: "Le corps de la requête est trop volumineux", MessageEN: "The request body is too large"}}}
	}
	return errUnavailable("", fmt.Errorf("reading the request: %w", err))
}
