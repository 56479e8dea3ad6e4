// Package session signs the CLI in with the API's OpenID provider and keeps
// its tokens between runs: the device authorization grant for people (the
// command line shows a code to enter in a browser), client credentials for
// service accounts. The cache file is readable by its owner only.
package session

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/daect/expectct/internal/identity"
)

// Scopes asked for a person: OpenID's and ProConnect's.
var Scopes = []string{oidc.ScopeOpenID, "email", "profile", oidc.ScopeOfflineAccess, "siret", "uid", "given_name", "usual_name"}

// Session is what the cache keeps: the API it is for, the provider, and the
// tokens. The bearer sent to the API is the ID token of a person or the
// access token of a service account.
type Session struct {
	API          string    `json:"api"`
	Issuer       string    `json:"issuer"`
	ClientID     string    `json:"client_id"`
	Bearer       string    `json:"bearer"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	Expiry       time.Time `json:"expiry"`
}

// ErrNotSignedIn means there is no cached session for the API.
var ErrNotSignedIn = errors.New("not signed in: run `expectct login`")

// Dir is where the session file lives: EXPECTCT_CONFIG_DIR, else the user's
// configuration directory.
func Dir() (string, error) {
	if d := os.Getenv("EXPECTCT_CONFIG_DIR"); d != "" {
		return d, nil
	}
	d, err := os.UserConfigDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "expectct"), nil
}

func path() (string, error) {
	d, err := Dir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "session.json"), nil
}

// Discover asks the API where to sign in.
func Discover(ctx context.Context, api string) (identity.SignIn, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(api, "/")+"/v1/auth/config", nil)
	if err != nil {
		return identity.SignIn{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return identity.SignIn{}, fmt.Errorf("API %s unreachable: %w", api, err)
	}
	defer resp.Body.Close()
	var si identity.SignIn
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&si); err != nil || resp.StatusCode != http.StatusOK || si.Issuer == "" {
		return identity.SignIn{}, fmt.Errorf("API %s gave no sign-in configuration (HTTP %d)", api, resp.StatusCode)
	}
	return si, nil
}

func oauthConfig(ctx context.Context, si identity.SignIn) (*oauth2.Config, error) {
	p, err := oidc.NewProvider(ctx, si.Issuer)
	if err != nil {
		return nil, fmt.Errorf("OpenID provider %s: %w", si.Issuer, err)
	}
	return &oauth2.Config{ClientID: si.ClientID, Endpoint: p.Endpoint(), Scopes: Scopes}, nil
}

// Prompt shows the person where to go and which code to enter.
type Prompt func(verificationURI, userCode string)

// LoginDevice signs a person in with the device authorization grant and
// returns the session (not saved).
func LoginDevice(ctx context.Context, api string, si identity.SignIn, prompt Prompt) (Session, error) {
	cfg, err := oauthConfig(ctx, si)
	if err != nil {
		return Session{}, err
	}
	if cfg.Endpoint.DeviceAuthURL == "" {
		return Session{}, fmt.Errorf("OpenID provider %s offers no device authorization", si.Issuer)
	}
	da, err := cfg.DeviceAuth(ctx)
	if err != nil {
		return Session{}, fmt.Errorf("device authorization: %w", err)
	}
	prompt(da.VerificationURI, da.UserCode)
	tok, err := cfg.DeviceAccessToken(ctx, da)
	if err != nil {
		return Session{}, fmt.Errorf("sign-in not completed: %w", err)
	}
	return fromToken(api, si, tok)
}

// LoginBrowser signs a person in with the authorization code grant and PKCE:
// a one-request server on a loopback port receives the code, so the browser
// must run on this machine (LoginDevice does not need that). open is told
// the address to visit.
func LoginBrowser(ctx context.Context, api string, si identity.SignIn, open func(url string)) (Session, error) {
	cfg, err := oauthConfig(ctx, si)
	if err != nil {
		return Session{}, err
	}
	if cfg.Endpoint.AuthURL == "" {
		return Session{}, fmt.Errorf("OpenID provider %s offers no authorization endpoint: use expectct login without --browser", si.Issuer)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return Session{}, err
	}
	defer ln.Close()
	cfg.RedirectURL = "http://" + ln.Addr().String() + "/callback"
	state, verifier := oauth2.GenerateVerifier(), oauth2.GenerateVerifier()
	type result struct {
		code string
		err  error
	}
	got := make(chan result, 1)
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		var res result
		switch {
		case r.URL.Path != "/callback" || q.Get("state") != state:
			http.Error(w, "unexpected request", http.StatusBadRequest)
			return
		case q.Get("error") != "":
			res.err = fmt.Errorf("sign-in refused: %s %s", q.Get("error"), q.Get("error_description"))
		default:
			res.code = q.Get("code")
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<!doctype html><p>Connecté. Vous pouvez fermer cette page. / Signed in: you may close this page.</p>")
		select {
		case got <- res:
		default:
		}
	})}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	open(cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier)))
	var res result
	select {
	case res = <-got:
	case <-ctx.Done():
		return Session{}, fmt.Errorf("sign-in not completed: %w", ctx.Err())
	}
	if res.err != nil {
		return Session{}, res.err
	}
	tok, err := cfg.Exchange(ctx, res.code, oauth2.VerifierOption(verifier))
	if err != nil {
		return Session{}, fmt.Errorf("code exchange: %w", err)
	}
	return fromToken(api, si, tok)
}

// LoginClient signs a service account in with its client credentials.
func LoginClient(ctx context.Context, api string, si identity.SignIn, clientID, secret string) (Session, error) {
	p, err := oidc.NewProvider(ctx, si.Issuer)
	if err != nil {
		return Session{}, fmt.Errorf("OpenID provider %s: %w", si.Issuer, err)
	}
	cc := clientcredentials.Config{ClientID: clientID, ClientSecret: secret, TokenURL: p.Endpoint().TokenURL}
	tok, err := cc.Token(ctx)
	if err != nil {
		return Session{}, fmt.Errorf("client credentials of %s refused: %w", clientID, err)
	}
	return Session{API: api, Issuer: si.Issuer, ClientID: clientID, Bearer: tok.AccessToken, Expiry: tok.Expiry}, nil
}

func fromToken(api string, si identity.SignIn, tok *oauth2.Token) (Session, error) {
	idToken, _ := tok.Extra("id_token").(string)
	if idToken == "" {
		return Session{}, errors.New("the provider returned no ID token")
	}
	return Session{API: api, Issuer: si.Issuer, ClientID: si.ClientID, Bearer: idToken,
		RefreshToken: tok.RefreshToken, Expiry: idTokenExpiry(idToken, tok.Expiry)}, nil
}

// idTokenExpiry reads the ID token's own expiry (the access token's may
// differ); the signature is the API's business.
func idTokenExpiry(raw string, fallback time.Time) time.Time {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return fallback
	}
	body, err := base64URL(parts[1])
	if err != nil {
		return fallback
	}
	var c struct {
		Exp int64 `json:"exp"`
	}
	if json.Unmarshal(body, &c) != nil || c.Exp == 0 {
		return fallback
	}
	return time.Unix(c.Exp, 0)
}

// read reads the session file: ErrNotSignedIn when there is none.
func read() (Session, string, error) {
	p, err := path()
	if err != nil {
		return Session{}, "", err
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return Session{}, p, ErrNotSignedIn
	}
	if err != nil {
		return Session{}, p, err
	}
	var s Session
	if err := json.Unmarshal(b, &s); err != nil {
		return Session{}, p, fmt.Errorf("%s is corrupt (%v): run `expectct login` again", p, err)
	}
	return s, p, nil
}

// Load reads the cached session for the API.
func Load(api string) (Session, error) {
	s, _, err := read()
	if err != nil {
		return Session{}, err
	}
	if s.API != api {
		return Session{}, fmt.Errorf("signed in to %s, not %s: run `expectct login`", s.API, api)
	}
	return s, nil
}

// Save writes the session, readable by its owner only.
func Save(s Session) error {
	p, err := path()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	// WriteFile keeps the mode of an existing file: set it anyway.
	if err := os.Chmod(tmp, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

// Remove deletes the cached session; revoking the refresh token at the
// provider first when it has a revocation endpoint.
// A corrupt file is removed all the same.
func Remove(ctx context.Context) (Session, error) {
	s, p, err := read()
	if errors.Is(err, ErrNotSignedIn) || p == "" {
		return Session{}, err
	}
	if err == nil && s.RefreshToken != "" {
		revoke(ctx, s)
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return s, err
	}
	return s, nil
}

func revoke(ctx context.Context, s Session) {
	p, err := oidc.NewProvider(ctx, s.Issuer)
	if err != nil {
		return
	}
	var meta struct {
		Revocation string `json:"revocation_endpoint"`
	}
	if p.Claims(&meta) != nil || meta.Revocation == "" {
		return
	}
	form := url.Values{"token": {s.RefreshToken}, "token_type_hint": {"refresh_token"}, "client_id": {s.ClientID}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, meta.Revocation, strings.NewReader(form.Encode()))
	if err != nil {
		return
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}
}

// Fresh returns a session whose bearer is valid for at least a minute,
// refreshing (and saving) it when it is about to expire.
func Fresh(ctx context.Context, s Session) (Session, error) {
	if time.Until(s.Expiry) > time.Minute {
		return s, nil
	}
	if s.RefreshToken == "" {
		return s, fmt.Errorf("the session expired at %s: run `expectct login`", s.Expiry.Format(time.RFC3339))
	}
	cfg, err := oauthConfig(ctx, identity.SignIn{Issuer: s.Issuer, ClientID: s.ClientID})
	if err != nil {
		return s, err
	}
	tok, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: s.RefreshToken, Expiry: time.Unix(1, 0)}).Token()
	if err != nil {
		return s, fmt.Errorf("the session could not be refreshed (%v): run `expectct login`", err)
	}
	next, err := fromToken(s.API, identity.SignIn{Issuer: s.Issuer, ClientID: s.ClientID}, tok)
	if err != nil {
		return s, err
	}
	if next.RefreshToken == "" {
		next.RefreshToken = s.RefreshToken
	}
	return next, Save(next)
}

func base64URL(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}
