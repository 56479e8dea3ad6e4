// Package auth issues and checks the API's bearer tokens: JWTs signed with
// a configured HMAC key, carrying the subject, the role and the scope (the
// SIREN an applicant acts for, the countries an embassy covers).
package auth

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/daect/expectct/internal/dossier"
	"github.com/daect/expectct/internal/lifecycle"
)

// Issuer is the token issuer this service accepts.
const Issuer = "expectct"

// Claims are the token's contents.
type Claims struct {
	Role      lifecycle.Role `json:"role"`
	SIREN     string         `json:"siren,omitempty"`
	Countries []string       `json:"countries,omitempty"`
	jwt.RegisteredClaims
}

// Actor is who the token speaks for.
func (c Claims) Actor() lifecycle.Actor {
	return lifecycle.Actor{ID: c.Subject, Role: c.Role, SIREN: c.SIREN, Countries: c.Countries}
}

// ErrInvalidToken is any token we cannot trust.
var ErrInvalidToken = errors.New("invalid token")

// Keys signs and verifies tokens.
type Keys struct{ key []byte }

// NewKeys uses the given HMAC key.
func NewKeys(key string) Keys { return Keys{key: []byte(key)} }

// Issue signs a token for an actor, valid for ttl.
func (k Keys) Issue(a lifecycle.Actor, ttl time.Duration, now time.Time) (string, error) {
	if err := CheckActor(a); err != nil {
		return "", err
	}
	c := Claims{Role: a.Role, SIREN: a.SIREN, Countries: a.Countries, RegisteredClaims: jwt.RegisteredClaims{
		Issuer: Issuer, Subject: a.ID, IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
	}}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(k.key)
}

// Verify checks the signature, issuer, expiry and scope of a token.
func (k Keys) Verify(token string) (lifecycle.Actor, error) {
	var c Claims
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return k.key, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(Issuer), jwt.WithExpirationRequired())
	if err != nil {
		return lifecycle.Actor{}, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	a := c.Actor()
	if err := CheckActor(a); err != nil {
		return lifecycle.Actor{}, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	return a, nil
}

// CheckActor refuses an identity without a subject, with an unknown role,
// without the scope its role needs, or with a control character anywhere.
func CheckActor(a lifecycle.Actor) error {
	if strings.TrimSpace(a.ID) == "" {
		return errors.New("subject is empty")
	}
	// "instructeur " and "instructeur" would be two people to the
	// four-eyes rule.
	if strings.TrimSpace(a.ID) != a.ID {
		return errors.New("subject has leading or trailing spaces")
	}
	// The actor travels into the logs, the journal and the e-mails of every
	// step it takes: refuse at the door what the steps would refuse.
	if err := dossier.ValidateStruct(a); err != nil {
		return fmt.Errorf("identity: %w", err)
	}
	if !slices.Contains(lifecycle.AllRoles, a.Role) {
		return fmt.Errorf("unknown role %q", a.Role)
	}
	switch a.Role {
	case lifecycle.RoleApplicant:
		if !dossier.ValidSIREN(a.SIREN) {
			return fmt.Errorf("an applicant token needs the SIREN of its collectivité (got %q)", a.SIREN)
		}
	case lifecycle.RoleEmbassy:
		if len(a.Countries) == 0 {
			return errors.New("an embassy token needs the countries it covers")
		}
		for _, c := range a.Countries {
			if len(c) != 2 || strings.ToUpper(c) != c {
				return fmt.Errorf("country %q: ISO 3166-1 alpha-2 code in capitals expected", c)
			}
		}
	}
	return nil
}
