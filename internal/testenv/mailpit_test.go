package testenv_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/daect/expectct/internal/mail"
	"github.com/daect/expectct/internal/testenv"
)

func TestRepoRoot(t *testing.T) {
	root := testenv.RepoRoot(t)
	for _, p := range []string{"go.mod", filepath.Join("internal", "testenv", "root.go")} {
		if _, err := os.Stat(filepath.Join(root, p)); err != nil {
			t.Errorf("RepoRoot %s: %v", root, err)
		}
	}
}

func send(t *testing.T, s *mail.Sender, i int) {
	t.Helper()
	err := s.Send(context.Background(), mail.Message{
		Key:      fmt.Sprintf("test/%03d", i),
		To:       []string{fmt.Sprintf("applicant%03d@example.org", i)},
		Rendered: mail.Rendered{Subject: fmt.Sprintf("message %03d", i), Text: "corps — é\n", HTML: "<p>corps — é</p>"},
	})
	if err != nil {
		t.Fatalf("send %d: %v", i, err)
	}
}

func TestMailpitListsEveryMessageOldestFirst(t *testing.T) {
	mp := testenv.StartMailpit(t)
	s, err := mail.NewSender(mp.SMTPConfig())
	if err != nil {
		t.Fatal(err)
	}
	const n = 205 // more than one page of the API
	for i := range n {
		send(t, s, i)
	}
	got := mp.WaitFor(t, n, 10*time.Second)
	if len(got) != n {
		t.Fatalf("Messages returned %d, want %d", len(got), n)
	}
	for i, m := range got {
		if want := fmt.Sprintf("message %03d", i); m.Subject != want {
			t.Fatalf("message %d has subject %q, want %q (oldest first)", i, m.Subject, want)
		}
	}
	last := got[n-1]
	if last.MessageID != mail.MessageID(fmt.Sprintf("test/%03d", n-1)) ||
		len(last.To) != 1 || last.To[0] != fmt.Sprintf("applicant%03d@example.org", n-1) ||
		strings.TrimSpace(last.Text) != "corps — é" || !strings.Contains(last.HTML, "corps — é") {
		t.Errorf("last message read back wrong: %+v", last)
	}

	mp.DeleteAll(t)
	if c := mp.Count(t); c != 0 {
		t.Errorf("Count after DeleteAll = %d", c)
	}
}

// fatalRecorder stands for a test so that a helper's t.Fatalf can be observed.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (f *fatalRecorder) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestWaitForFailsWithWhatArrived(t *testing.T) {
	mp := testenv.StartMailpit(t)
	s, err := mail.NewSender(mp.SMTPConfig())
	if err != nil {
		t.Fatal(err)
	}
	send(t, s, 1)

	rec := &fatalRecorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		mp.WaitFor(rec, 2, 300*time.Millisecond)
	}()
	<-done
	if !strings.Contains(rec.msg, "for 2 message(s), Mailpit has 1") || !strings.Contains(rec.msg, "message 001") {
		t.Errorf("WaitFor failure message = %q", rec.msg)
	}
}
