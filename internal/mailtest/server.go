// Package mailtest runs a real SMTP server (github.com/emersion/go-smtp)
// inside a test, for tests that deliver parley's mail and read what
// arrived: STARTTLS (or implicit TLS) with a fresh self-signed certificate
// for localhost, AUTH PLAIN with one user, and every accepted message kept
// with its envelope, headers and decoded text. It can be taken down and
// brought back on the same port, or made to refuse messages for a while,
// as a real server in trouble does.
//
// It is test-only: deps_test.go fails if a non-test package imports it.
package mailtest

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Options configures Start. The zero value is a STARTTLS server without
// authentication.
type Options struct {
	// Username and Password, if set, are the one account AUTH PLAIN
	// accepts; a server with them refuses mail from a client that has not
	// authenticated.
	Username, Password string
	// ImplicitTLS serves TLS from the first byte (port 465 style) instead
	// of offering STARTTLS.
	ImplicitTLS bool
	// NoTLS offers no TLS at all (and allows AUTH without it).
	NoTLS bool
}

// Server is a running test SMTP server.
type Server struct {
	// Set at construction.
	t      testing.TB
	opts   Options
	srv    *smtp.Server
	addr   string
	host   string
	port   int
	roots  *x509.CertPool
	tlsCfg *tls.Config

	mu        sync.Mutex // guards the fields below
	ln        net.Listener
	done      chan struct{} // closed when the current Serve returns
	msgs      []Message
	arrived   chan struct{} // closed and replaced on each new message
	refuse    *smtp.SMTPError
	stall     chan struct{} // while non-nil, MAIL FROM waits until it is closed
	cut       bool          // drop the connection right after accepting a message
	sessions  int           // connections that reached MAIL FROM
	authFails int
}

// Message is one message the server accepted.
type Message struct {
	From   string   // envelope sender
	To     []string // envelope recipients
	User   string   // who authenticated, "" if no one
	TLS    bool     // whether the session was encrypted
	Raw    []byte   // the message as received
	Header mail.Header
	// Text is the body decoded from its transfer encoding (quoted-printable
	// or base64), as a person's mail client shows it.
	Text string
}

// Start starts a server on 127.0.0.1 on a free port; it stops when the
// test ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	cert, roots := selfSigned(t)
	s := &Server{t: t, opts: opts, roots: roots, arrived: make(chan struct{})}
	s.tlsCfg = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	s.srv = smtp.NewServer(smtp.BackendFunc(s.newSession))
	s.srv.Domain = "localhost"
	s.srv.ReadTimeout = 10 * time.Second
	s.srv.WriteTimeout = 10 * time.Second
	s.srv.MaxMessageBytes = 1 << 20
	s.srv.MaxRecipients = 10
	s.srv.ErrorLog = &testLogger{t: t}
	switch {
	case opts.NoTLS:
		s.srv.AllowInsecureAuth = true
	case !opts.ImplicitTLS:
		s.srv.TLSConfig = s.tlsCfg
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("mailtest: listen: %v", err)
	}
	s.addr = ln.Addr().String()
	host, port, _ := net.SplitHostPort(s.addr)
	s.host = host
	s.port, _ = strconv.Atoi(port)
	s.serve(ln)
	t.Cleanup(s.shutdown)
	return s
}

// Host is the server's address ("127.0.0.1"); Port its port.
func (s *Server) Host() string { return s.host }

// Port is the server's port, the same after Down and Up.
func (s *Server) Port() int { return s.port }

// RootCAs holds the server's certificate, for a client that verifies it
// (as the name "localhost" or the address 127.0.0.1).
func (s *Server) RootCAs() *x509.CertPool { return s.roots }

// Down stops accepting connections and closes those open: a client then
// meets "connection refused". Messages received so far are kept.
func (s *Server) Down() {
	s.mu.Lock()
	ln, done := s.ln, s.done
	s.ln = nil
	s.mu.Unlock()
	if ln == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	// Shutdown closes the listener and waits for open sessions; Close then
	// cuts any that hang on. Either leaves the server unusable, so Up
	// builds a fresh one over the same backend.
	if err := s.srv.Shutdown(ctx); err != nil {
		_ = s.srv.Close()
	}
	// Serve may not have registered ln with the server yet.
	_ = ln.Close()
	<-done
	s.srv = s.cloneServer()
}

// Up listens again on the same port after Down.
func (s *Server) Up() {
	s.t.Helper()
	var ln net.Listener
	var err error
	for range 50 { // the port was just freed; another test may hold it briefly
		if ln, err = net.Listen("tcp", s.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		s.t.Fatalf("mailtest: listen again on %s: %v", s.addr, err)
	}
	s.serve(ln)
}

// Refuse makes the server answer every MAIL FROM with code and text (say
// 451, "try again later") until Accept; Refuse(0, "") is Accept.
func (s *Server) Refuse(code int, text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if code == 0 {
		s.refuse = nil
		return
	}
	s.refuse = &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCodeNotSet, Message: text}
}

// Stall makes the server hang on MAIL FROM, as an overloaded server does,
// until Unstall (or the test's end).
func (s *Server) Stall() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stall == nil {
		s.stall = make(chan struct{})
	}
}

// Unstall lets stalled and later sessions go on.
func (s *Server) Unstall() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stall != nil {
		close(s.stall)
		s.stall = nil
	}
}

// CutAfterAccept makes the server drop each connection right after its
// final OK to a message (before the client's RSET or QUIT), as a server
// that crashes at the worst moment does; CutAfterAccept(false) stops it.
func (s *Server) CutAfterAccept(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cut = on
}

// Accept undoes Refuse.
func (s *Server) Accept() { s.Refuse(0, "") }

// Messages returns the messages accepted so far, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Sessions is how many sessions got as far as MAIL FROM (refused or not).
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions
}

// AuthFailures is how many AUTH attempts the server refused.
func (s *Server) AuthFailures() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.authFails
}

// Wait returns the messages once at least n have arrived, or an error
// after timeout.
func (s *Server) Wait(n int, timeout time.Duration) ([]Message, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		msgs, arrived := append([]Message(nil), s.msgs...), s.arrived
		s.mu.Unlock()
		if len(msgs) >= n {
			return msgs, nil
		}
		select {
		case <-arrived:
		case <-deadline.C:
			return msgs, fmt.Errorf("mailtest: %d of %d messages arrived in %s", len(msgs), n, timeout)
		}
	}
}

func (s *Server) serve(ln net.Listener) {
	if s.opts.ImplicitTLS {
		ln = tls.NewListener(ln, s.tlsCfg)
	}
	done := make(chan struct{})
	s.mu.Lock()
	s.ln, s.done = ln, done
	srv := s.srv
	s.mu.Unlock()
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, smtp.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			s.t.Errorf("mailtest: serve: %v", err)
		}
	}()
}

func (s *Server) shutdown() {
	s.Unstall()
	s.Down()
	s.srv.ErrorLog.(*testLogger).stop()
}

// cloneServer is a fresh smtp.Server configured as s.srv.
func (s *Server) cloneServer() *smtp.Server {
	old := s.srv
	srv := smtp.NewServer(old.Backend)
	srv.Domain, srv.ReadTimeout, srv.WriteTimeout = old.Domain, old.ReadTimeout, old.WriteTimeout
	srv.MaxMessageBytes, srv.MaxRecipients, srv.ErrorLog = old.MaxMessageBytes, old.MaxRecipients, old.ErrorLog
	srv.AllowInsecureAuth, srv.TLSConfig = old.AllowInsecureAuth, old.TLSConfig
	return srv
}

func (s *Server) newSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{s: s, conn: c}, nil
}

// session is one SMTP session; go-smtp calls it from one goroutine.
type session struct {
	s    *Server
	conn *smtp.Conn
	user string
	// accepted is set when Data took a message, for Reset (which go-smtp
	// calls after the reply to DATA is written).
	accepted bool
	from     string
	to       []string
}

var _ smtp.AuthSession = (*session)(nil)

func (ss *session) AuthMechanisms() []string {
	if ss.s.opts.Username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != ss.s.opts.Username || password != ss.s.opts.Password || (identity != "" && identity != username) {
			ss.s.mu.Lock()
			ss.s.authFails++
			ss.s.mu.Unlock()
			return smtp.ErrAuthFailed
		}
		ss.user = username
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	ss.s.mu.Lock()
	ss.s.sessions++
	refuse, stall := ss.s.refuse, ss.s.stall
	ss.s.mu.Unlock()
	if stall != nil {
		<-stall
	}
	switch {
	case ss.s.opts.Username != "" && ss.user == "":
		return smtp.ErrAuthRequired
	case refuse != nil:
		return refuse
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, isTLS := ss.conn.TLSConnectionState()
	msg := Message{From: ss.from, To: ss.to, User: ss.user, TLS: isTLS, Raw: raw}
	parsed, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "unparseable message: " + err.Error()}
	}
	msg.Header = parsed.Header
	if msg.Text, err = decodeBody(parsed); err != nil {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: err.Error()}
	}
	ss.s.mu.Lock()
	ss.s.msgs = append(ss.s.msgs, msg)
	close(ss.s.arrived)
	ss.s.arrived = make(chan struct{})
	ss.s.mu.Unlock()
	ss.accepted = true
	return nil
}

func (ss *session) Reset() {
	ss.s.mu.Lock()
	cut := ss.s.cut
	ss.s.mu.Unlock()
	if cut && ss.accepted {
		_ = ss.conn.Conn().Close() // not ss.conn.Close: go-smtp holds its lock here
	}
	ss.from, ss.to, ss.accepted = "", nil, false
}

func (ss *session) Logout() error { return nil }

// decodeBody reads a single-part body, undoing its transfer encoding.
func decodeBody(m *mail.Message) (string, error) {
	var r io.Reader = m.Body
	switch strings.ToLower(m.Header.Get("Content-Transfer-Encoding")) {
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	case "base64":
		return "", errors.New("mailtest: base64 bodies are not decoded")
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return "", fmt.Errorf("mailtest: decode body: %w", err)
	}
	return strings.ReplaceAll(string(b), "\r\n", "\n"), nil
}

// Subject is the decoded Subject header.
func (m Message) Subject() string {
	s, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		return m.Header.Get("Subject")
	}
	return s
}

var linkRE = regexp.MustCompile(`https?://[^\s<>"]+`)

// Links returns the http(s) URLs in the text, in order.
func (m Message) Links() []string { return linkRE.FindAllString(m.Text, -1) }

// selfSigned makes a certificate for localhost and 127.0.0.1, valid for a
// day, and a pool that trusts it.
func selfSigned(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// testLogger sends go-smtp's own log lines to the test log, until the
// test's cleanup stops it: a session cut off by Down may still log its
// end after that, when the test has finished.
type testLogger struct {
	t       testing.TB
	mu      sync.Mutex
	stopped bool
}

func (l *testLogger) Printf(format string, v ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.stopped {
		l.t.Logf("mailtest: "+format, v...)
	}
}

func (l *testLogger) Println(v ...any) { l.Printf("%s", fmt.Sprintln(v...)) }

func (l *testLogger) stop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stopped = true
}
