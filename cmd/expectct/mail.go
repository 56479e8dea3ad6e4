package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/daect/expectct/internal/store"
)

func mailCmd(g *globals) *cobra.Command {
	m := &cobra.Command{
		Use:   "mail",
		Short: "Inspect the e-mails the system sends",
	}
	m.AddCommand(&cobra.Command{
		Use:   "failed",
		Short: "List the e-mails the mail server refused for good, or that keep failing (admin, auditor)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.apiClient()
			if err != nil {
				return err
			}
			r, err := c.FailedMail(cmd.Context())
			if err != nil {
				return clientAPIError(err)
			}
			if g.jsonOut() {
				return clientPrintJSON(cmd, r.Body)
			}
			return renderFailedMail(cmd.OutOrStdout(), r.Value.Items)
		},
	})
	return m
}

func renderFailedMail(w io.Writer, mails []store.OutboxMail) error {
	if len(mails) == 0 {
		fmt.Fprintln(w, "no failed e-mail")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "APPLICATION\tSEQ\tTEMPLATE\tTO\tATTEMPTS\tSTATE\tLAST ERROR")
	for _, m := range mails {
		state := "retrying"
		if m.RefusedAt != nil {
			state = "refused " + parisTime(*m.RefusedAt)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%d\t%s\t%s\n", m.ApplicationID, m.Seq, m.Template, strings.Join(m.To, ", "),
			m.Attempts, state, orNone(m.LastError))
	}
	return tw.Flush()
}
