package config

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// TemporalTLS is the TLS configuration of the Temporal client: nil (plain
// gRPC, for a frontend on the same host) when no TEMPORAL_TLS_* is set.
// TEMPORAL_TLS_CA alone trusts that CA; with TEMPORAL_TLS_CERT and
// TEMPORAL_TLS_KEY the client also presents its certificate (mutual TLS).
// Without a CA, a certificate set verifies the server against the system's
// roots, as a Temporal Cloud endpoint needs.
func (c *Config) TemporalTLS() (*tls.Config, error) {
	if c.TemporalTLSCA == "" && c.TemporalTLSCert == "" && c.TemporalTLSKey == "" && c.TemporalTLSServerName == "" {
		return nil, nil
	}
	if (c.TemporalTLSCert == "") != (c.TemporalTLSKey == "") {
		return nil, errors.New("TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together: set both for mutual TLS, or neither")
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.TemporalTLSServerName}
	if c.TemporalTLSCA != "" {
		pem, err := os.ReadFile(c.TemporalTLSCA)
		if err != nil {
			return nil, fmt.Errorf("TEMPORAL_TLS_CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("TEMPORAL_TLS_CA=%s: no PEM certificate in it", c.TemporalTLSCA)
		}
		cfg.RootCAs = pool
	}
	if c.TemporalTLSCert != "" {
		cert, err := tls.LoadX509KeyPair(c.TemporalTLSCert, c.TemporalTLSKey)
		if err != nil {
			return nil, fmt.Errorf("TEMPORAL_TLS_CERT/TEMPORAL_TLS_KEY: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}
