package main

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
)

const (
	deviceCodeTTL = 10 * time.Minute
	refreshTTL    = 30 * 24 * time.Hour
	pollInterval  = 1 // seconds; the grant's minimum polling interval
)

type provider struct {
	issuer       string
	signer       jose.Signer
	jwks         jose.JSONWebKeySet
	dir          directory
	testPassword string
	clientID     string
	audience     string
	tokenTTL     time.Duration

	mu       sync.Mutex
	devices  map[string]*deviceGrant // by device code
	byUser   map[string]string       // user code → device code
	refreshs map[string]refreshGrant // by refresh token
	codes    map[string]codeGrant    // authorization codes
}

// codeGrant is an authorization code waiting for its exchange, bound to the
// PKCE challenge and the redirect it was issued for.
type codeGrant struct {
	person      person
	scopes      []string
	challenge   string
	redirectURI string
	expires     time.Time
}

// deviceGrant is a device authorization waiting for its person.
type deviceGrant struct {
	userCode string
	scopes   []string
	expires  time.Time
	person   *person // set when approved
}

type refreshGrant struct {
	person  person
	scopes  []string
	expires time.Time
}

func newProvider(issuer string, key *rsa.PrivateKey, dir directory, testPassword, clientID, audience string, ttl time.Duration) (*provider, error) {
	kid := keyID(key)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return nil, err
	}
	return &provider{
		issuer: strings.TrimRight(issuer, "/"), signer: signer,
		jwks:         jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: kid, Algorithm: "RS256", Use: "sig"}}},
		dir:          dir,
		testPassword: testPassword, clientID: clientID, audience: audience, tokenTTL: ttl,
		devices: map[string]*deviceGrant{}, byUser: map[string]string{}, refreshs: map[string]refreshGrant{},
		codes: map[string]codeGrant{},
	}, nil
}

func keyID(key *rsa.PrivateKey) string {
	sum := sha256.Sum256(key.PublicKey.N.Bytes())
	return base64.RawURLEncoding.EncodeToString(sum[:12])
}

func (p *provider) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", p.discovery)
	mux.HandleFunc("GET /keys", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, p.jwks) })
	mux.HandleFunc("POST /device_authorization", p.deviceAuthorization)
	mux.HandleFunc("GET /device", p.devicePage)
	mux.HandleFunc("POST /device", p.deviceApprove)
	mux.HandleFunc("GET /authorize", p.authorizePage)
	// Browsers ask every site for an icon; this one has none.
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("POST /authorize", p.authorize)
	mux.HandleFunc("POST /token", p.token)
	mux.HandleFunc("POST /revoke", p.revoke)
	return mux
}

func (p *provider) discovery(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                p.issuer,
		"jwks_uri":                              p.issuer + "/keys",
		"token_endpoint":                        p.issuer + "/token",
		"device_authorization_endpoint":         p.issuer + "/device_authorization",
		"authorization_endpoint":                p.issuer + "/authorize",
		"code_challenge_methods_supported":      []string{"S256"},
		"revocation_endpoint":                   p.issuer + "/revoke",
		"grant_types_supported":                 []string{"urn:ietf:params:oauth:grant-type:device_code", "authorization_code", "refresh_token", "client_credentials"},
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"token_endpoint_auth_methods_supported": []string{"none", "client_secret_basic", "client_secret_post"},
		"scopes_supported":                      []string{"openid", "email", "profile", "offline_access", "siret", "uid", "given_name", "usual_name", "organizational_unit", "phone"},
		"claims_supported":                      []string{"sub", "email", "given_name", "usual_name", "uid", "siret", "organizational_unit", "phone"},
	})
}

func (p *provider) deviceAuthorization(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	if r.PostForm.Get("client_id") != p.clientID {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "unknown client")
		return
	}
	scopes := strings.Fields(r.PostForm.Get("scope"))
	if !slices.Contains(scopes, "openid") {
		oauthError(w, http.StatusBadRequest, "invalid_scope", "the openid scope is required")
		return
	}
	device, user := randomToken(32), userCode()
	p.mu.Lock()
	p.devices[device] = &deviceGrant{userCode: user, scopes: scopes, expires: time.Now().Add(deviceCodeTTL)}
	p.byUser[user] = device
	p.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"device_code": device, "user_code": user,
		"verification_uri":          p.issuer + "/device",
		"verification_uri_complete": p.issuer + "/device?user_code=" + user,
		"expires_in":                int(deviceCodeTTL.Seconds()), "interval": pollInterval,
	})
}

var devicePage = template.Must(template.New("device").Parse(`<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>Connexion — fournisseur d'identité local</title></head>
<body><h1>Connexion / Sign in</h1>
{{if .Message}}<p role="alert">{{.Message}}</p>{{end}}
<form method="post" action="/device">
<label>Code affiché / Code shown <input name="user_code" value="{{.UserCode}}" autocomplete="off"></label><br>
<label>Identifiant / Username <input name="username" autocomplete="username"></label><br>
<label>Mot de passe / Password <input name="password" type="password" autocomplete="current-password"></label><br>
<button type="submit">Se connecter / Sign in</button>
</form></body></html>`))

func (p *provider) devicePage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = devicePage.Execute(w, map[string]string{"UserCode": r.URL.Query().Get("user_code")})
}

// deviceApprove signs the person in and approves the device whose code they
// typed. A wrong password answers 401 and leaves the device waiting.
func (p *provider) deviceApprove(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	code := strings.ToUpper(strings.TrimSpace(r.PostForm.Get("user_code")))
	page := func(status int, msg string) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(status)
		_ = devicePage.Execute(w, map[string]string{"UserCode": code, "Message": msg})
	}
	who, ok := p.authenticate(r.PostForm.Get("username"), r.PostForm.Get("password"))
	if !ok {
		page(http.StatusUnauthorized, "Identifiant ou mot de passe incorrect / Wrong username or password")
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	g := p.devices[p.byUser[code]]
	if g == nil || time.Now().After(g.expires) || g.person != nil {
		page(http.StatusNotFound, "Code inconnu ou expiré / Unknown or expired code")
		return
	}
	g.person = &who
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprint(w, "<!doctype html><p>Connecté. Vous pouvez revenir à votre terminal. / Signed in: you may go back to your terminal.</p>")
}

// authenticate checks a person's password: the people file's first, then
// the test password for any well-formed username.
func (p *provider) authenticate(username, password string) (person, bool) {
	for _, who := range p.dir.People {
		if who.Username == username {
			return who, equal(who.Password, password)
		}
	}
	if p.testPassword != "" && testUsername.MatchString(username) && equal(p.testPassword, password) {
		return person{Username: username, Subject: username, Email: username + "@test.invalid",
			GivenName: username, UsualName: "Test", UID: username}, true
	}
	return person{}, false
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

func (p *provider) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	switch r.PostForm.Get("grant_type") {
	case "urn:ietf:params:oauth:grant-type:device_code":
		p.deviceToken(w, r)
	case "authorization_code":
		p.codeToken(w, r)
	case "refresh_token":
		p.refreshToken(w, r)
	case "client_credentials":
		p.clientCredentials(w, r)
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "grant_type "+r.PostForm.Get("grant_type"))
	}
}

func (p *provider) deviceToken(w http.ResponseWriter, r *http.Request) {
	if publicClient(r) != p.clientID {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "unknown client")
		return
	}
	code := r.PostForm.Get("device_code")
	p.mu.Lock()
	g := p.devices[code]
	switch {
	case g == nil:
		p.mu.Unlock()
		oauthError(w, http.StatusBadRequest, "invalid_grant", "unknown device code")
		return
	case time.Now().After(g.expires):
		delete(p.devices, code)
		delete(p.byUser, g.userCode)
		p.mu.Unlock()
		oauthError(w, http.StatusBadRequest, "expired_token", "the device code expired")
		return
	case g.person == nil:
		p.mu.Unlock()
		oauthError(w, http.StatusBadRequest, "authorization_pending", "waiting for the person to sign in")
		return
	}
	delete(p.devices, code)
	delete(p.byUser, g.userCode)
	p.mu.Unlock()
	p.issuePerson(w, *g.person, g.scopes)
}

var authorizePage = template.Must(template.New("authorize").Parse(`<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>Connexion — fournisseur d'identité local</title></head>
<body><h1>Connexion / Sign in</h1>
{{if .Message}}<p role="alert">{{.Message}}</p>{{end}}
<form method="post" action="/authorize">
{{range $k, $v := .Params}}<input type="hidden" name="{{$k}}" value="{{$v}}">{{end}}
<label>Identifiant / Username <input name="username" autocomplete="username"></label><br>
<label>Mot de passe / Password <input name="password" type="password" autocomplete="current-password"></label><br>
<button type="submit">Se connecter / Sign in</button>
</form></body></html>`))

// authParams are the authorization request's parameters the form carries.
var authParams = []string{"response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method"}

// checkAuthRequest accepts the public client's code flow only with PKCE
// (S256) and a loopback redirect (RFC 8252): no other page may receive a
// code.
func (p *provider) checkAuthRequest(q url.Values) string {
	u, err := url.Parse(q.Get("redirect_uri"))
	switch {
	case q.Get("response_type") != "code":
		return "response_type=code expected"
	case q.Get("client_id") != p.clientID:
		return "unknown client"
	case err != nil || u.Scheme != "http" || (u.Hostname() != "127.0.0.1" && u.Hostname() != "::1"):
		return "redirect_uri must be a loopback address (http://127.0.0.1:port/...)"
	case q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) < 43:
		return "PKCE with code_challenge_method=S256 is required"
	case !slices.Contains(strings.Fields(q.Get("scope")), "openid"):
		return "the openid scope is required"
	}
	return ""
}

// showAuthorizePage renders the sign-in form carrying the request's
// parameters.
func showAuthorizePage(w http.ResponseWriter, q url.Values, status int, message string) {
	params := map[string]string{}
	for _, k := range authParams {
		params[k] = q.Get(k)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = authorizePage.Execute(w, map[string]any{"Params": params, "Message": message})
}

func (p *provider) authorizePage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if msg := p.checkAuthRequest(q); msg != "" {
		http.Error(w, msg, http.StatusBadRequest)
		return
	}
	showAuthorizePage(w, q, http.StatusOK, "")
}

// authorize signs the person in and sends the browser back to the client's
// loopback address with a one-minute code.
func (p *provider) authorize(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	q := r.PostForm
	if msg := p.checkAuthRequest(q); msg != "" {
		http.Error(w, msg, http.StatusBadRequest)
		return
	}
	who, ok := p.authenticate(q.Get("username"), q.Get("password"))
	if !ok {
		showAuthorizePage(w, q, http.StatusUnauthorized, "Identifiant ou mot de passe incorrect / Wrong username or password")
		return
	}
	code := randomToken(32)
	p.mu.Lock()
	p.codes[code] = codeGrant{person: who, scopes: strings.Fields(q.Get("scope")), challenge: q.Get("code_challenge"),
		redirectURI: q.Get("redirect_uri"), expires: time.Now().Add(time.Minute)}
	p.mu.Unlock()
	back, _ := url.Parse(q.Get("redirect_uri"))
	v := back.Query()
	v.Set("code", code)
	v.Set("state", q.Get("state"))
	back.RawQuery = v.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

// codeToken exchanges a code once, for the verifier of its challenge and
// the redirect it was issued for.
func (p *provider) codeToken(w http.ResponseWriter, r *http.Request) {
	if publicClient(r) != p.clientID {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "unknown client")
		return
	}
	code := r.PostForm.Get("code")
	p.mu.Lock()
	g, ok := p.codes[code]
	delete(p.codes, code)
	p.mu.Unlock()
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	switch {
	case !ok || time.Now().After(g.expires):
		oauthError(w, http.StatusBadRequest, "invalid_grant", "unknown, used or expired code")
	case g.redirectURI != r.PostForm.Get("redirect_uri"):
		oauthError(w, http.StatusBadRequest, "invalid_grant", "redirect_uri differs from the authorization request's")
	case !equal(base64.RawURLEncoding.EncodeToString(sum[:]), g.challenge):
		oauthError(w, http.StatusBadRequest, "invalid_grant", "code_verifier does not match the code_challenge")
	default:
		p.issuePerson(w, g.person, g.scopes)
	}
}

func (p *provider) refreshToken(w http.ResponseWriter, r *http.Request) {
	if publicClient(r) != p.clientID {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "unknown client")
		return
	}
	rt := r.PostForm.Get("refresh_token")
	p.mu.Lock()
	g, ok := p.refreshs[rt]
	delete(p.refreshs, rt) // rotated: a refresh token serves once
	p.mu.Unlock()
	if !ok || time.Now().After(g.expires) {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "unknown, used or expired refresh token")
		return
	}
	p.issuePerson(w, g.person, g.scopes)
}

// issuePerson answers a person's token request: an ID token with the claims
// of the scopes asked, an access token, and a refresh token when
// offline_access was asked.
func (p *provider) issuePerson(w http.ResponseWriter, who person, scopes []string) {
	now := time.Now()
	claims := map[string]any{"iss": p.issuer, "sub": who.Subject, "aud": []string{p.clientID}, "azp": p.clientID,
		"iat": now.Unix(), "auth_time": now.Unix(), "exp": now.Add(p.tokenTTL).Unix(), "jti": randomToken(12)}
	has := func(s string) bool { return slices.Contains(scopes, s) }
	add := func(name, value string, scopes ...string) {
		if value != "" && slices.ContainsFunc(scopes, has) {
			claims[name] = value
		}
	}
	add("email", who.Email, "email")
	add("given_name", who.GivenName, "given_name", "profile")
	add("usual_name", who.UsualName, "usual_name", "profile")
	add("uid", who.UID, "uid")
	add("siret", who.SIRET, "siret")
	add("organizational_unit", who.OrganizationalUnit, "organizational_unit")
	add("phone", who.Phone, "phone")
	idToken, err := josejwt.Signed(p.signer).Claims(claims).Serialize()
	if err != nil {
		oauthError(w, http.StatusInternalServerError, "server_error", err.Error())
		return
	}
	resp := map[string]any{"access_token": idToken, "id_token": idToken, "token_type": "Bearer",
		"expires_in": int(p.tokenTTL.Seconds()), "scope": strings.Join(scopes, " ")}
	if has("offline_access") {
		rt := randomToken(32)
		p.mu.Lock()
		p.refreshs[rt] = refreshGrant{person: who, scopes: scopes, expires: now.Add(refreshTTL)}
		p.mu.Unlock()
		resp["refresh_token"] = rt
	}
	writeJSON(w, http.StatusOK, resp)
}

func (p *provider) clientCredentials(w http.ResponseWriter, r *http.Request) {
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	var account *serviceAccount
	for i, s := range p.dir.ServiceAccounts {
		if s.ClientID == id && equal(s.ClientSecret, secret) {
			account = &p.dir.ServiceAccounts[i]
		}
	}
	if account == nil || id == "" {
		w.Header().Set("WWW-Authenticate", `Basic realm="token"`)
		oauthError(w, http.StatusUnauthorized, "invalid_client", "unknown client or wrong secret")
		return
	}
	now := time.Now()
	claims := map[string]any{"iss": p.issuer, "sub": account.ClientID, "client_id": account.ClientID,
		"aud": []string{p.audience}, "iat": now.Unix(), "exp": now.Add(p.tokenTTL).Unix(), "jti": randomToken(12)}
	raw, err := josejwt.Signed(p.signer).Claims(claims).Serialize()
	if err != nil {
		oauthError(w, http.StatusInternalServerError, "server_error", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"access_token": raw, "token_type": "Bearer", "expires_in": int(p.tokenTTL.Seconds())})
}

// revoke forgets a refresh token (RFC 7009: unknown tokens answer 200 too).
func (p *provider) revoke(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	p.mu.Lock()
	delete(p.refreshs, r.PostForm.Get("token"))
	p.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// publicClient is the client ID of a public client's token request, in the
// form or, with an empty secret, in Basic authentication (x/oauth2 tries
// that first).
func publicClient(r *http.Request) string {
	if id, _, ok := r.BasicAuth(); ok {
		return id
	}
	return r.PostForm.Get("client_id")
}

func oauthError(w http.ResponseWriter, status int, code, description string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": description})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// userCode is eight letters without vowels or look-alikes, as RFC 8628
// suggests, shown as XXXX-XXXX.
func userCode() string {
	const alphabet = "BCDFGHJKLMNPQRSTVWXZ"
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:4]) + "-" + string(b[4:])
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
