package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/parley-dev/parley/delivery"
	"github.com/parley-dev/parley/mail"
	"github.com/parley-dev/parley/rooms"
)

// mailPoll is how often the dispatcher looks for mail it was not told of.
const mailPoll = 5 * time.Second

// mailDispatch is the running mail dispatcher of a Main.
type mailDispatch struct {
	// Set at construction.
	d      *mail.Dispatcher
	cancel context.CancelFunc
	done   chan struct{} // closed when the dispatcher's Run returns
}

// startMail starts delivering the outbox through the configured SMTP
// server; with none, it logs where the mail waits and returns nil.
func (m *Main) startMail() (*mailDispatch, error) {
	if !m.cfg.SMTP.Configured() {
		queued, err := m.db.Mails(context.Background(), rooms.MailFilter{State: rooms.MailQueued})
		if err != nil {
			return nil, fmt.Errorf("read the outbox: %w", err)
		}
		m.log.Info("no SMTP server configured (--smtp-host): outgoing mail waits in the outbox; parley outbox lists it", "queued", len(queued))
		return nil, nil
	}
	log := m.log.With("component", "mail")
	sender, err := mail.NewSMTP(m.cfg.SMTP, log)
	if err != nil {
		return nil, fmt.Errorf("outgoing mail: %w", err)
	}
	// Every transaction that queues mail tells the dispatcher once it has
	// committed (store.Options.OnMailQueued -> MailQueued); the poll is a
	// safety net, one cheap read of the outbox's due index.
	d, err := mail.NewDispatcher(mail.DispatcherConfig{Outbox: m.db, Sender: sender,
		Options: delivery.Options{Clock: m.cfg.MailClock, Poll: mailPoll, Logger: log}})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	md := &mailDispatch{d: d, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(md.done)
		_ = d.Run(ctx) // ends with ctx, in stop
	}()
	log.Info("sending mail", "smtp", sender.Config().String(), "from", sender.Config().From)
	return md, nil
}

// stop ends the dispatcher and waits for it (a send in progress is given
// up, its message left queued). A nil mailDispatch does nothing.
func (md *mailDispatch) stop() {
	if md == nil {
		return
	}
	md.cancel()
	<-md.done
}

// MailQueued tells the mail dispatcher that a message was put in the
// outbox, so it goes out now rather than at the dispatcher's next look
// (within mailPoll). Without SMTP it does nothing.
func (m *Main) MailQueued() {
	if m.mail != nil {
		m.mail.d.Notify()
	}
}

// parseSMTP builds the SMTP configuration from parley serve's flags.
func parseSMTP(host, port, tlsMode, user, password, passwordFile, from string) (mail.SMTPConfig, error) {
	host = strings.TrimSpace(host)
	if host == "" {
		for _, f := range []struct{ name, value string }{
			{"--smtp-port", port}, {"--smtp-user", user}, {"--smtp-password", password},
			{"--smtp-password-file", passwordFile}, {"--mail-from", from},
		} {
			if strings.TrimSpace(f.value) != "" {
				return mail.SMTPConfig{}, fmt.Errorf("%s is set but --smtp-host is not: give the SMTP server with --smtp-host, or drop the SMTP settings to keep mail in the outbox", f.name)
			}
		}
		if _, err := mail.ParseTLSMode(tlsMode); err != nil {
			return mail.SMTPConfig{}, fmt.Errorf("--smtp-tls: %w", err)
		}
		return mail.SMTPConfig{}, nil
	}
	cfg := mail.SMTPConfig{Host: host, Username: user, Password: password, From: strings.TrimSpace(from)}
	var err error
	if cfg.TLS, err = mail.ParseTLSMode(tlsMode); err != nil {
		return mail.SMTPConfig{}, fmt.Errorf("--smtp-tls: %w", err)
	}
	if strings.TrimSpace(port) != "" {
		if cfg.Port, err = parsePort(port, false); err != nil || cfg.Port == 0 {
			return mail.SMTPConfig{}, fmt.Errorf("--smtp-port: %q is not a port number 1-65535", port)
		}
	}
	if passwordFile != "" {
		if password != "" {
			return mail.SMTPConfig{}, errors.New("--smtp-password and --smtp-password-file are both set: give one")
		}
		data, err := os.ReadFile(passwordFile)
		if err != nil {
			return mail.SMTPConfig{}, fmt.Errorf("--smtp-password-file: cannot read %s: %w", passwordFile, errors.Unwrap(err))
		}
		cfg.Password = strings.TrimRight(string(data), "\r\n")
	}
	if cfg.Password != "" && cfg.Username == "" {
		return mail.SMTPConfig{}, errors.New("an SMTP password is set but --smtp-user is not")
	}
	if cfg.From == "" {
		return mail.SMTPConfig{}, errors.New("--mail-from is required with --smtp-host: the address parley's mail comes from, e.g. parley@example.org")
	}
	if _, err := mail.NewSMTP(cfg, nil); err != nil {
		return mail.SMTPConfig{}, fmt.Errorf("outgoing mail: %w", err)
	}
	return cfg, nil
}

// smtpName names the SMTP server for the operator's outbox, "" for none.
func smtpName(c mail.SMTPConfig) string {
	if !c.Configured() {
		return ""
	}
	return c.String()
}
