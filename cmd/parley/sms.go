package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/parley-dev/parley/api"
	"github.com/parley-dev/parley/delivery"
	"github.com/parley-dev/parley/rooms"
	"github.com/parley-dev/parley/sms"
)

// SMSConfig is how parley serve sends text messages (invitations by SMS).
type SMSConfig struct {
	// Gateway is the SMS gateway; with no URL, none: text messages stay
	// in the SMS outbox (parley outbox sms).
	Gateway sms.GatewayConfig
	// StatusSecret authenticates the gateway's delivery reports (POST
	// /api/v1/sms/status); "" turns them off.
	StatusSecret string
	// Clock is the dispatcher's clock; nil: the real one.
	Clock sms.Clock
}

// smsDispatch is the running SMS dispatcher of a Main.
type smsDispatch struct {
	// Set at construction.
	d      *sms.Dispatcher
	name   string // the gateway, for logs and the outbox
	cancel context.CancelFunc
	done   chan struct{} // closed when the dispatcher's Run returns
}

// startSMS starts delivering the SMS outbox through the configured
// gateway; with none, it logs where text messages wait and returns nil.
func (m *Main) startSMS() (*smsDispatch, error) {
	if m.cfg.SMS.Gateway.URL == "" {
		queued, err := m.db.Texts(context.Background(), rooms.TextFilter{State: rooms.TextQueued})
		if err != nil {
			return nil, fmt.Errorf("read the SMS outbox: %w", err)
		}
		m.log.Info("no SMS gateway configured (--sms-url): text messages wait in the outbox; parley outbox sms lists them", "queued", len(queued))
		return nil, nil
	}
	log := m.log.With("component", "sms")
	g, err := sms.NewGateway(m.cfg.SMS.Gateway)
	if err != nil {
		return nil, fmt.Errorf("text messages: %w", err)
	}
	d, err := sms.NewDispatcher(sms.DispatcherConfig{Outbox: m.db, Sender: g,
		Options: delivery.Options{Clock: m.cfg.SMS.Clock, Poll: mailPoll, Logger: log}})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	sd := &smsDispatch{d: d, name: g.String(), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(sd.done)
		_ = d.Run(ctx) // ends with ctx, in stop
	}()
	log.Info("sending text messages", "gateway", sd.name)
	return sd, nil
}

// stop ends the dispatcher and waits for it. A nil smsDispatch does nothing.
func (sd *smsDispatch) stop() {
	if sd == nil {
		return
	}
	sd.cancel()
	<-sd.done
}

// gatewayName names the gateway for the operator, "" for none.
func (sd *smsDispatch) gatewayName() string {
	if sd == nil {
		return ""
	}
	return sd.name
}

// TextQueued tells the SMS dispatcher a text message was queued, so it
// goes out now. Without a gateway it does nothing.
func (m *Main) TextQueued() {
	if m.sms != nil {
		m.sms.d.Notify()
	}
}

// parseSMS builds the SMS configuration from parley serve's flags; the
// gateway is checked (URL, header, template) so a mistake stops the
// server at start, not at the first invitation.
func parseSMS(url, authHeader, bodyTemplate, statusSecret string) (SMSConfig, error) {
	url = strings.TrimSpace(url)
	cfg := SMSConfig{StatusSecret: statusSecret}
	if url == "" {
		if authHeader != "" || bodyTemplate != "" {
			return SMSConfig{}, errors.New("--sms-auth-header or --sms-body-template is set but --sms-url is not: give the gateway with --sms-url, or drop them to keep text messages in the outbox")
		}
		return cfg, nil
	}
	cfg.Gateway = sms.GatewayConfig{URL: url, AuthHeader: authHeader, BodyTemplate: bodyTemplate}
	if _, err := sms.NewGateway(cfg.Gateway); err != nil {
		return SMSConfig{}, fmt.Errorf("--sms-url: %w", err)
	}
	if statusSecret != "" && len(statusSecret) < 16 {
		return SMSConfig{}, errors.New("--sms-status-secret is too short: use at least 16 random characters")
	}
	return cfg, nil
}

// parseInvitationFlags reads the invitation limits.
func parseInvitationFlags(perMember, perRoom string) (api.InvitationConfig, error) {
	var ic api.InvitationConfig
	for _, f := range []struct {
		name, val string
		dst       *int
	}{{"invitations-per-member", perMember, &ic.Limits.PerMember}, {"invitations-per-room", perRoom, &ic.Limits.PerRoom}} {
		n, err := strconv.Atoi(strings.TrimSpace(f.val))
		if err != nil || n < 1 {
			return ic, fmt.Errorf("--%s %q: want a whole number of at least 1", f.name, f.val)
		}
		*f.dst = n
	}
	ic.Limits.Window = time.Hour
	return ic, nil
}
