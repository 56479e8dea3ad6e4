package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The endpoints served outside the authenticated route table.
var publicRoutes = []string{"GET /healthz", "GET /readyz", "GET /v1/openapi.json", "GET /v1/auth/config", "GET " + letterVerifyPath}

// openAPIDoc is the part of the OpenAPI document the tests read.
type openAPIDoc struct {
	OpenAPI string `json:"openapi"`
	Info    struct {
		Title   string `json:"title"`
		Version string `json:"version"`
	} `json:"info"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Parameters      map[string]openAPIParam `json:"parameters"`
		SecuritySchemes map[string]any          `json:"securitySchemes"`
	} `json:"components"`
}

type openAPIParam struct {
	Ref      string `json:"$ref"`
	Name     string `json:"name"`
	In       string `json:"in"`
	Required bool   `json:"required"`
}

type openAPIOperation struct {
	Parameters []openAPIParam             `json:"parameters"`
	Security   *[]map[string][]string     `json:"security"`
	Responses  map[string]json.RawMessage `json:"responses"`
}

// httpMethods are the operation keys of an OpenAPI path item.
var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// servedDoc fetches the document the server serves.
func servedDoc(t *testing.T, h http.Handler) ([]byte, openAPIDoc) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/openapi.json", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /v1/openapi.json: %d %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	raw := rec.Body.Bytes()
	if !json.Valid(raw) {
		t.Fatal("/v1/openapi.json is not valid JSON")
	}
	var doc openAPIDoc
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("/v1/openapi.json: %v", err)
	}
	return raw, doc
}

// documented lists the document's operations as "METHOD /path".
func documented(t *testing.T, doc openAPIDoc) map[string]openAPIOperation {
	t.Helper()
	ops := map[string]openAPIOperation{}
	for path, item := range doc.Paths {
		for key, raw := range item {
			if !slices.Contains(httpMethods, key) {
				continue // parameters, summary, servers...
			}
			var op openAPIOperation
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatalf("%s %s: %v", key, path, err)
			}
			ops[strings.ToUpper(key)+" "+path] = op
		}
	}
	return ops
}

// registered lists the routes the server registers as "METHOD /path".
func registered(s *Server) []string {
	var out []string
	for _, rt := range s.routes() {
		out = append(out, rt.method+" "+rt.path)
	}
	return append(out, publicRoutes...)
}

func TestOpenAPIIsServedAndValid(t *testing.T) {
	s := &Server{}
	raw, doc := servedDoc(t, s.Handler())
	if string(raw) != string(OpenAPI()) {
		t.Error("the served document is not the embedded one")
	}
	if !regexp.MustCompile(`^3\.[0-9]+\.[0-9]+$`).MatchString(doc.OpenAPI) {
		t.Errorf("openapi %q, want 3.x.y", doc.OpenAPI)
	}
	if doc.Info.Title == "" || doc.Info.Version == "" {
		t.Errorf("info incomplete: %+v", doc.Info)
	}
	if len(doc.Paths) == 0 {
		t.Fatal("no paths")
	}
	// Every local reference resolves.
	var whole any
	if err := json.Unmarshal(raw, &whole); err != nil {
		t.Fatal(err)
	}
	for _, ref := range regexp.MustCompile(`"\$ref"\s*:\s*"([^"]*)"`).FindAllSubmatch(raw, -1) {
		ptr := string(ref[1])
		if !strings.HasPrefix(ptr, "#/") {
			t.Errorf("$ref %q is not local", ptr)
			continue
		}
		node := whole
		for _, part := range strings.Split(strings.TrimPrefix(ptr, "#/"), "/") {
			part = strings.NewReplacer("~1", "/", "~0", "~").Replace(part)
			m, ok := node.(map[string]any)
			if !ok || m[part] == nil {
				t.Errorf("$ref %q does not resolve", ptr)
				node = nil
				break
			}
			node = m[part]
		}
	}
}

// TestOpenAPIMatchesRoutes: the document describes exactly the routes the
// server registers, both ways, and each documented route really reaches its
// own handler (not the catch-all 404).
func TestOpenAPIMatchesRoutes(t *testing.T) {
	s := &Server{}
	h := s.Handler()
	_, doc := servedDoc(t, h)
	ops := documented(t, doc)
	routes := registered(s)

	for _, r := range routes {
		if _, ok := ops[r]; !ok {
			t.Errorf("route %s is registered but not in openapi.json", r)
		}
	}
	for op := range ops {
		if !slices.Contains(routes, op) {
			t.Errorf("%s is in openapi.json but the server does not register it", op)
		}
	}
	if dup := len(routes) - len(uniq(routes)); dup != 0 {
		t.Errorf("%d routes registered twice: %v", dup, routes)
	}

	mux, ok := h.(*http.ServeMux)
	if !ok {
		t.Fatalf("Handler() is a %T, not a *http.ServeMux", h)
	}
	param := regexp.MustCompile(`\{[^}]+\}`)
	for op := range ops {
		method, path, _ := strings.Cut(op, " ")
		req := httptest.NewRequest(method, param.ReplaceAllString(path, "XX"), nil)
		if _, pattern := mux.Handler(req); pattern != op {
			t.Errorf("%s reaches the pattern %q", op, pattern)
		}
	}
	for _, probe := range []string{"GET /v1/nowhere", "DELETE /v1/applications", "POST /v1/embassies/FR"} {
		method, path, _ := strings.Cut(probe, " ")
		if _, pattern := mux.Handler(httptest.NewRequest(method, path, nil)); pattern != "/" {
			t.Errorf("%s reaches %q, want the catch-all 404", probe, pattern)
		}
	}
}

// TestOpenAPIOperations: each operation declares its path parameters, the
// bearer security of the authenticated routes (with their 401 and 403) and
// none on the public ones.
func TestOpenAPIOperations(t *testing.T) {
	s := &Server{}
	_, doc := servedDoc(t, s.Handler())
	param := regexp.MustCompile(`\{([^}]+)\}`)
	for op, o := range documented(t, doc) {
		_, path, _ := strings.Cut(op, " ")
		declared := map[string]bool{}
		for _, p := range o.Parameters {
			if name, ok := strings.CutPrefix(p.Ref, "#/components/parameters/"); ok {
				p = doc.Components.Parameters[name]
			}
			if p.In == "path" && p.Required {
				declared[p.Name] = true
			}
		}
		for _, m := range param.FindAllStringSubmatch(path, -1) {
			if !declared[m[1]] {
				t.Errorf("%s: path parameter %q not declared as a required path parameter", op, m[1])
			}
		}
		if len(o.Responses) == 0 {
			t.Errorf("%s: no responses", op)
		}
		// Every route but the liveness probe is rate limited.
		if _, ok := o.Responses["429"]; !ok && op != "GET /healthz" {
			t.Errorf("%s: response 429 not documented", op)
		}
		public := slices.Contains(publicRoutes, op)
		secured := o.Security != nil && len(*o.Security) > 0
		switch {
		case public && secured:
			t.Errorf("%s is public but declares security", op)
		case !public && !secured:
			t.Errorf("%s needs a bearer token but declares no security", op)
		case !public:
			for _, req := range *o.Security {
				for scheme := range req {
					if _, ok := doc.Components.SecuritySchemes[scheme]; !ok {
						t.Errorf("%s: security scheme %q not defined", op, scheme)
					}
				}
			}
			for _, code := range []string{"401", "403"} {
				if _, ok := o.Responses[code]; !ok {
					t.Errorf("%s: response %s not documented", op, code)
				}
			}
		}
	}
}

func uniq(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}

// TestOpenAPIHistoryPaging: the history's page of refused attempts is
// documented with the parameters the handler reads.
func TestOpenAPIHistoryPaging(t *testing.T) {
	s := &Server{}
	_, doc := servedDoc(t, s.Handler())
	op := documented(t, doc)["GET /v1/applications/{id}/history"]
	var query []string
	for _, p := range op.Parameters {
		if p.In == "query" {
			query = append(query, p.Name)
		}
	}
	if !slices.Equal(query, []string{"attempts_limit", "attempts_before"}) {
		t.Errorf("query parameters %v, want attempts_limit and attempts_before", query)
	}
	if _, ok := op.Responses["400"]; !ok {
		t.Error("400 (a bad page) not documented")
	}
}
