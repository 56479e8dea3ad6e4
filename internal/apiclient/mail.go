package apiclient

import (
	"context"
	"net/http"

	"github.com/daect/expectct/internal/store"
)

// FailedMail is the answer of GET /v1/mail/failed.
type FailedMail struct {
	Items []store.OutboxMail `json:"items"`
}

// FailedMail lists the e-mails the mail server refused for good or that keep
// failing (admin, auditor).
func (c *Client) FailedMail(ctx context.Context) (*Response[FailedMail], error) {
	return call[FailedMail](ctx, c, http.MethodGet, "/v1/mail/failed", nil, nil, nil)
}
