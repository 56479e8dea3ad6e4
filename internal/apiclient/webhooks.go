package apiclient

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/daect/expectct/internal/store"
	"github.com/daect/expectct/internal/webhooks"
)

// CreateWebhook subscribes a system to the changes of state (admin). The
// answer carries the signing secret, shown this once.
func (c *Client) CreateWebhook(ctx context.Context, in webhooks.Input) (*Response[webhooks.Created], error) {
	body, err := encode(in)
	if err != nil {
		return nil, err
	}
	return call[webhooks.Created](ctx, c, http.MethodPost, "/v1/webhooks", nil, nil, body)
}

// Webhooks lists the subscriptions, removed ones included (admin).
func (c *Client) Webhooks(ctx context.Context) (*Response[[]store.WebhookSubscription], error) {
	return call[[]store.WebhookSubscription](ctx, c, http.MethodGet, "/v1/webhooks", nil, nil, nil)
}

// RemoveWebhook disables a subscription, keeping its deliveries (admin).
func (c *Client) RemoveWebhook(ctx context.Context, id string) (*Response[store.WebhookSubscription], error) {
	return call[store.WebhookSubscription](ctx, c, http.MethodDelete, "/v1/webhooks/"+url.PathEscape(id), nil, nil, nil)
}

// DeliveriesPage picks a page of a subscription's delivery attempts; zero
// values are not sent.
type DeliveriesPage struct {
	ApplicationID string
	Limit         int
	Before        int64
}

// WebhookDeliveries lists a subscription's delivery attempts, newest first
// (admin, auditor).
func (c *Client) WebhookDeliveries(ctx context.Context, id string, p DeliveriesPage) (*Response[webhooks.Deliveries], error) {
	q := url.Values{}
	if p.ApplicationID != "" {
		q.Set("application_id", p.ApplicationID)
	}
	if p.Limit > 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	if p.Before > 0 {
		q.Set("before", strconv.FormatInt(p.Before, 10))
	}
	return call[webhooks.Deliveries](ctx, c, http.MethodGet, "/v1/webhooks/"+url.PathEscape(id)+"/deliveries", q, nil, nil)
}
