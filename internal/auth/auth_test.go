package auth_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/daect/expectct/internal/auth"
	"github.com/daect/expectct/internal/lifecycle"
)

var now = time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)

func TestIssueAndVerify(t *testing.T) {
	keys := auth.NewKeys("k1")
	for _, a := range []lifecycle.Actor{
		{ID: "claire", Role: lifecycle.RoleApplicant, SIREN: "214401093"},
		{ID: "dakar", Role: lifecycle.RoleEmbassy, Countries: []string{"SN", "GM"}},
		{ID: "ins", Role: lifecycle.RoleInstructor},
		{ID: "aud", Role: lifecycle.RoleAuditor},
	} {
		tok, err := keys.Issue(a, time.Hour, time.Now())
		if err != nil {
			t.Fatalf("issue %+v: %v", a, err)
		}
		got, err := keys.Verify(tok)
		if err != nil {
			t.Fatalf("verify: %v", err)
		}
		if got.ID != a.ID || got.Role != a.Role || got.SIREN != a.SIREN || strings.Join(got.Countries, ",") != strings.Join(a.Countries, ",") {
			t.Fatalf("verified %+v, issued %+v", got, a)
		}
	}
}

func TestRefusedTokens(t *testing.T) {
	keys := auth.NewKeys("k1")
	good, _ := keys.Issue(lifecycle.Actor{ID: "ins", Role: lifecycle.RoleInstructor}, time.Hour, time.Now())
	expired, _ := keys.Issue(lifecycle.Actor{ID: "ins", Role: lifecycle.RoleInstructor}, time.Hour, time.Now().Add(-48*time.Hour))
	otherKey, _ := auth.NewKeys("k2").Issue(lifecycle.Actor{ID: "ins", Role: lifecycle.RoleInstructor}, time.Hour, time.Now())
	forged := func(claims jwt.MapClaims, method jwt.SigningMethod, key any) string {
		s, err := jwt.NewWithClaims(method, claims).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	exp := time.Now().Add(time.Hour).Unix()
	for name, tok := range map[string]string{
		"expired":          expired,
		"signed elsewhere": otherKey,
		"tampered":         good[:len(good)-2] + "xx",
		"not a JWT":        "hello",
		"other issuer":     forged(jwt.MapClaims{"iss": "someone", "sub": "x", "role": "admin", "exp": exp}, jwt.SigningMethodHS256, []byte("k1")),
		"no expiry":        forged(jwt.MapClaims{"iss": auth.Issuer, "sub": "x", "role": "admin"}, jwt.SigningMethodHS256, []byte("k1")),
		"unknown role":     forged(jwt.MapClaims{"iss": auth.Issuer, "sub": "x", "role": "king", "exp": exp}, jwt.SigningMethodHS256, []byte("k1")),
		"applicant without SIREN": forged(jwt.MapClaims{"iss": auth.Issuer, "sub": "x", "role": "applicant", "exp": exp},
			jwt.SigningMethodHS256, []byte("k1")),
		"control character in the subject": forged(jwt.MapClaims{"iss": auth.Issuer, "sub": "ins\x1b[2J", "role": "instructor", "exp": exp},
			jwt.SigningMethodHS256, []byte("k1")),
		"control character in a country": forged(jwt.MapClaims{"iss": auth.Issuer, "sub": "x", "role": "embassy", "countries": []string{"SN", "\x00\x00"}, "exp": exp},
			jwt.SigningMethodHS256, []byte("k1")),
		"alg none": forged(jwt.MapClaims{"iss": auth.Issuer, "sub": "x", "role": "admin", "exp": exp}, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := keys.Verify(tok); !errors.Is(err, auth.ErrInvalidToken) {
				t.Fatalf("accepted or wrong error: %v", err)
			}
		})
	}
}

func TestIssueRefusesIncompleteScope(t *testing.T) {
	keys := auth.NewKeys("k1")
	for _, a := range []lifecycle.Actor{
		{ID: "", Role: lifecycle.RoleInstructor},
		{ID: "instructeur ", Role: lifecycle.RoleDecider},
		{ID: " instructeur", Role: lifecycle.RoleDecider},
		{ID: "x", Role: lifecycle.RoleApplicant, SIREN: "123456789"},
		{ID: "x", Role: lifecycle.RoleEmbassy},
		{ID: "x", Role: lifecycle.RoleEmbassy, Countries: []string{"sn"}},
		{ID: "x", Role: "king"},
	} {
		if _, err := keys.Issue(a, time.Hour, now); err == nil {
			t.Errorf("issued a token for %+v", a)
		}
	}
}
