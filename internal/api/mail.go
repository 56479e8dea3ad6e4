package api

import (
	"net/http"

	"github.com/daect/expectct/internal/store"
)

// failedMailAttempts is how many failed attempts make a still-retried
// e-mail worth an operator's look (about 20 minutes of backoff).
const failedMailAttempts = 10

// FailedMail lists the e-mails the mail server refused for good, and those
// still failing after many attempts.
type FailedMail struct {
	Items []store.OutboxMail `json:"items"`
}

func (s *Server) failedMail(r *request) (int, any, error) {
	items, err := s.Store.FailedMail(r.Context(), failedMailAttempts, 200)
	if err != nil {
		return 0, nil, err
	}
	if items == nil {
		items = []store.OutboxMail{}
	}
	return http.StatusOK, FailedMail{Items: items}, nil
}
