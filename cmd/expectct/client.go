package main

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/daect/expectct/internal/apiclient"
	"github.com/daect/expectct/internal/checkpoint"
	"github.com/daect/expectct/internal/dossier"
	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/store"
)

// clientCommands are the commands that talk to the HTTP API.
func clientCommands(g *globals) []*cobra.Command {
	return []*cobra.Command{
		submitCmd(g),
		statusCmd(g),
		listCmd(g),
		followCmd(g, true),
		followCmd(g, false),
		amendCmd(g),
		withdrawCmd(g),
		opinionCmd(g),
		requestComplementsCmd(g),
		reviewCmd(g),
		decideCmd(g),
		historyCmd(g),
		letterCmd(g),
		auditCmd(g),
		embassyCmd(g),
		exportCmd(g),
		mailCmd(g),
		peopleCmd(g),
		webhookCmd(g),
		loginCmd(g),
		logoutCmd(),
		whoamiCmd(g),
	}
}

// apiClient builds the API client, refusing to go on without a token.
func (g *globals) apiClient() (*apiclient.Client, error) {
	tok, err := g.bearer()
	if err != nil {
		return nil, err
	}
	return g.clientWith(tok), nil
}

func (g *globals) clientWith(token string) *apiclient.Client { return apiclient.New(g.api, token) }

// stepClient builds the API client of a step command. Its steps carry the
// given Idempotency-Key, or else a random one drawn for this run, so that
// the client's retries after a timeout or a 5xx are the same step (never a
// 409 for a step the first attempt took), and so is a rerun with
// --idempotency-key set to the same key.
func (g *globals) stepClient(key string) (*apiclient.Client, error) {
	c, err := g.apiClient()
	if err != nil {
		return nil, err
	}
	c.StepKey = cmp.Or(strings.TrimSpace(key), uuid.NewString())
	return c, nil
}

// stepKeyFlag adds --idempotency-key to a step command.
func stepKeyFlag(cmd *cobra.Command, key *string) {
	cmd.Flags().StringVar(key, "idempotency-key", "", "Idempotency-Key of the step (default: a random key for this run); "+
		"the same key and the same flags repeat the step safely, with its first answer")
}

func (g *globals) jsonOut() bool { return g.output == "json" }

// clientAPIError adds a hint to the errors a user can fix from the command line.
func clientAPIError(err error) error {
	var p *apiclient.Problem
	if errors.As(err, &p) && p.Status == http.StatusUnauthorized {
		return fmt.Errorf("%w\n(sign in again: expectct login; or check EXPECTCT_TOKEN / --token)", err)
	}
	return err
}

// clientPrintJSON writes an API body indented by two spaces, keys in the order the
// server sent them.
func clientPrintJSON(cmd *cobra.Command, body []byte) error {
	var b bytes.Buffer
	if err := json.Indent(&b, bytes.TrimSpace(body), "", "  "); err != nil {
		return fmt.Errorf("the API answered invalid JSON: %w", err)
	}
	b.WriteByte('\n')
	_, err := cmd.OutOrStdout().Write(b.Bytes())
	return err
}

// clientReadInput reads a file argument; "-" is standard input.
func clientReadInput(cmd *cobra.Command, name string) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(cmd.InOrStdin())
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	return b, nil
}

// requireText refuses a required text flag left empty.
func requireText(flag, v string) error {
	if strings.TrimSpace(v) == "" {
		return fmt.Errorf("--%s is required and must not be empty", flag)
	}
	return nil
}

// parseEuros reads a positive amount of euros exactly.
func parseEuros(s string) (*dossier.Money, error) {
	m, err := dossier.ParseMoney(s)
	if err != nil {
		return nil, fmt.Errorf("--amount: %w", err)
	}
	if m <= 0 {
		return nil, fmt.Errorf("--amount: %s EUR: a positive amount expected", m)
	}
	return &m, nil
}

// printStepResult prints the state a step returned, or that it was accepted
// and is still being recorded (202): then there is no new state to show yet.
func printStepResult(cmd *cobra.Command, g *globals, r *apiclient.Response[lifecycle.State], done string) error {
	if g.jsonOut() {
		return clientPrintJSON(cmd, r.Body)
	}
	if a := r.Accepted; a != nil {
		id := cleanText(a.ApplicationID)
		fmt.Fprintf(cmd.OutOrStdout(), "%s step on %s accepted, still being recorded: it will complete on its own; check with: expectct status %s\n",
			cleanText(a.Step), id, id)
		return nil
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s: %s is now %s\n", done, cleanText(r.Value.ApplicationID), cleanText(string(r.Value.Status)))
	return nil
}

func submitCmd(g *globals) *cobra.Command {
	var key string
	cmd := &cobra.Command{
		Use:   "submit FILE.json",
		Short: "Submit a dossier (FILE.json, or - for standard input)",
		Long: `Submit a dossier to the API, which validates it and starts the application.

The file is sent as it is. Every submission carries an Idempotency-Key header:
by default the hex SHA-256 of the file content, so running the same submit
again (after a timeout, say) returns the application the first run created
instead of creating a second one. Pass --idempotency-key to choose the key,
e.g. to submit the same file twice on purpose; a key already used for
another dossier is refused (409). A submission that timed out, lost its
connection or got a 5xx is sent again, with the same key, up to 4 times.

In text mode the application ID alone is printed on standard output (with
"created" or "already submitted" and any flags on standard error), so that
ID=$(expectct submit dossier.json) works in scripts.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			body, err := clientReadInput(cmd, args[0])
			if err != nil {
				return err
			}
			if key == "" {
				sum := sha256.Sum256(body)
				key = hex.EncodeToString(sum[:])
			}
			c, err := g.apiClient()
			if err != nil {
				return err
			}
			r, err := c.Submit(cmd.Context(), body, key)
			if err != nil {
				return clientAPIError(err)
			}
			if g.jsonOut() {
				return clientPrintJSON(cmd, r.Body)
			}
			v := r.Value
			fmt.Fprintln(cmd.OutOrStdout(), cleanText(v.ApplicationID))
			what := "created"
			if !v.Created {
				what = "already submitted with this idempotency key"
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "%s: %s, status %s, rules %s\n", cleanText(v.ApplicationID), what,
				cleanText(string(v.Status)), cleanText(v.RulesVersion))
			for _, f := range v.Flags {
				fmt.Fprintf(cmd.ErrOrStderr(), "flag: %s\n", cleanText(f))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&key, "idempotency-key", "", "Idempotency-Key header (default: hex SHA-256 of the file content)")
	return cmd
}

func statusCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "status ID",
		Short: "Show an application: its status, amounts, opinion, decision, deadlines and steps",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.apiClient()
			if err != nil {
				return err
			}
			r, err := c.Status(cmd.Context(), args[0])
			if err != nil {
				return clientAPIError(err)
			}
			if g.jsonOut() {
				return clientPrintJSON(cmd, r.Body)
			}
			return renderState(cmd.OutOrStdout(), r.Value)
		},
	}
}

func listCmd(g *globals) *cobra.Command {
	var p apiclient.ListParams
	var all bool
	var within int
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List applications, newest first or in --order",
		Long: `List applications, newest first (or in --order), one page at a time (--limit per page).

A page that is not the last ends with a cursor: pass it to --cursor for the
next page, or use --all to fetch every page. With --all and --output json the
items of all pages are printed as one {"items": [...]} object.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if p.Limit < 0 {
				return fmt.Errorf("--limit must be positive")
			}
			if cmd.Flags().Changed("deadline-within") {
				p.DeadlineWithinDays = &within
			}
			c, err := g.apiClient()
			if err != nil {
				return err
			}
			if !all {
				r, err := c.List(cmd.Context(), p)
				if err != nil {
					return clientAPIError(err)
				}
				if g.jsonOut() {
					return clientPrintJSON(cmd, r.Body)
				}
				return renderList(cmd.OutOrStdout(), r.Value.Items, r.Value.NextCursor)
			}
			var items []store.Application
			var raws []json.RawMessage
			seen := map[string]bool{}
			for {
				r, err := c.List(cmd.Context(), p)
				if err != nil {
					return clientAPIError(err)
				}
				items = append(items, r.Value.Items...)
				if g.jsonOut() {
					var page struct {
						Items []json.RawMessage `json:"items"`
					}
					if err := json.Unmarshal(r.Body, &page); err != nil {
						return err
					}
					raws = append(raws, page.Items...)
				}
				next := r.Value.NextCursor
				if next == "" {
					break
				}
				if seen[next] {
					return fmt.Errorf("the API returned cursor %q twice; stopping", next)
				}
				seen[next] = true
				p.Cursor = next
			}
			if g.jsonOut() {
				if raws == nil {
					raws = []json.RawMessage{}
				}
				body, err := json.Marshal(struct {
					Items []json.RawMessage `json:"items"`
				}{raws})
				if err != nil {
					return err
				}
				return clientPrintJSON(cmd, body)
			}
			return renderList(cmd.OutOrStdout(), items, "")
		},
	}
	f := cmd.Flags()
	f.StringVar(&p.Status, "status", "", "only this status (submitted, under_review, approved...)")
	f.StringVar(&p.Country, "country", "", "only this destination country (ISO code)")
	f.StringVar(&p.SIREN, "siren", "", "only this collectivité (SIREN)")
	f.StringVar(&p.Order, "order", "", "newest (the default), oldest, or deadline (the nearest next deadline first)")
	f.IntVar(&within, "deadline-within", 0, "only the applications whose next deadline is due within this many days")
	f.BoolVar(&p.Followed, "followed", false, "only the applications you follow (DAECT staff)")
	f.IntVar(&p.Limit, "limit", 0, "page size (server default when 0)")
	f.StringVar(&p.Cursor, "cursor", "", "cursor of the page to fetch, from a previous list")
	f.BoolVar(&all, "all", false, "fetch every page")
	return cmd
}

// followCmd follows an application (on) or stops following it.
func followCmd(g *globals, on bool) *cobra.Command {
	use, short := "follow ID", "Follow an application: each step recorded on it is e-mailed to you (DAECT staff)"
	if !on {
		use, short = "unfollow ID", "Stop following an application"
	}
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.apiClient()
			if err != nil {
				return err
			}
			r, err := c.Follow(cmd.Context(), args[0], on)
			if err != nil {
				return clientAPIError(err)
			}
			if g.jsonOut() {
				return clientPrintJSON(cmd, r.Body)
			}
			if r.Value.Following {
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s: followed\n", r.Value.ApplicationID)
			} else {
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s: not followed\n", r.Value.ApplicationID)
			}
			return err
		},
	}
}

func amendCmd(g *globals) *cobra.Command {
	var comment, key string
	cmd := &cobra.Command{
		Use:   "amend ID FILE.json",
		Short: "Answer a request for complements with the amended dossier (FILE.json, or -)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			body, err := clientReadInput(cmd, args[1])
			if err != nil {
				return err
			}
			if !json.Valid(body) {
				return fmt.Errorf("%s: not valid JSON", args[1])
			}
			c, err := g.stepClient(key)
			if err != nil {
				return err
			}
			r, err := c.Complements(cmd.Context(), args[0], body, comment)
			if err != nil {
				return clientAPIError(err)
			}
			return printStepResult(cmd, g, r, "complements sent")
		},
	}
	cmd.Flags().StringVar(&comment, "comment", "", "comment for the instructor")
	stepKeyFlag(cmd, &key)
	return cmd
}

func withdrawCmd(g *globals) *cobra.Command {
	var reason, key string
	cmd := &cobra.Command{
		Use:   "withdraw ID --reason TEXT",
		Short: "Withdraw an application (before the decision)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := requireText("reason", reason); err != nil {
				return err
			}
			c, err := g.stepClient(key)
			if err != nil {
				return err
			}
			r, err := c.Withdraw(cmd.Context(), args[0], reason)
			if err != nil {
				return clientAPIError(err)
			}
			return printStepResult(cmd, g, r, "withdrawn")
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why the application is withdrawn (required)")
	stepKeyFlag(cmd, &key)
	return cmd
}

func opinionCmd(g *globals) *cobra.Command {
	var favorable, unfavorable, reserved bool
	var comment, key string
	cmd := &cobra.Command{
		Use:   "opinion ID --favorable|--unfavorable|--reserved --comment TEXT",
		Short: "Give the embassy's opinion (avis) on an application",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var chosen []string
			for _, o := range []struct {
				set   bool
				value string
			}{{favorable, lifecycle.OpinionFavorable}, {unfavorable, lifecycle.OpinionUnfavorable}, {reserved, lifecycle.OpinionReserved}} {
				if o.set {
					chosen = append(chosen, o.value)
				}
			}
			if len(chosen) != 1 {
				return errors.New("give exactly one of --favorable, --unfavorable or --reserved")
			}
			if err := requireText("comment", comment); err != nil {
				return err
			}
			c, err := g.stepClient(key)
			if err != nil {
				return err
			}
			r, err := c.Opinion(cmd.Context(), args[0], chosen[0], comment)
			if err != nil {
				return clientAPIError(err)
			}
			return printStepResult(cmd, g, r, chosen[0]+" opinion recorded")
		},
	}
	f := cmd.Flags()
	f.BoolVar(&favorable, "favorable", false, "favourable opinion")
	f.BoolVar(&unfavorable, "unfavorable", false, "unfavourable opinion (informs the review; does not end the application)")
	f.BoolVar(&reserved, "reserved", false, "reserved opinion")
	f.StringVar(&comment, "comment", "", "the embassy's comment (required)")
	stepKeyFlag(cmd, &key)
	return cmd
}

func requestComplementsCmd(g *globals) *cobra.Command {
	var message, key string
	cmd := &cobra.Command{
		Use:   "request-complements ID --message TEXT",
		Short: "Send an application back to the applicant for complements (the clock pauses)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := requireText("message", message); err != nil {
				return err
			}
			c, err := g.stepClient(key)
			if err != nil {
				return err
			}
			r, err := c.RequestComplements(cmd.Context(), args[0], message)
			if err != nil {
				return clientAPIError(err)
			}
			return printStepResult(cmd, g, r, "complements requested")
		},
	}
	cmd.Flags().StringVar(&message, "message", "", "what the applicant must complete or correct (required)")
	stepKeyFlag(cmd, &key)
	return cmd
}

func reviewCmd(g *globals) *cobra.Command {
	var recommend, amount, comment, key string
	cmd := &cobra.Command{
		Use:   "review ID --recommend approve|reject [--amount EUR] --comment TEXT",
		Short: "Record the instructor's recommendation",
		Long: `Record the instructor's recommendation: approve with an amount in euros
(e.g. --amount 3000 or --amount 2999.50), or reject.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var m *dossier.Money
			switch recommend {
			case lifecycle.RecommendApprove:
				if amount == "" {
					return errors.New("--amount is required with --recommend approve")
				}
				var err error
				if m, err = parseEuros(amount); err != nil {
					return err
				}
			case lifecycle.RecommendReject:
				if amount != "" {
					return errors.New("--amount applies only to --recommend approve")
				}
			default:
				return fmt.Errorf("--recommend must be approve or reject, not %q", recommend)
			}
			if err := requireText("comment", comment); err != nil {
				return err
			}
			c, err := g.stepClient(key)
			if err != nil {
				return err
			}
			r, err := c.Recommend(cmd.Context(), args[0], recommend, m, comment)
			if err != nil {
				return clientAPIError(err)
			}
			return printStepResult(cmd, g, r, "recommendation recorded")
		},
	}
	f := cmd.Flags()
	f.StringVar(&recommend, "recommend", "", "approve or reject (required)")
	f.StringVar(&amount, "amount", "", "recommended grant in euros (required with approve)")
	f.StringVar(&comment, "comment", "", "the instruction's conclusion (required)")
	stepKeyFlag(cmd, &key)
	return cmd
}

func decideCmd(g *globals) *cobra.Command {
	var approve, reject bool
	var amount, reason, key string
	cmd := &cobra.Command{
		Use:   "decide ID --approve --amount EUR | --reject --reason TEXT",
		Short: "Record the funding decision",
		Long: `Record the funding decision: approve with the granted amount in euros (never
above the request nor the programme cap), or reject with a motivation (--reason,
mandatory, sent to the applicant in the decision letter). A decider may not
decide an application they instructed.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var m *dossier.Money
			var decision string
			switch {
			case approve == reject:
				return errors.New("give exactly one of --approve or --reject")
			case approve:
				decision = lifecycle.DecisionApprove
				if amount == "" {
					return errors.New("--amount is required with --approve")
				}
				var err error
				if m, err = parseEuros(amount); err != nil {
					return err
				}
			default:
				decision = lifecycle.DecisionReject
				if amount != "" {
					return errors.New("--amount applies only to --approve")
				}
				if err := requireText("reason", reason); err != nil {
					return fmt.Errorf("%w: a refusal must be motivated", err)
				}
			}
			c, err := g.stepClient(key)
			if err != nil {
				return err
			}
			r, err := c.Decide(cmd.Context(), args[0], decision, m, reason)
			if err != nil {
				return clientAPIError(err)
			}
			return printStepResult(cmd, g, r, "decision recorded")
		},
	}
	f := cmd.Flags()
	f.BoolVar(&approve, "approve", false, "grant funding")
	f.BoolVar(&reject, "reject", false, "refuse funding")
	f.StringVar(&amount, "amount", "", "granted amount in euros (required with --approve)")
	f.StringVar(&reason, "reason", "", "motivation of the decision (required with --reject)")
	stepKeyFlag(cmd, &key)
	return cmd
}

func historyCmd(g *globals) *cobra.Command {
	var page apiclient.AttemptsPage
	cmd := &cobra.Command{
		Use:   "history ID",
		Short: "Show the full history of an application: workflow events, journal and refused attempts (newest 50 unless told)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.apiClient()
			if err != nil {
				return err
			}
			r, err := c.History(cmd.Context(), args[0], page)
			if err != nil {
				return clientAPIError(err)
			}
			if g.jsonOut() {
				return clientPrintJSON(cmd, r.Body)
			}
			return renderHistory(cmd.OutOrStdout(), r.Value)
		},
	}
	cmd.Flags().IntVar(&page.Limit, "attempts-limit", 0, "refused attempts to show, newest first (1 to 500; default 50)")
	cmd.Flags().Int64Var(&page.Before, "attempts-before", 0, "show the refused attempts older than this (the next_attempts_before a page gives)")
	return cmd
}

func auditCmd(g *globals) *cobra.Command {
	audit := &cobra.Command{
		Use:   "audit",
		Short: "Audit the journal",
	}
	var exportedFile string
	verify := &cobra.Command{
		Use:   "verify [ID] [--checkpoints FILE]",
		Short: "Verify the journal (of one application, or all) against its hash chains, the workflow histories and the signed checkpoints; exits 1 on any problem",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := ""
			if len(args) == 1 {
				id = args[0]
			}
			c, err := g.apiClient()
			if err != nil {
				return err
			}
			var r *apiclient.Response[apiclient.AuditReport]
			if exportedFile != "" {
				exported, rerr := os.ReadFile(exportedFile)
				if rerr != nil {
					return fmt.Errorf("--checkpoints: %w", rerr)
				}
				if _, rerr := checkpoint.ReadExport(bytes.NewReader(exported)); rerr != nil {
					return fmt.Errorf("--checkpoints %s: %w", exportedFile, rerr)
				}
				r, err = c.AuditVerifyAgainst(cmd.Context(), id, exported)
			} else {
				r, err = c.AuditVerify(cmd.Context(), id)
			}
			if err != nil {
				return clientAPIError(err)
			}
			if g.jsonOut() {
				err = clientPrintJSON(cmd, r.Body)
			} else {
				err = renderAudit(cmd.OutOrStdout(), r.Value)
			}
			if err != nil {
				return err
			}
			if !r.Value.OK {
				return fmt.Errorf("audit verification failed: %d problem(s) in %d journal(s) checked",
					len(r.Value.Problems), r.Value.Checked)
			}
			return nil
		},
	}
	verify.Flags().StringVar(&exportedFile, "checkpoints", "", "also verify against these exported checkpoints (JSON lines of `audit checkpoint export`, kept off-site)")

	var output string
	export := &cobra.Command{
		Use:   "export [--output FILE]",
		Short: "Write every signed checkpoint as JSON lines, to keep off-site (audit verify --checkpoints reads them)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.apiClient()
			if err != nil {
				return err
			}
			r, err := c.Checkpoints(cmd.Context())
			if err != nil {
				return clientAPIError(err)
			}
			if output == "" || output == "-" {
				return checkpoint.Export(cmd.OutOrStdout(), r.Value)
			}
			var buf bytes.Buffer
			if err := checkpoint.Export(&buf, r.Value); err != nil {
				return err
			}
			if err := os.WriteFile(output, buf.Bytes(), 0o644); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "%d checkpoint(s) written to %s\n", len(r.Value), output)
			return nil
		},
	}
	export.Flags().StringVarP(&output, "output", "o", "", "file to write (default: standard output)")
	cp := &cobra.Command{Use: "checkpoint", Short: "The signed checkpoints of the journal"}
	cp.AddCommand(export)
	audit.AddCommand(verify, cp)
	return audit
}

func embassyCmd(g *globals) *cobra.Command {
	emb := &cobra.Command{
		Use:   "embassy",
		Short: "Manage the embassy directory (the contacts consulted per destination country)",
	}
	var name string
	var emails []string
	set := &cobra.Command{
		Use:   "set CC --email a@x [--email b@y] [--name NAME]",
		Short: "Create or replace the embassy contact of a country (ISO code)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(emails) == 0 {
				return errors.New("at least one --email is required")
			}
			for _, e := range emails {
				if err := requireText("email", e); err != nil {
					return err
				}
			}
			c, err := g.apiClient()
			if err != nil {
				return err
			}
			r, err := c.SetEmbassy(cmd.Context(), strings.ToUpper(strings.TrimSpace(args[0])), name, emails)
			if err != nil {
				return clientAPIError(err)
			}
			if g.jsonOut() {
				return clientPrintJSON(cmd, r.Body)
			}
			return renderEmbassies(cmd.OutOrStdout(), []store.Embassy{r.Value})
		},
	}
	set.Flags().StringVar(&name, "name", "", "name of the embassy or its cooperation service")
	set.Flags().StringArrayVar(&emails, "email", nil, "contact e-mail (repeat for several; required)")
	emb.AddCommand(set, &cobra.Command{
		Use:   "list",
		Short: "List the embassy directory",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.apiClient()
			if err != nil {
				return err
			}
			r, err := c.Embassies(cmd.Context())
			if err != nil {
				return clientAPIError(err)
			}
			if g.jsonOut() {
				return clientPrintJSON(cmd, r.Body)
			}
			return renderEmbassies(cmd.OutOrStdout(), r.Value)
		},
	})
	return emb
}
