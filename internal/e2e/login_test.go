package e2e_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/daect/expectct/internal/devstack"
	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/session"
	"github.com/daect/expectct/internal/store"
	"github.com/daect/expectct/internal/testenv"
)

var deviceCode = regexp.MustCompile(`Open (\S+)\s.*?code: ([A-Z]{4}-[A-Z]{4})`)

// `expectct login` signs a person in as they would: the CLI shows an address
// and a code, the person types the code with their username and password in
// the provider's page, the CLI keeps the session (mode 0600), refreshes it
// when it expires, and `logout` forgets it and revokes its refresh token.
// A service account signs in from its client credentials.
func TestCLILogin(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOptions{})
	s.StartWorker()
	auditor := lifecycle.Actor{ID: "login.auditor", Role: lifecycle.RoleAuditor}
	s.Grant(auditor)
	config := t.TempDir()
	env := []string{"EXPECTCT_CONFIG_DIR=" + config}

	// Login: the CLI waits while the person signs in elsewhere.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd, stdout, stderr := startCLI(ctx, t, env, "--api", s.API.URL, "login")
	var prompt strings.Builder
	sc := bufio.NewScanner(stderr)
	var m []string
	for m == nil && sc.Scan() {
		prompt.WriteString(sc.Text() + " ")
		m = deviceCode.FindStringSubmatch(prompt.String())
	}
	if m == nil {
		_ = cmd.Wait()
		t.Fatalf("login showed no address and code: %q", prompt.String())
	}
	if err := devstack.ApproveDevice(ctx, m[1], m[2], auditor.ID, "wrong password"); err == nil {
		t.Fatal("a wrong password approved the device")
	}
	if err := devstack.ApproveDevice(ctx, m[1], m[2], auditor.ID, testenv.TestPassword); err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = bufio.NewReader(stderr).WriteTo(&prompt) }()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("login: %v\n%s\n%s", err, stdout.String(), prompt.String())
	}
	mustContain(t, "login", stdout.String(), "login.auditor", "auditor")

	file := filepath.Join(config, "session.json")
	info, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("session file mode %v, want 0600", info.Mode().Perm())
	}
	mustContain(t, "whoami", mustSucceed(t, runCLI(t, env, "--api", s.API.URL, "whoami"), "whoami").stdout,
		"login.auditor", "KIND", "person", "auditor")
	mustSucceed(t, runCLI(t, env, "--api", s.API.URL, "audit", "verify"), "audit verify as the signed-in auditor")

	// An expired session is refreshed with its refresh token, rotated.
	before := readSession(t, file)
	before.Expiry = time.Now().Add(-time.Minute)
	writeSession(t, file, before)
	mustSucceed(t, runCLI(t, env, "--api", s.API.URL, "whoami"), "whoami on an expired session")
	after := readSession(t, file)
	if after.RefreshToken == before.RefreshToken || !after.Expiry.After(time.Now()) {
		t.Errorf("session not refreshed: %+v", after)
	}
	if refreshWorks(t, s.OIDC.Issuer(), before.RefreshToken) {
		t.Error("a refresh token served twice")
	}

	// Logout forgets the session and revokes its refresh token.
	mustContain(t, "logout", mustSucceed(t, runCLI(t, env, "--api", s.API.URL, "logout"), "logout").stdout, "Signed out")
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Errorf("session file after logout: %v", err)
	}
	if refreshWorks(t, s.OIDC.Issuer(), after.RefreshToken) {
		t.Error("the refresh token still works after logout")
	}
	mustFail(t, runCLI(t, env, "--api", s.API.URL, "whoami"), "whoami after logout", "expectct login")

	// A service account: its client credentials from the environment.
	svc := append(env, "EXPECTCT_CLIENT_ID="+testenv.ServiceAccount.ID, "EXPECTCT_CLIENT_SECRET="+testenv.ServiceAccount.Secret)
	mustContain(t, "service whoami", mustSucceed(t, runCLI(t, svc, "--api", s.API.URL, "whoami"), "service whoami").stdout,
		testenv.ServiceAccount.ID, "service", "none")
	mustFail(t, runCLI(t, svc, "--api", s.API.URL, "audit", "verify"), "audit verify by a service account without a role", "holds no role")
	if _, err := s.Store.GrantRole(ctx, "testenv", store.Person{ID: testenv.ServiceAccount.ID, Issuer: s.OIDC.Issuer(), Kind: "service"},
		store.Grant{Role: string(lifecycle.RoleAuditor)}, "read-only dashboard"); err != nil {
		t.Fatal(err)
	}
	mustSucceed(t, runCLI(t, svc, "--api", s.API.URL, "audit", "verify"), "audit verify by the granted service account")
	bad := append(env, "EXPECTCT_CLIENT_ID="+testenv.ServiceAccount.ID, "EXPECTCT_CLIENT_SECRET=not-the-secret")
	mustFail(t, runCLI(t, bad, "--api", s.API.URL, "whoami"), "a wrong client secret", "refused")
}

// startCLI starts the CLI without waiting for it, for a command that waits
// for the person to sign in elsewhere; its prompts are read from stderr.
func startCLI(ctx context.Context, t *testing.T, env []string, args ...string) (*exec.Cmd, *bytes.Buffer, io.ReadCloser) {
	t.Helper()
	cmd := exec.CommandContext(ctx, cliBinary(t), args...)
	cmd.Dir = testenv.RepoRoot(t)
	cmd.Env = append(os.Environ(), env...)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, &stdout, stderr
}

func readSession(t *testing.T, file string) session.Session {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var s session.Session
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func writeSession(t *testing.T, file string, s session.Session) {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// refreshWorks tells whether the provider still honours a refresh token.
func refreshWorks(t *testing.T, issuer, token string) bool {
	t.Helper()
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {token}, "client_id": {testenv.ClientID}}
	resp, err := http.PostForm(issuer+"/token", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// `expectct login --browser`: the authorization code grant with PKCE. The
// CLI shows the provider's address, the person signs in there, the provider
// sends the browser back to the CLI's loopback port with a code, which the
// CLI exchanges for the session. The provider gives a code only to a
// loopback redirect, and only for the verifier of its challenge.
func TestCLILoginBrowser(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOptions{})
	instructor := lifecycle.Actor{ID: "pkce.instructor", Role: lifecycle.RoleInstructor}
	s.Grant(instructor)
	config := t.TempDir()
	env := []string{"EXPECTCT_CONFIG_DIR=" + config}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	cmd, stdout, stderr := startCLI(ctx, t, env, "--api", s.API.URL, "login", "--browser")
	var authURL string
	sc := bufio.NewScanner(stderr)
	for authURL == "" && sc.Scan() {
		if strings.HasPrefix(sc.Text(), "http") {
			authURL = sc.Text()
		}
	}
	if authURL == "" {
		_ = cmd.Wait()
		t.Fatal("login --browser showed no address")
	}
	var rest bytes.Buffer
	copied := make(chan struct{})
	go func() { _, _ = io.Copy(&rest, stderr); close(copied) }()
	u, err := url.Parse(authURL)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := http.Get(authURL); err != nil || r.StatusCode != http.StatusOK {
		t.Fatalf("sign-in page: %v %v", r, err)
	}
	form := u.Query()
	form.Set("username", instructor.ID)
	form.Set("password", "wrong")
	if r, err := http.PostForm(s.OIDC.Issuer()+"/authorize", form); err != nil || r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong password: %v %v, want 401", r, err)
	}
	// The browser follows the provider's redirect to the CLI.
	form.Set("password", testenv.TestPassword)
	if r, err := http.PostForm(s.OIDC.Issuer()+"/authorize", form); err != nil || r.StatusCode != http.StatusOK {
		t.Fatalf("sign-in and redirect to the CLI: %v %v", r, err)
	}
	<-copied
	if err := cmd.Wait(); err != nil {
		t.Fatalf("login --browser: %v\n%s%s", err, stdout.String(), rest.String())
	}
	mustContain(t, "login --browser", stdout.String(), instructor.ID, "instructor")
	mustContain(t, "whoami", mustSucceed(t, runCLI(t, env, "--api", s.API.URL, "whoami"), "whoami").stdout, instructor.ID, "instructor")
	if readSession(t, filepath.Join(config, "session.json")).RefreshToken == "" {
		t.Error("no refresh token kept")
	}

	// The provider's side of PKCE: a code for another verifier, or for a
	// redirect that is not loopback, is refused.
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	attempt := u.Query()
	attempt.Set("redirect_uri", "http://127.0.0.1:9/callback")
	attempt.Set("username", instructor.ID)
	attempt.Set("password", testenv.TestPassword)
	r, err := noRedirect.PostForm(s.OIDC.Issuer()+"/authorize", attempt)
	if err != nil || r.StatusCode != http.StatusFound {
		t.Fatalf("authorize: %v %v", r, err)
	}
	back, err := url.Parse(r.Header.Get("Location"))
	if err != nil || back.Query().Get("code") == "" {
		t.Fatalf("no code in %q", r.Header.Get("Location"))
	}
	exchange := url.Values{"grant_type": {"authorization_code"}, "code": {back.Query().Get("code")}, "client_id": {testenv.ClientID},
		"redirect_uri": {"http://127.0.0.1:9/callback"}, "code_verifier": {strings.Repeat("x", 43)}}
	if r, err := http.PostForm(s.OIDC.Issuer()+"/token", exchange); err != nil || r.StatusCode != http.StatusBadRequest {
		t.Errorf("code exchanged with another verifier: %v %v, want 400", r, err)
	}
	attempt.Set("redirect_uri", "https://attacker.example/callback")
	if r, err := noRedirect.PostForm(s.OIDC.Issuer()+"/authorize", attempt); err != nil || r.StatusCode != http.StatusBadRequest {
		t.Errorf("a code for a redirect that is not loopback: %v %v, want 400", r, err)
	}
}
