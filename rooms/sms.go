package rooms

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// TextMessage is one outgoing text message (SMS) in the SMS outbox: the
// twin of Mail for a mobile phone. An invitation sent by text writes its
// TextMessage in the same store transaction as the invitation, so neither
// is lost; package sms delivers it through the configured gateway, with
// retries, and records the outcome here.
type TextMessage struct {
	// ID is random ("s_" + 26 base32 characters) and stable; the gateway
	// is given it (the body template's {{.ID}}) so that its delivery
	// reports can name the message.
	ID string `json:"id"`
	// Kind says what the message is for ("invitation"); it is not sent.
	Kind string `json:"kind"`
	// To is the recipient's number in E.164 form ("+447700900123"), as
	// sms.ParseUKMobile returns it.
	To   string `json:"to"`
	Text string `json:"text"`
	// InvitationID is the invitation the message carries, if any.
	InvitationID string    `json:"invitationId,omitempty"`
	CreatedAt    time.Time `json:"createdAt"`

	// Delivery state, kept by package sms.
	State       TextState `json:"state"`
	Attempts    int       `json:"attempts,omitempty"`
	NextAttempt time.Time `json:"nextAttempt,omitzero"`
	LastError   string    `json:"lastError,omitempty"`
	SentAt      time.Time `json:"sentAt,omitzero"`
	// DeliveredAt is when the gateway reported the message delivered to
	// the phone (only gateways that report it: POST /api/v1/sms/status).
	DeliveredAt time.Time `json:"deliveredAt,omitzero"`
	// FailedAt is when the gateway reported that the message could not be
	// delivered (after it had accepted it).
	FailedAt time.Time `json:"failedAt,omitzero"`
}

// TextState is where a TextMessage is in its delivery.
type TextState string

// The states of a TextMessage. A queued message is retried until the
// gateway accepts it (sent); it is never dropped: with no gateway
// configured it stays queued, for the operator to read (parley outbox
// sms). Afterwards the gateway may report it delivered or failed.
const (
	TextQueued    TextState = "queued"
	TextSent      TextState = "sent"
	TextDelivered TextState = "delivered"
	TextFailed    TextState = "failed"
)

// MaxTextLen is the longest text message body, in bytes: two concatenated
// SMS parts of 153 GSM characters each, about.
const MaxTextLen = 306

// NewTextMessage returns a queued message to one number, due at once. to
// must be in E.164 form (a '+' and 8 to 15 digits; sms.ParseUKMobile
// gives it) and text 1 to MaxTextLen bytes.
func NewTextMessage(kind, to, text string, now time.Time) (*TextMessage, error) {
	if !isE164(to) {
		return nil, fmt.Errorf("%w: %q is not a phone number in international form (+447700900123)", ErrInvalidPhone, to)
	}
	if text == "" || len(text) > MaxTextLen {
		return nil, fmt.Errorf("text message of %d bytes: want 1 to %d", len(text), MaxTextLen)
	}
	return &TextMessage{
		ID:          "s_" + newID()[2:],
		Kind:        kind,
		To:          to,
		Text:        text,
		CreatedAt:   now.UTC(),
		State:       TextQueued,
		NextAttempt: now.UTC(),
	}, nil
}

// isE164 reports whether s is '+' and 8 to 15 digits, the first not 0.
func isE164(s string) bool {
	digits, ok := strings.CutPrefix(s, "+")
	if !ok || len(digits) < 8 || len(digits) > 15 || digits[0] == '0' {
		return false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// MaskPhone shows enough of an E.164 number for the person who typed it to
// recognise it, and not the whole of it to anyone else in the call:
// "+447700900123" becomes "+44 77•• •••123".
func MaskPhone(e164 string) string {
	if !isE164(e164) || !strings.HasPrefix(e164, "+44") || len(e164) != 13 {
		if len(e164) <= 4 {
			return "••••"
		}
		return e164[:3] + strings.Repeat("•", len(e164)-6) + e164[len(e164)-3:]
	}
	return "+44 " + e164[3:5] + "•• •••" + e164[10:]
}

// ErrInvalidPhone means a phone number is not one a text message can be
// sent to; the wrapping error says why, in plain words.
var ErrInvalidPhone = errors.New("invalid phone number")

// ErrTextNotFound means no SMS outbox message has the requested ID.
var ErrTextNotFound = errors.New("text message not found")

// MaxTextError is the longest LastError an SMSOutbox keeps, in bytes: the
// text comes from a remote gateway.
const MaxTextError = 1000

// SMSOutbox keeps outgoing text messages until the gateway accepts them,
// and afterwards as a record (without their text). Package sms reads it
// and records each outcome. Methods return copies.
type SMSOutbox interface {
	// EnqueueText stores m (from NewTextMessage) on its own. A change
	// that must text someone writes its message in its own transaction.
	EnqueueText(ctx context.Context, m *TextMessage) error
	// Text returns the message with this ID, or ErrTextNotFound.
	Text(ctx context.Context, id string) (*TextMessage, error)
	// Texts returns the messages f selects, newest first.
	Texts(ctx context.Context, f TextFilter) ([]*TextMessage, error)
	// DueTexts returns up to limit queued messages whose NextAttempt is
	// at or before now, the earliest due first.
	DueTexts(ctx context.Context, now time.Time, limit int) ([]*TextMessage, error)
	// NextTextDue returns the earliest NextAttempt of a queued message,
	// or the zero time when none is queued.
	NextTextDue(ctx context.Context) (time.Time, error)
	// MarkTextSent records that the gateway accepted the message at at:
	// state sent, one more attempt, no next attempt, the text dropped
	// (it holds a guest link). A message no longer queued stays as it is.
	MarkTextSent(ctx context.Context, id string, at time.Time) error
	// MarkTextRetry records a failed attempt: one more attempt,
	// LastError set to errText (cut to MaxTextError bytes), due again at
	// next. A message no longer queued stays as it is.
	MarkTextRetry(ctx context.Context, id, errText string, next time.Time) error
	// MarkTextReported records the gateway's delivery report: state
	// TextDelivered or TextFailed at at (errText, for a failure, kept as
	// LastError). A report for a message still queued also counts as its
	// acceptance; a delivered message stays delivered.
	MarkTextReported(ctx context.Context, id string, state TextState, errText string, at time.Time) error
}

// TextFilter selects messages for SMSOutbox.Texts.
type TextFilter struct {
	// State, if set, keeps only messages in that state.
	State TextState
	// Limit, if positive, keeps only the newest Limit messages.
	Limit int
}
