package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/daect/expectct/internal/apiclient"
)

func exportCmd(g *globals) *cobra.Command {
	var p apiclient.ExportParams
	var output string
	cmd := &cobra.Command{
		Use:   "export [--format csv|jsonl] [--status S] [--country CC] [--year YYYY] [--siren N] [-o FILE]",
		Short: "Export applications, one row each, as CSV or JSON lines (DAECT staff, auditors, admin)",
		Long: `Export applications, one row each: collectivité, destination, status, the
amounts requested, recommended, granted, payable and paid, the date of each
step and the days spent in each phase.

CSV (the default) opens as is in French spreadsheet software: UTF-8 with a
byte order mark, ';' separator, decimal comma. --format jsonl writes one JSON
object per line. The filters combine: --status, --country (ISO code of the
destination), --year (of submission), --siren (the collectivité).

The export is streamed to standard output, or to FILE with -o: the file
appears, readable by you only, once the whole export has arrived, so an
export cut short leaves no partial file behind.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.apiClient()
			if err != nil {
				return err
			}
			if output == "" || output == "-" {
				_, err := c.Export(cmd.Context(), p, cmd.OutOrStdout())
				return clientAPIError(err)
			}
			tmp, err := os.CreateTemp(filepath.Dir(output), "."+filepath.Base(output)+".*.part")
			if err != nil {
				return err
			}
			defer os.Remove(tmp.Name()) // gone once renamed; removed if anything failed
			n, err := c.Export(cmd.Context(), p, tmp)
			if cerr := tmp.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return clientAPIError(err)
			}
			if err := os.Rename(tmp.Name(), output); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "export written to %s (%d bytes)\n", output, n)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&p.Format, "format", "csv", "csv or jsonl")
	f.StringVar(&p.Status, "status", "", "only applications in this status")
	f.StringVar(&p.Country, "country", "", "only applications to this destination (ISO 3166-1 alpha-2 code)")
	f.StringVar(&p.Year, "year", "", "only applications submitted this year (Paris time)")
	f.StringVar(&p.SIREN, "siren", "", "only the applications of this collectivité")
	// Shadows the global --output (text or json), as audit checkpoint
	// export does: the export has its own formats.
	f.StringVarP(&output, "output", "o", "", "file to write (default: standard output)")
	return cmd
}
