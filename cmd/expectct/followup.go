package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/daect/expectct/internal/apiclient"
	"github.com/daect/expectct/internal/dossier"
	"github.com/daect/expectct/internal/lifecycle"
)

// The commands of the second phase: after approval, the mission, its report
// and the payment.
func followUpCommands(g *globals) []*cobra.Command {
	return []*cobra.Command{renounceCmd(g), declareChangesCmd(g), reviewChangesCmd(g), reportCmd(g), reviewReportCmd(g), extendReportCmd(g),
		cancelGrantCmd(g), orderPaymentCmd(g), confirmPaymentCmd(g)}
}

type stepCall func(ctx context.Context, c *apiclient.Client, id string) (*apiclient.Response[lifecycle.State], error)

// followUpStep builds a step command: check runs on the flags first.
func followUpStep(g *globals, use, short, done string, check func() error, call stepCall, flags func(*cobra.Command)) *cobra.Command {
	var key string
	cmd := &cobra.Command{
		Use: use, Short: short, Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := check(); err != nil {
				return err
			}
			c, err := g.stepClient(key)
			if err != nil {
				return err
			}
			r, err := call(cmd.Context(), c, args[0])
			if err != nil {
				return clientAPIError(err)
			}
			return printStepResult(cmd, g, r, done)
		},
	}
	flags(cmd)
	stepKeyFlag(cmd, &key)
	return cmd
}

func renounceCmd(g *globals) *cobra.Command {
	var reason string
	return followUpStep(g, "renounce ID --reason TEXT", "Give up an approved mission before it starts (applicant)", "renounced",
		func() error { return requireText("reason", reason) },
		func(ctx context.Context, c *apiclient.Client, id string) (*apiclient.Response[lifecycle.State], error) {
			return c.Renounce(ctx, id, reason)
		},
		func(cmd *cobra.Command) {
			cmd.Flags().StringVar(&reason, "reason", "", "why the mission is given up (required)")
		})
}

func declareChangesCmd(g *globals) *cobra.Command {
	var file, reason string
	var changes lifecycle.MissionChanges
	return followUpStep(g, "declare-changes ID --file CHANGES.json --reason TEXT",
		"Declare changed dates or agents before the mission starts (applicant); an instructor acknowledges or refuses them", "changes declared",
		func() error {
			if file == "" {
				return errors.New("--file is required: the new dates and agents as JSON (start_date, end_date, agents)")
			}
			if err := requireText("reason", reason); err != nil {
				return err
			}
			f, err := os.Open(file)
			if err != nil {
				return err
			}
			defer f.Close()
			return decodeJSONFile(f, &changes)
		},
		func(ctx context.Context, c *apiclient.Client, id string) (*apiclient.Response[lifecycle.State], error) {
			return c.DeclareChanges(ctx, id, changes, reason)
		},
		func(cmd *cobra.Command) {
			cmd.Flags().StringVar(&file, "file", "", "the new dates and agents as JSON (required)")
			cmd.Flags().StringVar(&reason, "reason", "", "why they change (required)")
		})
}

func reviewChangesCmd(g *globals) *cobra.Command {
	var acknowledge, refuse bool
	var reason string
	return followUpStep(g, "review-changes ID --acknowledge | --refuse --reason TEXT", "Acknowledge or refuse declared changes (instructor)", "changes reviewed",
		func() error {
			switch {
			case acknowledge == refuse:
				return errors.New("give exactly one of --acknowledge or --refuse")
			case refuse:
				return requireText("reason", reason)
			}
			return nil
		},
		func(ctx context.Context, c *apiclient.Client, id string) (*apiclient.Response[lifecycle.State], error) {
			outcome := lifecycle.ChangesAcknowledge
			if refuse {
				outcome = lifecycle.ChangesRefuse
			}
			return c.ReviewChanges(ctx, id, outcome, reason)
		},
		func(cmd *cobra.Command) {
			cmd.Flags().BoolVar(&acknowledge, "acknowledge", false, "the changes stand: the mission's dates and agents change")
			cmd.Flags().BoolVar(&refuse, "refuse", false, "the mission stays as approved")
			cmd.Flags().StringVar(&reason, "reason", "", "why they are refused (required with --refuse)")
		})
}

func reportCmd(g *globals) *cobra.Command {
	var file string
	var report lifecycle.Report
	return followUpStep(g, "report ID --file REPORT.json", "File the mission report once the mission is over (applicant)", "report filed",
		func() error {
			if file == "" {
				return errors.New("--file is required: the report as JSON (activities, results, follow_up, agents, costs; see examples/report.json)")
			}
			f, err := os.Open(file)
			if err != nil {
				return err
			}
			defer f.Close()
			return decodeJSONFile(f, &report)
		},
		func(ctx context.Context, c *apiclient.Client, id string) (*apiclient.Response[lifecycle.State], error) {
			return c.Report(ctx, id, report)
		},
		func(cmd *cobra.Command) { cmd.Flags().StringVar(&file, "file", "", "the report as JSON (required)") })
}

func reviewReportCmd(g *globals) *cobra.Command {
	var accept, askChanges bool
	var payable, motivation, message string
	var amount *dossier.Money
	return followUpStep(g, "review-report ID --accept [--payable EUR --motivation TEXT] | --ask-changes --message TEXT",
		"Review the mission report (instructor): accept it, possibly with a reduced payable amount, or ask for changes", "report reviewed",
		func() error {
			switch {
			case accept == askChanges:
				return errors.New("give exactly one of --accept or --ask-changes")
			case askChanges:
				return requireText("message", message)
			case payable != "":
				var err error
				amount, err = parseEuros(payable)
				return err
			}
			return nil
		},
		func(ctx context.Context, c *apiclient.Client, id string) (*apiclient.Response[lifecycle.State], error) {
			outcome := lifecycle.ReviewAccept
			if askChanges {
				outcome = lifecycle.ReviewAskChanges
			}
			return c.ReviewReport(ctx, id, outcome, amount, motivation, message)
		},
		func(cmd *cobra.Command) {
			f := cmd.Flags()
			f.BoolVar(&accept, "accept", false, "accept the report")
			f.BoolVar(&askChanges, "ask-changes", false, "send the report back to the applicant (the report clock resumes)")
			f.StringVar(&payable, "payable", "", "amount payable in euros (default: the amount granted, or the programme's share of the actual costs when lower)")
			f.StringVar(&motivation, "motivation", "", "why less than the amount granted is paid (required then)")
			f.StringVar(&message, "message", "", "what to change (with --ask-changes)")
		})
}

func extendReportCmd(g *globals) *cobra.Command {
	var until, reason string
	return followUpStep(g, "extend-report ID --until YYYY-MM-DD --reason TEXT", "Move the report's due date (instructor)", "report deadline moved",
		func() error {
			if until == "" {
				return errors.New("--until is required (YYYY-MM-DD)")
			}
			return requireText("reason", reason)
		},
		func(ctx context.Context, c *apiclient.Client, id string) (*apiclient.Response[lifecycle.State], error) {
			return c.ExtendReport(ctx, id, until, reason)
		},
		func(cmd *cobra.Command) {
			cmd.Flags().StringVar(&until, "until", "", "new due date, the report being due at the end of that day in Paris (required)")
			cmd.Flags().StringVar(&reason, "reason", "", "why the due date moves (required)")
		})
}

func cancelGrantCmd(g *globals) *cobra.Command {
	var motivation string
	return followUpStep(g, "cancel-grant ID --motivation TEXT", "Cancel the grant of a report still missing after the grace period (instructor)", "grant cancelled",
		func() error { return requireText("motivation", motivation) },
		func(ctx context.Context, c *apiclient.Client, id string) (*apiclient.Response[lifecycle.State], error) {
			return c.CancelGrant(ctx, id, motivation)
		},
		func(cmd *cobra.Command) {
			cmd.Flags().StringVar(&motivation, "motivation", "", "why the grant is cancelled (required)")
		})
}

func orderPaymentCmd(g *globals) *cobra.Command {
	var comment string
	return followUpStep(g, "order-payment ID [--comment TEXT]", "Order the payment of the payable amount (decider; never the report's reviewer)", "payment ordered",
		func() error { return nil },
		func(ctx context.Context, c *apiclient.Client, id string) (*apiclient.Response[lifecycle.State], error) {
			return c.OrderPayment(ctx, id, comment)
		},
		func(cmd *cobra.Command) {
			cmd.Flags().StringVar(&comment, "comment", "", "a note for the accounting service")
		})
}

func confirmPaymentCmd(g *globals) *cobra.Command {
	var reference, paidOn string
	return followUpStep(g, "confirm-payment ID --reference REF --paid-on YYYY-MM-DD", "Confirm the payment, which closes the application (finance)", "payment confirmed, application closed",
		func() error {
			if paidOn == "" {
				return errors.New("--paid-on is required (YYYY-MM-DD)")
			}
			return requireText("reference", reference)
		},
		func(ctx context.Context, c *apiclient.Client, id string) (*apiclient.Response[lifecycle.State], error) {
			return c.ConfirmPayment(ctx, id, reference, paidOn)
		},
		func(cmd *cobra.Command) {
			cmd.Flags().StringVar(&reference, "reference", "", "the payment's accounting reference (required)")
			cmd.Flags().StringVar(&paidOn, "paid-on", "", "the payment's date (required)")
		})
}

// decodeJSONFile reads one JSON document strictly: a misspelt field is an
// error, not a silently empty one.
func decodeJSONFile(f *os.File, v any) error {
	dec := json.NewDecoder(f)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s: %w", f.Name(), err)
	}
	return nil
}
