// Package activities holds the side effects of an application's life: each
// transition persisted in one PostgreSQL transaction with its e-mails queued,
// then the e-mails delivered over SMTP. Every activity is idempotent.
package activities

import (
	"time"

	"github.com/daect/expectct/internal/dossier"
	"github.com/daect/expectct/internal/lifecycle"
)

// Recipient names who an e-mail goes to; the activity resolves the address.
type Recipient string

// Recipients of transition e-mails.
const (
	ToApplicant   Recipient = "applicant"
	ToSecretariat Recipient = "secretariat"
	ToEmbassy     Recipient = "embassy"
)

// MailSpec asks for one e-mail as part of a transition.
type MailSpec struct {
	Template string    `json:"template"`
	To       Recipient `json:"to"`
	// CcEmbassy copies the embassy of the destination, when it has a contact.
	CcEmbassy bool `json:"cc_embassy,omitempty"`
}

// Details are what a transition decided, recorded in the journal payload and
// used to fill the e-mails.
type Details struct {
	Opinion        string           `json:"opinion,omitempty"`
	Recommendation string           `json:"recommendation,omitempty"`
	Decision       string           `json:"decision,omitempty"`
	Amount         *dossier.Money   `json:"amount,omitempty"`
	Comment        string           `json:"comment,omitempty"`
	Message        string           `json:"message,omitempty"`
	Motivation     string           `json:"motivation,omitempty"`
	Reason         string           `json:"reason,omitempty"`
	Deadline       *time.Time       `json:"deadline,omitempty"`
	RulesVersion   string           `json:"rules_version,omitempty"`
	Flags          []string         `json:"flags,omitempty"`
	Dossier        *dossier.Dossier `json:"dossier,omitempty"`
}

// Transition is one step of an application, as the workflow decided it.
// (ApplicationID, Seq) identifies it: a retried activity finds it recorded.
type Transition struct {
	ApplicationID string           `json:"application_id"`
	Seq           int              `json:"seq"`
	Event         string           `json:"event"`
	Status        lifecycle.Status `json:"status"`
	Actor         lifecycle.Actor  `json:"actor"`
	At            time.Time        `json:"at"`
	Details       Details          `json:"details"`
	Mails         []MailSpec       `json:"mails,omitempty"`
	// State is the application as the transition leaves it, without its
	// dossier; the read model keeps it so reads need not query the workflow.
	// Histories recorded before it existed carry none.
	State *lifecycle.State `json:"state,omitempty"`
}
