package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/daect/expectct/internal/identity"
	"github.com/daect/expectct/internal/session"
)

// bearer is the token a client command sends: --token or EXPECTCT_TOKEN
// when given; else a service account's, from EXPECTCT_CLIENT_ID and
// EXPECTCT_CLIENT_SECRET; else the session `expectct login` cached,
// refreshed when about to expire.
func (g *globals) bearer() (string, error) {
	if t := strings.TrimSpace(g.token); t != "" {
		return t, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if id, secret := os.Getenv("EXPECTCT_CLIENT_ID"), os.Getenv("EXPECTCT_CLIENT_SECRET"); id != "" && secret != "" {
		si, err := session.Discover(ctx, g.api)
		if err != nil {
			return "", err
		}
		s, err := session.LoginClient(ctx, g.api, si, id, secret)
		return s.Bearer, err
	}
	s, err := session.Load(g.api)
	if err != nil {
		return "", err
	}
	s, err = session.Fresh(ctx, s)
	return s.Bearer, err
}

func loginCmd(g *globals) *cobra.Command {
	var clientID, secretFile string
	var browser bool
	cmd := &cobra.Command{
		Use:   "login [--browser | --client-id ID --client-secret-file FILE]",
		Short: "Sign in with the API's OpenID provider (ProConnect) and keep the session",
		Long: "Signs a person in with the OAuth device authorization grant: the command shows an address and a code " +
			"to enter in a browser, then waits. The session is kept, readable by you only, in the user's configuration " +
			"directory (EXPECTCT_CONFIG_DIR overrides it) and refreshed when it expires. With --browser it uses the " +
			"authorization code grant with PKCE instead, the provider sending the browser back to a loopback port. " +
			"A service account signs in with " +
			"--client-id and --client-secret-file (client credentials grant).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), 10*time.Minute)
			defer cancel()
			si, err := session.Discover(ctx, g.api)
			if err != nil {
				return err
			}
			var s session.Session
			if clientID != "" {
				secret, err := os.ReadFile(secretFile)
				if err != nil {
					return fmt.Errorf("--client-secret-file: %w", err)
				}
				s, err = session.LoginClient(ctx, g.api, si, clientID, strings.TrimSpace(string(secret)))
				if err != nil {
					return err
				}
			} else if browser {
				s, err = session.LoginBrowser(ctx, g.api, si, func(url string) {
					fmt.Fprintf(cmd.ErrOrStderr(), "Ouvrez dans un navigateur de cette machine / Open in a browser on this machine:\n%s\n", url)
				})
				if err != nil {
					return err
				}
			} else {
				s, err = session.LoginDevice(ctx, g.api, si, func(uri, code string) {
					fmt.Fprintf(cmd.ErrOrStderr(), "Ouvrez / Open %s\net saisissez le code / and enter the code: %s\n", uri, code)
				})
				if err != nil {
					return err
				}
			}
			if err := session.Save(s); err != nil {
				return err
			}
			return printWhoAmI(cmd, g, s.Bearer)
		},
	}
	cmd.Flags().BoolVar(&browser, "browser", false, "sign in with the authorization code grant and PKCE: the browser, on this machine, comes back to a loopback port")
	cmd.Flags().StringVar(&clientID, "client-id", "", "service account: client ID (client credentials grant)")
	cmd.Flags().StringVar(&secretFile, "client-secret-file", "", "service account: file holding the client secret")
	cmd.MarkFlagsRequiredTogether("client-id", "client-secret-file")
	cmd.MarkFlagsMutuallyExclusive("browser", "client-id")
	return cmd
}

func logoutCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "logout",
		Short: "Forget the session (and revoke its refresh token at the provider)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			defer cancel()
			s, err := session.Remove(ctx)
			if errors.Is(err, session.ErrNotSignedIn) {
				fmt.Fprintln(cmd.OutOrStdout(), "Aucune session / No session")
				return nil
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Session fermée / Signed out of %s\n", s.API)
			return nil
		},
	}
}

func whoamiCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "whoami",
		Short: "Show who the API takes you for, and your roles",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tok, err := g.bearer()
			if err != nil {
				return err
			}
			return printWhoAmI(cmd, g, tok)
		},
	}
}

func printWhoAmI(cmd *cobra.Command, g *globals, token string) error {
	c := g.clientWith(token)
	r, err := c.Me(cmd.Context())
	if err != nil {
		return clientAPIError(err)
	}
	if g.jsonOut() {
		return clientPrintJSON(cmd, r.Body)
	}
	return renderWhoAmI(cmd.OutOrStdout(), r.Value)
}

// roleLine is one role with its scope, as people read it.
func roleLine(role, siren string, countries []string) string {
	switch {
	case siren != "":
		return role + " (SIREN " + siren + ")"
	case len(countries) > 0:
		return role + " (" + strings.Join(countries, ", ") + ")"
	}
	return role
}

func actorsLine(w identity.WhoAmI) string {
	var roles []string
	for _, a := range w.Actors {
		roles = append(roles, roleLine(string(a.Role), a.SIREN, a.Countries))
	}
	if len(roles) == 0 {
		return "aucun / none (an admin grants roles: expectct people grant)"
	}
	return strings.Join(roles, ", ")
}
