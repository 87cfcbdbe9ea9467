package mail

import (
	"errors"

	gomail "github.com/wneessen/go-mail"

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
	Outbox rooms.Outbox
	Sender Sender
	delivery.Options
}

// Dispatcher delivers the outbox's queued messages as they fall due, with
// package delivery's loop: one goroutine (Run) that sends them one at a
// time and records each outcome. It wakes when Notify is called, when the
// next message is due, and at least every Poll.
//
// When Run starts it tries every queued message once, due or not: a
// restart is often how an operator puts in a corrected SMTP setting, and
// the messages should not then wait out their backoff. For the same
// reason, when a send succeeds after failures that may have been the
// server's (anything but a permanent 5xx refusal of one message), the
// messages waiting on a backoff are tried again at once. Run is called
// once.
type Dispatcher = delivery.Dispatcher[*rooms.Mail]

// NewDispatcher returns a Dispatcher for cfg; Run starts it.
func NewDispatcher(cfg DispatcherConfig) (*Dispatcher, error) {
	if cfg.Outbox == nil || cfg.Sender == nil {
		return nil, errors.New("mail: the dispatcher needs an Outbox and a Sender")
	}
	o := cfg.Outbox
	return delivery.New(delivery.Config[*rooms.Mail]{
		Outbox: delivery.OutboxFuncs[*rooms.Mail]{DueF: o.DueMail, NextDueF: o.NextMailDue, MarkSentF: o.MarkMailSent, MarkRetryF: o.MarkMailRetry},
		Send:   cfg.Sender.Send,
		Describe: func(m *rooms.Mail) (string, int, []any) {
			return m.ID, m.Attempts, []any{"kind", m.Kind, "to", m.To}
		},
		Permanent:  permanent,
		Noun:       "mail",
		OutboxName: "the outbox",
		Options:    cfg.Options,
	})
}

// permanent reports whether err is the SMTP server refusing this message
// for good (a 5xx reply to MAIL, RCPT or DATA, such as an unknown
// recipient). Such a message is still retried on its backoff (the
// operator may fix the address, or the server its mind), but its failure
// says nothing of whether the server is back, so it does not bring the
// waiting messages forward when another one goes out.
func permanent(err error) bool {
	var se *gomail.SendError
	return errors.As(err, &se) && se.ErrorCode() >= 500 && se.ErrorCode() < 600
}
