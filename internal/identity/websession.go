package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/daect/expectct/internal/store"
)

// Cookie names. The __Host- prefix makes the browser refuse the cookie
// unless it is Secure, host-only and for the whole site.
const (
	SessionCookie = "__Host-expectct-session"
	signInCookie  = "__Host-expectct-signin"
)

// signInTTL bounds the round trip to the provider's sign-in page.
const signInTTL = 10 * time.Minute

// SessionStore keeps the web sessions (*store.Store).
type SessionStore interface {
	CreateWebSession(ctx context.Context, ws store.WebSession) error
	WebSession(ctx context.Context, idHash []byte, now time.Time) (store.WebSession, error)
	DeleteWebSession(ctx context.Context, idHash []byte) error
}

// WebSignIn signs people into the web application: OpenID Connect's
// authorization code flow with PKCE against the issuer, then a session kept
// server side, named by a random token in a Secure, HttpOnly, SameSite
// cookie. The provider's access token is verified by the same Verifier as
// the API's bearer tokens, so a person is who the API would say they are.
type WebSignIn struct {
	Issuer   string
	ClientID string
	// RedirectURL is the web application's callback, as registered with
	// the provider.
	RedirectURL string
	Verifier    *Verifier
	Sessions    SessionStore
	// TTL is how long a session lasts from sign-in (default 8 hours).
	TTL time.Duration
	Now func() time.Time
}

// Session is a signed-in person as the web application knows them.
type Session struct {
	Principal Principal
	// CSRF is the token every form of the session carries.
	CSRF string
	// PersonID is the directory's ID of the person.
	PersonID string
}

// signInState is what the browser holds during the round trip to the
// provider: the state the callback must bring back, the PKCE verifier and
// where to go once signed in.
type signInState struct {
	State    string `json:"s"`
	Verifier string `json:"v"`
	Return   string `json:"r"`
}

func (ws *WebSignIn) now() time.Time {
	if ws.Now != nil {
		return ws.Now()
	}
	return time.Now()
}

func (ws *WebSignIn) ttl() time.Duration {
	if ws.TTL > 0 {
		return ws.TTL
	}
	return 8 * time.Hour
}

func (ws *WebSignIn) oauth(ctx context.Context) (*oauth2.Config, error) {
	endpoints, err := ws.Verifier.Endpoints(ctx)
	if err != nil {
		return nil, err
	}
	return &oauth2.Config{ClientID: ws.ClientID, Endpoint: endpoints, RedirectURL: ws.RedirectURL,
		Scopes: []string{"openid", "email", "profile", "siret", "uid", "given_name", "usual_name"}}, nil
}

// Start sends the browser to the provider's sign-in page. returnTo is a
// path of this site to come back to.
func (ws *WebSignIn) Start(w http.ResponseWriter, r *http.Request, returnTo string) error {
	cfg, err := ws.oauth(r.Context())
	if err != nil {
		return err
	}
	st := signInState{State: RandomToken(), Verifier: oauth2.GenerateVerifier(), Return: LocalPath(returnTo)}
	raw, _ := json.Marshal(st)
	http.SetCookie(w, &http.Cookie{Name: signInCookie, Value: base64.RawURLEncoding.EncodeToString(raw), Path: "/",
		MaxAge: int(signInTTL.Seconds()), Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, cfg.AuthCodeURL(st.State, oauth2.S256ChallengeOption(st.Verifier)), http.StatusSeeOther)
	return nil
}

// ErrSignInFailed is a callback that cannot sign anyone in: a missing or
// different state, a refused code.
var ErrSignInFailed = errors.New("sign-in failed")

// Finish completes the sign-in on the provider's callback: it checks the
// state, exchanges the code with the PKCE verifier, verifies the access
// token and opens the session. It returns the path to go back to.
func (ws *WebSignIn) Finish(w http.ResponseWriter, r *http.Request, personID func(Principal) (string, error)) (string, error) {
	c, err := r.Cookie(signInCookie)
	if err != nil {
		return "", fmt.Errorf("%w: no sign-in in progress", ErrSignInFailed)
	}
	http.SetCookie(w, &http.Cookie{Name: signInCookie, Value: "", Path: "/", MaxAge: -1, Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	var st signInState
	raw, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil || json.Unmarshal(raw, &st) != nil || st.State == "" {
		return "", fmt.Errorf("%w: unreadable sign-in state", ErrSignInFailed)
	}
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		return "", fmt.Errorf("%w: the provider answered %s", ErrSignInFailed, e)
	}
	if !SameToken(q.Get("state"), st.State) {
		return "", fmt.Errorf("%w: state differs", ErrSignInFailed)
	}
	cfg, err := ws.oauth(r.Context())
	if err != nil {
		return "", err
	}
	tok, err := cfg.Exchange(r.Context(), q.Get("code"), oauth2.VerifierOption(st.Verifier))
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrSignInFailed, err)
	}
	p, err := ws.Verifier.Verify(r.Context(), tok.AccessToken)
	if err != nil {
		return "", err
	}
	if p.Kind != KindPerson {
		return "", fmt.Errorf("%w: only people sign in to the web application", ErrSignInFailed)
	}
	person, err := personID(p)
	if err != nil {
		return "", err
	}
	token := RandomToken()
	principal, _ := json.Marshal(p)
	now := ws.now()
	if err := ws.Sessions.CreateWebSession(r.Context(), store.WebSession{IDHash: SessionHash(token), PersonID: person,
		Principal: principal, CSRF: RandomToken(), CreatedAt: now, ExpiresAt: now.Add(ws.ttl()), LastSeenAt: now}); err != nil {
		return "", err
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: token, Path: "/", MaxAge: int(ws.ttl().Seconds()),
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	return st.Return, nil
}

// Current is the session of the request; ok is false when the browser has
// none or it expired. err is a failure to read it.
func (ws *WebSignIn) Current(r *http.Request) (Session, bool, error) {
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return Session{}, false, nil
	}
	row, err := ws.Sessions.WebSession(r.Context(), SessionHash(c.Value), ws.now())
	if errors.Is(err, store.ErrNotFound) {
		return Session{}, false, nil
	}
	if err != nil {
		return Session{}, false, err
	}
	var p Principal
	if err := json.Unmarshal(row.Principal, &p); err != nil {
		return Session{}, false, err
	}
	return Session{Principal: p, CSRF: row.CSRF, PersonID: row.PersonID}, true, nil
}

// End closes the request's session, server side and in the browser.
func (ws *WebSignIn) End(w http.ResponseWriter, r *http.Request) error {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return nil
	}
	return ws.Sessions.DeleteWebSession(r.Context(), SessionHash(c.Value))
}

// RandomToken is 256 random bits, URL-safe.
func RandomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// SameToken compares two secret tokens in constant time.
func SameToken(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// SessionHash is what the database keeps of a session's token: a stolen
// database opens no session.
func SessionHash(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// LocalPath keeps a return address on this site: a path, never another
// host (an open redirect) nor a protocol-relative one.
func LocalPath(p string) string {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") {
		return "/"
	}
	return p
}
