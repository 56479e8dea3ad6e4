package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/daect/expectct/internal/dossier"
	"github.com/daect/expectct/internal/store"
	"github.com/daect/expectct/internal/webhooks"
)

// Deliveries listed per page: the default and the most.
const (
	defaultDeliveriesLimit = 50
	maxDeliveriesLimit     = 500
)

// createWebhook stores a subscription and starts its deliverer. The secret
// is in this answer only.
func (s *Server) createWebhook(r *request) (int, any, error) {
	var in webhooks.Input
	if err := decode(r.Body, s.MaxBodyBytes, &in); err != nil {
		return 0, nil, err
	}
	if err := in.Validate(); err != nil {
		return 0, nil, err
	}
	secret, err := webhooks.NewSecret()
	if err != nil {
		return 0, nil, err
	}
	sub, err := s.Store.CreateWebhook(r.Context(), store.WebhookSubscription{ID: webhooks.NewID(), URL: in.URL, Events: in.Events,
		Description: in.Description, CreatedBy: r.actor.ID}, secret)
	if err != nil {
		return 0, nil, err
	}
	if err := webhooks.Start(r.Context(), s.Temporal, s.TaskQueue, sub.ID); err != nil {
		// A subscription nothing delivers to must not look enabled: it is
		// disabled, and the admin creates another once Temporal is back.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 5*time.Second)
		defer cancel()
		if _, derr := s.Store.DisableWebhook(ctx, sub.ID, "expectct"); derr != nil {
			err = errors.Join(err, derr)
		}
		return 0, nil, errUnavailable("le webhook n'a pas pu être activé, réessayez / the webhook could not be started, try again", err)
	}
	s.Log.Info("webhook subscription created", "webhook", sub.ID, "url", sub.URL, "events", sub.Events, "actor", r.actor.ID)
	return http.StatusCreated, webhooks.Created{WebhookSubscription: sub, Secret: secret}, nil
}

func (s *Server) listWebhooks(r *request) (int, any, error) {
	list, err := s.Store.Webhooks(r.Context(), false)
	if list == nil {
		list = []store.WebhookSubscription{}
	}
	return http.StatusOK, list, err
}

// removeWebhook disables a subscription, keeping it and its deliveries, and
// stops its deliverer (which would also notice within a poll).
func (s *Server) removeWebhook(r *request) (int, any, error) {
	id, err := webhookID(r)
	if err != nil {
		return 0, nil, err
	}
	sub, err := s.Store.DisableWebhook(r.Context(), id, r.actor.ID)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil, errNotFound("no such webhook subscription")
	}
	if err != nil {
		return 0, nil, err
	}
	if err := webhooks.Stop(r.Context(), s.Temporal, id); err != nil {
		s.Log.Warn("webhook deliverer not cancelled; it ends at its next look at the subscription", "webhook", id, "error", err)
	}
	s.Log.Info("webhook subscription removed", "webhook", id, "url", sub.URL, "actor", r.actor.ID)
	return http.StatusOK, sub, nil
}

// webhookDeliveries lists a subscriber's delivery attempts, newest first,
// a page at a time.
func (s *Server) webhookDeliveries(r *request) (int, any, error) {
	id, err := webhookID(r)
	if err != nil {
		return 0, nil, err
	}
	q := r.URL.Query()
	page := store.WebhookDeliveriesQuery{Limit: defaultDeliveriesLimit, ApplicationID: q.Get("application_id")}
	var bad []dossier.FieldError
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > maxDeliveriesLimit {
			bad = append(bad, dossier.FieldError{Field: "limit", Rule: "range",
				MessageFR: fmt.Sprintf("limit doit être un entier entre 1 et %d", maxDeliveriesLimit),
				MessageEN: fmt.Sprintf("limit must be an integer from 1 to %d", maxDeliveriesLimit)})
		}
		page.Limit = n
	}
	if b := q.Get("before"); b != "" {
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n < 1 {
			bad = append(bad, dossier.FieldError{Field: "before", Rule: "cursor",
				MessageFR: "before doit être le next_before d'une page précédente",
				MessageEN: "before must be the next_before of a previous page"})
		}
		page.Before = n
	}
	if page.ApplicationID != "" && !validApplicationID(page.ApplicationID) {
		bad = append(bad, dossier.FieldError{Field: "application_id", Rule: "application_id",
			MessageFR: "application_id doit être EXP- suivi de 16 caractères parmi A–Z et 2–7",
			MessageEN: "application_id must be EXP- then 16 characters from A–Z and 2–7"})
	}
	if len(bad) > 0 {
		return 0, nil, fromValidation(&dossier.ValidationError{Kind: dossier.KindMalformed, Fields: bad})
	}
	if _, err := s.Store.Webhook(r.Context(), id); errors.Is(err, store.ErrNotFound) {
		return 0, nil, errNotFound("no such webhook subscription")
	} else if err != nil {
		return 0, nil, err
	}
	items, next, err := s.Store.WebhookDeliveries(r.Context(), id, page)
	if err != nil {
		return 0, nil, err
	}
	if items == nil {
		items = []store.WebhookDelivery{}
	}
	return http.StatusOK, webhooks.Deliveries{Items: items, NextBefore: next}, nil
}

// webhookID is the subscription ID of the path; anything else is unknown.
func webhookID(r *request) (string, error) {
	id := r.PathValue("webhook")
	if !webhooks.ValidID(id) {
		return "", &dossier.ValidationError{Kind: dossier.KindInvalid, Fields: []dossier.FieldError{{Field: "id", Rule: "webhook_id",
			MessageFR: "Identifiant de webhook invalide : WH- suivi de 16 caractères parmi A–Z et 2–7",
			MessageEN: "Invalid webhook ID: WH- then 16 characters from A–Z and 2–7"}}}
	}
	return id, nil
}
