package mail_test

import (
	"context"
	"crypto/tls"
	"net/mail"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/parley-dev/parley/internal/mailtest"
	parleymail "github.com/parley-dev/parley/mail"
	"github.com/parley-dev/parley/rooms"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var epoch = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

const activationText = "Hello Ada,\n\nopen this link within 48 hours to activate the group Chor Zürich:\n\nhttps://meet.example.org/activate/Zm9vYmFyYmF6cXV4cXV1eA\n\nIf you did not sign up, ignore this message.\n"

func activationMail(t *testing.T, to string) *rooms.Mail {
	t.Helper()
	m, err := rooms.NewMail("activation", to, "Activate your group „Chor Zürich“", activationText, epoch)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// smtpFor is the configuration that reaches srv as user/password (if any),
// trusting its certificate.
func smtpFor(srv *mailtest.Server, mode parleymail.TLSMode, user, password string) parleymail.SMTPConfig {
	return parleymail.SMTPConfig{
		Host:      "localhost",
		Port:      srv.Port(),
		TLS:       mode,
		Username:  user,
		Password:  password,
		From:      "Parley <parley@example.org>",
		Timeout:   5 * time.Second,
		TLSConfig: &tls.Config{RootCAs: srv.RootCAs()},
		HELO:      "parley.test",
	}
}

func newSMTP(t *testing.T, cfg parleymail.SMTPConfig) *parleymail.SMTP {
	t.Helper()
	s, err := parleymail.NewSMTP(cfg, nil)
	if err != nil {
		t.Fatalf("NewSMTP: %v", err)
	}
	return s
}

// TestSMTPDelivers sends a message through each TLS mode to a real SMTP
// server and reads what arrived: envelope, headers, text and its link.
func TestSMTPDelivers(t *testing.T) {
	tests := []struct {
		name    string
		opts    mailtest.Options
		mode    parleymail.TLSMode
		wantTLS bool
	}{
		{"STARTTLS with AUTH PLAIN", mailtest.Options{Username: "parley", Password: "s3cret pass"}, parleymail.StartTLS, true},
		{"implicit TLS with AUTH PLAIN", mailtest.Options{Username: "parley", Password: "s3cret pass", ImplicitTLS: true}, parleymail.ImplicitTLS, true},
		{"opportunistic, offered STARTTLS", mailtest.Options{Username: "parley", Password: "s3cret pass"}, parleymail.Opportunistic, true},
		{"no TLS to localhost", mailtest.Options{Username: "parley", Password: "s3cret pass", NoTLS: true}, parleymail.NoTLS, false},
		{"STARTTLS without AUTH", mailtest.Options{}, parleymail.StartTLS, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := mailtest.Start(t, tt.opts)
			s := newSMTP(t, smtpFor(srv, tt.mode, tt.opts.Username, tt.opts.Password))
			m := activationMail(t, "Ada.Lovelace@Example.ORG")
			if err := s.Send(context.Background(), m); err != nil {
				t.Fatalf("Send: %v", err)
			}
			msgs := srv.Messages()
			if len(msgs) != 1 {
				t.Fatalf("%d messages arrived, want 1", len(msgs))
			}
			got := msgs[0]
			if got.From != "parley@example.org" || !slices.Equal(got.To, []string{"Ada.Lovelace@example.org"}) {
				t.Errorf("envelope from %q to %q", got.From, got.To)
			}
			if got.TLS != tt.wantTLS || got.User != tt.opts.Username {
				t.Errorf("session TLS %v, user %q; want %v, %q", got.TLS, got.User, tt.wantTLS, tt.opts.Username)
			}
			from, err := mail.ParseAddress(got.Header.Get("From"))
			if err != nil || from.Address != "parley@example.org" || from.Name != "Parley" {
				t.Errorf("From: %q (%v)", got.Header.Get("From"), err)
			}
			if to := got.Header.Get("To"); !strings.Contains(to, "Ada.Lovelace@example.org") {
				t.Errorf("To: %q", to)
			}
			if subj := got.Subject(); subj != m.Subject {
				t.Errorf("Subject %q, want %q", subj, m.Subject)
			}
			if id := got.Header.Get("Message-ID"); id != "<"+m.ID+"@example.org>" {
				t.Errorf("Message-ID %q, want <%s@example.org>", id, m.ID)
			}
			if date, err := got.Header.Date(); err != nil || !date.Equal(epoch) {
				t.Errorf("Date %q (%v), want %v", got.Header.Get("Date"), err, epoch)
			}
			if got.Header.Get("Auto-Submitted") != "auto-generated" {
				t.Errorf("Auto-Submitted %q", got.Header.Get("Auto-Submitted"))
			}
			if ct := got.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") || !strings.Contains(strings.ToLower(ct), "utf-8") {
				t.Errorf("Content-Type %q, want plain UTF-8 text", ct)
			}
			if got.Text != activationText {
				t.Errorf("text\n%q\nwant\n%q", got.Text, activationText)
			}
			if links := got.Links(); !slices.Equal(links, []string{"https://meet.example.org/activate/Zm9vYmFyYmF6cXV4cXV1eA"}) {
				t.Errorf("links %q", links)
			}
		})
	}
}

// TestSMTPRefuses checks that what must not be sent is not: a wrong
// password, a server without the STARTTLS that was required (the password
// never leaves in plain text), a certificate parley does not trust, and a
// server that refuses the message.
func TestSMTPRefuses(t *testing.T) {
	auth := mailtest.Options{Username: "parley", Password: "right"}
	tests := []struct {
		name    string
		opts    mailtest.Options
		cfg     func(*mailtest.Server) parleymail.SMTPConfig
		wantErr string
	}{
		{"wrong password", auth, func(s *mailtest.Server) parleymail.SMTPConfig {
			return smtpFor(s, parleymail.StartTLS, "parley", "wrong")
		}, "535"},
		{"STARTTLS required, not offered", mailtest.Options{Username: "parley", Password: "right", NoTLS: true}, func(s *mailtest.Server) parleymail.SMTPConfig {
			return smtpFor(s, parleymail.StartTLS, "parley", "right")
		}, "STARTTLS"},
		{"untrusted certificate", auth, func(s *mailtest.Server) parleymail.SMTPConfig {
			c := smtpFor(s, parleymail.StartTLS, "parley", "right")
			c.TLSConfig = nil
			return c
		}, "certificate"},
		{"implicit TLS to a STARTTLS port", auth, func(s *mailtest.Server) parleymail.SMTPConfig {
			return smtpFor(s, parleymail.ImplicitTLS, "parley", "right")
		}, "SMTP localhost:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := mailtest.Start(t, tt.opts)
			err := newSMTP(t, tt.cfg(srv)).Send(context.Background(), activationMail(t, "ada@example.org"))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Send: %v; want an error mentioning %q", err, tt.wantErr)
			}
			if n := len(srv.Messages()); n != 0 {
				t.Errorf("%d messages arrived", n)
			}
			if tt.name == "STARTTLS required, not offered" && (srv.Sessions() != 0 || srv.AuthFailures() != 0) {
				t.Errorf("the client went on without TLS: %d sessions, %d AUTH attempts", srv.Sessions(), srv.AuthFailures())
			}
		})
	}
	t.Run("server refuses", func(t *testing.T) {
		srv := mailtest.Start(t, auth)
		srv.Refuse(451, "greylisted, try again later")
		err := newSMTP(t, smtpFor(srv, parleymail.StartTLS, "parley", "right")).Send(context.Background(), activationMail(t, "ada@example.org"))
		if err == nil || !strings.Contains(err.Error(), "451") || !strings.Contains(err.Error(), "greylisted") {
			t.Errorf("Send: %v; want the server's 451", err)
		}
	})
}

func TestSMTPConfigErrors(t *testing.T) {
	base := parleymail.SMTPConfig{Host: "smtp.example.org", From: "parley@example.org"}
	tests := []struct {
		name    string
		change  func(*parleymail.SMTPConfig)
		wantErr string
	}{
		{"no host", func(c *parleymail.SMTPConfig) { c.Host = " " }, "no SMTP host"},
		{"plain text to another host", func(c *parleymail.SMTPConfig) { c.TLS = parleymail.NoTLS }, "only to this machine"},
		{"no sender", func(c *parleymail.SMTPConfig) { c.From = "" }, "no sender address"},
		{"bad sender", func(c *parleymail.SMTPConfig) { c.From = "parley at example" }, "is not an e-mail address"},
		{"password without user", func(c *parleymail.SMTPConfig) { c.Password = "x" }, "without a user name"},
		{"port out of range", func(c *parleymail.SMTPConfig) { c.Port = 70000 }, "out of range"},
		{"unknown TLS mode", func(c *parleymail.SMTPConfig) { c.TLS = "ssl" }, `"ssl" is not starttls, opportunistic, tls or none`},
	}
	for _, tt := range tests {
		cfg := base
		tt.change(&cfg)
		if _, err := parleymail.NewSMTP(cfg, nil); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: %v; want %q", tt.name, err, tt.wantErr)
		}
	}
	for _, host := range []string{"localhost", "127.0.0.1", "::1", "[::1]", "LOCALHOST"} {
		cfg := base
		cfg.Host, cfg.TLS = host, parleymail.NoTLS
		if _, err := parleymail.NewSMTP(cfg, nil); err != nil {
			t.Errorf("no TLS to %s: %v", host, err)
		}
	}
	s := newSMTP(t, base)
	if c := s.Config(); c.Port != 587 || c.TLS != parleymail.StartTLS || c.Timeout != parleymail.DefaultTimeout {
		t.Errorf("defaults: %+v", c)
	}
	cfg := base
	cfg.TLS = parleymail.ImplicitTLS
	if c := newSMTP(t, cfg).Config(); c.Port != 465 || c.String() != "smtp.example.org:465 (tls)" {
		t.Errorf("implicit TLS default port: %+v, %s", c, c)
	}
}

// TestSMTPAcceptedThenCut checks a message the server accepted counts as
// sent even when the connection breaks before the client's RSET and QUIT:
// a retry would deliver it twice.
func TestSMTPAcceptedThenCut(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{Username: "parley", Password: "pw"})
	srv.CutAfterAccept(true)
	if err := newSMTP(t, smtpFor(srv, parleymail.StartTLS, "parley", "pw")).Send(context.Background(), activationMail(t, "ada@example.org")); err != nil {
		t.Errorf("Send: %v; want success, the server having accepted the message", err)
	}
	if n := len(srv.Messages()); n != 1 {
		t.Errorf("%d messages arrived, want 1", n)
	}
}
