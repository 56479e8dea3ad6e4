package testenv

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	"github.com/daect/expectct/internal/identity"
	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/store"
	"github.com/daect/expectct/internal/web"
)

// Web serves the web application of the stack on a loopback address of its
// own, around the stack's API (the API's routes answer there too), signing
// people in on the stack's OpenID provider.
func (s *Stack) Web() *httptest.Server {
	s.T.Helper()
	var h atomic.Pointer[http.Handler]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (*h.Load()).ServeHTTP(w, r) }))
	s.T.Cleanup(srv.Close)
	verifier, ok := s.Server.Verifier.(*identity.Verifier)
	if !ok {
		s.T.Fatal("the web application needs the stack's own OpenID verifier")
	}
	site := &web.Server{API: s.Server, Store: s.Store, Rules: s.Rules, Log: s.Server.Log, Issuer: s.OIDC.Issuer(),
		SignIn: &identity.WebSignIn{Issuer: s.OIDC.Issuer(), ClientID: ClientID, Verifier: verifier,
			RedirectURL: srv.URL + web.CallbackPath, Sessions: s.Store}}
	handler := site.Handler(s.API.Config.Handler)
	h.Store(&handler)
	return srv
}

// WebSession opens a web session for the actor's person directly in the
// store, as signing in would, and returns its cookie and CSRF token: for
// tests of the web routes' permissions, which need no browser.
func (s *Stack) WebSession(a lifecycle.Actor) (*http.Cookie, string) {
	s.T.Helper()
	s.Grant(a)
	token, csrf := identity.RandomToken(), identity.RandomToken()
	principal, _ := json.Marshal(identity.Principal{Issuer: s.OIDC.Issuer(), Subject: a.ID, Kind: identity.KindPerson, Name: a.ID})
	now := time.Now()
	if err := s.Store.CreateWebSession(context.Background(), store.WebSession{IDHash: identity.SessionHash(token), PersonID: a.ID,
		Principal: principal, CSRF: csrf, CreatedAt: now, ExpiresAt: now.Add(time.Hour), LastSeenAt: now}); err != nil {
		s.T.Fatal(err)
	}
	return &http.Cookie{Name: identity.SessionCookie, Value: token}, csrf
}
