package webhooks

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The vector of the Standard Webhooks reference library's own test
// (libraries/go/webhook_test.go, TestWebhookSign, in
// github.com/standard-webhooks/standard-webhooks): a receiver using any
// published verifier computes the same signature.
const (
	vectorSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTimestamp = 1614265330
	vectorBody      = `{"test": 2432232314}`
	vectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func vectorHeader() http.Header {
	h := http.Header{}
	h.Set(HeaderID, vectorID)
	h.Set(HeaderTimestamp, "1614265330")
	h.Set(HeaderSignature, vectorSignature)
	return h
}

func TestSignMatchesTheSpecificationVector(t *testing.T) {
	got, err := Sign(vectorSecret, vectorID, time.Unix(vectorTimestamp, 0), []byte(vectorBody))
	if err != nil {
		t.Fatal(err)
	}
	if got != vectorSignature {
		t.Errorf("Sign = %s, want %s", got, vectorSignature)
	}
}

func TestVerifyTheSpecificationVector(t *testing.T) {
	at := time.Unix(vectorTimestamp, 0)
	if err := Verify(vectorSecret, vectorHeader(), []byte(vectorBody), at.Add(30*time.Second)); err != nil {
		t.Fatalf("the specification's vector: %v", err)
	}
	// The prefix is optional, as in the published libraries.
	if err := Verify(strings.TrimPrefix(vectorSecret, SecretPrefix), vectorHeader(), []byte(vectorBody), at); err != nil {
		t.Errorf("secret without whsec_: %v", err)
	}
	// Several signatures, space-separated (a rotation, other versions): one
	// matching is enough.
	multi := vectorHeader()
	multi.Set(HeaderSignature, "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= "+vectorSignature)
	if err := Verify(vectorSecret, multi, []byte(vectorBody), at); err != nil {
		t.Errorf("several signatures: %v", err)
	}

	for _, c := range []struct {
		name   string
		edit   func(h http.Header)
		body   string
		secret string
		now    time.Time
		want   error
	}{
		{name: "body changed", body: `{"test": 2432232315}`, want: ErrNoMatchingSigner},
		{name: "another secret", secret: "whsec_" + strings.Repeat("A", 43) + "=", want: ErrNoMatchingSigner},
		{name: "id changed", edit: func(h http.Header) { h.Set(HeaderID, "msg_other") }, want: ErrNoMatchingSigner},
		{name: "timestamp changed", edit: func(h http.Header) { h.Set(HeaderTimestamp, "1614265331") }, want: ErrNoMatchingSigner},
		{name: "only another version", edit: func(h http.Header) { h.Set(HeaderSignature, strings.Replace(vectorSignature, "v1,", "v2,", 1)) }, want: ErrNoMatchingSigner},
		{name: "no id", edit: func(h http.Header) { h.Del(HeaderID) }, want: ErrMissingHeaders},
		{name: "no timestamp", edit: func(h http.Header) { h.Del(HeaderTimestamp) }, want: ErrMissingHeaders},
		{name: "no signature", edit: func(h http.Header) { h.Del(HeaderSignature) }, want: ErrMissingHeaders},
		{name: "timestamp not a number", edit: func(h http.Header) { h.Set(HeaderTimestamp, "2021-02-25") }, want: ErrBadTimestamp},
		{name: "replayed after 5 minutes", now: at.Add(Tolerance + time.Second), want: ErrTimestampTooOld},
		{name: "from 5 minutes ahead", now: at.Add(-Tolerance - time.Second), want: ErrTimestampTooNew},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := vectorHeader()
			if c.edit != nil {
				c.edit(h)
			}
			body, secret, now := vectorBody, vectorSecret, at
			if c.body != "" {
				body = c.body
			}
			if c.secret != "" {
				secret = c.secret
			}
			if !c.now.IsZero() {
				now = c.now
			}
			if err := Verify(secret, h, []byte(body), now); !errors.Is(err, c.want) {
				t.Errorf("Verify: %v, want %v", err, c.want)
			}
		})
	}
}

func TestNewSecretSignsWhatVerifyAccepts(t *testing.T) {
	secret, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	key, err := ParseSecret(secret)
	if !strings.HasPrefix(secret, SecretPrefix) || err != nil || len(key) != 32 {
		t.Fatalf("NewSecret = %q (%v): want whsec_ and the base64 of 32 bytes", secret, err)
	}
	if other, _ := NewSecret(); other == secret {
		t.Fatal("two secrets drawn alike")
	}
	now := time.Now()
	body := []byte(`{"type":"submitted"}`)
	sig, err := Sign(secret, "msg_1", now, body)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set(HeaderID, "msg_1")
	h.Set(HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	h.Set(HeaderSignature, sig)
	if err := Verify(secret, h, body, now); err != nil {
		t.Errorf("Verify of what Sign made: %v", err)
	}
	if _, err := Sign("whsec_not base64!", "msg_1", now, body); err == nil {
		t.Error("Sign accepted a secret that is not base64")
	}
}
