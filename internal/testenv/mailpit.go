package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/daect/expectct/internal/devstack"
	"github.com/daect/expectct/internal/mail"
)

// Mailpit is a Mailpit server started for one test: it accepts every message on
// SMTPPort and shows what it received through its HTTP API on HTTPPort.
type Mailpit struct {
	SMTPPort, HTTPPort int

	srv  *devstack.MailServer
	base string // HTTP API root, e.g. http://127.0.0.1:1234
	http *http.Client
}

// MailpitMessage is one delivered e-mail as Mailpit parsed it.
type MailpitMessage struct {
	ID        string // Mailpit's own ID, for its API
	MessageID string // Message-ID header with its angle brackets, as mail.MessageID returns it
	From      string // address only
	Subject   string
	To, Cc    []string // addresses only
	Text      string
	HTML      string
	Headers   map[string][]string // every header, keyed by canonical name
	// Attachments are the files attached; Part fetches one's content.
	Attachments []MailpitAttachment
}

// MailpitAttachment is a file attached to a message.
type MailpitAttachment struct {
	PartID      string
	FileName    string
	ContentType string
	Size        int
}

// StartMailpit runs <repo>/bin/mailpit on free loopback ports with a database in
// a temporary directory, waits until it accepts SMTP and answers its API, and
// stops it when the test ends. Messages carrying a Message-ID already received
// are dropped (--ignore-duplicate-ids), as a deduplicating mail system would.
// Chaos triggers are enabled but idle until SetChaos. A port taken by another
// process during start-up is survived with fresh ports (devstack.StartServer).
func StartMailpit(t testing.TB) *Mailpit {
	t.Helper()
	return StartMailpitWith(t, MailpitOptions{})
}

// MailpitOptions change how StartMailpitWith runs Mailpit.
type MailpitOptions struct {
	// KeepDuplicates turns the Message-ID duplicate filter off, so a test
	// sees every copy that was delivered.
	KeepDuplicates bool
}

// StartMailpitWith is StartMailpit with options.
func StartMailpitWith(t testing.TB, opts MailpitOptions) *Mailpit {
	t.Helper()
	logs := &SyncBuffer{}
	srv := &devstack.MailServer{
		Bin:    filepath.Join(RepoRoot(t), "bin", "mailpit"),
		DBFile: filepath.Join(t.TempDir(), "mailpit.db"),
		Log:    logs,
		Args: []string{
			"--enable-chaos",
			"--max", "0", // keep every message: a load test may send more than the default 500
		},
		KeepDuplicates: opts.KeepDuplicates,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := srv.Start(ctx); err != nil {
		t.Fatalf("testenv: Mailpit did not start (run `make tools` to build bin/mailpit): %v", err)
	}
	t.Cleanup(func() {
		_ = srv.Stop()
		if t.Failed() {
			t.Logf("mailpit output:\n%s", logs.String())
		}
	})
	return &Mailpit{
		srv:      srv,
		SMTPPort: addrPort(t, srv.SMTPAddr),
		HTTPPort: addrPort(t, srv.UIAddr),
		base:     "http://" + srv.UIAddr,
		http:     &http.Client{Timeout: 10 * time.Second},
	}
}

func addrPort(t testing.TB, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		t.Fatalf("testenv: port of %s: %v", addr, err)
	}
	return port
}

// Pause stops the Mailpit process (SIGSTOP): connections are accepted by
// the kernel but nothing answers, as with a stalled mail server.
func (m *Mailpit) Pause(t testing.TB) {
	t.Helper()
	if err := syscall.Kill(m.srv.Pid(), syscall.SIGSTOP); err != nil {
		t.Fatalf("testenv: pause mailpit: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Kill(m.srv.Pid(), syscall.SIGCONT) })
}

// Resume lets a paused Mailpit go on (SIGCONT).
func (m *Mailpit) Resume(t testing.TB) {
	t.Helper()
	if err := syscall.Kill(m.srv.Pid(), syscall.SIGCONT); err != nil {
		t.Fatalf("testenv: resume mailpit: %v", err)
	}
}

// SMTPConfig is a mail.SMTPConfig that delivers to this Mailpit.
func (m *Mailpit) SMTPConfig() mail.SMTPConfig {
	return mail.SMTPConfig{
		Host:    "127.0.0.1",
		Port:    m.SMTPPort,
		TLS:     mail.TLSNone,
		From:    "EXPE-CT <no-reply@expectct.test>",
		Timeout: 10 * time.Second,
	}
}

// URL is the root of Mailpit's web UI and HTTP API, handy when debugging a test.
func (m *Mailpit) URL() string { return m.base }

type mailpitAddress struct {
	Name    string
	Address string
}

type mailpitSummary struct {
	ID string
}

type mailpitList struct {
	MessagesCount int              `json:"messages_count"`
	Messages      []mailpitSummary `json:"messages"`
}

type mailpitDetail struct {
	ID        string
	MessageID string
	From      *mailpitAddress
	To, Cc    []mailpitAddress
	Subject   string
	Text      string
	HTML      string
	// Attachments as Mailpit lists them.
	Attachments []MailpitAttachment
}

// Messages returns every message received so far, oldest first, with bodies and
// headers. The API pages newest first, so call it once sending has stopped (as
// WaitFor does) or a message arriving mid-listing may be seen twice.
func (m *Mailpit) Messages(t testing.TB) []MailpitMessage {
	t.Helper()
	var ids []string
	for {
		var page mailpitList
		m.getJSON(t, "/api/v1/messages?limit=200&start="+strconv.Itoa(len(ids)), &page)
		for _, s := range page.Messages {
			ids = append(ids, s.ID)
		}
		if len(page.Messages) == 0 || len(ids) >= page.MessagesCount {
			break
		}
	}
	slices.Reverse(ids) // the API lists newest first
	out := make([]MailpitMessage, 0, len(ids))
	for _, id := range ids {
		out = append(out, m.Message(t, id))
	}
	return out
}

// Message fetches one message by its Mailpit ID.
func (m *Mailpit) Message(t testing.TB, id string) MailpitMessage {
	t.Helper()
	var d mailpitDetail
	m.getJSON(t, "/api/v1/message/"+url.PathEscape(id), &d)
	msg := MailpitMessage{
		ID:          d.ID,
		MessageID:   "<" + d.MessageID + ">", // Mailpit stores it without brackets
		Subject:     d.Subject,
		To:          addresses(d.To),
		Cc:          addresses(d.Cc),
		Text:        d.Text,
		HTML:        d.HTML,
		Attachments: d.Attachments,
	}
	if d.From != nil {
		msg.From = d.From.Address
	}
	m.getJSON(t, "/api/v1/message/"+url.PathEscape(id)+"/headers", &msg.Headers)
	return msg
}

// Part fetches the content of one part of a message (an attachment).
func (m *Mailpit) Part(t testing.TB, id, partID string) []byte {
	t.Helper()
	resp, err := m.http.Get(m.base + "/api/v1/message/" + url.PathEscape(id) + "/part/" + url.PathEscape(partID))
	if err != nil {
		t.Fatalf("mailpit: part %s of %s: %v", partID, id, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("mailpit: part %s of %s: %d %v", partID, id, resp.StatusCode, err)
	}
	return b
}

func addresses(as []mailpitAddress) []string {
	out := make([]string, 0, len(as))
	for _, a := range as {
		out = append(out, a.Address)
	}
	return out
}

// Count returns how many messages Mailpit holds, without fetching them.
func (m *Mailpit) Count(t testing.TB) int {
	t.Helper()
	var page mailpitList
	m.getJSON(t, "/api/v1/messages?limit=1", &page)
	return page.MessagesCount
}

// WaitFor waits until at least n messages arrived and returns them all, oldest
// first. It fails the test when timeout passes first.
func (m *Mailpit) WaitFor(t testing.TB, n int, timeout time.Duration) []MailpitMessage {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if m.Count(t) >= n {
			return m.Messages(t)
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	got := m.Messages(t)
	subjects := make([]string, 0, len(got))
	for _, g := range got {
		subjects = append(subjects, fmt.Sprintf("  %s to %v: %s", g.MessageID, g.To, g.Subject))
	}
	t.Fatalf("testenv: waited %s for %d message(s), Mailpit has %d:\n%s", timeout, n, len(got), strings.Join(subjects, "\n"))
	return nil
}

// DeleteAll empties the mailbox, for a test that reuses one Mailpit across steps.
func (m *Mailpit) DeleteAll(t testing.TB) {
	t.Helper()
	m.do(t, http.MethodDelete, "/api/v1/messages", nil, nil)
}

// MailpitChaos makes Mailpit's SMTP server fail on purpose. A zero trigger is off.
type MailpitChaos struct {
	Sender         MailpitTrigger // MAIL FROM
	Recipient      MailpitTrigger // RCPT TO
	Authentication MailpitTrigger // AUTH
}

// MailpitTrigger answers with ErrorCode (400 to 599) on Probability percent of commands.
type MailpitTrigger struct {
	ErrorCode   int
	Probability int
}

// SetChaos replaces the chaos triggers; SetChaos(t, MailpitChaos{}) turns them all off.
func (m *Mailpit) SetChaos(t testing.TB, c MailpitChaos) {
	t.Helper()
	body, err := json.Marshal(c)
	if err != nil {
		t.Fatalf("testenv: encode chaos triggers: %v", err)
	}
	m.do(t, http.MethodPut, "/api/v1/chaos", body, nil)
}

func (m *Mailpit) getJSON(t testing.TB, path string, v any) {
	t.Helper()
	m.do(t, http.MethodGet, path, nil, v)
}

func (m *Mailpit) do(t testing.TB, method, path string, body []byte, v any) {
	t.Helper()
	req, err := http.NewRequest(method, m.base+path, bytes.NewReader(body))
	if err != nil {
		t.Fatalf("testenv: mailpit %s %s: %v", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := m.http.Do(req)
	if err != nil {
		t.Fatalf("testenv: mailpit %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("testenv: mailpit %s %s: read body: %v", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("testenv: mailpit %s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(data))
	}
	if v != nil {
		if err := json.Unmarshal(data, v); err != nil {
			t.Fatalf("testenv: mailpit %s %s: decode: %v", method, path, err)
		}
	}
}

// SyncBuffer collects a child process's output from its two streams.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
