package mail_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/mail"
	"github.com/daect/expectct/internal/testenv"
)

func newSender(t *testing.T, cfg mail.SMTPConfig) *mail.Sender {
	t.Helper()
	s, err := mail.NewSender(cfg)
	if err != nil {
		t.Fatalf("NewSender: %v", err)
	}
	return s
}

func approvedLetter(t *testing.T, key string) mail.Message {
	t.Helper()
	r, err := mail.Render(lifecycle.MailDecisionApproved, sample(t))
	if err != nil {
		t.Fatal(err)
	}
	return mail.Message{
		Key:      key,
		To:       []string{"camille.martin@lyon.example"},
		Cc:       []string{"cooperation@ambafrance-sn.example"},
		Rendered: r,
	}
}

func TestSendDeliversTheLetter(t *testing.T) {
	mp := testenv.StartMailpit(t)
	s := newSender(t, mp.SMTPConfig())
	m := approvedLetter(t, "EXP-7Q2K9/decision")

	if err := s.Send(context.Background(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := mp.WaitFor(t, 1, 5*time.Second)
	if len(got) != 1 {
		t.Fatalf("Mailpit holds %d messages, want 1", len(got))
	}
	g := got[0]
	if !slices.Equal(g.To, m.To) || !slices.Equal(g.Cc, m.Cc) {
		t.Errorf("To %v Cc %v, want To %v Cc %v", g.To, g.Cc, m.To, m.Cc)
	}
	if g.From != "no-reply@expectct.test" {
		t.Errorf("From = %q", g.From)
	}
	if g.Subject != m.Subject {
		t.Errorf("Subject = %q, want %q", g.Subject, m.Subject)
	}
	if g.MessageID != mail.MessageID(m.Key) {
		t.Errorf("Message-ID = %q, want %q", g.MessageID, mail.MessageID(m.Key))
	}
	if k := g.Headers[mail.HeaderKey]; !slices.Equal(k, []string{m.Key}) {
		t.Errorf("%s = %v, want [%s]", mail.HeaderKey, k, m.Key)
	}
	if d := g.Headers["Date"]; len(d) != 1 || d[0] == "" {
		t.Errorf("Date header = %v", d)
	}
	if ct := strings.Join(g.Headers["Content-Type"], " "); !strings.HasPrefix(ct, "multipart/alternative") {
		t.Errorf("Content-Type = %q, want multipart/alternative", ct)
	}
	// Mailpit decoded the quoted-printable UTF-8 parts: what arrives is what was rendered.
	for _, s := range []string{"un soutien de 4 500,00 €", "support of EUR 4,500.00", "— English version —", "Métropole de Lyon"} {
		if !strings.Contains(g.Text, s) {
			t.Errorf("delivered text lacks %q:\n%s", s, g.Text)
		}
		if !strings.Contains(visible(g.HTML), s) {
			t.Errorf("delivered HTML lacks %q:\n%s", s, g.HTML)
		}
	}
	// SMTP carries lines ended by CRLF.
	if text := strings.ReplaceAll(g.Text, "\r\n", "\n"); strings.TrimSpace(text) != strings.TrimSpace(m.Text) {
		t.Errorf("delivered text differs from the rendered one:\ngot:\n%s\nwant:\n%s", g.Text, m.Text)
	}
}

func TestSendSameKeyTwiceDeliversOnce(t *testing.T) {
	mp := testenv.StartMailpit(t)
	s := newSender(t, mp.SMTPConfig())
	m := approvedLetter(t, "EXP-7Q2K9/decision")

	// A retried activity sends again; the second copy carries the same
	// Message-ID and a deduplicating server drops it.
	for i := range 2 {
		if err := s.Send(context.Background(), m); err != nil {
			t.Fatalf("Send #%d: %v", i+1, err)
		}
	}
	other := approvedLetter(t, "EXP-7Q2K9/decision-copy")
	if err := s.Send(context.Background(), other); err != nil {
		t.Fatalf("Send other key: %v", err)
	}
	got := mp.WaitFor(t, 2, 5*time.Second)
	if len(got) != 2 {
		t.Fatalf("Mailpit holds %d messages, want 2 (one per key)", len(got))
	}
	if got[0].MessageID != mail.MessageID(m.Key) || got[1].MessageID != mail.MessageID(other.Key) {
		t.Errorf("Message-IDs %q, %q; want %q, %q", got[0].MessageID, got[1].MessageID,
			mail.MessageID(m.Key), mail.MessageID(other.Key))
	}
}

func TestMessageIDIsStable(t *testing.T) {
	a, b := mail.MessageID("EXP-1/ack"), mail.MessageID("EXP-1/ack")
	if a != b {
		t.Errorf("MessageID differs for the same key: %q, %q", a, b)
	}
	if a == mail.MessageID("EXP-1/notice") {
		t.Errorf("MessageID equal for different keys")
	}
	// sha256("EXP-1/ack"), first 32 hex digits: the form must not change, or a
	// resend after an upgrade would no longer be recognised as a duplicate.
	if want := "<31c4131c9c67846b863318475278a082@expectct>"; a != want {
		if !regexp.MustCompile(`^<[0-9a-f]{32}@expectct>$`).MatchString(a) {
			t.Fatalf("MessageID = %q, not <32 hex digits@expectct>", a)
		}
		t.Errorf("MessageID(EXP-1/ack) = %q, want %q", a, want)
	}
}

func TestSendErrorClassification(t *testing.T) {
	ctx := context.Background()

	t.Run("connection refused is temporary", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		s := newSender(t, mail.SMTPConfig{Host: "127.0.0.1", Port: port, TLS: mail.TLSNone,
			From: "no-reply@expectct.test", Timeout: 2 * time.Second})
		err = s.Send(ctx, approvedLetter(t, "k"))
		if err == nil {
			t.Fatal("Send to a closed port succeeded")
		}
		if mail.IsPermanent(err) {
			t.Errorf("IsPermanent(%v) = true, want temporary", err)
		}
	})

	t.Run("cancelled context is temporary", func(t *testing.T) {
		mp := testenv.StartMailpit(t)
		s := newSender(t, mp.SMTPConfig())
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		err := s.Send(cctx, approvedLetter(t, "k"))
		if err == nil || mail.IsPermanent(err) {
			t.Errorf("Send with a cancelled context: %v, permanent %v; want a temporary error", err, mail.IsPermanent(err))
		}
	})

	t.Run("server replies", func(t *testing.T) {
		mp := testenv.StartMailpit(t)
		s := newSender(t, mp.SMTPConfig())
		cases := []struct {
			chaos     testenv.MailpitChaos
			code      string
			permanent bool
		}{
			{testenv.MailpitChaos{Recipient: testenv.MailpitTrigger{ErrorCode: 550, Probability: 100}}, "550", true},
			{testenv.MailpitChaos{Recipient: testenv.MailpitTrigger{ErrorCode: 451, Probability: 100}}, "451", false},
			{testenv.MailpitChaos{Sender: testenv.MailpitTrigger{ErrorCode: 553, Probability: 100}}, "553", true},
			{testenv.MailpitChaos{Sender: testenv.MailpitTrigger{ErrorCode: 421, Probability: 100}}, "421", false},
		}
		for _, c := range cases {
			mp.SetChaos(t, c.chaos)
			err := s.Send(ctx, approvedLetter(t, "chaos-"+c.code))
			if err == nil {
				t.Fatalf("%s: Send succeeded", c.code)
			}
			if !strings.Contains(err.Error(), c.code) {
				t.Errorf("%s: error does not show the reply: %v", c.code, err)
			}
			if got := mail.IsPermanent(err); got != c.permanent {
				t.Errorf("%s: IsPermanent = %v, want %v (%v)", c.code, got, c.permanent, err)
			}
		}
		mp.SetChaos(t, testenv.MailpitChaos{})
		if err := s.Send(ctx, approvedLetter(t, "after-chaos")); err != nil {
			t.Fatalf("Send once chaos is off: %v", err)
		}
		if n := mp.Count(t); n != 1 {
			t.Errorf("Mailpit holds %d messages, want only the one sent after chaos", n)
		}
	})

	t.Run("invalid messages are permanent", func(t *testing.T) {
		mp := testenv.StartMailpit(t)
		s := newSender(t, mp.SMTPConfig())
		good := approvedLetter(t, "k")
		bad := map[string]func(m *mail.Message){
			"bad recipient": func(m *mail.Message) { m.To = []string{"not an address"} },
			"bad copy":      func(m *mail.Message) { m.Cc = []string{"embassy@"} },
			"no recipient":  func(m *mail.Message) { m.To = nil },
			"no key":        func(m *mail.Message) { m.Key = "" },
			"key injection": func(m *mail.Message) { m.Key = "k\r\nBcc: x@example.org" },
			"no text":       func(m *mail.Message) { m.Text = "" },
		}
		for name, spoil := range bad {
			m := good
			m.To = slices.Clone(good.To)
			spoil(&m)
			err := s.Send(ctx, m)
			if err == nil || !mail.IsPermanent(err) {
				t.Errorf("%s: Send error %v, want a permanent one", name, err)
			}
		}
		if n := mp.Count(t); n != 0 {
			t.Errorf("Mailpit received %d messages from invalid sends", n)
		}
	})
}

func TestIsPermanentOnRawErrors(t *testing.T) {
	cases := []struct {
		err  error
		want bool
	}{
		{nil, false},
		{errors.New("dial tcp 127.0.0.1:1: connect: connection refused"), false},
		{&textproto.Error{Code: 535, Msg: "5.7.8 authentication failed"}, true},
		{fmt.Errorf("SMTP AUTH failed: %w", &textproto.Error{Code: 454, Msg: "try later"}), false},
		{context.DeadlineExceeded, false},
	}
	for _, c := range cases {
		if got := mail.IsPermanent(c.err); got != c.want {
			t.Errorf("IsPermanent(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

func TestNewSenderValidatesConfig(t *testing.T) {
	ok := mail.SMTPConfig{Host: "smtp.example.org", Port: 587, TLS: mail.TLSStartTLS, From: "EXPE-CT <expe-ct@example.org>"}
	if _, err := mail.NewSender(ok); err != nil {
		t.Fatalf("valid config refused: %v", err)
	}
	bad := map[string]func(c *mail.SMTPConfig){
		"no host":         func(c *mail.SMTPConfig) { c.Host = "" },
		"port zero":       func(c *mail.SMTPConfig) { c.Port = 0 },
		"port too big":    func(c *mail.SMTPConfig) { c.Port = 70000 },
		"unknown TLS":     func(c *mail.SMTPConfig) { c.TLS = "ssl" },
		"empty TLS":       func(c *mail.SMTPConfig) { c.TLS = "" },
		"no from":         func(c *mail.SMTPConfig) { c.From = "" },
		"bad from":        func(c *mail.SMTPConfig) { c.From = "expe-ct at example.org" },
		"negative time":   func(c *mail.SMTPConfig) { c.Timeout = -time.Second },
		"password, no id": func(c *mail.SMTPConfig) { c.Password = "secret" },
	}
	for name, spoil := range bad {
		c := ok
		spoil(&c)
		if _, err := mail.NewSender(c); err == nil {
			t.Errorf("%s: config accepted", name)
		}
	}
}

func TestSendConcurrently(t *testing.T) {
	// Workers share one Sender across activities.
	mp := testenv.StartMailpit(t)
	s := newSender(t, mp.SMTPConfig())
	const n = 16
	errs := make(chan error, n)
	for i := range n {
		m := approvedLetter(t, fmt.Sprintf("EXP-%d/decision", i))
		go func() { errs <- s.Send(context.Background(), m) }()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Errorf("Send: %v", err)
		}
	}
	if got := mp.WaitFor(t, n, 5*time.Second); len(got) != n {
		t.Errorf("Mailpit holds %d messages, want %d", len(got), n)
	}
}
