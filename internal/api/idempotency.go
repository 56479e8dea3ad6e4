package api

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"go.temporal.io/sdk/temporal"

	"github.com/daect/expectct/internal/dossier"
	"github.com/daect/expectct/internal/lifecycle"
)

// An Idempotency-Key names one request. The same key with the same request
// is answered as the first one was, so a client may retry after a timeout;
// the same key with another request is refused (409): answering it with the
// first request's outcome would tell the caller that something it did not
// send was done.
//
// The request is identified by the SHA-256 of its body bytes, not of the
// decoded value re-encoded: a retry sends the same bytes (the CLI's default
// submission key is the SHA-256 of the file it sends), and the bytes do not
// depend on how this version of the server decodes or encodes a dossier, so
// a retry across an upgrade is still recognised.

const (
	idempotencyHeader = "Idempotency-Key"
	maxIdempotencyKey = 200
	// memoSubmission is the memo field of an application's workflow that
	// holds the hex SHA-256 of the body its submission key came with. The
	// memo is written atomically with the workflow's start, which is what
	// settles concurrent submissions, so the binding can never be half
	// written, and a submission keeps needing Temporal only (not
	// PostgreSQL). It is a memo, not a search attribute: nothing queries it.
	memoSubmission = "submission_sha256"
)

// idempotencyKey reads the request's Idempotency-Key, "" when it has none.
func idempotencyKey(r *request) (string, error) {
	key := strings.TrimSpace(r.Header.Get(idempotencyHeader))
	if len(key) > maxIdempotencyKey {
		return "", &dossier.ValidationError{Kind: dossier.KindMalformed, Fields: []dossier.FieldError{{
			Field: idempotencyHeader, Rule: "max",
			MessageFR: fmt.Sprintf("La clé d'idempotence ne doit pas dépasser %d caractères", maxIdempotencyKey),
			MessageEN: fmt.Sprintf("The idempotency key must not exceed %d characters", maxIdempotencyKey)}}}
	}
	return key, nil
}

// errKeyReused is the 409 answered to a key already used for another
// request, with its explanation in both languages.
func errKeyReused(fr, en string) *Problem {
	p := problem(http.StatusConflict, "idempotency-key-reused",
		"Clé d'idempotence déjà utilisée / Idempotency key already used", en)
	p.Errors = []dossier.FieldError{{Field: idempotencyHeader, Rule: "reused", MessageFR: fr, MessageEN: en}}
	return p
}

// sameSubmission tells whether the application id was submitted with the
// body whose hex SHA-256 is sum. An application submitted before bodies were
// recorded has no memo and is taken as the same, as it was then.
func (s *Server) sameSubmission(ctx context.Context, id, sum string) (bool, error) {
	desc, err := s.Temporal.DescribeWorkflow(ctx, id, "")
	if err != nil {
		return false, err
	}
	var first string
	if err := desc.GetMemoValue(memoSubmission, &first); err != nil {
		if errors.Is(err, temporal.ErrNoData) {
			return true, nil
		}
		return false, fmt.Errorf("memo of %s: %w", id, err)
	}
	return first == sum, nil
}

// errSubmissionKeyReused answers a submission key already used for another
// dossier.
func errSubmissionKeyReused(id string) *Problem {
	return errKeyReused(
		"Cette clé d'idempotence a déjà servi à déposer un autre dossier ("+id+") ; déposez celui-ci avec une nouvelle clé",
		"This Idempotency-Key was already used to submit another dossier ("+id+"); submit this one with a new key")
}

// stepUpdateID is the Update ID of a step sent with an idempotency key:
// Temporal answers a repeated Update ID with the first update's outcome, so
// a retried step gets its answer instead of a 409. It is namespaced by the
// step, so one key may serve every step of a command.
func stepUpdateID(update, key string) string { return update + ":" + key }

// stepFingerprint identifies a step request: who sends it and its body. The
// caller is part of it so that another user who happens to send the same
// key is refused rather than told the outcome of someone else's step.
func stepFingerprint(actor lifecycle.Actor, body []byte) []byte {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00", actor.Role, actor.ID)
	h.Write(body)
	return h.Sum(nil)
}

// bindStepKey binds the step's key to the request before the update is
// sent, refusing a key already bound to another request.
func (s *Server) bindStepKey(r *request, update, key string, body []byte) error {
	same, err := s.Store.BindIdempotencyKey(r.Context(), r.appID, update, key, stepFingerprint(r.actor, body))
	if err != nil {
		return err
	}
	if !same {
		return errKeyReused(
			"Cette clé d'idempotence a déjà servi pour une autre requête à l'étape "+update+" de ce dossier (autre contenu ou autre utilisateur) ; utilisez une nouvelle clé",
			"This Idempotency-Key was already used for another request on step "+update+" of this application (another body or another user); use a new key")
	}
	return nil
}
