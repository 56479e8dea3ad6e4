// Package codec seals what the application sends through Temporal: workflow
// inputs, update arguments and results, query answers, activity inputs,
// memos and timer summaries are compressed when that makes them smaller, then
// encrypted with AES-256-GCM before they leave the process, so the Temporal server, its database, its Web UI and anyone
// with its CLI see ciphertext only. Decoding is strict: a payload that was
// not sealed with one of our keys is refused, so an update forged with the
// Temporal CLI is rejected before it reaches a validator. Every Temporal
// client (API, worker, dev stack, tests) gets its data converter from
// DataConverter; the audit decodes histories with Codec.DecodeHistory.
package codec

import (
	"bytes"
	"compress/flate"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"

	commonpb "go.temporal.io/api/common/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/proxy"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"
)

// Metadata of a sealed payload. A payload is sealed as it is, or deflated
// first when that makes it smaller (dossiers, rules and state snapshots shrink
// by half, which halves what the Temporal server stores for them).
const (
	EncodingSealed         = "binary/expectct-aes256gcm"
	EncodingSealedDeflated = "binary/expectct-deflate-aes256gcm"
	metaEncoding           = "encoding"
	metaKeyID              = "expectct-key-id"
)

// minDeflate is the size under which compressing is not worth trying: the
// deflate stream's own overhead would eat the gain.
const minDeflate = 256

// IsSealed tells whether the payload was sealed by this codec's format.
func IsSealed(p *commonpb.Payload) bool {
	e := string(p.GetMetadata()[metaEncoding])
	return e == EncodingSealed || e == EncodingSealedDeflated
}

// Codec encrypts with its current key and decrypts with any of its keys, so
// keys can be rotated: add the new one first, keep the old ones as long as
// histories sealed with them are kept.
type Codec struct {
	current string
	keys    map[string]cipher.AEAD
}

var keyID = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)

// Parse reads EXPECTCT_CODEC_KEYS: comma-separated "id=base64" entries, each
// key 32 random bytes, the first one current. An empty spec gives no codec.
func Parse(spec string) (*Codec, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, nil
	}
	c := &Codec{keys: map[string]cipher.AEAD{}}
	for i, entry := range strings.Split(spec, ",") {
		id, b64, ok := strings.Cut(strings.TrimSpace(entry), "=")
		if !ok || !keyID.MatchString(id) {
			return nil, fmt.Errorf("EXPECTCT_CODEC_KEYS entry %d: want id=base64key with an id of lower-case letters, digits and dashes", i+1)
		}
		raw, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || len(raw) != 32 {
			return nil, fmt.Errorf("EXPECTCT_CODEC_KEYS key %q: want 32 bytes in base64 (openssl rand -base64 32)", id)
		}
		if _, dup := c.keys[id]; dup {
			return nil, fmt.Errorf("EXPECTCT_CODEC_KEYS: key %q given twice", id)
		}
		block, err := aes.NewCipher(raw)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		c.keys[id] = aead
		if i == 0 {
			c.current = id
		}
	}
	return c, nil
}

// DataConverter is the converter every Temporal client of ours uses: the
// SDK's default, sealed by c when there is one.
func DataConverter(c *Codec) converter.DataConverter {
	if c == nil {
		return converter.GetDefaultDataConverter()
	}
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), c)
}

// ErrNotSealed refuses a payload that none of our keys sealed.
var ErrNotSealed = errors.New("payload not sealed by expectct's codec: refused")

// Encode seals each payload with the current key; the key ID (and, for a
// deflated payload, the encoding) is bound to the ciphertext so it cannot be
// swapped.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	aead := c.keys[c.current]
	for i, p := range payloads {
		plain, err := proto.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("codec: %w", err)
		}
		encoding := EncodingSealed
		if len(plain) >= minDeflate {
			if small, err := deflate(plain); err != nil {
				return nil, fmt.Errorf("codec: %w", err)
			} else if len(small) < len(plain) {
				plain, encoding = small, EncodingSealedDeflated
			}
		}
		nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
		if _, err := rand.Read(nonce); err != nil {
			return nil, fmt.Errorf("codec: %w", err)
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{metaEncoding: []byte(encoding), metaKeyID: []byte(c.current)},
			Data:     aead.Seal(nonce, nonce, plain, additionalData(c.current, encoding)),
		}
	}
	return out, nil
}

// additionalData is what the AEAD authenticates besides the ciphertext. The
// first format bound the key ID alone; it stays so, so its payloads still open.
func additionalData(keyID, encoding string) []byte {
	if encoding == EncodingSealed {
		return []byte(keyID)
	}
	return []byte(keyID + " " + encoding)
}

// Deflate writers hold about a megabyte of tables each: they are reused.
var deflaters = sync.Pool{New: func() any {
	w, _ := flate.NewWriter(nil, flate.DefaultCompression) // a valid level never fails
	return w
}}

func deflate(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	w := deflaters.Get().(*flate.Writer)
	defer deflaters.Put(w)
	w.Reset(&buf)
	if _, err := w.Write(b); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// maxInflated bounds what one sealed payload may inflate to; Temporal's own
// payload limit is far below it.
const maxInflated = 64 << 20

func inflate(b []byte) ([]byte, error) {
	r := flate.NewReader(bytes.NewReader(b))
	defer r.Close()
	out, err := io.ReadAll(io.LimitReader(r, maxInflated+1))
	if err != nil {
		return nil, err
	}
	if len(out) > maxInflated {
		return nil, errors.New("sealed payload inflates beyond 64 MiB")
	}
	return out, nil
}

// Decode opens each payload, refusing any that is not sealed or that does
// not open with the key it names.
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if !IsSealed(p) {
			return nil, ErrNotSealed
		}
		encoding := string(p.GetMetadata()[metaEncoding])
		id := string(p.GetMetadata()[metaKeyID])
		aead, ok := c.keys[id]
		if !ok {
			return nil, fmt.Errorf("codec: payload sealed with key %q, which is not in EXPECTCT_CODEC_KEYS", id)
		}
		data := p.GetData()
		if len(data) < aead.NonceSize() {
			return nil, fmt.Errorf("codec: sealed payload too short")
		}
		plain, err := aead.Open(nil, data[:aead.NonceSize()], data[aead.NonceSize():], additionalData(id, encoding))
		if err != nil {
			return nil, fmt.Errorf("codec: sealed payload does not open with key %q (altered?)", id)
		}
		if encoding == EncodingSealedDeflated {
			if plain, err = inflate(plain); err != nil {
				return nil, fmt.Errorf("codec: sealed payload does not inflate: %w", err)
			}
		}
		var q commonpb.Payload
		if err := proto.Unmarshal(plain, &q); err != nil {
			return nil, fmt.Errorf("codec: %w", err)
		}
		out[i] = &q
	}
	return out, nil
}

// DecodeHistory opens, in place, every sealed payload of a history read
// from Temporal, so that it reads as if no codec were used; payloads written
// before the codec was enabled are left as they are. A nil codec leaves the
// history untouched.
func (c *Codec) DecodeHistory(ctx context.Context, events []*historypb.HistoryEvent) error {
	if c == nil {
		return nil
	}
	return proxy.VisitPayloads(ctx, &historypb.History{Events: events}, proxy.VisitPayloadsOptions{
		SkipSearchAttributes: true,
		Visitor: func(_ *proxy.VisitPayloadsContext, ps []*commonpb.Payload) ([]*commonpb.Payload, error) {
			out := make([]*commonpb.Payload, len(ps))
			for i, p := range ps {
				out[i] = p
				if IsSealed(p) {
					opened, err := c.Decode([]*commonpb.Payload{p})
					if err != nil {
						return nil, err
					}
					out[i] = opened[0]
				}
			}
			return out, nil
		},
	})
}
