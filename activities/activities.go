package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/daect/expectct/internal/dossier"
	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/mail"
	"github.com/daect/expectct/internal/store"
)

// Activities carries what the activities need: the database and the DAECT
// secretariat's address.
type Activities struct {
	Store       *store.Store
	Secretariat string
	Log         *slog.Logger
	// Refused counts transitions the database refused for their data, by
	// event; nil counts nothing.
	Refused *prometheus.CounterVec
	// Checkpoint signs checkpoints (EXPECTCT_CHECKPOINT_KEY); nil on a
	// worker without the key, whose TakeCheckpoint then fails for good.
	Checkpoint store.Signer
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

// RecordTransition persists one transition: journal row, read model and its
// e-mails queued in the outbox, in one transaction. The outbox relay
// delivers them. Retried, it records nothing twice: the journal is keyed by
// (application, seq) and a row already there must have the same content.
//
// A transition the database refuses for its data (SQLSTATE classes 22 and
// 23), or whose e-mail cannot be rendered, is retried like an outage, with an
// error log and the expectct_transition_refused_total metric each time: the
// application waits, nothing after it is recorded, and the build that fixes
// the cause resumes it on its own (docs/operations.md, "A transition refused").
func (a *Activities) RecordTransition(ctx context.Context, t lifecycle.Transition) error {
	log := a.logger(ctx, t)
	err := a.record(ctx, t, log)
	if err != nil && refusedForGood(err) {
		if a.Refused != nil {
			a.Refused.WithLabelValues(t.Event).Inc()
		}
		log.Error("transition refused: the application waits until the cause is fixed",
			"event", t.Event, "error", err)
	}
	return err
}

func (a *Activities) record(ctx context.Context, t lifecycle.Transition, log *slog.Logger) error {
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
		return fmt.Errorf("%w: encode journal payload: %w", errRefused, err)
	}
	entry := store.Entry{
		ApplicationID: t.ApplicationID, Seq: t.Seq, EventType: t.Event, Status: string(t.Status),
		ActorID: t.Actor.ID, ActorRole: string(t.Actor.Role), Payload: payload, OccurredAt: t.At,
	}
	recorded, err := a.Store.RecordTransition(ctx, entry, readModel(t, dos), mails)
	if errors.Is(err, store.ErrConflict) {
		log.Error("journal conflict: the workflow task fails until an operator acts", "event", t.Event, "error", err)
		return temporal.NewNonRetryableApplicationError(err.Error(), errTypeConflict, err)
	}
	if err != nil {
		return fmt.Errorf("record %s: %w", t.Event, err)
	}
	if recorded {
		log.Info("transition recorded", "event", t.Event, "status", t.Status, "actor", t.Actor.ID, "role", t.Actor.Role, "mails", len(mails))
	}
	return nil
}

// errRefused marks a failure of the transition's own content (as opposed to
// an outage): it is retried all the same, but raises the alarm.
var errRefused = errors.New("transition refused")

func refusedForGood(err error) bool {
	return errors.Is(err, errRefused) || store.IsDataError(err)
}

// dossierOf returns the dossier the e-mails speak of: the transition's own
// (submission, complements) or the one stored in the read model.
func (a *Activities) dossierOf(ctx context.Context, t lifecycle.Transition) (dossier.Dossier, error) {
	if t.Details.Dossier != nil {
		return *t.Details.Dossier, nil
	}
	var d dossier.Dossier
	raw, err := a.Store.DossierJSON(ctx, t.ApplicationID)
	if err != nil {
		return d, err
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		return d, fmt.Errorf("%w: stored dossier unreadable: %w", errRefused, err)
	}
	return d, nil
}

// compose renders the transition's e-mails and resolves their recipients.
func (a *Activities) compose(ctx context.Context, t lifecycle.Transition, d dossier.Dossier) ([]store.OutboxMail, error) {
	specs := lifecycle.MailsOf(t.Event)
	var embassy []string
	for _, spec := range specs {
		if spec.To == lifecycle.ToEmbassy || spec.CcEmbassy {
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
	for _, spec := range specs {
		var to, cc []string
		switch spec.To {
		case lifecycle.ToApplicant:
			to = []string{d.Contact.Email}
		case lifecycle.ToSecretariat:
			to = []string{a.Secretariat}
		case lifecycle.ToEmbassy:
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
			return nil, fmt.Errorf("%w: render %s: %w", errRefused, spec.Template, err)
		}
		key := fmt.Sprintf("%s/%d/%s/%s", t.ApplicationID, t.Seq, spec.Template, spec.To)
		out = append(out, store.OutboxMail{DedupKey: key, Template: spec.Template, To: to, Cc: cc,
			Subject: r.Subject, Text: r.Text, HTML: r.HTML, MessageID: mail.MessageID(key), Letter: letterOf(spec)})
	}
	followed, err := a.followerMails(ctx, t, data)
	return append(out, followed...), err
}

// followerMails tells each person following the application of the step,
// but not the one who took it.
func (a *Activities) followerMails(ctx context.Context, t lifecycle.Transition, data mail.Data) ([]store.OutboxMail, error) {
	followers, err := a.Store.Followers(ctx, t.ApplicationID)
	if err != nil {
		return nil, err
	}
	var out []store.OutboxMail
	for _, f := range followers {
		if f.ID == t.Actor.ID {
			continue
		}
		data.Follower = f.Name
		r, err := mail.Render(lifecycle.MailFollowedStep, data)
		if err != nil {
			return nil, fmt.Errorf("%w: render %s: %w", errRefused, lifecycle.MailFollowedStep, err)
		}
		key := fmt.Sprintf("%s/%d/%s/%s", t.ApplicationID, t.Seq, lifecycle.MailFollowedStep, f.ID)
		out = append(out, store.OutboxMail{DedupKey: key, Template: lifecycle.MailFollowedStep, To: []string{f.Email},
			Subject: r.Subject, Text: r.Text, HTML: r.HTML, MessageID: mail.MessageID(key)})
	}
	return out, nil
}

func mailData(t lifecycle.Transition, d dossier.Dossier) mail.Data {
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
		Status:           string(t.Status),
		Event:            t.Event,
	}
	if t.Details.Amount != nil {
		data.Granted = int64(*t.Details.Amount)
		data.Amount = int64(*t.Details.Amount)
	}
	if t.State != nil && t.State.Decision != nil && t.State.Decision.Value == lifecycle.DecisionApprove {
		data.Granted = int64(t.State.Decision.Amount)
	}
	if c := t.Details.Changes; c != nil {
		// Declared or acknowledged: the e-mail gives the new dates.
		data.StartDate, data.EndDate = c.StartDate.String(), c.EndDate.String()
	}
	data.Reference = t.Details.Reference
	if t.Details.PaidOn != nil {
		data.PaidOn = t.Details.PaidOn.String()
	}
	if t.Details.Deadline != nil {
		data.Deadline = *t.Details.Deadline
	}
	return data
}

// readModel is the application row as the transition leaves it.
func readModel(t lifecycle.Transition, d dossier.Dossier) store.ReadModel {
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
		// The snapshot leaves the steps out; this transition is the next.
		rm.Step, _ = json.Marshal(lifecycle.Step{Seq: t.Seq, Event: t.Event, Status: t.Status, Actor: t.Actor, At: t.At})
	}
	return rm
}

// logger tags every line with the application and the workflow run.
func (a *Activities) logger(ctx context.Context, t lifecycle.Transition) *slog.Logger {
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

// RefusedCounter registers the counter of transitions the database refused
// for their data (Activities.Refused) on reg.
func RefusedCounter(reg prometheus.Registerer) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "expectct_transition_refused_total",
		Help: "Attempts to record a transition that the database refused for its data, by event; the application waits for a fix.",
	}, []string{"event"})
	reg.MustRegister(c)
	return c
}
