package devstack_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/oauth2/clientcredentials"

	"github.com/daect/expectct/internal/devstack"
	"github.com/daect/expectct/internal/identity"
)

// The local provider signs people in with the device flow, refuses a wrong
// password, issues service accounts' tokens, and keeps its key across a
// restart: every token it issues passes the API's own verifier.
func TestOIDCProvider(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	people := filepath.Join(dir, "people.json")
	if err := os.WriteFile(people, []byte(`{"people":[{"username":"awa","password":"p4ssw0rd-awa","sub":"awa.diop",
		"email":"awa@test.invalid","given_name":"Awa","usual_name":"Diop","siret":"21440109300015"}],
		"service_accounts":[{"client_id":"svc-board","client_secret":"0123456789abcdef0123"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	p := &devstack.OIDCProvider{Bin: filepath.Join(root, "bin", "oidc-provider"), PeopleFile: people,
		KeyFile: filepath.Join(dir, "key.pem"), TestPassword: "test-only-password", Log: os.Stderr}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := p.Start(ctx); err != nil {
		t.Fatalf("start (run `make tools`): %v", err)
	}
	t.Cleanup(func() { _ = p.Stop() })
	if info, err := os.Stat(p.KeyFile); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, mode %v; want 0600", err, info)
	}
	v := identity.NewVerifier(p.Issuer(), []string{"expectct"})

	tok, err := devstack.SignInDevice(ctx, p.Issuer(), "expectct", "awa", "p4ssw0rd-awa")
	if err != nil {
		t.Fatal(err)
	}
	idToken, _ := tok.Extra("id_token").(string)
	who, err := v.Verify(ctx, idToken)
	if err != nil {
		t.Fatal(err)
	}
	if who.Subject != "awa.diop" || who.Kind != identity.KindPerson || who.SIRET != "21440109300015" || who.Name != "Awa Diop" || who.Email != "awa@test.invalid" {
		t.Errorf("principal %+v", who)
	}
	if tok.RefreshToken == "" {
		t.Error("offline_access asked, no refresh token")
	}

	if _, err := devstack.SignInDevice(ctx, p.Issuer(), "expectct", "awa", "wrong"); !errors.Is(err, devstack.ErrSignInRefused) {
		t.Errorf("wrong password: %v, want ErrSignInRefused", err)
	}
	if _, err := devstack.SignInDevice(ctx, p.Issuer(), "another-client", "awa", "p4ssw0rd-awa"); err == nil {
		t.Error("an unknown client was given a device code")
	}
	tok, err = devstack.SignInDevice(ctx, p.Issuer(), "expectct", "someone.new", "test-only-password")
	if err != nil {
		t.Fatal(err)
	}
	idToken, _ = tok.Extra("id_token").(string)
	if who, err := v.Verify(ctx, idToken); err != nil || who.Subject != "someone.new" {
		t.Errorf("test-password person: %+v, %v", who, err)
	}

	cc := clientcredentials.Config{ClientID: "svc-board", ClientSecret: "0123456789abcdef0123", TokenURL: p.Issuer() + "/token"}
	st, err := cc.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if who, err := v.Verify(ctx, st.AccessToken); err != nil || who.Kind != identity.KindService || who.Subject != "svc-board" {
		t.Errorf("service account: %+v, %v", who, err)
	}
	cc.ClientSecret = "0123456789abcdef0124"
	if _, err := cc.Token(ctx); err == nil {
		t.Error("a wrong client secret was given a token")
	}

	// Restarted on the same key file, the provider's earlier tokens still
	// verify (a fresh verifier fetches the keys again).
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := identity.NewVerifier(p.Issuer(), []string{"expectct"}).Verify(ctx, st.AccessToken); err != nil {
		t.Errorf("token from before the restart: %v", err)
	}
}
