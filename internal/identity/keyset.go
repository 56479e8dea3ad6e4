package identity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// fetchingKeys starts every error about the issuer's key set itself, which
// is the provider's fault, not the caller's (Verify answers 503 for it).
const fetchingKeys = "fetching keys"

// keySet verifies signatures with the issuer's published keys (its JWKS).
// A token naming a key it does not hold makes it fetch the keys again, so a
// provider's new key is picked up, but at most once per minRefresh: tokens
// forged with made-up key IDs cannot make the API hammer the provider.
type keySet struct {
	url        string
	client     *http.Client
	minRefresh time.Duration
	now        func() time.Time

	mu      sync.Mutex
	keys    []jose.JSONWebKey
	fetched time.Time
}

func newKeySet(url string, now func() time.Time) *keySet {
	return &keySet{url: url, client: &http.Client{Timeout: 10 * time.Second}, minRefresh: 30 * time.Second, now: now}
}

// VerifySignature implements oidc.KeySet.
func (k *keySet) VerifySignature(ctx context.Context, raw string) ([]byte, error) {
	jws, err := jose.ParseSigned(raw, joseAlgorithms)
	if err != nil {
		return nil, fmt.Errorf("malformed JWT: %w", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, errors.New("one signature expected")
	}
	keys, err := k.keysFor(ctx, jws.Signatures[0].Header.KeyID)
	if err != nil {
		return nil, err
	}
	for _, key := range keys {
		if payload, err := jws.Verify(key.Key); err == nil {
			return payload, nil
		}
	}
	return nil, errors.New("the signature matches none of the issuer's keys")
}

// keysFor returns the keys a token's key ID may name (all of them when it
// names none), fetching the set when it has none of them and may.
func (k *keySet) keysFor(ctx context.Context, kid string) ([]jose.JSONWebKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if found := matching(k.keys, kid); len(found) > 0 {
		return found, nil
	}
	if !k.fetched.IsZero() && k.now().Sub(k.fetched) < k.minRefresh {
		return nil, fmt.Errorf("no key %q among the issuer's keys", kid)
	}
	keys, err := k.fetch(ctx)
	if err != nil {
		return nil, err
	}
	k.keys, k.fetched = keys, k.now()
	if found := matching(k.keys, kid); len(found) > 0 {
		return found, nil
	}
	return nil, fmt.Errorf("no key %q among the issuer's keys", kid)
}

func matching(keys []jose.JSONWebKey, kid string) []jose.JSONWebKey {
	var out []jose.JSONWebKey
	for _, key := range keys {
		if kid == "" || key.KeyID == kid {
			out = append(out, key)
		}
	}
	return out
}

func (k *keySet) fetch(ctx context.Context) ([]jose.JSONWebKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.url, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fetchingKeys, err)
	}
	resp, err := k.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s from %s: %w", fetchingKeys, k.url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s from %s: %s", fetchingKeys, k.url, resp.Status)
	}
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(http.MaxBytesReader(nil, resp.Body, 1<<20)).Decode(&set); err != nil {
		return nil, fmt.Errorf("%s from %s: %w", fetchingKeys, k.url, err)
	}
	var public []jose.JSONWebKey
	for _, key := range set.Keys {
		if key.Use == "" || key.Use == "sig" {
			public = append(public, key.Public())
		}
	}
	return public, nil
}
