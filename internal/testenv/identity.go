package testenv

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"

	"github.com/daect/expectct/internal/devstack"
	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/store"
)

// ClientID is the public client the test stacks' people sign in with, and
// the audience their API accepts.
const ClientID = "expectct"

// TestPassword signs in any person on the test provider: tests create the
// people they need by signing them in.
const TestPassword = "expectct-test-password"

var (
	oidcOnce   sync.Once
	oidcServer *devstack.OIDCProvider
	oidcErr    error

	tokensMu sync.Mutex
	tokens   = map[string]cachedToken{} // by issuer and username
)

type cachedToken struct {
	raw    string
	expiry time.Time
}

// OIDC returns the package's shared OpenID provider, started on first use.
// Its people sign in with TestPassword; its one service account is
// ServiceAccount.
func OIDC(t testing.TB) *devstack.OIDCProvider {
	t.Helper()
	oidcOnce.Do(func() { oidcServer, oidcErr = startOIDC(RepoRoot(t)) })
	if oidcErr != nil {
		t.Fatalf("OpenID provider is required: %v", oidcErr)
	}
	return oidcServer
}

// ServiceAccount is the test provider's client-credentials account.
var ServiceAccount = struct{ ID, Secret string }{"svc-test", "svc-test-secret-0123456789abcdef"}

// OwnOIDC starts a provider for this test alone: another issuer, whose
// tokens a stack of the shared one must refuse.
func OwnOIDC(t testing.TB) *devstack.OIDCProvider {
	t.Helper()
	p, err := startOIDC(RepoRoot(t))
	if err != nil {
		t.Fatalf("OpenID provider is required: %v", err)
	}
	t.Cleanup(func() { _ = p.Stop() })
	return p
}

func startOIDC(root string) (*devstack.OIDCProvider, error) {
	dir, err := os.MkdirTemp("", "expectct-oidc-")
	if err != nil {
		return nil, err
	}
	people := filepath.Join(dir, "people.json")
	if err := os.WriteFile(people, []byte(fmt.Sprintf(`{"people":[],"service_accounts":[{"client_id":%q,"client_secret":%q}]}`,
		ServiceAccount.ID, ServiceAccount.Secret)), 0o600); err != nil {
		return nil, err
	}
	p := &devstack.OIDCProvider{Bin: filepath.Join(root, "bin", "oidc-provider"), PeopleFile: people,
		KeyFile: filepath.Join(dir, "key.pem"), TestPassword: TestPassword, Log: os.Stderr}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := p.Start(ctx); err != nil {
		return nil, fmt.Errorf("%w (run `make tools` to build bin/oidc-provider)", err)
	}
	return p, nil
}

// SignIn signs a person in on the provider as a browser would (device
// flow, username and password) and returns their ID token, cached while it
// has ten minutes left.
func SignIn(t testing.TB, p *devstack.OIDCProvider, username string) string {
	t.Helper()
	key := p.Issuer() + " " + username
	tokensMu.Lock()
	defer tokensMu.Unlock()
	if c, ok := tokens[key]; ok && time.Until(c.expiry) > 10*time.Minute {
		return c.raw
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tok, err := devstack.SignInDevice(ctx, p.Issuer(), ClientID, username, TestPassword)
	if err != nil {
		t.Fatalf("sign in %s: %v", username, err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		t.Fatalf("sign in %s: no ID token", username)
	}
	tokens[key] = cachedToken{raw: raw, expiry: time.Now().Add(time.Hour - time.Minute)}
	return raw
}

// Grant gives the actor's role and scope to the person of its ID in the
// stack's directory, as an admin would (journaled, by "testenv").
func (s *Stack) Grant(a lifecycle.Actor) {
	s.T.Helper()
	s.grantsMu.Lock()
	defer s.grantsMu.Unlock()
	key := fmt.Sprint(a.ID, a.Role, a.SIREN, a.Countries)
	if s.granted[key] {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p := store.Person{ID: a.ID, Issuer: s.OIDC.Issuer(), Kind: "person"}
	if _, err := s.Store.GrantRole(ctx, "testenv", p, store.Grant{Role: string(a.Role), SIREN: a.SIREN, Countries: a.Countries}, ""); err != nil {
		s.T.Fatalf("grant %s to %s: %v", a.Role, a.ID, err)
	}
	if s.granted == nil {
		s.granted = map[string]bool{}
	}
	s.granted[key] = true
}

// ForgeToken signs claims with the provider's own key, as the provider
// would, so a test can send a token that is genuine in every respect but
// the one it tests (expired, issued in the future, another audience).
func ForgeToken(t testing.TB, p *devstack.OIDCProvider, claims map[string]any) string {
	t.Helper()
	data, err := os.ReadFile(p.KeyFile)
	if err != nil {
		t.Fatalf("provider key: %v", err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatalf("provider key %s: no PEM block", p.KeyFile)
		return ""
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatalf("provider key: %v", err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := josejwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// PersonClaims are an ID token's claims for a person of the provider,
// valid for an hour from now; tests change the one they test.
func PersonClaims(p *devstack.OIDCProvider, subject string) map[string]any {
	now := time.Now()
	return map[string]any{"iss": p.Issuer(), "sub": subject, "aud": []string{ClientID},
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "email": subject + "@test.invalid"}
}
