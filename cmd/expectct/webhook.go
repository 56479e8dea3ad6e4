package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/daect/expectct/internal/apiclient"
	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/store"
	"github.com/daect/expectct/internal/webhooks"
)

func webhookCmd(g *globals) *cobra.Command {
	wh := &cobra.Command{
		Use:   "webhook",
		Short: "Webhook subscriptions: systems told of every change of state, signed (admins manage them, auditors read deliveries)",
	}
	var in webhooks.Input
	add := &cobra.Command{
		Use:   "add URL [--event EVENT]... [--description TEXT]",
		Short: "Subscribe a URL to the journal's events (all of them without --event); prints the signing secret, shown this once",
		Long: "The URL must be https:// (plain http:// only to 127.0.0.1, ::1 or localhost). Events: " +
			"the journal's event types (expectct history shows them); without --event, every event, later ones included. " +
			"Keep the secret: receivers check webhook-signature with it (docs/operations.md, \"Webhook secrets\").",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.apiClient()
			if err != nil {
				return err
			}
			in.URL = args[0]
			r, err := c.CreateWebhook(cmd.Context(), in)
			if err != nil {
				return clientAPIError(err)
			}
			if g.jsonOut() {
				return clientPrintJSON(cmd, r.Body)
			}
			if err := renderWebhooks(cmd.OutOrStdout(), []store.WebhookSubscription{r.Value.WebhookSubscription}); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "\nsecret (shown this once; give it to the receiver):\n%s\n", r.Value.Secret)
			return nil
		},
	}
	add.Flags().StringSliceVar(&in.Events, "event", nil, "journal event type to deliver (repeatable; default: all)")
	add.Flags().StringVar(&in.Description, "description", "", "what the receiver is")

	list := &cobra.Command{
		Use:   "list",
		Short: "List the subscriptions, removed ones included (never their secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.apiClient()
			if err != nil {
				return err
			}
			r, err := c.Webhooks(cmd.Context())
			if err != nil {
				return clientAPIError(err)
			}
			if g.jsonOut() {
				return clientPrintJSON(cmd, r.Body)
			}
			return renderWebhooks(cmd.OutOrStdout(), r.Value)
		},
	}
	remove := &cobra.Command{
		Use:   "remove ID",
		Short: "Stop delivering to a subscription; it and its deliveries are kept",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.apiClient()
			if err != nil {
				return err
			}
			r, err := c.RemoveWebhook(cmd.Context(), args[0])
			if err != nil {
				return clientAPIError(err)
			}
			if g.jsonOut() {
				return clientPrintJSON(cmd, r.Body)
			}
			return renderWebhooks(cmd.OutOrStdout(), []store.WebhookSubscription{r.Value})
		},
	}
	var page apiclient.DeliveriesPage
	deliveries := &cobra.Command{
		Use:   "deliveries ID [--application ID] [--limit N] [--before C]",
		Short: "Every delivery attempt to a subscription, newest first: delivered, failed (retried) or given up",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.apiClient()
			if err != nil {
				return err
			}
			r, err := c.WebhookDeliveries(cmd.Context(), args[0], page)
			if err != nil {
				return clientAPIError(err)
			}
			if g.jsonOut() {
				return clientPrintJSON(cmd, r.Body)
			}
			return renderDeliveries(cmd.OutOrStdout(), r.Value)
		},
	}
	deliveries.Flags().StringVar(&page.ApplicationID, "application", "", "only the attempts about this application")
	deliveries.Flags().IntVar(&page.Limit, "limit", 0, "attempts per page (default 50, at most 500)")
	deliveries.Flags().Int64Var(&page.Before, "before", 0, "the older page's cursor, as the previous page printed it")
	wh.AddCommand(add, list, remove, deliveries)
	return wh
}

func renderWebhooks(w io.Writer, subs []store.WebhookSubscription) error {
	if len(subs) == 0 {
		fmt.Fprintln(w, "no webhook subscription")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tURL\tEVENTS\tCREATED\tBY\tSTATE\tDESCRIPTION")
	for _, s := range subs {
		events := "all"
		if len(s.Events) > 0 {
			events = strings.Join(s.Events, ",")
		}
		state := "active"
		if s.DisabledAt != nil {
			state = "removed " + parisTime(*s.DisabledAt) + " by " + s.DisabledBy
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, cleanText(s.URL), events, parisTime(s.CreatedAt), s.CreatedBy, state, orNone(s.Description))
	}
	return tw.Flush()
}

func renderDeliveries(w io.Writer, page webhooks.Deliveries) error {
	if len(page.Items) == 0 {
		fmt.Fprintln(w, "no delivery attempt")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WHEN\tAPPLICATION\tSEQ\tEVENT\tATTEMPT\tOUTCOME\tHTTP\tMS\tERROR")
	for _, d := range page.Items {
		status := noValue
		if d.HTTPStatus != 0 {
			status = strconv.Itoa(d.HTTPStatus)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%s\t%s\t%d\t%s\n", d.AttemptedAt.In(lifecycle.Paris).Format("2006-01-02 15:04:05 MST"), d.ApplicationID, d.Seq, d.EventType,
			d.Attempt, d.Outcome, status, d.DurationMS, orNone(d.Error))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if page.NextBefore != 0 {
		fmt.Fprintf(w, "older attempts: --before %d\n", page.NextBefore)
	}
	return nil
}
