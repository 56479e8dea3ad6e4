package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/daect/expectct/internal/config"
	"github.com/daect/expectct/internal/testenv"
)

// The services reach a Temporal frontend that requires mutual TLS, with
// TEMPORAL_TLS_CA, TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY; without a client
// certificate, with one from another CA, or trusting another CA, they are
// refused. The frontend is the dev server behind a TLS terminator that
// demands a client certificate, as a production frontend would.
func TestTemporalMutualTLS(t *testing.T) {
	temporal := testenv.OwnTemporal(t)
	_, dbURL := testenv.Database(t)
	dir := t.TempDir()
	ca := newCA(t, "expectct test CA")
	otherCA := newCA(t, "another CA")
	serverCert := ca.issue(t, "temporal.test", false)
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	caFile, otherCAFile := write("ca.pem", ca.certPEM), write("other-ca.pem", otherCA.certPEM)
	good := ca.issue(t, "expectct-worker", true)
	goodCert, goodKey := write("client.pem", good.certPEM), write("client-key.pem", good.keyPEM)
	stranger := otherCA.issue(t, "expectct-worker", true)
	strangerCert, strangerKey := write("stranger.pem", stranger.certPEM), write("stranger-key.pem", stranger.keyPEM)

	addr := tlsTerminator(t, temporal.Address(), &tls.Config{
		Certificates: []tls.Certificate{serverCert.pair(t)}, ClientAuth: tls.RequireAndVerifyClientCert,
		ClientCAs: ca.pool(), NextProtos: []string{"h2"}, MinVersion: tls.VersionTLS12})

	dial := func(caFile, cert, key string) error {
		cfg := &config.Config{DatabaseURL: dbURL, TemporalAddress: addr, TemporalNamespace: "default",
			TemporalTLSCA: caFile, TemporalTLSCert: cert, TemporalTLSKey: key, TemporalTLSServerName: "temporal.test"}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		st, c, _, err := connect(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
		if err != nil {
			return err
		}
		defer st.Close()
		defer c.Close()
		_, err = c.WorkflowService().GetSystemInfo(ctx, nil)
		return err
	}
	if err := dial(caFile, goodCert, goodKey); err != nil {
		t.Fatalf("mutual TLS with our CA and certificate: %v", err)
	}
	for name, args := range map[string][3]string{
		"no client certificate":              {caFile, "", ""},
		"a client certificate of another CA": {caFile, strangerCert, strangerKey},
		"trusting another CA":                {otherCAFile, goodCert, goodKey},
	} {
		if err := dial(args[0], args[1], args[2]); err == nil {
			t.Errorf("%s: connected, want refused", name)
		}
	}
	if err := dial(caFile, goodCert, ""); err == nil || !strings.Contains(err.Error(), "TEMPORAL_TLS_KEY") {
		t.Errorf("certificate without key: %v, want an error naming TEMPORAL_TLS_KEY", err)
	}
}

// tlsTerminator accepts TLS on a loopback port (listening on port 0: no
// race) and relays each connection, decrypted, to target.
func tlsTerminator(t *testing.T, target string, cfg *tls.Config) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				if err := conn.(*tls.Conn).Handshake(); err != nil {
					return
				}
				up, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer up.Close()
				go func() { _, _ = io.Copy(up, conn); up.Close() }()
				_, _ = io.Copy(conn, up)
			}()
		}
	}()
	return ln.Addr().String()
}

type testCA struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	certPEM []byte
}

type issued struct{ certPEM, keyPEM []byte }

func (i issued) pair(t *testing.T) tls.Certificate {
	t.Helper()
	c, err := tls.X509KeyPair(i.certPEM, i.keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newCA(t *testing.T, name string) testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return testCA{cert: cert, key: key, certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

func (ca testCA) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// issue signs a certificate for a server name or a client.
func (ca testCA) issue(t *testing.T, name string, client bool) issued {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, DNSNames: []string{name}}
	if client {
		tmpl.ExtKeyUsage, tmpl.DNSNames = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, nil
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return issued{certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})}
}
