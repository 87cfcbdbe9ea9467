// Package sms sends parley's text messages: invitations to a call sent to a
// UK mobile number. ParseUKMobile validates and normalises a number to
// E.164 (github.com/nyaruka/phonenumbers); Gateway POSTs one message to a
// configurable HTTPS SMS gateway (URL, auth header, body template); a
// Dispatcher takes queued messages (rooms.TextMessage) from the store's
// SMS outbox as they fall due, sends them and records each outcome: sent,
// or a retry after an exponential backoff with jitter. A message is
// retried until the gateway accepts it, never dropped, and its state lives
// in the store, so a restart loses nothing. With no gateway configured no
// Dispatcher runs, and messages stay queued for the operator (parley
// outbox sms).
//
// Delivery is at least once: a message is marked sent right after the
// gateway's 2xx; if parley stops between the two, it is sent again after
// the restart, with the same ID ({{.ID}} in the body template), by which a
// gateway that takes a client reference can tell the copies apart.
package sms

import (
	"context"

	"github.com/parley-dev/parley/delivery"
	"github.com/parley-dev/parley/rooms"
)

// Sender delivers one message. Gateway implements it.
type Sender interface {
	// Send returns nil once the gateway has accepted m.
	Send(ctx context.Context, m *rooms.TextMessage) error
}

// Clock is the Dispatcher's time source: SystemClock in production, a
// fake clock (such as livecall/fakeclock's, whose AfterFunc result has
// the same Stop method) in tests. It is package delivery's.
type Clock = delivery.Clock

// Timer is a pending AfterFunc.
type Timer = delivery.Timer

// SystemClock is the real clock (package time).
type SystemClock = delivery.SystemClock
