package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/daect/expectct/internal/checkpoint"
	"github.com/daect/expectct/internal/store"
)

// TestCheckpointKeyPrintsAUsablePair: the two lines go as they are into
// .env, and what the private key signs, the public key checks.
func TestCheckpointKeyPrintsAUsablePair(t *testing.T) {
	var out bytes.Buffer
	cmd := checkpointKeyCmd()
	cmd.SetOut(&out)
	cmd.SetArgs(nil)
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	for _, line := range strings.Split(out.String(), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			vars[k] = v
		}
	}
	key, err := checkpoint.ParseKey(vars["EXPECTCT_CHECKPOINT_KEY"])
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	keys, err := checkpoint.ParsePublicKeys(vars["EXPECTCT_CHECKPOINT_PUBLIC_KEYS"])
	if err != nil || len(keys) != 1 {
		t.Fatalf("%v %v\n%s", keys, err, out.String())
	}
	body := `{"seq":1,"applications":0,"heads":[]}`
	id, sig := key.Sign([]byte(body))
	if _, err := keys.Check(store.Checkpoint{Seq: 1, KeyID: id, Body: body, Signature: sig}); err != nil {
		t.Errorf("the printed public key does not check the printed key's signature: %v", err)
	}
}
