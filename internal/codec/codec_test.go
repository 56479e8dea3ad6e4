package codec_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"

	"github.com/daect/expectct/internal/codec"
)

func key(b byte) string { return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, 32)) }

func mustParse(t *testing.T, spec string) *codec.Codec {
	t.Helper()
	c, err := codec.Parse(spec)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSealedPayloadsOpenAndHideTheirContent(t *testing.T) {
	c := mustParse(t, "k2="+key(2)+",k1="+key(1))
	dc := codec.DataConverter(c)
	p, err := dc.ToPayload(map[string]string{"name": "Claire Martin"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(p.GetData()), "Claire") || string(p.GetMetadata()["encoding"]) != codec.EncodingSealed {
		t.Fatalf("payload not sealed: %q %v", p.GetData(), p.GetMetadata())
	}
	var back map[string]string
	if err := dc.FromPayload(p, &back); err != nil || back["name"] != "Claire Martin" {
		t.Fatalf("round trip: %v %v", back, err)
	}
	// Rotation: a payload sealed with the old current key still opens.
	old := mustParse(t, "k1="+key(1))
	sealed, err := codec.DataConverter(old).ToPayload("ancien")
	if err != nil {
		t.Fatal(err)
	}
	var s string
	if err := dc.FromPayload(sealed, &s); err != nil || s != "ancien" {
		t.Fatalf("payload of the previous key: %q %v", s, err)
	}
}

func TestForgedOrAlteredPayloadsAreRefused(t *testing.T) {
	c := mustParse(t, "k1="+key(1))
	plain, err := converter.GetDefaultDataConverter().ToPayload(map[string]string{"actor": "ghost"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Decode([]*commonpb.Payload{plain}); !errors.Is(err, codec.ErrNotSealed) {
		t.Fatalf("an unsealed payload: %v, want ErrNotSealed", err)
	}
	sealed, err := c.Encode([]*commonpb.Payload{plain})
	if err != nil {
		t.Fatal(err)
	}
	altered := &commonpb.Payload{Metadata: sealed[0].GetMetadata(), Data: bytes.Clone(sealed[0].GetData())}
	altered.Data[len(altered.Data)-1] ^= 1
	if _, err := c.Decode([]*commonpb.Payload{altered}); err == nil {
		t.Fatal("an altered payload opened")
	}
	other := mustParse(t, "k9="+key(9))
	if _, err := other.Decode(sealed); err == nil || !strings.Contains(err.Error(), `"k1"`) {
		t.Fatalf("a payload of an unknown key: %v", err)
	}
}

func TestParseRefusesBadKeys(t *testing.T) {
	if c, err := codec.Parse(" "); c != nil || err != nil {
		t.Fatalf("empty spec: %v %v, want no codec", c, err)
	}
	for _, spec := range []string{"k1", "K1=" + key(1), "k1=short", "k1=" + key(1) + ",k1=" + key(2), "k1=!!!"} {
		if _, err := codec.Parse(spec); err == nil {
			t.Errorf("%q accepted", spec)
		}
	}
}

func TestLargePayloadsAreDeflatedBeforeSealing(t *testing.T) {
	c := mustParse(t, "k1="+key(1))
	dc := codec.DataConverter(c)
	objectives := strings.Repeat("Diagnostic partagé de la collecte dans trois quartiers pilotes. ", 30)
	p, err := dc.ToPayload(map[string]string{"objectives": objectives})
	if err != nil {
		t.Fatal(err)
	}
	if string(p.GetMetadata()["encoding"]) != codec.EncodingSealedDeflated || len(p.GetData()) >= len(objectives)/2 {
		t.Fatalf("a repetitive %d-byte payload sealed as %q in %d bytes", len(objectives), p.GetMetadata()["encoding"], len(p.GetData()))
	}
	var back map[string]string
	if err := dc.FromPayload(p, &back); err != nil || back["objectives"] != objectives {
		t.Fatalf("round trip: %v", err)
	}
	// The encoding is bound to the ciphertext: relabelled, it no longer opens.
	p.Metadata["encoding"] = []byte(codec.EncodingSealed)
	if _, err := c.Decode([]*commonpb.Payload{p}); err == nil {
		t.Fatal("a deflated payload relabelled as plain sealed opened")
	}
	// A small payload is sealed as it is.
	small, err := dc.ToPayload("SN")
	if err != nil || string(small.GetMetadata()["encoding"]) != codec.EncodingSealed {
		t.Fatalf("small payload sealed as %q (%v)", small.GetMetadata()["encoding"], err)
	}
}
