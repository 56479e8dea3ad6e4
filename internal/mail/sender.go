package mail

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	netmail "net/mail"
	"net/textproto"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// SMTPConfig says how to reach the outgoing mail server.
type SMTPConfig struct {
	Host     string
	Port     int
	Username string // empty: no SMTP authentication
	Password string
	TLS      string // "none", "starttls" (mandatory STARTTLS) or "tls" (implicit TLS)
	From     string // sender address, optionally with a display name
	Timeout  time.Duration
}

// TLS modes of SMTPConfig.TLS.
const (
	TLSNone     = "none"
	TLSStartTLS = "starttls"
	TLSImplicit = "tls"
)

// DefaultTimeout bounds one SMTP conversation when SMTPConfig.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// Message is one e-mail to deliver.
type Message struct {
	// Key identifies the e-mail for deduplication (workflow and step): a resend
	// with the same key carries the same Message-ID.
	Key string
	To  []string
	Cc  []string
	Rendered
	// Attachments are files sent with the message (a decision letter).
	Attachments []Attachment
}

// Attachment is a file attached to a message.
type Attachment struct {
	Name        string
	ContentType string
	Data        []byte
}

// Sender delivers messages over SMTP, one connection per message. It is safe
// for concurrent use.
type Sender struct {
	client *gomail.Client
	from   string
}

// NewSender checks cfg and prepares a Sender; it does not connect.
func NewSender(cfg SMTPConfig) (*Sender, error) {
	if cfg.Host == "" {
		return nil, errors.New("mail: SMTP host is required")
	}
	if cfg.Port < 1 || cfg.Port > 65535 {
		return nil, fmt.Errorf("mail: SMTP port %d is out of range 1-65535", cfg.Port)
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("mail: SMTP timeout %s is negative", cfg.Timeout)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.From == "" {
		return nil, errors.New("mail: sender address (From) is required")
	}
	if _, err := netmail.ParseAddress(cfg.From); err != nil {
		return nil, fmt.Errorf("mail: sender address %q: %w", cfg.From, err)
	}
	if cfg.Password != "" && cfg.Username == "" {
		return nil, errors.New("mail: SMTP password given without a username")
	}

	// WithTLSPolicy, not WithTLSPortPolicy: the latter silently moves port 25 to 587.
	opts := []gomail.Option{gomail.WithPort(cfg.Port), gomail.WithTimeout(cfg.Timeout)}
	switch cfg.TLS {
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	case TLSStartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case TLSImplicit:
		opts = append(opts, gomail.WithSSL())
	default:
		return nil, fmt.Errorf("mail: SMTP TLS mode %q: want %q, %q or %q", cfg.TLS, TLSNone, TLSStartTLS, TLSImplicit)
	}
	if cfg.Username != "" {
		// Let the library pick the strongest mechanism the server offers; it
		// refuses PLAIN and LOGIN over an unencrypted connection.
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(cfg.Username), gomail.WithPassword(cfg.Password))
	}
	client, err := gomail.NewClient(cfg.Host, opts...)
	if err != nil {
		return nil, fmt.Errorf("mail: SMTP client: %w", err)
	}
	return &Sender{client: client, from: cfg.From}, nil
}

// MessageID derives the Message-ID of the e-mail with the given deduplication
// key. It is stable, so a mail server or client that drops duplicate IDs
// drops a resend; the key itself (which may name the application) is not revealed.
func MessageID(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "<" + hex.EncodeToString(sum[:])[:32] + "@expectct>"
}

// HeaderKey carries the deduplication key, so that a delivered e-mail can be
// traced back to the workflow step that sent it.
const HeaderKey = "X-Expectct-Key"

// Send delivers m. The error tells with IsPermanent whether retrying can help.
func (s *Sender) Send(ctx context.Context, m Message) error {
	msg, err := s.build(m)
	if err != nil {
		return &sendError{key: m.Key, permanent: true, err: err}
	}
	if err := s.client.DialAndSendWithContext(ctx, msg); err != nil {
		return &sendError{key: m.Key, permanent: classify(err), err: err}
	}
	return nil
}

func (s *Sender) build(m Message) (*gomail.Msg, error) {
	if m.Key == "" {
		return nil, errors.New("deduplication key is required")
	}
	if strings.ContainsAny(m.Key, "\r\n") {
		return nil, errors.New("deduplication key contains a line break")
	}
	if len(m.To) == 0 {
		return nil, errors.New("no recipient")
	}
	if m.Subject == "" || m.Text == "" {
		return nil, errors.New("subject and text body are required")
	}

	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := msg.From(s.from); err != nil {
		return nil, fmt.Errorf("sender address: %w", err)
	}
	if err := msg.To(m.To...); err != nil {
		return nil, fmt.Errorf("recipient address: %w", err)
	}
	if len(m.Cc) > 0 {
		if err := msg.Cc(m.Cc...); err != nil {
			return nil, fmt.Errorf("copy address: %w", err)
		}
	}
	msg.Subject(oneLine(m.Subject))
	msg.SetMessageIDWithValue(strings.Trim(MessageID(m.Key), "<>")) // the library adds the brackets
	msg.SetGenHeader(gomail.Header(HeaderKey), m.Key)
	msg.SetDate()
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	for _, a := range m.Attachments {
		if err := msg.AttachReader(a.Name, bytes.NewReader(a.Data), gomail.WithFileContentType(gomail.ContentType(a.ContentType))); err != nil {
			return nil, fmt.Errorf("attachment %s: %w", a.Name, err)
		}
	}
	return msg, nil
}

// sendError records whether a failed delivery may succeed if tried again.
type sendError struct {
	key       string
	permanent bool
	err       error
}

func (e *sendError) Error() string {
	kind := "temporary"
	if e.permanent {
		kind = "permanent"
	}
	return fmt.Sprintf("mail: send %q (%s failure): %v", e.key, kind, e.err)
}

func (e *sendError) Unwrap() error { return e.err }

// IsPermanent tells whether err is a delivery failure that retrying the same
// message cannot cure: the server answered with a 5xx reply, or the message
// itself is invalid (bad address, no recipient, no key). Anything else, such as a
// refused connection, a timeout or a 4xx reply, is temporary.
func IsPermanent(err error) bool {
	if err == nil {
		return false
	}
	var se *sendError
	if errors.As(err, &se) {
		return se.permanent
	}
	return classify(err)
}

// classify reads what the SMTP exchange returned. go-mail reports the reply code
// in its SendError once a message is under way, and a textproto.Error for a
// reply during the greeting, STARTTLS or authentication.
func classify(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var ge *gomail.SendError
	if errors.As(err, &ge) {
		switch ge.Reason {
		case gomail.ErrGetSender, gomail.ErrGetRcpts, gomail.ErrNoUnencoded:
			return true
		}
		return ge.ErrorCode() >= 500 && ge.ErrorCode() < 600
	}
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code >= 500 && te.Code < 600
	}
	return false
}
