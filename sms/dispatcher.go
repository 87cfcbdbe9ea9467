package sms

import (
	"errors"

	"github.com/parley-dev/parley/delivery"
	"github.com/parley-dev/parley/rooms"
)

// Defaults of DispatcherConfig (package delivery's).
const (
	DefaultMinBackoff = delivery.DefaultMinBackoff
	DefaultMaxBackoff = delivery.DefaultMaxBackoff
	DefaultPoll       = delivery.DefaultPoll
	DefaultBatch      = delivery.DefaultBatch
)

// DispatcherConfig configures a Dispatcher. Outbox and Sender are
// required; the zero value of every Options field means its default
// (package delivery's: backoff 30 s doubling to 1 h, spread ±10%; Poll 1
// minute).
type DispatcherConfig struct {
	Outbox rooms.SMSOutbox
	Sender Sender
	delivery.Options
}

// Dispatcher delivers the SMS outbox's queued messages as they fall due,
// with package delivery's loop: one goroutine (Run) that sends them one at
// a time and records each outcome. It wakes when Notify is called, when
// the next message is due, and at least every Poll. When Run starts it
// tries every queued message once, due or not (a restart is how a
// corrected gateway setting comes in), and when a send succeeds after
// failures, the messages waiting on a backoff are tried at once: the
// gateway is back. Run is called once.
type Dispatcher = delivery.Dispatcher[*rooms.TextMessage]

// NewDispatcher returns a Dispatcher for cfg; Run starts it.
func NewDispatcher(cfg DispatcherConfig) (*Dispatcher, error) {
	if cfg.Outbox == nil || cfg.Sender == nil {
		return nil, errors.New("sms: the dispatcher needs an Outbox and a Sender")
	}
	o := cfg.Outbox
	return delivery.New(delivery.Config[*rooms.TextMessage]{
		Outbox: delivery.OutboxFuncs[*rooms.TextMessage]{DueF: o.DueTexts, NextDueF: o.NextTextDue, MarkSentF: o.MarkTextSent, MarkRetryF: o.MarkTextRetry},
		Send:   cfg.Sender.Send,
		Describe: func(m *rooms.TextMessage) (string, int, []any) {
			return m.ID, m.Attempts, []any{"kind", m.Kind, "to", rooms.MaskPhone(m.To)}
		},
		Noun:       "text message",
		OutboxName: "the SMS outbox",
		Options:    cfg.Options,
	})
}
