package webhooks

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The Standard Webhooks headers (https://www.standardwebhooks.com).
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// SecretPrefix starts every secret, as Standard Webhooks libraries expect.
const SecretPrefix = "whsec_"

// Tolerance is how far a message's timestamp may be from the receiver's
// clock, either way, before Verify refuses it as a possible replay.
const Tolerance = 5 * time.Minute

// NewSecret draws a signing secret: whsec_ then the base64 of 32 random
// bytes.
func NewSecret() (string, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return "", fmt.Errorf("draw a webhook secret: %w", err)
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(key), nil
}

// ParseSecret returns the key bytes of a secret; the whsec_ prefix is
// optional, as in the published libraries.
func ParseSecret(secret string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, SecretPrefix))
	if err != nil || len(key) == 0 {
		return nil, errors.New("a webhook secret is whsec_ followed by base64")
	}
	return key, nil
}

// Sign returns the webhook-signature header's value for a message:
// "v1," then the base64 HMAC-SHA256, under the secret's key, of
// id.timestamp.body.
func Sign(secret, id string, timestamp time.Time, body []byte) (string, error) {
	key, err := ParseSecret(secret)
	if err != nil {
		return "", err
	}
	return "v1," + base64.StdEncoding.EncodeToString(mac(key, id, timestamp.Unix(), body)), nil
}

func mac(key []byte, id string, unix int64, body []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(id + "." + strconv.FormatInt(unix, 10) + "."))
	h.Write(body)
	return h.Sum(nil)
}

// Errors of Verify.
var (
	ErrMissingHeaders   = errors.New("webhook-id, webhook-timestamp and webhook-signature are required")
	ErrBadTimestamp     = errors.New("webhook-timestamp is not a unix time in seconds")
	ErrTimestampTooOld  = errors.New("webhook-timestamp is too old")
	ErrTimestampTooNew  = errors.New("webhook-timestamp is in the future")
	ErrNoMatchingSigner = errors.New("no signature of webhook-signature matches")
)

// Verify checks a received message as a receiver must: the three headers
// present, the timestamp within Tolerance of now (a replayed message is
// refused), and one of the space-separated v1 signatures matching the
// body, compared in constant time.
func Verify(secret string, header http.Header, body []byte, now time.Time) error {
	id, ts, sigs := header.Get(HeaderID), header.Get(HeaderTimestamp), header.Get(HeaderSignature)
	if id == "" || ts == "" || sigs == "" {
		return ErrMissingHeaders
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return ErrBadTimestamp
	}
	at := time.Unix(unix, 0)
	switch {
	case now.Sub(at) > Tolerance:
		return ErrTimestampTooOld
	case at.Sub(now) > Tolerance:
		return ErrTimestampTooNew
	}
	key, err := ParseSecret(secret)
	if err != nil {
		return err
	}
	want := mac(key, id, unix, body)
	for _, sig := range strings.Fields(sigs) {
		version, value, ok := strings.Cut(sig, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(value)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return ErrNoMatchingSigner
}
