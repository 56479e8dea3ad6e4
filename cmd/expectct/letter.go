package main

import (
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/daect/expectct/internal/letters"
)

func letterCmd(g *globals) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "letter ID approval|refusal|payment_statement [-o FILE.pdf]",
		Short: "Download an application's letter as PDF (whoever may read the application); `letter verify CODE` checks a letter's code (no sign-in needed)",
		Long: "Downloads the decision letter (approval, refusal) or the payment statement of an application, as PDF, " +
			"to FILE (-o; \"-\" for standard output; default ID-kind.pdf in the current directory). " +
			"The same letter downloaded again is the same file, byte for byte.",
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, kind := args[0], args[1]
			if !letters.Kind(kind).Valid() {
				return fmt.Errorf("unknown letter %q: approval, refusal or payment_statement", kind)
			}
			c, err := g.apiClient()
			if err != nil {
				return err
			}
			f, err := c.Letter(cmd.Context(), id, kind)
			if err != nil {
				return clientAPIError(err)
			}
			if out == "-" {
				_, err := cmd.OutOrStdout().Write(f.PDF)
				return err
			}
			if out == "" {
				out = letters.FileName(id, letters.Kind(kind))
			}
			if err := os.WriteFile(out, f.PDF, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s written (%d bytes), verification code %s\n", out, len(f.PDF), f.Code)
			return nil
		},
	}
	// -o names the file here, as for curl and pdftotext; a PDF has no text
	// or JSON form, so this command's local flag hides the global format.
	cmd.Flags().StringVarP(&out, "output", "o", "", "file to write the PDF to (\"-\": standard output; default ID-kind.pdf)")
	cmd.AddCommand(&cobra.Command{
		Use:   "verify CODE",
		Short: "Check a letter's verification code with the public endpoint: who, what, amount, date, signer",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			// The endpoint is public: a partner checks a letter without an account.
			r, err := g.clientWith("").VerifyLetter(cmd.Context(), args[0])
			if err != nil {
				return clientAPIError(err)
			}
			if g.jsonOut() {
				return clientPrintJSON(cmd, r.Body)
			}
			v := r.Value
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintf(tw, "genuine letter\t%s\n", args[0])
			fmt.Fprintf(tw, "application\t%s\n", v.ApplicationID)
			fmt.Fprintf(tw, "kind\t%s\n", v.Kind)
			fmt.Fprintf(tw, "collectivité\t%s\n", v.Collectivite)
			fmt.Fprintf(tw, "amount\t%s EUR\n", v.Amount)
			fmt.Fprintf(tw, "date\t%s\n", v.Date)
			fmt.Fprintf(tw, "signed by\t%s\n", v.SignedBy)
			return tw.Flush()
		},
	})
	return cmd
}
