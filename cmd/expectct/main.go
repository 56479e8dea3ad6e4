// Command expectct is the EXPE-CT workflow engine: its services (api, worker,
// dev, migrate, bench) and the command-line client of its HTTP API.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	if err := newRootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "expectct:", err)
		os.Exit(1)
	}
}

// globals are the flags every client command shares.
type globals struct {
	api    string
	token  string
	output string
}

func newRootCmd() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:           "expectct",
		Short:         "EXPE-CT: applications of French local authorities for expertise missions abroad",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if g.output != "text" && g.output != "json" {
				return fmt.Errorf("--output must be text or json, not %q", g.output)
			}
			return nil
		},
	}
	pf := root.PersistentFlags()
	pf.StringVar(&g.api, "api", envOr("EXPECTCT_API", "http://127.0.0.1:8080"), "API base URL (env EXPECTCT_API)")
	pf.StringVar(&g.token, "token", os.Getenv("EXPECTCT_TOKEN"), "bearer token (env EXPECTCT_TOKEN)")
	pf.StringVarP(&g.output, "output", "o", "text", "output format: text or json")
	root.AddCommand(serviceCommands()...)
	root.AddCommand(clientCommands(g)...)
	root.AddCommand(followUpCommands(g)...)
	return root
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
