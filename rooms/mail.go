package rooms

import (
	"context"
	"fmt"
	"net/mail"
	"strings"
	"time"
)

// Mail is one outgoing e-mail in the outbox. Whatever a change to groups,
// endpoints or bookings must tell someone is written as a Mail in the same
// store transaction as the change (see Store), so a crash can lose neither
// the change nor the message; package mail delivers it later and records
// the outcome. A Mail has one recipient.
type Mail struct {
	// ID is random ("m_" + 26 base32 characters) and stable.
	ID string `json:"id"`
	// Kind says what the message is for ("activation", "credentials", ...),
	// for the operator's outbox view and for tests; it is not sent.
	Kind    string `json:"kind"`
	To      string `json:"to"`
	Subject string `json:"subject"`
	// Text is the plain-text body. Links in it are absolute URLs.
	Text      string    `json:"text"`
	CreatedAt time.Time `json:"createdAt"`

	// Delivery state, kept by package mail.
	State       MailState `json:"state"`
	Attempts    int       `json:"attempts,omitempty"`
	NextAttempt time.Time `json:"nextAttempt,omitzero"`
	LastError   string    `json:"lastError,omitempty"`
	SentAt      time.Time `json:"sentAt,omitzero"`
}

// MailState is where a Mail is in its delivery.
type MailState string

// The states of a Mail. A queued message is retried until it is sent; it is
// never dropped (with no SMTP server configured it stays queued, for the
// operator to read in the outbox).
const (
	MailQueued MailState = "queued"
	MailSent   MailState = "sent"
)

// NewMail returns a queued message to one recipient, due at once. The
// address must be a bare e-mail address (as ValidateEmail accepts); the
// only error wraps ErrInvalidEmail.
func NewMail(kind, to, subject, text string, now time.Time) (*Mail, error) {
	addr, err := ValidateEmail(to)
	if err != nil {
		return nil, err
	}
	return &Mail{
		ID:          "m_" + newID()[2:],
		Kind:        kind,
		To:          addr,
		Subject:     subject,
		Text:        text,
		CreatedAt:   now.UTC(),
		State:       MailQueued,
		NextAttempt: now.UTC(),
	}, nil
}

// MaxMailError is the longest LastError an Outbox keeps, in bytes: the
// text comes from a remote SMTP server, so it is cut to this length.
const MaxMailError = 1000

// Outbox keeps outgoing mail until it is delivered, and afterwards as a
// record. It is part of Store; package mail reads it and records each
// delivery's outcome. Methods return copies.
type Outbox interface {
	// EnqueueMail stores m (from NewMail) on its own. A change that must
	// tell someone writes its Mail in the change's own transaction instead.
	EnqueueMail(ctx context.Context, m *Mail) error
	// Mail returns the message with this ID, or ErrMailNotFound.
	Mail(ctx context.Context, id string) (*Mail, error)
	// Mails returns the messages f selects, newest first.
	Mails(ctx context.Context, f MailFilter) ([]*Mail, error)
	// DueMail returns up to limit queued messages whose NextAttempt is at
	// or before now, the earliest due first.
	DueMail(ctx context.Context, now time.Time, limit int) ([]*Mail, error)
	// NextMailDue returns the earliest NextAttempt of a queued message, or
	// the zero time when none is queued.
	NextMailDue(ctx context.Context) (time.Time, error)
	// MarkMailSent records that the SMTP server accepted the message at
	// at: state sent, one more attempt, no next attempt. The text is
	// dropped (it may hold credentials or a one-time link, which should
	// not outlive their delivery in the file or its backups); the rest is
	// kept. A message already sent stays as it is.
	MarkMailSent(ctx context.Context, id string, at time.Time) error
	// MarkMailRetry records a failed attempt: one more attempt, LastError
	// set to errText (cut to MaxMailError bytes), due again at next. A
	// message already sent stays as it is.
	MarkMailRetry(ctx context.Context, id, errText string, next time.Time) error
}

// MailFilter selects messages for Outbox.Mails.
type MailFilter struct {
	// State, if set, keeps only messages in that state.
	State MailState
	// Limit, if positive, keeps only the newest Limit messages.
	Limit int
}

// MaxEmailLen is the longest e-mail address accepted, in bytes (the
// sign-up form's rule: "no more than 50 characters").
const MaxEmailLen = 50

// ValidateEmail checks a bare e-mail address ("alice@example.org", no
// display name, no angle brackets) of at most MaxEmailLen characters and
// returns it trimmed. The domain part is lower-cased; the local part is
// kept as typed. The error wraps ErrInvalidEmail and says what is wrong in
// words a person filling in a form understands.
func ValidateEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", fmt.Errorf("%w: enter an email address", ErrInvalidEmail)
	case len(s) > MaxEmailLen:
		return "", fmt.Errorf("%w: %d characters, at most %d allowed", ErrInvalidEmail, len(s), MaxEmailLen)
	}
	a, err := mail.ParseAddress(s)
	at := strings.LastIndexByte(s, '@')
	if err != nil || a.Address != s || a.Name != "" || at <= 0 || !strings.Contains(s[at+1:], ".") ||
		strings.ContainsAny(s, " \t\r\n<>\"") {
		return "", fmt.Errorf("%w: %q is not an email address like name@example.org", ErrInvalidEmail, s)
	}
	return s[:at+1] + strings.ToLower(s[at+1:]), nil
}
