package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/daect/expectct/internal/dossier"
	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/mail"
	"github.com/daect/expectct/internal/store"
)

// Mailer delivers one e-mail; *mail.Sender is the real one.
type Mailer interface {
	Send(ctx context.Context, m mail.Message) error
}

// Activities carries what the activities need: the database, the mail
// server and the DAECT secretariat's address.
type Activities struct {
	Store       *store.Store
	Mailer      Mailer
	Secretariat string
	Log         *slog.Logger
}

// Error type of failures that retrying cannot fix.
const errTypeConflict = "JournalConflict"

// LookupEmbassy tells whether the directory has a contact for the country.
func (a *Activities) LookupEmbassy(ctx context.Context, country string) (bool, error) {
	_, err := a.Store.Embassy(ctx, country)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// RecordTransition persists one transition (journal row, read model, outbox
// rows in one transaction) then delivers its e-mails. Retried, it neither
// records nor sends twice: the journal is keyed by (application, seq), the
// outbox by a key per e-mail, and a delivered e-mail is marked sent.
func (a *Activities) RecordTransition(ctx context.Context, t Transition) error {
	log := a.logger(ctx, t)
	dos, err := a.dossierOf(ctx, t)
	if err != nil {
		return err
	}
	mails, err := a.compose(ctx, t, dos)
	if err != nil {
		return err
	}
	payload, err := json.Marshal(t.Details)
	if err != nil {
		return temporal.NewNonRetryableApplicationError("encode journal payload", "Encoding", err)
	}
	entry := store.Entry{
		ApplicationID: t.ApplicationID, Seq: t.Seq, EventType: t.Event, Status: string(t.Status),
		ActorID: t.Actor.ID, ActorRole: string(t.Actor.Role), Payload: payload, OccurredAt: t.At,
	}
	recorded, err := a.Store.RecordTransition(ctx, entry, readModel(t, dos), mails)
	if errors.Is(err, store.ErrConflict) {
		return temporal.NewNonRetryableApplicationError(err.Error(), errTypeConflict, err)
	}
	if err != nil {
		return fmt.Errorf("record %s: %w", t.Event, err)
	}
	if recorded {
		log.Info("transition recorded", "event", t.Event, "status", t.Status, "actor", t.Actor.ID, "role", t.Actor.Role)
	}
	return a.deliver(ctx, t, log)
}

// deliver sends the transition's e-mails not yet marked sent. A crash
// between sending and marking resends with the same Message-ID, which the
// receiving server uses to drop the duplicate.
func (a *Activities) deliver(ctx context.Context, t Transition, log *slog.Logger) error {
	pending, err := a.Store.UnsentMail(ctx, t.ApplicationID, t.Seq)
	if err != nil {
		return err
	}
	for _, m := range pending {
		msg := mail.Message{Key: m.DedupKey, To: m.To, Cc: m.Cc,
			Rendered: mail.Rendered{Subject: m.Subject, Text: m.Text, HTML: m.HTML}}
		if err := a.Mailer.Send(ctx, msg); err != nil {
			if markErr := a.Store.MarkFailed(ctx, m.ID, err); markErr != nil {
				log.Warn("could not record mail failure", "error", markErr)
			}
			if mail.IsPermanent(err) {
				// A refused address will not be fixed by retrying; the
				// failure stays in the outbox for operators.
				log.Error("e-mail refused permanently", "template", m.Template, "key", m.DedupKey, "error", err)
				continue
			}
			return fmt.Errorf("send %s: %w", m.Template, err)
		}
		if err := a.Store.MarkSent(ctx, m.ID); err != nil {
			return err
		}
		log.Info("e-mail sent", "template", m.Template, "key", m.DedupKey, "message_id", m.MessageID)
	}
	return nil
}

// dossierOf returns the dossier the e-mails speak of: the transition's own
// (submission, complements) or the one stored in the read model.
func (a *Activities) dossierOf(ctx context.Context, t Transition) (dossier.Dossier, error) {
	if t.Details.Dossier != nil {
		return *t.Details.Dossier, nil
	}
	var d dossier.Dossier
	raw, err := a.Store.DossierJSON(ctx, t.ApplicationID)
	if err != nil {
		return d, err
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		return d, temporal.NewNonRetryableApplicationError("stored dossier unreadable", "Encoding", err)
	}
	return d, nil
}

// compose renders the transition's e-mails and resolves their recipients.
func (a *Activities) compose(ctx context.Context, t Transition, d dossier.Dossier) ([]store.OutboxMail, error) {
	if len(t.Mails) == 0 {
		return nil, nil
	}
	var embassy []string
	for _, spec := range t.Mails {
		if spec.To == ToEmbassy || spec.CcEmbassy {
			e, err := a.Store.Embassy(ctx, d.Partner.Country)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, err
			}
			embassy = e.Emails
			break
		}
	}
	data := mailData(t, d)
	var out []store.OutboxMail
	for _, spec := range t.Mails {
		var to, cc []string
		switch spec.To {
		case ToApplicant:
			to = []string{d.Contact.Email}
		case ToSecretariat:
			to = []string{a.Secretariat}
		case ToEmbassy:
			to = embassy
		}
		if spec.CcEmbassy {
			cc = embassy
		}
		if len(to) == 0 {
			// The workflow only consults an embassy once it has a contact;
			// a missing one here means the directory changed since.
			a.logger(ctx, t).Warn("no recipient for e-mail", "template", spec.Template, "to", spec.To)
			continue
		}
		r, err := mail.Render(spec.Template, data)
		if err != nil {
			return nil, temporal.NewNonRetryableApplicationError("render "+spec.Template, "Template", err)
		}
		key := fmt.Sprintf("%s/%d/%s/%s", t.ApplicationID, t.Seq, spec.Template, spec.To)
		out = append(out, store.OutboxMail{DedupKey: key, Template: spec.Template, To: to, Cc: cc,
			Subject: r.Subject, Text: r.Text, HTML: r.HTML, MessageID: mail.MessageID(key)})
	}
	return out, nil
}

func mailData(t Transition, d dossier.Dossier) mail.Data {
	data := mail.Data{
		ApplicationID:    t.ApplicationID,
		CollectiviteName: d.Collectivite.Name,
		ContactName:      d.Contact.Name,
		MissionTitle:     d.Mission.Title,
		Country:          d.Partner.Country,
		PartnerAuthority: d.Partner.Authority,
		PartnerCity:      d.Partner.City,
		StartDate:        d.Mission.StartDate.String(),
		EndDate:          d.Mission.EndDate.String(),
		RulesVersion:     t.Details.RulesVersion,
		Requested:        int64(d.Budget.Requested),
		Opinion:          t.Details.Opinion,
		Comment:          t.Details.Comment,
		Motivation:       t.Details.Motivation,
		Message:          t.Details.Message,
		Reason:           t.Details.Reason,
		Flags:            t.Details.Flags,
	}
	if t.Details.Amount != nil {
		data.Granted = int64(*t.Details.Amount)
	}
	if t.Details.Deadline != nil {
		data.Deadline = *t.Details.Deadline
	}
	return data
}

// readModel is the application row as the transition leaves it.
func readModel(t Transition, d dossier.Dossier) store.ReadModel {
	rm := store.ReadModel{Status: string(t.Status)}
	if t.Details.Dossier != nil {
		dj, _ := json.Marshal(d)
		rm.Dossier = dj
		rm.SIREN = d.Collectivite.SIREN
		rm.Collectivite = d.Collectivite.Name
		rm.Country = d.Partner.Country
		rm.MissionTitle = d.Mission.Title
		rm.Requested = int64(d.Budget.Requested)
		rm.RulesVersion = t.Details.RulesVersion
		rm.Flags = t.Details.Flags
	}
	if t.Details.Amount != nil {
		amount := int64(*t.Details.Amount)
		switch t.Event {
		case lifecycle.EventRecommended:
			rm.Recommended = &amount
		case lifecycle.EventApproved:
			rm.Granted = &amount
		}
	}
	rm.Decided = t.Event == lifecycle.EventApproved || t.Event == lifecycle.EventRejected
	if t.State != nil {
		rm.State, _ = json.Marshal(t.State)
	}
	return rm
}

// logger tags every line with the application and the workflow run.
func (a *Activities) logger(ctx context.Context, t Transition) *slog.Logger {
	l := a.Log
	if l == nil {
		l = slog.Default()
	}
	l = l.With("application_id", t.ApplicationID, "seq", t.Seq)
	if activity.IsActivity(ctx) {
		info := activity.GetInfo(ctx)
		l = l.With("workflow_id", info.WorkflowExecution.ID, "run_id", info.WorkflowExecution.RunID, "attempt", info.Attempt)
	}
	return l
}
