package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/daect/expectct/internal/apiclient"
	"github.com/daect/expectct/internal/attachments"
	"github.com/daect/expectct/internal/dossier"
	"github.com/daect/expectct/internal/lifecycle"
)

// The commands of the second phase: after approval, the mission, its report
// and the payment.
func followUpCommands(g *globals) []*cobra.Command {
	return []*cobra.Command{renounceCmd(g), declareChangesCmd(g), reviewChangesCmd(g), reportCmd(g), reviewReportCmd(g), extendReportCmd(g),
		cancelGrantCmd(g), orderPaymentCmd(g), confirmPaymentCmd(g), attachmentCmd(g)}
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
	var attach []string
	var files [][]byte
	var report lifecycle.Report
	return followUpStep(g, "report ID --file REPORT.json [--attach FILE]...", "File the mission report once the mission is over (applicant), with its files", "report filed",
		func() error {
			if file == "" {
				return errors.New("--file is required: the report as JSON (activities, results, follow_up, agents, costs; see examples/report.json)")
			}
			f, err := os.Open(file)
			if err != nil {
				return err
			}
			defer f.Close()
			if err := decodeJSONFile(f, &report); err != nil {
				return err
			}
			// Every file is read and its type checked before anything is
			// sent, so a missing or refused one leaves no file uploaded for
			// nothing; the API checks the type again, as for any client.
			files = files[:0]
			for _, path := range attach {
				data, err := os.ReadFile(path)
				if err != nil {
					return fmt.Errorf("--attach: %w", err)
				}
				if mt, ok := attachments.Detect(data); !ok {
					return fmt.Errorf("--attach %s (file, type): le contenu (%s) n'est pas un type accepté : PDF, ODT, DOCX, JPEG ou PNG / "+
						"the content (%s) is not an accepted type: PDF, ODT, DOCX, JPEG or PNG", path, mt, mt)
				}
				files = append(files, data)
			}
			return nil
		},
		func(ctx context.Context, c *apiclient.Client, id string) (*apiclient.Response[lifecycle.State], error) {
			// Each file is uploaded, then the report names them all; the API
			// refuses a file whose content is not an accepted type.
			for i, path := range attach {
				a, err := c.UploadAttachment(ctx, id, filepath.Base(path), files[i])
				if err != nil {
					return nil, fmt.Errorf("%s: %w", path, err)
				}
				fmt.Fprintf(os.Stderr, "%s uploaded as %s (%s, %d bytes, SHA-256 %s)\n", path, a.ID, a.MediaType, a.Size, a.SHA256)
				report.Attachments = append(report.Attachments, *a)
			}
			return c.Report(ctx, id, report)
		},
		func(cmd *cobra.Command) {
			cmd.Flags().StringVar(&file, "file", "", "the report as JSON (required)")
			cmd.Flags().StringArrayVar(&attach, "attach", nil, "a file of the report (PDF, ODT, DOCX, JPEG, PNG); repeat for each")
		})
}

// attachmentCmd downloads a file of a report.
func attachmentCmd(g *globals) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "attachment ID ATTACHMENT [-o FILE]",
		Short: "Download a file of an application's mission report (whoever may read the application)",
		Long: "Downloads a file of the mission report to FILE (-o; \"-\" for standard output; default the file's own name " +
			"in the current directory). The file's SHA-256 is checked against the one the API gives, the one in the journal.",
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.apiClient()
			if err != nil {
				return err
			}
			f, err := c.Attachment(cmd.Context(), args[0], args[1])
			if err != nil {
				return clientAPIError(err)
			}
			if out == "-" {
				_, err := cmd.OutOrStdout().Write(f.Data)
				return err
			}
			if out == "" {
				// The name comes from the server: only its last element is used.
				out = attachments.CleanName(f.Name)
				if out == "" {
					out = args[1] + attachments.Extension(f.MediaType)
				}
			}
			if err := os.WriteFile(out, f.Data, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s written (%s, %d bytes, SHA-256 %s)\n", out, f.MediaType, len(f.Data), f.SHA256)
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "file to write to (\"-\": standard output; default the file's name)")
	return cmd
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
