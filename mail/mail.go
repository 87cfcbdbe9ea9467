// Package mail delivers parley's outgoing e-mail: the messages (rooms.Mail)
// that changes to groups and endpoints leave in the store's outbox. SMTP
// sends one message through an SMTP server (github.com/wneessen/go-mail);
// a Dispatcher takes queued messages from the outbox as they fall due,
// sends them and records each outcome in the outbox: sent, or a retry
// after an exponential backoff with jitter. A message is retried until it
// is sent, never dropped, and its state lives in the store, so a restart
// loses nothing. With no SMTP server configured, no Dispatcher runs and
// messages stay queued for the operator to read (parley outbox).
//
// # Exactly once, as far as SMTP allows
//
// A message is marked sent right after the server's final OK (the reply
// to the end of DATA), before anything else. If parley stops between that
// OK and the mark (a crash, a power cut, the store failing to write), the
// message is still queued and is sent again after the restart: delivery
// is at least once, and twice only in that window. Every attempt carries
// the same Message-ID (the outbox ID), so a recipient's mail system can
// tell the copies apart. An error after the final OK (the server's reply
// to RSET or QUIT) does not undo the delivery: the message counts as sent.
package mail

import (
	"context"

	"github.com/parley-dev/parley/delivery"
	"github.com/parley-dev/parley/rooms"
)

// Sender delivers one message. SMTP implements it.
type Sender interface {
	// Send returns nil once the server has accepted m for delivery.
	Send(ctx context.Context, m *rooms.Mail) error
}

// Clock is the Dispatcher's time source: SystemClock in production, a
// fake clock (such as livecall/fakeclock's, whose AfterFunc result has
// the same Stop method) in tests. It is package delivery's.
type Clock = delivery.Clock

// Timer is a pending AfterFunc.
type Timer = delivery.Timer

// SystemClock is the real clock (package time).
type SystemClock = delivery.SystemClock
