package api

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"sync"

	"github.com/daect/expectct/internal/identity"
	"github.com/daect/expectct/internal/store"
)

// visitKey keys a visit's directory entry in a request's context.
type visitKey struct{}

// visit holds the directory entry the first Call of one web request read,
// so the page's later calls (its menus, then its content) do not read the
// directory again. It lives as long as that request: a grant or revocation
// counts from the next page.
type visit struct {
	key    string
	person *store.Person
}

// OneVisit returns the context of one web request, in which every Call
// identifies the person once.
func OneVisit(ctx context.Context) context.Context {
	return context.WithValue(ctx, visitKey{}, &visit{})
}

// sessionPrincipal keys the person a web session vouches for in a request's
// context. Only Call sets it, so no HTTP client can claim it.
type sessionPrincipal struct{}

// callResult carries a route's result out of the call mux.
type callResult struct {
	status int
	body   any
	err    error
	served bool
}

type callResultKey struct{}

// Result is what a route answered to Call: its status and value (the
// value the API encodes as JSON), or its problem. A download (a file or a
// stream) has been written to the ResponseWriter given to Call: Written.
type Result struct {
	Status  int
	Body    any
	Problem *Problem
	Written bool
}

// CallRequest is one API request the web application makes for a person.
type CallRequest struct {
	Method, Path string
	Query        url.Values
	// Body is the route's body: JSON unless ContentType says otherwise
	// (a report's file is sent as its raw bytes).
	Body        []byte
	ContentType string
	// IdempotencyKey makes a repeated submission or step the same one.
	IdempotencyKey string
}

// Call runs one API route for the person of a web session, exactly as a
// request with their token would run: the same rate limits, permission
// check, validation, workflow update and attempts log. The web application
// has no rules of its own; it calls these.
//
// Handler must have been built first: it sets the server up.
func (s *Server) Call(w http.ResponseWriter, parent *http.Request, p identity.Principal, c CallRequest) Result {
	res := &callResult{}
	ctx := context.WithValue(context.WithValue(parent.Context(), sessionPrincipal{}, p), callResultKey{}, res)
	r, err := http.NewRequestWithContext(ctx, c.Method, c.Path, bytes.NewReader(c.Body))
	if err != nil {
		return Result{Problem: s.Refusal(err)}
	}
	r.URL.RawQuery = c.Query.Encode()
	r.RemoteAddr = parent.RemoteAddr
	r.Header.Set("Content-Type", "application/json")
	if c.ContentType != "" {
		r.Header.Set("Content-Type", c.ContentType)
	}
	if c.IdempotencyKey != "" {
		r.Header.Set("Idempotency-Key", c.IdempotencyKey)
	}
	s.callMux.ServeHTTP(w, r)
	switch {
	case !res.served:
		return Result{Problem: errNotFound("no route " + c.Method + " " + c.Path)}
	case res.err != nil:
		return Result{Problem: fromError(res.err)}
	}
	if stream, ok := res.body.(streamed); ok {
		if err := stream(w); err != nil {
			s.Log.Error("download failed", "route", r.Pattern, "error", err)
		}
		return Result{Status: res.status, Written: true}
	}
	if f, ok := res.body.(file); ok {
		f.write(w, res.status)
		return Result{Status: res.status, Written: true}
	}
	return Result{Status: res.status, Body: res.body}
}

// buildCallMux routes Call's requests to the API's routes, keeping their
// results instead of writing them.
func (s *Server) buildCallMux() {
	s.callMux = http.NewServeMux()
	for _, rt := range s.routes() {
		s.callMux.HandleFunc(rt.method+" "+rt.path, func(w http.ResponseWriter, r *http.Request) {
			res := r.Context().Value(callResultKey{}).(*callResult)
			res.served = true
			res.status, res.body, res.err = s.run(rt, w, r)
		})
	}
}

// callMux and callOnce serve Call.
type callRouting struct {
	callMux  *http.ServeMux
	callOnce sync.Once
}
