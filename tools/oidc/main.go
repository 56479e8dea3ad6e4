// Command oidc-provider is the OpenID provider of the local stack and of the
// tests: a small OpenID Connect server that signs people in as ProConnect
// does (ID tokens with its claims), and service accounts with their client
// credentials. It is not part of the product; production signs in with
// ProConnect or the ministry's own provider.
//
// It serves discovery, a JWKS, the device authorization grant (RFC 8628,
// with an HTML page to type the code, a username and a password), the
// authorization code grant with PKCE for loopback redirects (RFC 7636,
// RFC 8252), the refresh token grant (rotated), the client credentials
// grant and token revocation (RFC 7009). Tokens are RS256-signed with the key of --key-file,
// created on first start.
package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"regexp"
	"time"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:9096", "address to listen on")
	issuer := flag.String("issuer", "", "issuer URL (default http://<listen>)")
	peopleFile := flag.String("people", "", "JSON file of people and service accounts")
	keyFile := flag.String("key-file", "", "PKCS#8 PEM RSA signing key, created when missing (default: a key kept in memory)")
	testPassword := flag.String("test-password", "", "when set, any username of letters, digits, '.', '_' or '-' signs in with this password")
	clientID := flag.String("client-id", "expectct", "the public client people sign in to")
	audience := flag.String("audience", "expectct", "audience of service accounts' access tokens")
	tokenTTL := flag.Duration("token-ttl", time.Hour, "lifetime of ID and access tokens")
	flag.Parse()

	key, err := loadKey(*keyFile)
	if err != nil {
		log.Fatalf("oidc-provider: signing key: %v", err)
	}
	dir, err := loadDirectory(*peopleFile)
	if err != nil {
		log.Fatalf("oidc-provider: people: %v", err)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatalf("oidc-provider: %v", err)
	}
	iss := *issuer
	if iss == "" {
		iss = "http://" + ln.Addr().String()
	}
	p, err := newProvider(iss, key, dir, *testPassword, *clientID, *audience, *tokenTTL)
	if err != nil {
		log.Fatalf("oidc-provider: %v", err)
	}
	log.Printf("oidc-provider: issuer %s listening on %s", iss, ln.Addr())
	srv := &http.Server{Handler: p.routes(), ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.Serve(ln))
}

// person is one entry of the people file, with ProConnect's claims.
type person struct {
	Username           string `json:"username"`
	Password           string `json:"password"`
	Subject            string `json:"sub"`
	GivenName          string `json:"given_name"`
	UsualName          string `json:"usual_name"`
	Email              string `json:"email"`
	UID                string `json:"uid"`
	SIRET              string `json:"siret"`
	OrganizationalUnit string `json:"organizational_unit"`
	Phone              string `json:"phone"`
}

type serviceAccount struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
}

type directory struct {
	People          []person         `json:"people"`
	ServiceAccounts []serviceAccount `json:"service_accounts"`
}

func loadDirectory(path string) (directory, error) {
	var d directory
	if path == "" {
		return d, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return d, err
	}
	dec := json.NewDecoder(bytesReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return d, fmt.Errorf("%s: %w", path, err)
	}
	for i, p := range d.People {
		if p.Username == "" || p.Password == "" {
			return d, fmt.Errorf("%s: person %d needs a username and a password", path, i)
		}
		if p.Subject == "" {
			d.People[i].Subject = p.Username
		}
	}
	for i, s := range d.ServiceAccounts {
		if s.ClientID == "" || len(s.ClientSecret) < 16 {
			return d, fmt.Errorf("%s: service account %d needs a client_id and a secret of 16 characters or more", path, i)
		}
	}
	return d, nil
}

// loadKey reads the signing key, creating it (mode 0600) when the file does
// not exist yet, so a restarted provider keeps its issued tokens valid.
func loadKey(path string) (*rsa.PrivateKey, error) {
	if path != "" {
		b, err := os.ReadFile(path)
		if err == nil {
			block, _ := pem.Decode(b)
			if block == nil {
				return nil, fmt.Errorf("%s: no PEM block", path)
			}
			k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			rk, ok := k.(*rsa.PrivateKey)
			if !ok {
				return nil, fmt.Errorf("%s: an RSA key is expected", path)
			}
			return rk, nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
	}
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	if path == "" {
		return k, nil
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		f.Close()
		return nil, err
	}
	return k, f.Close()
}

var testUsername = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
