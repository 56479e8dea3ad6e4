// Package identity decides who a caller is: it verifies OpenID Connect
// tokens from the configured issuer (ProConnect in production) and resolves
// the person they name to the roles the people directory grants. Nothing
// else in expectct decides who someone is.
package identity

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"
)

// Leeway is the clock skew tolerated between the issuer and us, on the
// token's expiry and issue time.
const Leeway = time.Minute

// asymmetric are the only signature algorithms accepted: a shared-secret
// (HS*) token could be minted by anyone holding the secret.
var asymmetric = []string{
	oidc.RS256, oidc.RS384, oidc.RS512,
	oidc.ES256, oidc.ES384, oidc.ES512,
	oidc.PS256, oidc.PS384, oidc.PS512,
	oidc.EdDSA,
}

// joseAlgorithms are the same, for parsing a token's signature.
var joseAlgorithms = func() []jose.SignatureAlgorithm {
	out := make([]jose.SignatureAlgorithm, len(asymmetric))
	for i, a := range asymmetric {
		out[i] = jose.SignatureAlgorithm(a)
	}
	return out
}()

// Kind tells a person from a machine.
type Kind string

// Kinds of identity.
const (
	KindPerson  Kind = "person"
	KindService Kind = "service"
)

// Principal is who a verified token speaks for, with the claims ProConnect
// sends. It carries no role: roles come from the directory.
type Principal struct {
	Issuer  string
	Subject string
	Kind    Kind
	Name    string
	Email   string
	// SIRET is ProConnect's siret claim: the establishment the person
	// works for. Its first nine digits are the SIREN.
	SIRET string
}

// ErrInvalidToken is any token we cannot trust.
var ErrInvalidToken = errors.New("invalid token")

// ErrIssuerUnavailable means the issuer's discovery document or keys could
// not be fetched: the token may be good, try again later.
var ErrIssuerUnavailable = errors.New("identity provider unavailable")

// Verifier checks tokens from one issuer: signature against the issuer's
// published keys (asymmetric only), issuer, audience, expiry and issue time.
type Verifier struct {
	Issuer string
	// Audiences are the client IDs a token may be addressed to (the web
	// application, the CLI and the service accounts' audience).
	Audiences []string
	// Now is the clock; tests may set it.
	Now func() time.Time

	mu       sync.Mutex
	verifier *oidc.IDTokenVerifier
	provider *oidc.Provider
}

// NewVerifier returns a verifier for the issuer. Discovery happens on the
// first token, so the API starts (and reports itself unready) while the
// provider is down.
func NewVerifier(issuer string, audiences []string) *Verifier {
	return &Verifier{Issuer: issuer, Audiences: audiences}
}

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

// discovered fetches the issuer's discovery document once it answers.
func (v *Verifier) discovered(ctx context.Context) (*oidc.IDTokenVerifier, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.verifier != nil {
		return v.verifier, nil
	}
	p, err := oidc.NewProvider(ctx, v.Issuer)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrIssuerUnavailable, v.Issuer, err)
	}
	var meta struct {
		JWKS string `json:"jwks_uri"`
	}
	if err := p.Claims(&meta); err != nil || meta.JWKS == "" {
		return nil, fmt.Errorf("%w: %s publishes no jwks_uri", ErrIssuerUnavailable, v.Issuer)
	}
	v.provider = p
	v.verifier = oidc.NewVerifier(v.Issuer, newKeySet(meta.JWKS, v.now), &oidc.Config{
		// The audience is checked below against several client IDs.
		SkipClientIDCheck:    true,
		SupportedSigningAlgs: asymmetric,
		Now:                  func() time.Time { return v.now().Add(-Leeway) },
	})
	return v.verifier, nil
}

// Endpoints are the issuer's authorization and token endpoints, from its
// discovery document (the web application's sign-in).
func (v *Verifier) Endpoints(ctx context.Context) (oauth2.Endpoint, error) {
	if _, err := v.discovered(ctx); err != nil {
		return oauth2.Endpoint{}, err
	}
	return v.provider.Endpoint(), nil
}

// Ready tells whether the issuer's discovery document can be fetched.
func (v *Verifier) Ready(ctx context.Context) error {
	_, err := v.discovered(ctx)
	return err
}

// claims are the ones we read: OpenID's and ProConnect's.
type claims struct {
	IssuedAt   *float64 `json:"iat"`
	Email      string   `json:"email"`
	Name       string   `json:"name"`
	GivenName  string   `json:"given_name"`
	UsualName  string   `json:"usual_name"`
	FamilyName string   `json:"family_name"`
	SIRET      string   `json:"siret"`
	ClientID   string   `json:"client_id"`
}

// Verify checks a bearer token and returns who it speaks for.
func (v *Verifier) Verify(ctx context.Context, raw string) (Principal, error) {
	verifier, err := v.discovered(ctx)
	if err != nil {
		return Principal{}, err
	}
	tok, err := verifier.Verify(ctx, raw)
	if err != nil {
		// go-oidc flattens the key set's error into text: a JWKS that could
		// not be fetched is the provider's fault, not the caller's.
		if strings.Contains(err.Error(), fetchingKeys) {
			return Principal{}, fmt.Errorf("%w: %v", ErrIssuerUnavailable, err)
		}
		return Principal{}, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	if !slices.ContainsFunc(tok.Audience, func(a string) bool { return slices.Contains(v.Audiences, a) }) {
		return Principal{}, fmt.Errorf("%w: audience %v is not this service's (%v)", ErrInvalidToken, tok.Audience, v.Audiences)
	}
	var c claims
	if err := tok.Claims(&c); err != nil {
		return Principal{}, fmt.Errorf("%w: claims: %v", ErrInvalidToken, err)
	}
	if c.IssuedAt == nil {
		return Principal{}, fmt.Errorf("%w: no issue time (iat)", ErrInvalidToken)
	}
	if tok.IssuedAt.After(v.now().Add(Leeway)) {
		return Principal{}, fmt.Errorf("%w: issued in the future (%s)", ErrInvalidToken, tok.IssuedAt.UTC().Format(time.RFC3339))
	}
	p := Principal{Issuer: tok.Issuer, Subject: tok.Subject, Kind: KindPerson, Email: c.Email, SIRET: c.SIRET, Name: c.Name}
	if p.Name == "" {
		p.Name = strings.TrimSpace(c.GivenName + " " + cmp.Or(c.UsualName, c.FamilyName))
	}
	// A client-credentials token names the client itself.
	if c.ClientID != "" && c.ClientID == tok.Subject {
		p.Kind = KindService
		p.Name = cmp.Or(p.Name, tok.Subject)
	}
	if strings.TrimSpace(p.Subject) == "" || strings.TrimSpace(p.Subject) != p.Subject {
		return Principal{}, fmt.Errorf("%w: subject %q", ErrInvalidToken, p.Subject)
	}
	return p, nil
}
