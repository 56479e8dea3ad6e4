package config_test

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	"go.temporal.io/sdk/client"

	"github.com/daect/expectct/internal/config"
)

// TestREADMEDocumentsEveryVariable keeps the README's configuration table
// honest: every variable the services read is in it, with its default.
func TestREADMEDocumentsEveryVariable(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	c := &config.Config{}
	for _, v := range c.Vars() {
		row := "| `" + v.Env + "` | `--" + v.Flag + "` |"
		if !strings.Contains(string(readme), row) {
			t.Errorf("README has no row for %s (%s)", v.Env, row)
		}
		if v.Default != "" && !strings.Contains(string(readme), "`"+v.Default+"`") {
			t.Errorf("README does not give %s's default %q", v.Env, v.Default)
		}
	}
}

func TestEnvironmentThenFlags(t *testing.T) {
	t.Setenv("SMTP_PORT", "2525")
	t.Setenv("EXPECTCT_LISTEN", ":9999")
	c := &config.Config{}
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	c.Bind(fs)
	if err := fs.Parse([]string{"--listen", ":7777"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Check(); err != nil {
		t.Fatal(err)
	}
	if c.SMTPPort != 2525 || c.Listen != ":7777" || c.TemporalAddress != "127.0.0.1:7233" {
		t.Fatalf("got port %d listen %q temporal %q", c.SMTPPort, c.Listen, c.TemporalAddress)
	}
}

func TestMalformedEnvironmentIsReported(t *testing.T) {
	for env, val := range map[string]string{"SMTP_PORT": "twenty", "EXPECTCT_UPDATE_TIMEOUT": "soon", "SMTP_TLS": "maybe",
		"EXPECTCT_RATE_WRITES": "fast", "EXPECTCT_RATE_ANONYMOUS": "-1", "EXPECTCT_RATE_ANONYMOUS_BURST": "0",
		"EXPECTCT_TRUSTED_PROXIES": "10.0.0.0/8, 10.0.0.0/33"} {
		t.Run(env, func(t *testing.T) {
			t.Setenv(env, val)
			c := &config.Config{}
			c.Bind(pflag.NewFlagSet("x", pflag.ContinueOnError))
			err := c.Check()
			if err == nil || !strings.Contains(err.Error(), env) {
				t.Fatalf("error %v does not name %s", err, env)
			}
		})
	}
}

func TestAPIRefusesToTrustAnIssuerItCannotCheck(t *testing.T) {
	for _, tc := range []struct {
		issuer, audiences, want string
	}{
		{"", "expectct", "EXPECTCT_OIDC_ISSUER is not set"},
		{"http://idp.example.fr", "expectct", "https://"},
		{"not a url", "expectct", "https:// URL expected"},
		{"https://auth.agentconnect.gouv.fr/api/v2", " , ", "EXPECTCT_OIDC_AUDIENCES is empty"},
		{"https://auth.agentconnect.gouv.fr/api/v2", "expectct", ""},
		{"http://127.0.0.1:9998", "expectct,expectct-web", ""},
		{"http://localhost:9998", "expectct", ""},
	} {
		err := (&config.Config{OIDCIssuer: tc.issuer, OIDCAudiences: tc.audiences}).CheckSignIn()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("issuer %q refused: %v", tc.issuer, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("issuer %q audiences %q: %v, want an error saying %q", tc.issuer, tc.audiences, err, tc.want)
		}
	}
}

func TestTrustedProxies(t *testing.T) {
	c := &config.Config{TrustedProxies: " 10.0.0.0/8, 192.0.2.1 ,fd00::/8,"}
	got, err := c.TrustedProxyPrefixes()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].String() != "10.0.0.0/8" || got[1].String() != "192.0.2.1/32" || got[2].String() != "fd00::/8" {
		t.Errorf("got %v", got)
	}
}

func TestGrpcCompressionIsOffWhenPayloadsAreSealed(t *testing.T) {
	for _, tc := range []struct {
		setting, keys string
		want          any
	}{
		{"auto", "k1=x", &client.GrpcCompressionNone{}},
		{"auto", "", &client.GrpcCompressionGzip{}},
		{"gzip", "k1=x", &client.GrpcCompressionGzip{}},
		{"none", "", &client.GrpcCompressionNone{}},
	} {
		c := config.Config{TemporalCompression: tc.setting, CodecKeys: tc.keys}
		got, err := c.GrpcCompression()
		if err != nil || reflect.TypeOf(got) != reflect.TypeOf(tc.want) {
			t.Errorf("%s with codec keys %q: %T (%v), want %T", tc.setting, tc.keys, got, err, tc.want)
		}
	}
	if _, err := (&config.Config{TemporalCompression: "zstd"}).GrpcCompression(); err == nil || !strings.Contains(err.Error(), "TEMPORAL_GRPC_COMPRESSION") {
		t.Errorf("zstd: %v, want an error naming TEMPORAL_GRPC_COMPRESSION", err)
	}
}
