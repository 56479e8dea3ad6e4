package identity

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
)

// The key set fetches the issuer's keys when a token names one it lacks,
// at most once per minRefresh however many tokens name unknown keys, and
// picks up a new key once that time has passed.
func TestKeySetRefreshIsBounded(t *testing.T) {
	newKey := func(kid string) (*ecdsa.PrivateKey, jose.JSONWebKey) {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k, jose.JSONWebKey{Key: &k.PublicKey, KeyID: kid, Algorithm: "ES256", Use: "sig"}
	}
	sign := func(k *ecdsa.PrivateKey, kid string) string {
		s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: k, KeyID: kid}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := josejwt.Signed(s).Claims(map[string]any{"sub": "x"}).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	k1, pub1 := newKey("k1")
	k2, pub2 := newKey("k2")
	var fetches atomic.Int32
	published := []jose.JSONWebKey{pub1}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fetches.Add(1)
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: published})
	}))
	defer srv.Close()
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	ks := newKeySet(srv.URL, func() time.Time { return now })
	ctx := context.Background()

	if _, err := ks.VerifySignature(ctx, sign(k1, "k1")); err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		if _, err := ks.VerifySignature(ctx, sign(k2, "made-up-"+string(rune('a'+i%26)))); err == nil {
			t.Fatal("a token of an unknown key verified")
		}
	}
	if n := fetches.Load(); n != 1 {
		t.Errorf("%d fetches of the key set for 50 unknown key IDs within the refresh interval, want 1", n)
	}
	// The provider rotates; past the interval, its new key is fetched once.
	published = []jose.JSONWebKey{pub1, pub2}
	now = now.Add(ks.minRefresh + time.Second)
	if _, err := ks.VerifySignature(ctx, sign(k2, "k2")); err != nil {
		t.Fatalf("new key after the interval: %v", err)
	}
	if n := fetches.Load(); n != 2 {
		t.Errorf("%d fetches, want 2", n)
	}
	// A key set that cannot be fetched is the provider's fault.
	srv.Close()
	now = now.Add(ks.minRefresh + time.Second)
	if _, err := ks.VerifySignature(ctx, sign(k2, "k3")); err == nil || !strings.HasPrefix(err.Error(), fetchingKeys) {
		t.Errorf("unreachable key set: %v, want an error starting %q", err, fetchingKeys)
	}
}
