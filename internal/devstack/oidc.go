package devstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/daect/expectct/internal/session"
)

// OIDCProvider is the local OpenID provider (bin/oidc-provider) as a child
// process: people sign in on it with the device flow, service accounts with
// their client credentials.
type OIDCProvider struct {
	Bin string
	// PeopleFile lists people and service accounts (dev/people.json).
	PeopleFile string
	// KeyFile keeps the signing key (PKCS#8 PEM), created on first start;
	// empty keeps it in memory.
	KeyFile string
	// TestPassword, when set, signs in any well-formed username.
	TestPassword string
	// Port on 127.0.0.1; 0 picks a free one.
	Port int
	// TokenTTL is the tokens' lifetime (the provider's default when 0).
	TokenTTL time.Duration
	Log      io.Writer

	srv *Server
}

// Start runs the provider and waits until its discovery document answers.
func (p *OIDCProvider) Start(ctx context.Context) error {
	if _, err := os.Stat(p.Bin); err != nil {
		return fmt.Errorf("OpenID provider binary %s not found: run `make tools`: %w", p.Bin, err)
	}
	hc := &http.Client{Timeout: 2 * time.Second}
	srv, err := StartServer(ctx, ServerSpec{
		Name:  "OpenID provider",
		Ports: []int{p.Port},
		Command: func(ports []int) (*exec.Cmd, error) {
			args := []string{"--listen", "127.0.0.1:" + strconv.Itoa(ports[0])}
			if p.PeopleFile != "" {
				args = append(args, "--people", p.PeopleFile)
			}
			if p.KeyFile != "" {
				args = append(args, "--key-file", p.KeyFile)
			}
			if p.TestPassword != "" {
				args = append(args, "--test-password", p.TestPassword)
			}
			if p.TokenTTL > 0 {
				args = append(args, "--token-ttl", p.TokenTTL.String())
			}
			return exec.Command(p.Bin, args...), nil
		},
		Ready: func(ctx context.Context, ports []int) error {
			return answersOK(ctx, hc, issuerAt(ports[0])+"/.well-known/openid-configuration")
		},
		Timeout: 30 * time.Second,
		Output:  p.Log,
	})
	if err != nil {
		return err
	}
	p.srv = srv
	p.Port = srv.Ports[0]
	return nil
}

// Issuer is the provider's issuer URL.
func (p *OIDCProvider) Issuer() string { return issuerAt(p.Port) }

// Stop ends the provider.
func (p *OIDCProvider) Stop() error {
	if p.srv == nil {
		return nil
	}
	return p.srv.Stop()
}

func issuerAt(port int) string { return "http://127.0.0.1:" + strconv.Itoa(port) }

// ErrSignInRefused is a wrong username or password.
var ErrSignInRefused = errors.New("sign-in refused")

// SignInDevice signs a person in as the CLI and a browser together would:
// the device authorization grant, the code typed on the provider's page with
// the username and password, then the token.
func SignInDevice(ctx context.Context, issuer, clientID, username, password string) (*oauth2.Token, error) {
	cfg := oauth2.Config{ClientID: clientID, Scopes: session.Scopes, Endpoint: oauth2.Endpoint{
		DeviceAuthURL: issuer + "/device_authorization", TokenURL: issuer + "/token", AuthStyle: oauth2.AuthStyleInParams}}
	da, err := cfg.DeviceAuth(ctx)
	if err != nil {
		return nil, fmt.Errorf("device authorization: %w", err)
	}
	if err := ApproveDevice(ctx, da.VerificationURI, da.UserCode, username, password); err != nil {
		return nil, err
	}
	return cfg.DeviceAccessToken(ctx, da)
}

// ApproveDevice does what the person does in the browser: types the code
// shown by the device, their username and their password.
func ApproveDevice(ctx context.Context, verificationURI, userCode, username, password string) error {
	form := url.Values{"user_code": {userCode}, "username": {username}, "password": {password}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, verificationURI, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return nil
	case http.StatusUnauthorized:
		return fmt.Errorf("%w for %s", ErrSignInRefused, username)
	default:
		return fmt.Errorf("approving device code %s: %s", userCode, resp.Status)
	}
}
