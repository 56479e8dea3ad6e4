package checkpoint_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/daect/expectct/internal/checkpoint"
	"github.com/daect/expectct/internal/store"
)

func signed(t *testing.T, k *checkpoint.Key, seq int64, body string) store.Checkpoint {
	t.Helper()
	id, sig := k.Sign([]byte(body))
	return store.Checkpoint{Seq: seq, KeyID: id, Body: body, Signature: sig}
}

func TestSignAndCheckWithRotatedKeys(t *testing.T) {
	oldSeed, oldPub, err := checkpoint.Generate()
	if err != nil {
		t.Fatal(err)
	}
	newSeed, newPub, err := checkpoint.Generate()
	if err != nil {
		t.Fatal(err)
	}
	oldKey, err := checkpoint.ParseKey(oldSeed)
	if err != nil {
		t.Fatal(err)
	}
	newKey, err := checkpoint.ParseKey(newSeed)
	if err != nil {
		t.Fatal(err)
	}
	if oldKey.Public() != oldPub || newKey.Public() != newPub || oldKey.ID() == newKey.ID() {
		t.Fatalf("keys: %s %s, %s %s", oldKey.Public(), oldPub, oldKey.ID(), newKey.ID())
	}
	keys, err := checkpoint.ParsePublicKeys(newPub + ", " + oldPub)
	if err != nil {
		t.Fatal(err)
	}
	body := `{"seq":1,"at":"2030-01-02T03:04:05Z","prev":"","applications":1,"heads":[{"id":"EXP-1","seq":3,"hash":"ab"}],"directory":{"seq":0,"hash":""}}`
	for _, k := range []*checkpoint.Key{oldKey, newKey} {
		b, err := keys.Check(signed(t, k, 1, body))
		if err != nil || b.Applications != 1 || b.Heads[0] != (store.ChainHead{ID: "EXP-1", Seq: 3, Hash: "ab"}) {
			t.Errorf("key %s: %+v, %v", k.ID(), b, err)
		}
	}

	c := signed(t, newKey, 1, body)
	c.Body = strings.Replace(c.Body, `"seq":3`, `"seq":2`, 1)
	if _, err := keys.Check(c); err == nil || !strings.Contains(err.Error(), "altered") {
		t.Errorf("altered body: %v", err)
	}
	if _, err := keys.Check(signed(t, newKey, 2, body)); err == nil || !strings.Contains(err.Error(), "signed as checkpoint 1") {
		t.Errorf("body moved to another seq: %v", err)
	}
	onlyNew, _ := checkpoint.ParsePublicKeys(newPub)
	if _, err := onlyNew.Check(signed(t, oldKey, 1, body)); err == nil || !strings.Contains(err.Error(), "not among EXPECTCT_CHECKPOINT_PUBLIC_KEYS") {
		t.Errorf("retired key: %v", err)
	}
}

func TestBadKeysAreRefused(t *testing.T) {
	for _, seed := range []string{"", "not base64!", "c2hvcnQ="} {
		if _, err := checkpoint.ParseKey(seed); err == nil || !strings.Contains(err.Error(), "EXPECTCT_CHECKPOINT_KEY") {
			t.Errorf("ParseKey(%q): %v", seed, err)
		}
	}
	if _, err := checkpoint.ParsePublicKeys("c2hvcnQ="); err == nil || !strings.Contains(err.Error(), "EXPECTCT_CHECKPOINT_PUBLIC_KEYS") {
		t.Errorf("short public key: %v", err)
	}
}

func TestExportReadsBack(t *testing.T) {
	seed, _, _ := checkpoint.Generate()
	k, _ := checkpoint.ParseKey(seed)
	list := []store.Checkpoint{signed(t, k, 1, `{"seq":1}`), signed(t, k, 2, `{"seq":2}`)}
	var buf bytes.Buffer
	if err := checkpoint.Export(&buf, list); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(buf.String(), "\n"); n != 2 {
		t.Fatalf("%d lines:\n%s", n, buf.String())
	}
	back, err := checkpoint.ReadExport(&buf)
	if err != nil || len(back) != 2 || back[1].Body != `{"seq":2}` || back[1].Signature != list[1].Signature {
		t.Fatalf("read back: %+v, %v", back, err)
	}
	if _, err := checkpoint.ReadExport(strings.NewReader("{\"seq\":1}\n")); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("a line that is no checkpoint: %v", err)
	}
}
