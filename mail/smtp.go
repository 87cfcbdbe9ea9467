package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/parley-dev/parley/rooms"
)

// TLSMode is how an SMTP connection is encrypted.
type TLSMode string

// The TLS modes. StartTLS is the default.
const (
	// StartTLS connects in plain text (port 587) and requires the server
	// to offer STARTTLS; without it nothing is sent.
	StartTLS TLSMode = "starttls"
	// Opportunistic uses STARTTLS when the server offers it and plain
	// text otherwise (a password is then sent only to localhost).
	Opportunistic TLSMode = "opportunistic"
	// ImplicitTLS speaks TLS from the first byte (port 465).
	ImplicitTLS TLSMode = "tls"
	// NoTLS never encrypts; allowed only to a server on this machine.
	NoTLS TLSMode = "none"
)

// ParseTLSMode reads a TLS mode as the --smtp-tls flag spells it.
func ParseTLSMode(s string) (TLSMode, error) {
	switch m := TLSMode(strings.ToLower(strings.TrimSpace(s))); m {
	case StartTLS, Opportunistic, ImplicitTLS, NoTLS:
		return m, nil
	case "":
		return StartTLS, nil
	}
	return "", fmt.Errorf("%q is not starttls, opportunistic, tls or none", s)
}

// DefaultPort is the SMTP submission port (STARTTLS); ImplicitTLSPort the
// one for implicit TLS.
const (
	DefaultPort     = 587
	ImplicitTLSPort = 465
)

// DefaultTimeout bounds one delivery: connecting, the whole SMTP
// conversation and the server's replies.
const DefaultTimeout = 30 * time.Second

// SMTPConfig says which SMTP server to send through and as whom. A zero
// Host means none is configured.
type SMTPConfig struct {
	Host string
	// Port defaults to DefaultPort, or ImplicitTLSPort with ImplicitTLS.
	Port int
	// TLS defaults to StartTLS.
	TLS TLSMode
	// Username and Password, if Username is set, authenticate (AUTH,
	// the best mechanism both sides know; PLAIN only over TLS or to
	// localhost).
	Username, Password string
	// From is the sender: "parley@example.org" or
	// "Parley <parley@example.org>". Required.
	From string
	// Timeout bounds each delivery; default DefaultTimeout.
	Timeout time.Duration
	// TLSConfig, if set, replaces the default (the system's roots,
	// verifying Host); ServerName and MinVersion are filled in if unset.
	TLSConfig *tls.Config
	// HELO is the name parley greets the server with; default this
	// machine's host name.
	HELO string
}

// Configured reports whether an SMTP server is set.
func (c SMTPConfig) Configured() bool { return c.Host != "" }

// String names the server for logs and the operator: "host:port (starttls)".
func (c SMTPConfig) String() string {
	if !c.Configured() {
		return "none"
	}
	if d, err := c.withDefaults(); err == nil {
		c = d
	}
	return net.JoinHostPort(c.Host, strconv.Itoa(c.Port)) + " (" + string(c.TLS) + ")"
}

// withDefaults fills in the defaults and checks the configuration.
func (c SMTPConfig) withDefaults() (SMTPConfig, error) {
	c.Host = strings.TrimSpace(c.Host)
	if c.Host == "" {
		return c, errors.New("no SMTP host given")
	}
	if c.TLS == "" {
		c.TLS = StartTLS
	}
	if _, err := ParseTLSMode(string(c.TLS)); err != nil {
		return c, fmt.Errorf("SMTP TLS mode: %w", err)
	}
	if c.Port == 0 {
		c.Port = DefaultPort
		if c.TLS == ImplicitTLS {
			c.Port = ImplicitTLSPort
		}
	}
	if c.Port < 1 || c.Port > 65535 {
		return c, fmt.Errorf("SMTP port %d is out of range 1-65535", c.Port)
	}
	if c.TLS == NoTLS && !IsLocalHost(c.Host) {
		return c, fmt.Errorf("SMTP without TLS is allowed only to this machine (localhost, 127.0.0.1 or ::1), not to %s: use starttls or tls", c.Host)
	}
	if c.Username == "" && c.Password != "" {
		return c, errors.New("an SMTP password is set without a user name")
	}
	if strings.TrimSpace(c.From) == "" {
		return c, errors.New("no sender address (from) given for outgoing mail")
	}
	if _, err := mail.ParseAddress(c.From); err != nil {
		return c, fmt.Errorf("sender address %q is not an e-mail address like parley@example.org or \"Parley <parley@example.org>\"", c.From)
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	return c, nil
}

// IsLocalHost reports whether host names this machine: "localhost" or a
// loopback address.
func IsLocalHost(host string) bool {
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// SMTP sends messages through one SMTP server. It is safe for concurrent
// use; each Send is a connection of its own.
type SMTP struct {
	// Set at construction.
	cfg    SMTPConfig
	tls    *tls.Config
	opts   []gomail.Option // all but the dialer
	domain string          // of From, for Message-IDs
	log    *slog.Logger
}

var _ Sender = (*SMTP)(nil)

// authMechanisms are the SMTP AUTH mechanisms parley offers, best first.
// PLAIN and LOGIN go only over TLS or to localhost (go-mail refuses
// otherwise).
var authMechanisms = []gomail.SMTPAuthType{
	gomail.SMTPAuthSCRAMSHA256PLUS, gomail.SMTPAuthSCRAMSHA256, gomail.SMTPAuthPlain, gomail.SMTPAuthLogin,
}

// NewSMTP checks cfg and returns a sender. It does not connect.
func NewSMTP(cfg SMTPConfig, log *slog.Logger) (*SMTP, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	tlsCfg := &tls.Config{}
	if cfg.TLSConfig != nil {
		tlsCfg = cfg.TLSConfig.Clone()
	}
	if tlsCfg.ServerName == "" {
		tlsCfg.ServerName = strings.TrimSuffix(strings.TrimPrefix(cfg.Host, "["), "]")
	}
	if tlsCfg.MinVersion == 0 {
		tlsCfg.MinVersion = tls.VersionTLS12
	}
	opts := []gomail.Option{
		gomail.WithPort(cfg.Port),
		gomail.WithTimeout(cfg.Timeout),
		gomail.WithTLSConfig(tlsCfg),
	}
	switch cfg.TLS {
	case StartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case Opportunistic:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	case ImplicitTLS, NoTLS:
		// Implicit TLS is done by Send's dialer; no STARTTLS on top.
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if cfg.Username != "" {
		opts = append(opts, gomail.WithOpportunisticSMTPAuth(authMechanisms...),
			gomail.WithUsername(cfg.Username), gomail.WithPassword(cfg.Password))
	}
	if cfg.HELO != "" {
		opts = append(opts, gomail.WithHELO(cfg.HELO))
	}
	if _, err := gomail.NewClient(cfg.Host, opts...); err != nil {
		return nil, fmt.Errorf("SMTP client: %w", err)
	}
	from, _ := mail.ParseAddress(cfg.From)
	domain := from.Address[strings.LastIndexByte(from.Address, '@')+1:]
	return &SMTP{cfg: cfg, tls: tlsCfg, opts: opts, domain: domain, log: log}, nil
}

// Config is the configuration in use, defaults filled in.
func (s *SMTP) Config() SMTPConfig { return s.cfg }

// Send delivers m, within the configured timeout (or ctx's end, if
// sooner). It returns nil once the server has accepted the message, even
// if the conversation fails afterwards (see the package comment).
func (s *SMTP) Send(ctx context.Context, m *rooms.Mail) error {
	msg, err := s.message(m)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	// A go-mail Client keeps per-conversation state (the chosen AUTH
	// mechanism), so each Send has its own. Its connection is ours to
	// close: go-mail leaves it open when the greeting, STARTTLS or AUTH
	// fails.
	// go-mail heeds ctx only while dialing; closing the connection when
	// ctx ends cuts the conversation short too, so a stopping server does
	// not wait out a slow SMTP server's timeout.
	var conn net.Conn
	stopClosing := func() bool { return false }
	dial := func(dialCtx context.Context, network, addr string) (net.Conn, error) {
		var err error
		if s.cfg.TLS == ImplicitTLS {
			conn, err = (&tls.Dialer{Config: s.tls}).DialContext(dialCtx, network, addr)
		} else {
			conn, err = new(net.Dialer).DialContext(dialCtx, network, addr)
		}
		if err == nil {
			c := conn
			stopClosing = context.AfterFunc(ctx, func() { _ = c.Close() })
		}
		return conn, err
	}
	client, err := gomail.NewClient(s.cfg.Host, append(s.opts, gomail.WithDialContextFunc(dial))...)
	if err != nil {
		return fmt.Errorf("SMTP client: %w", err)
	}
	err = client.DialAndSendWithContext(ctx, msg)
	stopClosing()
	if conn != nil {
		_ = conn.Close() // already closed after a clean QUIT
	}
	if err != nil && msg.IsDelivered() {
		s.log.Warn("mail accepted by the SMTP server, which then failed; counted as sent", "id", m.ID, "err", err)
		return nil
	}
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
			err = fmt.Errorf("%w (%w)", err, ctxErr)
		}
		return fmt.Errorf("SMTP %s: %w", s.cfg, err)
	}
	return nil
}

// message builds the e-mail for m: plain UTF-8 text, the outbox ID as its
// Message-ID (the same on every attempt) and dated when it was queued.
func (s *SMTP) message(m *rooms.Mail) (*gomail.Msg, error) {
	msg := gomail.NewMsg()
	if err := msg.From(s.cfg.From); err != nil {
		return nil, fmt.Errorf("sender %q: %w", s.cfg.From, err)
	}
	if err := msg.To(m.To); err != nil {
		return nil, fmt.Errorf("recipient %q: %w", m.To, err)
	}
	msg.Subject(m.Subject)
	msg.SetMessageIDWithValue(m.ID + "@" + s.domain)
	msg.SetDateWithValue(m.CreatedAt)
	msg.SetGenHeader(gomail.Header("Auto-Submitted"), "auto-generated")
	msg.SetGenHeader(gomail.HeaderXAutoResponseSuppress, "All")
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	return msg, nil
}
