package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-dev/parley/api"
	"github.com/parley-dev/parley/client"
	"github.com/parley-dev/parley/internal/mailtest"
	"github.com/parley-dev/parley/mail"
	"github.com/parley-dev/parley/rooms"
)

// smtpConfig reaches the test SMTP server srv as user "parley".
func smtpConfig(srv *mailtest.Server) mail.SMTPConfig {
	return mail.SMTPConfig{
		Host:      "localhost",
		Port:      srv.Port(),
		TLS:       mail.StartTLS,
		Username:  "parley",
		Password:  "smtp secret",
		From:      "Parley <parley@example.org>",
		Timeout:   5 * time.Second,
		TLSConfig: &tls.Config{RootCAs: srv.RootCAs()},
	}
}

// runUntilClosed starts a Main that the test stops itself (startServer's
// Close at cleanup is for servers that run to the end).
func runUntilClosed(t *testing.T, cfg Config) *Main {
	t.Helper()
	cfg.Listen, cfg.UDPPort, cfg.TCPPort = "127.0.0.1:0", 0, 0
	m := NewMain(cfg, testLogger())
	if err := m.Run(context.Background()); err != nil {
		t.Fatalf("start server: %v", err)
	}
	return m
}

// queueMail puts an activation message with a link to m's public URL in
// m's outbox and tells the dispatcher.
func queueMail(t *testing.T, m *Main, to string) *rooms.Mail {
	t.Helper()
	text := "Hello,\n\nopen this link to activate the group Choir:\n\n" + m.URL() + "/activate/Zm9vYmFyYmF6cXV4cXV1eA\n"
	ml, err := rooms.NewMail("activation", to, "Activate your group Choir", text, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := m.DB().EnqueueMail(context.Background(), ml); err != nil {
		t.Fatal(err)
	}
	m.MailQueued()
	return ml
}

func waitMail(t *testing.T, m *Main, id, what string, cond func(*rooms.Mail) bool) *rooms.Mail {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ml, err := m.DB().Mail(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if cond(ml) {
			return ml
		}
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s: %+v", what, ml)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestMailSurvivesRestart queues a message while the SMTP server is down,
// stops parley, starts it again on the same data with the SMTP server
// back, and checks the message arrives, once, with its link.
func TestMailSurvivesRestart(t *testing.T) {
	smtp := mailtest.Start(t, mailtest.Options{Username: "parley", Password: "smtp secret"})
	smtp.Down()
	cfg := Config{DataDir: t.TempDir(), SMTP: smtpConfig(smtp)}

	first := runUntilClosed(t, cfg)
	queued := queueMail(t, first, "ada@example.org")
	failed := waitMail(t, first, queued.ID, "the failed attempt", func(m *rooms.Mail) bool { return m.Attempts == 1 })
	if failed.State != rooms.MailQueued || !strings.Contains(failed.LastError, "connection refused") {
		t.Fatalf("after the failed attempt: %+v", failed)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}

	smtp.Up()
	second := startServerConfig(t, cfg)
	msgs, err := smtp.Wait(1, 15*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	sent := waitMail(t, second, queued.ID, "the mark", func(m *rooms.Mail) bool { return m.State == rooms.MailSent })
	if sent.Attempts != 2 || sent.Text != "" {
		t.Errorf("sent record: %+v", sent)
	}
	got := msgs[0]
	if got.To[0] != "ada@example.org" || got.Subject() != "Activate your group Choir" || !got.TLS || got.User != "parley" {
		t.Errorf("arrived: to %v, subject %q, TLS %v, user %q", got.To, got.Subject(), got.TLS, got.User)
	}
	links := got.Links()
	if len(links) != 1 || !strings.HasPrefix(links[0], first.URL()+"/activate/") {
		t.Errorf("links in the message: %q", links)
	}
	// Once: no more sessions, no more messages.
	time.Sleep(200 * time.Millisecond)
	if n, s := len(smtp.Messages()), smtp.Sessions(); n != 1 || s != 1 {
		t.Errorf("%d messages in %d sessions, want 1 in 1", n, s)
	}
}

// TestOutboxCLI reads the outbox with parley outbox while the server runs
// (through the operator API) and after it stopped (from the file): the
// same messages, and the whole text of one with its link.
func TestOutboxCLI(t *testing.T) {
	dir := t.TempDir()
	m := runUntilClosed(t, Config{DataDir: dir}) // no SMTP: mail waits
	a := queueMail(t, m, "ada@example.org")
	b := queueMail(t, m, "grace@example.org")
	if err := m.DB().MarkMailRetry(context.Background(), b.ID, "451 4.3.0 greylisted\r\ntry later", time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	online := map[string]string{}
	for _, args := range [][]string{{"outbox"}, {"outbox", "show", a.ID}, {"outbox", "--state", "queued", "--json"}} {
		stdout, stderr, code := cliRun(t, append(args, "--data", dir)...)
		if code != exitOK {
			t.Fatalf("online %q: exit %d, %s", args, code, stderr)
		}
		online[strings.Join(args, " ")] = stdout
	}
	list := online["outbox"]
	for _, want := range []string{"No SMTP server is configured", a.ID, b.ID, "ada@example.org", "grace@example.org",
		"Activate your group Choir", "451 4.3.0 greylisted try later", "ATTEMPTS"} {
		if !strings.Contains(list, want) {
			t.Errorf("parley outbox lacks %q:\n%s", want, list)
		}
	}
	show := online["outbox show "+a.ID]
	if !strings.Contains(show, "To:       ada@example.org\n") || !strings.HasSuffix(show, "\n\n"+a.Text) {
		t.Errorf("parley outbox show:\n%s\nwant the headers, then the text:\n%s", show, a.Text)
	}
	var l api.OutboxList
	if err := json.Unmarshal([]byte(online["outbox --state queued --json"]), &l); err != nil || len(l.Mails) != 2 || l.SMTP != "" {
		t.Errorf("--json: %+v, %v", l, err)
	}

	// The page, as a browser signs in to it.
	tok := operatorToken(t, dir)
	page := func(path, user, password string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, m.LocalURL()+path, nil)
		if user != "" || password != "" {
			req.SetBasicAuth(user, password)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, body := page("/operator/outbox", "", ""); code != http.StatusUnauthorized || !strings.Contains(body, "operator token as the password") {
		t.Errorf("page without a password: %d\n%s", code, body)
	}
	if code, _ := page("/operator/outbox", "operator", "wrong"); code != http.StatusUnauthorized {
		t.Errorf("page with a wrong password: %d", code)
	}
	code, body := page("/operator/outbox/"+a.ID, "anyone", tok)
	if code != http.StatusOK || !strings.Contains(body, m.URL()+"/activate/Zm9vYmFyYmF6cXV4cXV1eA") || !strings.Contains(body, "No SMTP server is configured") {
		t.Errorf("message page: %d\n%s", code, body)
	}
	stdout, _, code := cliRun(t, "outbox", "page", "--data", dir)
	if code != exitOK || !strings.Contains(stdout, m.LocalURL()+"/operator/outbox") || !strings.Contains(stdout, tok) {
		t.Errorf("parley outbox page: %d\n%s", code, stdout)
	}

	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	for args, want := range online {
		stdout, stderr, code := cliRun(t, append(strings.Fields(args), "--data", dir)...)
		if code != exitOK {
			t.Fatalf("offline %q: exit %d, %s", args, code, stderr)
		}
		if args == "outbox" {
			// The first line says why nothing is sent; the table is the same.
			_, want, _ = strings.Cut(want, "\n")
			if !strings.HasPrefix(stdout, "No server is running") {
				t.Errorf("offline parley outbox begins %q", stdout)
			}
			_, stdout, _ = strings.Cut(stdout, "\n")
		}
		if stdout != want {
			t.Errorf("%q offline:\n%s\nonline:\n%s", args, stdout, want)
		}
	}
	_, stderr, code := cliRun(t, "outbox", "show", "m_nope", "--data", dir)
	if code != exitError || !strings.Contains(stderr, `there is no message "m_nope" in the outbox`) {
		t.Errorf("show of an unknown ID: %d %q", code, stderr)
	}
	_, stderr, code = cliRun(t, "outbox", "page", "--data", dir)
	if code != exitError || !strings.Contains(stderr, "no server is running") {
		t.Errorf("page without a server: %d %q", code, stderr)
	}
}

// TestSMTPFlags checks the SMTP flags and their PARLEY_* twins, the
// password file, and that a wrong setting is refused in plain words.
func TestSMTPFlags(t *testing.T) {
	pwFile := filepath.Join(t.TempDir(), "smtp-password")
	if err := os.WriteFile(pwFile, []byte("from the file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(vars map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	}
	none := env(nil)
	cfg, err := parseServeFlags(nil, &bytes.Buffer{}, none)
	if err != nil || cfg.SMTP.Configured() {
		t.Fatalf("no SMTP flags: %+v, %v", cfg.SMTP, err)
	}
	cfg, err = parseServeFlags([]string{"--smtp-host", "smtp.example.org", "--smtp-user", "parley", "--smtp-password-file", pwFile,
		"--mail-from", "Parley <parley@example.org>"}, &bytes.Buffer{}, none)
	if err != nil || cfg.SMTP.Host != "smtp.example.org" || cfg.SMTP.Port != 0 || cfg.SMTP.TLS != mail.StartTLS ||
		cfg.SMTP.Password != "from the file" || cfg.SMTP.String() != "smtp.example.org:587 (starttls)" {
		t.Errorf("flags: %+v, %v", cfg.SMTP, err)
	}
	var help bytes.Buffer
	vars := map[string]string{"PARLEY_SMTP_HOST": "mail.example.org", "PARLEY_SMTP_PORT": "2465", "PARLEY_SMTP_TLS": "tls",
		"PARLEY_SMTP_USER": "parley", "PARLEY_SMTP_PASSWORD": "env secret", "PARLEY_MAIL_FROM": "parley@example.org"}
	cfg, err = parseServeFlags(nil, &bytes.Buffer{}, env(vars))
	if err != nil || cfg.SMTP.Host != "mail.example.org" || cfg.SMTP.Port != 2465 || cfg.SMTP.TLS != mail.ImplicitTLS || cfg.SMTP.Password != "env secret" {
		t.Errorf("environment: %+v, %v", cfg.SMTP, err)
	}
	if _, err := parseServeFlags([]string{"-h"}, &help, env(vars)); !strings.Contains(help.String(), "PARLEY_SMTP_PASSWORD") || strings.Contains(help.String(), "env secret") {
		t.Errorf("help shows the password from the environment, or not its variable (%v):\n%s", err, help.String())
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--smtp-user", "parley"}, "--smtp-user is set but --smtp-host is not"},
		{[]string{"--smtp-host", "smtp.example.org"}, "--mail-from is required with --smtp-host"},
		{[]string{"--smtp-host", "smtp.example.org", "--mail-from", "x@example.org", "--smtp-tls", "none"}, "only to this machine"},
		{[]string{"--smtp-host", "smtp.example.org", "--mail-from", "x@example.org", "--smtp-tls", "ssl"}, `--smtp-tls: "ssl" is not starttls, opportunistic, tls or none`},
		{[]string{"--smtp-host", "smtp.example.org", "--mail-from", "x@example.org", "--smtp-port", "0"}, "--smtp-port"},
		{[]string{"--smtp-host", "smtp.example.org", "--mail-from", "x@example.org", "--smtp-password", "p"}, "--smtp-user is not"},
		{[]string{"--smtp-host", "smtp.example.org", "--mail-from", "x@example.org", "--smtp-user", "u", "--smtp-password", "p", "--smtp-password-file", pwFile}, "both set"},
		{[]string{"--smtp-host", "smtp.example.org", "--mail-from", "x@example.org", "--smtp-user", "u", "--smtp-password-file", pwFile + ".missing"}, "cannot read"},
		{[]string{"--smtp-host", "smtp.example.org", "--mail-from", "not an address"}, "is not an e-mail address"},
	} {
		if _, err := parseServeFlags(tt.args, &bytes.Buffer{}, none); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: %v; want %q", tt.args, err, tt.want)
		}
	}
	if _, err := parseServeFlags([]string{"--smtp-host", "localhost", "--smtp-tls", "none", "--mail-from", "x@example.org"}, &bytes.Buffer{}, none); err != nil {
		t.Errorf("plain SMTP to localhost: %v", err)
	}
}

// TestSignUpMailSurvivesRestart is issue #12's "mail survives": a group
// signs up while the SMTP server is down, parley is restarted, the SMTP
// server comes back, and the activation mail arrives once; its link
// activates the group, whose members then receive their credentials by
// mail and register a client with them.
func TestSignUpMailSurvivesRestart(t *testing.T) {
	smtp := mailtest.Start(t, mailtest.Options{Username: "parley", Password: "smtp secret"})
	smtp.Down()
	cfg := Config{DataDir: t.TempDir(), SMTP: smtpConfig(smtp)}

	first := runUntilClosed(t, cfg)
	newWebUser(t, first).call("POST", "/api/v1/signup", map[string]any{
		"adminName": "Ada", "adminEmail": "ada@example.org", "groupName": "Choir",
		"password": "hunter2", "pin": "2468", "members": []string{"alice@example.org", "bob@example.org"},
	}, 201, nil)
	ms, err := first.DB().MailsTo(context.Background(), "ada@example.org")
	if err != nil || len(ms) != 1 {
		t.Fatalf("activation mails queued: %v, %v", ms, err)
	}
	waitMail(t, first, ms[0].ID, "the failed attempt", func(m *rooms.Mail) bool { return m.Attempts >= 1 })
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}

	smtp.Up()
	second := startServerConfig(t, cfg)
	msgs, err := smtp.Wait(1, 15*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	activation := msgs[0]
	if activation.To[0] != "ada@example.org" {
		t.Fatalf("first message to %v", activation.To)
	}
	match := activateRE.FindStringSubmatch(activation.Text)
	// Made by the first server: under its URL (a test's port changes).
	if match == nil || !strings.Contains(activation.Text, first.URL()+"/activate/") {
		t.Fatalf("no activation link under %s in:\n%s", first.URL(), activation.Text)
	}
	newWebUser(t, second).call("POST", "/api/v1/activate", map[string]string{"token": match[1]}, 200, nil)

	// The members' credentials go out at once: the activation's
	// transaction tells the dispatcher when it commits, well before its
	// next poll (mailPoll).
	msgs, err = smtp.Wait(3, mailPoll/5)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for _, got := range msgs[1:] {
		addr, secret := addressRE.FindStringSubmatch(got.Text), secretRE.FindStringSubmatch(got.Text)
		if addr == nil || secret == nil {
			t.Fatalf("credentials mail to %v without an address and secret:\n%s", got.To, got.Text)
		}
		if _, err := client.Register(ctx, nil, second.LocalURL(), addr[1], secret[1]); err != nil {
			t.Errorf("register %s with the mailed credentials: %v", addr[1], err)
		}
	}
	time.Sleep(200 * time.Millisecond)
	toAda := 0
	for _, got := range smtp.Messages() {
		if got.To[0] == "ada@example.org" {
			toAda++
		}
	}
	if toAda != 1 || len(smtp.Messages()) != 3 {
		t.Errorf("%d activation mails and %d in all; want 1 and 3", toAda, len(smtp.Messages()))
	}
}
