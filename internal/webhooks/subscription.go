// Package webhooks tells other systems of every change of state of every
// application, as the Standard Webhooks specification has it: signed POSTs
// (webhook-id, webhook-timestamp, webhook-signature), retried with backoff
// for a configurable time, in order per application, each attempt recorded.
// The journal is the source of what is sent: one workflow per subscriber
// delivers the journal rows it has not been through yet, keeping a cursor
// per (subscriber, application).
package webhooks

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/daect/expectct/internal/dossier"
	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/store"
)

// Input is an admin's new subscription. No events means every event, those
// added to the lifecycle later included.
type Input struct {
	URL         string   `json:"url" validate:"required,max=2000"`
	Events      []string `json:"events,omitempty" validate:"max=100"`
	Description string   `json:"description,omitempty" validate:"max=200"`
}

// Rules of the subscription's fields, besides the validator's own tags.
const (
	RuleWebhookURL = "webhook_url" // https, or http to a loopback address; no user, no fragment
	RuleEvent      = "event"       // one of the journal's event types, each once
)

// Validate checks a new subscription: the validator's tags and the texts
// (dossier.ValidateStruct), then the URL and the events, each problem
// naming its field and rule in French and English.
func (in Input) Validate() error {
	var fields []dossier.FieldError
	if err := dossier.ValidateStruct(in); err != nil {
		var ve *dossier.ValidationError
		if !errors.As(err, &ve) {
			return err
		}
		fields = append(fields, ve.Fields...)
	}
	named := func(field string) bool {
		return slices.ContainsFunc(fields, func(f dossier.FieldError) bool { return f.Field == field })
	}
	if !named("url") {
		if problem := checkURL(in.URL); problem != "" {
			fields = append(fields, dossier.FieldError{Field: "url", Rule: RuleWebhookURL,
				MessageFR: "L'adresse du webhook " + urlProblemsFR[problem],
				MessageEN: "The webhook URL " + urlProblemsEN[problem]})
		}
	}
	if !named("events") {
		seen := map[string]bool{}
		for i, e := range in.Events {
			field := "events[" + strconv.Itoa(i) + "]"
			switch {
			case seen[e]:
				fields = append(fields, dossier.FieldError{Field: field, Rule: RuleEvent,
					MessageFR: fmt.Sprintf("L'événement « %s » est déjà dans la liste", quote(e)),
					MessageEN: fmt.Sprintf("The event %q is already in the list", quote(e))})
			case !slices.Contains(lifecycle.AllEvents, e):
				fields = append(fields, dossier.FieldError{Field: field, Rule: RuleEvent,
					MessageFR: fmt.Sprintf("« %s » n'est pas un événement du journal ; événements possibles : %s", quote(e), strings.Join(lifecycle.AllEvents, ", ")),
					MessageEN: fmt.Sprintf("%q is not a journal event; possible events: %s", quote(e), strings.Join(lifecycle.AllEvents, ", "))})
			}
			seen[e] = true
		}
	}
	if len(fields) == 0 {
		return nil
	}
	slices.SortStableFunc(fields, func(a, b dossier.FieldError) int { return strings.Compare(a.Field, b.Field) })
	return &dossier.ValidationError{Kind: dossier.KindInvalid, Fields: fields}
}

var (
	urlProblemsFR = map[string]string{
		"parse":    "n'est pas une URL absolue (https://hôte/chemin)",
		"scheme":   "doit commencer par https:// (http:// seulement vers 127.0.0.1, ::1 ou localhost)",
		"userinfo": "ne doit pas contenir d'identifiant ni de mot de passe : la signature authentifie l'envoi",
		"fragment": "ne doit pas contenir de fragment (#…)",
	}
	urlProblemsEN = map[string]string{
		"parse":    "is not an absolute URL (https://host/path)",
		"scheme":   "must start with https:// (http:// only to 127.0.0.1, ::1 or localhost)",
		"userinfo": "must not carry a user name nor a password: the signature authenticates the sender",
		"fragment": "must not carry a fragment (#…)",
	}
)

// checkURL names what is wrong with a subscriber's URL, or "". Plain http
// would let anyone on the path read the events, so it is for a receiver on
// the same machine only (tests, make run).
func checkURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Hostname() == "" || u.Opaque != "" {
		return "parse"
	}
	switch {
	case u.User != nil:
		return "userinfo"
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return "fragment"
	case u.Scheme == "https":
		return ""
	case u.Scheme == "http" && loopback(u.Hostname()):
		return ""
	}
	return "scheme"
}

func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func quote(s string) string {
	r := []rune(s)
	if len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}

// idPattern is a subscription ID: WH- then 16 characters of base32.
var idPattern = regexp.MustCompile(`^WH-[A-Z2-7]{16}$`)

// ValidID tells whether s is a subscription ID.
func ValidID(s string) bool { return idPattern.MatchString(s) }

// NewID draws an opaque subscription ID. It is random rather than a
// database serial so the workflow ID it makes is unique across every
// database sharing a Temporal namespace.
func NewID() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return "WH-" + base32.StdEncoding.EncodeToString(b)
}

// WorkflowID is the ID of the workflow delivering to a subscriber.
func WorkflowID(subscriptionID string) string { return "webhook-" + subscriptionID }

// MessageID is the webhook-id of the message of one journal row. It names
// the row, not the subscriber nor the attempt: retries carry the same ID,
// and so do the two subscriptions of a secret's rotation, so a receiver that
// drops IDs it has seen gets each event once.
func MessageID(applicationID string, seq int) string {
	return "msg_" + applicationID + "_" + strconv.Itoa(seq)
}

// Message is the body of a webhook: the journal row's event and what it
// left, never the dossier's content. Receivers read details through the
// API with their own credentials.
type Message struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      Event     `json:"data"`
}

// Event is a message's data.
type Event struct {
	ApplicationID string    `json:"application_id"`
	Seq           int       `json:"seq"`
	Event         string    `json:"event"`
	Status        string    `json:"status"`
	At            time.Time `json:"at"`
	ActorRole     string    `json:"actor_role"`
}

// Body is the message of a journal row, the same bytes at every attempt.
func Body(e store.Entry) ([]byte, error) {
	at := e.OccurredAt.UTC()
	return json.Marshal(Message{Type: e.EventType, Timestamp: at, Data: Event{ApplicationID: e.ApplicationID, Seq: e.Seq,
		Event: e.EventType, Status: e.Status, At: at, ActorRole: e.ActorRole}})
}

// Wants tells whether a subscription takes an event: no events listed
// means all of them.
func Wants(events []string, event string) bool {
	return len(events) == 0 || slices.Contains(events, event)
}

// Created is the answer to a new subscription: the only time its secret is
// shown.
type Created struct {
	store.WebhookSubscription
	Secret string `json:"secret"`
}

// Deliveries is a page of a subscriber's delivery attempts, newest first.
type Deliveries struct {
	Items []store.WebhookDelivery `json:"items"`
	// NextBefore, when set, is the before parameter of the older page.
	NextBefore int64 `json:"next_before,omitempty"`
}
