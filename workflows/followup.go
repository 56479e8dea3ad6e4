package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/daect/expectct/internal/lifecycle"
)

// The second phase of an approved application: the mission takes place, its
// report is due some time after its end (with reminders, an overdue notice
// and a grace period), the instructor reviews it, a decider orders the
// payment and the accounting service confirms it.

// missionEnd is when the mission is over: the day after its last day, at
// midnight in Paris.
func (a *application) missionEnd() time.Time {
	end := a.st.Dossier.Mission.EndDate
	return time.Date(end.Year(), end.Month(), end.Day()+1, 0, 0, 0, 0, lifecycle.Paris).UTC()
}

// missionStart is when the mission begins: its first day, at midnight in Paris.
func (a *application) missionStart() time.Time {
	start := a.st.Dossier.Mission.StartDate
	return time.Date(start.Year(), start.Month(), start.Day(), 0, 0, 0, 0, lifecycle.Paris).UTC()
}

// later is t moved by d: by calendar days in Paris when d is a whole number
// of days, so a deadline stays at midnight across a change of daylight
// saving time; by d itself otherwise.
func later(t time.Time, d time.Duration) time.Time {
	const day = 24 * time.Hour
	if d%day != 0 {
		return t.Add(d)
	}
	p := t.In(lifecycle.Paris)
	return time.Date(p.Year(), p.Month(), p.Day()+int(d/day), p.Hour(), p.Minute(), p.Second(), p.Nanosecond(), lifecycle.Paris).UTC()
}

// followUp runs the second phase until the application is closed, renounced
// or cancelled. Long waits add few events, but a report kept waiting with
// extensions may still grow the history: the loop continues as new when
// Temporal suggests it.
func (a *application) followUp(ctx workflow.Context) error {
	for !a.st.Status.Terminal() {
		if workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			return a.continueAsNew(ctx, 0)
		}
		current, clock := a.st.Status, a.reportClock
		changed := func() bool { return a.st.Status != current || a.reportClock != clock }
		switch current {
		case lifecycle.StatusApproved, lifecycle.StatusChangesDeclared:
			if err := a.awaitMissionEnd(ctx, changed); err != nil {
				return err
			}
		case lifecycle.StatusAwaitingReport, lifecycle.StatusAwaitingReportChange, lifecycle.StatusReportOverdue:
			if err := a.awaitReport(ctx, changed); err != nil {
				return err
			}
		default:
			if err := workflow.Await(ctx, changed); err != nil {
				return err
			}
		}
	}
	return nil
}

// awaitMissionEnd waits for the mission to end, then asks for the report.
// Acknowledged changes move the end (the status changes, so the wait starts
// again with the new dates); a declaration still waiting when the mission
// ends lapses.
func (a *application) awaitMissionEnd(ctx workflow.Context, changed func() bool) error {
	end := a.missionEnd()
	a.followUpState().MissionEnd = end
	ok, err := awaitOrTimer(ctx, lifecycle.TimerMissionEnd, end.Sub(workflow.Now(ctx)), changed)
	if err != nil || ok {
		return err
	}
	due := later(end, a.prog.Timers.ReportDue())
	f := a.followUpState()
	f.ReportDue = &due
	f.DeclaredChanges = nil
	a.st.Status = lifecycle.StatusAwaitingReport
	a.setDeadline(lifecycle.Deadline{Name: "report", Due: due})
	a.sequence(ctx, lifecycle.EventMissionEnded, lifecycle.System, lifecycle.Details{Deadline: &due})
	return nil
}

// awaitReport waits for the report up to the next milestone of its clock: a
// reminder before the due date, one on its last day, the overdue notice to
// DAECT at the due date, then the end of the grace period, after which the
// instructor may cancel the grant. A reminder whose time has passed (the
// due date was moved close) is not sent late.
func (a *application) awaitReport(ctx workflow.Context, changed func() bool) error {
	f := a.followUpState()
	due := *f.ReportDue
	now := workflow.Now(ctx)
	overdue := a.st.Status == lifecycle.StatusReportOverdue
	var (
		at    time.Time
		timer string
		fire  func()
	)
	switch {
	case !overdue && f.Reminders == 0:
		at, timer = later(due, -a.prog.Timers.ReportReminderBefore()), lifecycle.TimerReportReminder
		fire = func() { a.remindReport(ctx, 1, due) }
	case !overdue && f.Reminders == 1:
		at, timer = later(due, -24*time.Hour), lifecycle.TimerReportLastDay
		fire = func() { a.remindReport(ctx, 2, due) }
	case !overdue:
		at, timer = due, lifecycle.TimerReportDue
		fire = func() {
			a.st.Status = lifecycle.StatusReportOverdue
			a.sequence(ctx, lifecycle.EventReportOverdue, lifecycle.System, lifecycle.Details{Deadline: &due})
		}
	case !f.GraceExpired:
		graceEnd := later(due, a.prog.Timers.ReportGraceAfter())
		at, timer = graceEnd, lifecycle.TimerReportGrace
		fire = func() {
			f.GraceExpired = true
			a.clearDeadline("report")
			a.sequence(ctx, lifecycle.EventReportGraceExpired, lifecycle.System, lifecycle.Details{Deadline: &graceEnd})
		}
	default:
		return workflow.Await(ctx, changed)
	}
	if timer != lifecycle.TimerReportDue && timer != lifecycle.TimerReportGrace && !at.After(now) {
		f.Reminders++ // too late to be useful: skipped
		return nil
	}
	ok, err := awaitOrTimer(ctx, timer, at.Sub(now), changed)
	if err != nil || ok {
		return err
	}
	fire()
	return nil
}

func (a *application) remindReport(ctx workflow.Context, n int, due time.Time) {
	a.followUpState().Reminders = n
	a.sequence(ctx, lifecycle.EventReportReminded, lifecycle.System, lifecycle.Details{Deadline: &due})
}

// followUpState returns the second phase's state, created on first use.
func (a *application) followUpState() *lifecycle.FollowUp {
	if a.st.FollowUp == nil {
		a.st.FollowUp = &lifecycle.FollowUp{}
	}
	return a.st.FollowUp
}
