// Package checkpoint signs and checks the journal's checkpoints: at a fixed
// interval the worker signs the head of every chain (each application's
// last seq and hash, the people directory's, the number of applications)
// with an Ed25519 key held outside the database. Whoever can rewrite the
// database cannot sign, so a rewritten row, a truncated tail or a deleted
// application shows against a checkpoint, even once Temporal's histories
// are gone; copies exported off-site show a rewrite of the checkpoints too.
package checkpoint

import (
	"bufio"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/daect/expectct/internal/store"
)

// Key signs checkpoints: the worker's EXPECTCT_CHECKPOINT_KEY.
type Key struct {
	id   string
	priv ed25519.PrivateKey
}

// PublicKeys check checkpoints, by key ID: EXPECTCT_CHECKPOINT_PUBLIC_KEYS.
// Several during a rotation: the new key's and the old ones'.
type PublicKeys map[string]ed25519.PublicKey

// KeyID names a public key: the first 16 hex digits of its SHA-256.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// Generate makes a new key pair, both halves in base64.
func Generate() (seed, public string, err error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", "", err
	}
	return base64.StdEncoding.EncodeToString(priv.Seed()), base64.StdEncoding.EncodeToString(pub), nil
}

// ParseKey reads a base64 Ed25519 seed (32 bytes).
func ParseKey(seed string) (*Key, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(seed))
	if err != nil || len(b) != ed25519.SeedSize {
		return nil, errors.New("EXPECTCT_CHECKPOINT_KEY: the base64 of a 32-byte Ed25519 seed expected (`expectct checkpoint-key` makes one)")
	}
	priv := ed25519.NewKeyFromSeed(b)
	return &Key{id: KeyID(priv.Public().(ed25519.PublicKey)), priv: priv}, nil
}

// ID is the key's ID, the one its checkpoints name.
func (k *Key) ID() string { return k.id }

// Public is the base64 public half, for EXPECTCT_CHECKPOINT_PUBLIC_KEYS.
func (k *Key) Public() string {
	return base64.StdEncoding.EncodeToString(k.priv.Public().(ed25519.PublicKey))
}

// Sign signs a checkpoint body (store.Signer).
func (k *Key) Sign(body []byte) (keyID, signature string) {
	return k.id, base64.StdEncoding.EncodeToString(ed25519.Sign(k.priv, body))
}

// ParsePublicKeys reads comma-separated base64 Ed25519 public keys.
func ParsePublicKeys(list string) (PublicKeys, error) {
	keys := PublicKeys{}
	for _, s := range strings.Split(list, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(b) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("EXPECTCT_CHECKPOINT_PUBLIC_KEYS: %q is not the base64 of a 32-byte Ed25519 public key", s)
		}
		keys[KeyID(b)] = b
	}
	return keys, nil
}

// Check verifies a checkpoint's signature with the key it names and
// returns what it signs.
func (k PublicKeys) Check(c store.Checkpoint) (store.CheckpointBody, error) {
	pub, ok := k[c.KeyID]
	if !ok {
		return store.CheckpointBody{}, fmt.Errorf("signed by key %s, which is not among EXPECTCT_CHECKPOINT_PUBLIC_KEYS", c.KeyID)
	}
	sig, err := base64.StdEncoding.DecodeString(c.Signature)
	if err != nil || !ed25519.Verify(pub, []byte(c.Body), sig) {
		return store.CheckpointBody{}, fmt.Errorf("its signature does not match its content (key %s): altered", c.KeyID)
	}
	var body store.CheckpointBody
	if err := json.Unmarshal([]byte(c.Body), &body); err != nil {
		return store.CheckpointBody{}, fmt.Errorf("signed content unreadable: %w", err)
	}
	if body.Seq != c.Seq {
		return store.CheckpointBody{}, fmt.Errorf("stored as checkpoint %d, signed as checkpoint %d", c.Seq, body.Seq)
	}
	return body, nil
}

// Export writes checkpoints as JSON lines, the format ReadExport reads.
func Export(w io.Writer, list []store.Checkpoint) error {
	enc := json.NewEncoder(w)
	for _, c := range list {
		if err := enc.Encode(c); err != nil {
			return err
		}
	}
	return nil
}

// ReadExport reads checkpoints exported as JSON lines.
func ReadExport(r io.Reader) ([]store.Checkpoint, error) {
	var list []store.Checkpoint
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 256<<20)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		var c store.Checkpoint
		if err := json.Unmarshal([]byte(text), &c); err != nil {
			return nil, fmt.Errorf("exported checkpoints, line %d: %w", line, err)
		}
		if c.Seq < 1 || c.Body == "" || c.Signature == "" {
			return nil, fmt.Errorf("exported checkpoints, line %d: not a checkpoint (seq, body and signature expected)", line)
		}
		list = append(list, c)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("exported checkpoints: %w", err)
	}
	return list, nil
}
