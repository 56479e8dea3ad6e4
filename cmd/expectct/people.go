package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/daect/expectct/internal/identity"
	"github.com/daect/expectct/internal/store"
)

func peopleCmd(g *globals) *cobra.Command {
	people := &cobra.Command{
		Use:   "people",
		Short: "The people directory: who holds which role (admins grant and revoke, auditors read)",
	}
	var in identity.GrantInput
	grant := &cobra.Command{
		Use:   "grant PERSON_ID --role ROLE [--siren N] [--country CC]... [--reason TEXT]",
		Short: "Give a person a role with its scope (the person ID is the provider's subject)",
		Long: "Roles: applicant (needs --siren), embassy (needs --country, repeatable), instructor, decider, auditor, admin. " +
			"A person not seen yet may be given --name and --email; their first sign-in replaces them. Journaled.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.apiClient()
			if err != nil {
				return err
			}
			r, err := c.Grant(cmd.Context(), args[0], in)
			if err != nil {
				return clientAPIError(err)
			}
			if g.jsonOut() {
				return clientPrintJSON(cmd, r.Body)
			}
			return renderPeople(cmd.OutOrStdout(), []store.Person{r.Value})
		},
	}
	grant.Flags().StringVar(&in.Role, "role", "", "applicant, embassy, instructor, decider, auditor or admin")
	grant.Flags().StringVar(&in.SIREN, "siren", "", "applicant: SIREN of the collectivité")
	grant.Flags().StringSliceVar(&in.Countries, "country", nil, "embassy: ISO country code covered (repeatable)")
	grant.Flags().StringVar(&in.Name, "name", "", "display name of a person not seen yet")
	grant.Flags().StringVar(&in.Email, "email", "", "e-mail of a person not seen yet")
	grant.Flags().StringVar(&in.Reason, "reason", "", "why (kept in the directory's journal)")
	_ = grant.MarkFlagRequired("role")

	var out identity.RevokeInput
	revoke := &cobra.Command{
		Use:   "revoke PERSON_ID --role ROLE [--reason TEXT]",
		Short: "Take a role from a person; it takes effect at the person's next request. Journaled.",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.apiClient()
			if err != nil {
				return err
			}
			r, err := c.Revoke(cmd.Context(), args[0], out)
			if err != nil {
				return clientAPIError(err)
			}
			if g.jsonOut() {
				return clientPrintJSON(cmd, r.Body)
			}
			return renderPeople(cmd.OutOrStdout(), []store.Person{r.Value})
		},
	}
	revoke.Flags().StringVar(&out.Role, "role", "", "the role to take away")
	revoke.Flags().StringVar(&out.Reason, "reason", "", "why (kept in the directory's journal)")
	_ = revoke.MarkFlagRequired("role")

	list := &cobra.Command{
		Use:   "list",
		Short: "List the people the directory knows and their roles",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.apiClient()
			if err != nil {
				return err
			}
			r, err := c.People(cmd.Context())
			if err != nil {
				return clientAPIError(err)
			}
			if g.jsonOut() {
				return clientPrintJSON(cmd, r.Body)
			}
			return renderPeople(cmd.OutOrStdout(), r.Value)
		},
	}
	var person string
	journal := &cobra.Command{
		Use:   "journal [--person ID]",
		Short: "Show every grant and revocation: who, when, what",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.apiClient()
			if err != nil {
				return err
			}
			r, err := c.DirectoryJournal(cmd.Context(), person)
			if err != nil {
				return clientAPIError(err)
			}
			if g.jsonOut() {
				return clientPrintJSON(cmd, r.Body)
			}
			return renderDirectoryJournal(cmd.OutOrStdout(), r.Value)
		},
	}
	journal.Flags().StringVar(&person, "person", "", "only the lines about this person")
	people.AddCommand(list, grant, revoke, journal)
	return people
}

func renderPeople(w io.Writer, people []store.Person) error {
	if len(people) == 0 {
		fmt.Fprintln(w, "nobody in the directory")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tEMAIL\tKIND\tROLES")
	for _, p := range people {
		var roles []string
		for _, g := range p.Grants {
			roles = append(roles, roleLine(g.Role, g.SIREN, g.Countries))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", p.ID, orNone(p.Name), orNone(p.Email), p.Kind, orNone(strings.Join(roles, ", ")))
	}
	return tw.Flush()
}

func renderDirectoryJournal(w io.Writer, entries []store.DirectoryEntry) error {
	if len(entries) == 0 {
		fmt.Fprintln(w, "no grant nor revocation yet")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tWHEN\tBY\tACTION\tPERSON\tROLE\tREASON")
	for _, e := range entries {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Seq, parisTime(e.OccurredAt), e.ActorID, e.Action, e.PersonID,
			roleLine(e.Role, e.SIREN, e.Countries), orNone(e.Reason))
	}
	return tw.Flush()
}

func renderWhoAmI(w io.Writer, me identity.WhoAmI) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "ID\t%s\n", me.Person.ID)
	fmt.Fprintf(tw, "NAME\t%s\n", orNone(me.Person.Name))
	fmt.Fprintf(tw, "EMAIL\t%s\n", orNone(me.Person.Email))
	fmt.Fprintf(tw, "KIND\t%s\n", me.Kind)
	fmt.Fprintf(tw, "ISSUER\t%s\n", me.Person.Issuer)
	if me.SIRET != "" {
		fmt.Fprintf(tw, "SIRET\t%s\n", me.SIRET)
	}
	fmt.Fprintf(tw, "ROLES\t%s\n", actorsLine(me))
	return tw.Flush()
}
