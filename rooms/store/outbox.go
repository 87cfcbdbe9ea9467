package store

import (
	"context"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/parley-dev/parley/rooms"
	bolt "go.etcd.io/bbolt"
)

// The outbox is two buckets (see schema.go): outbox holds each message's
// JSON under its ID, and outbox_due one key per queued message, its
// NextAttempt (dueKey) followed by its ID. mailQueue (queue.go, shared in
// shape with the SMS outbox) reads and writes them; putMail keeps the two
// in step, in the caller's transaction.

// EnqueueMail stores m in the outbox on its own. A change that must tell
// someone writes its Mail with putMail inside its own transaction instead.
func (db *DB) EnqueueMail(ctx context.Context, m *rooms.Mail) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: enqueue mail: %w", err)
	}
	if err := db.bolt.Update(func(tx *bolt.Tx) error { return db.queueMail(tx, m) }); err != nil {
		return fmt.Errorf("store: enqueue mail: %w", err)
	}
	return nil
}

// putMail writes m (new or updated) to the outbox inside tx, and moves its
// entry in the due index: a queued message is due at m.NextAttempt, a sent
// one not at all. m.ID and m.To are required (rooms.NewMail provides them).
func putMail(tx *bolt.Tx, m *rooms.Mail) error {
	if m == nil || m.ID == "" || m.To == "" {
		return fmt.Errorf("mail: ID and recipient are required (use rooms.NewMail)")
	}
	return mailQueue.put(tx, m)
}

// queueMail writes the new message m with putMail and, once tx has
// committed, tells Options.OnMailQueued.
func (db *DB) queueMail(tx *bolt.Tx, m *rooms.Mail) error {
	if err := putMail(tx, m); err != nil {
		return err
	}
	if db.onMail != nil && m.State == rooms.MailQueued {
		tx.OnCommit(db.onMail)
	}
	return nil
}

// getMail decodes the outbox message with this ID inside tx.
func getMail(tx *bolt.Tx, id []byte) (*rooms.Mail, error) { return mailQueue.get(tx, id) }

// Mail returns the outbox message with this ID. See rooms.Outbox.
func (db *DB) Mail(ctx context.Context, id string) (*rooms.Mail, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("store: mail %s: %w", id, err)
	}
	m, err := mailQueue.one(db.bolt, id)
	if err != nil {
		return nil, fmt.Errorf("store: mail: %w", err)
	}
	return m, nil
}

// Mails returns the outbox messages f selects, newest first (by CreatedAt,
// then ID). See rooms.Outbox.
func (db *DB) Mails(ctx context.Context, f rooms.MailFilter) ([]*rooms.Mail, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("store: list mail: %w", err)
	}
	out, err := mailQueue.list(db.bolt, func(m *rooms.Mail) bool { return f.State == "" || m.State == f.State }, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("store: list mail: %w", err)
	}
	return out, nil
}

// DueMail returns up to limit queued messages due at or before now, the
// earliest first. See rooms.Outbox.
func (db *DB) DueMail(ctx context.Context, now time.Time, limit int) ([]*rooms.Mail, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("store: due mail: %w", err)
	}
	out, err := mailQueue.dueBy(db.bolt, now, limit)
	if err != nil {
		return nil, fmt.Errorf("store: due mail: %w", err)
	}
	return out, nil
}

// NextMailDue returns the earliest NextAttempt of a queued message, or the
// zero time. See rooms.Outbox.
func (db *DB) NextMailDue(ctx context.Context) (time.Time, error) {
	if err := ctx.Err(); err != nil {
		return time.Time{}, fmt.Errorf("store: next mail due: %w", err)
	}
	next, err := mailQueue.nextDue(db.bolt)
	if err != nil {
		return time.Time{}, fmt.Errorf("store: next mail due: %w", err)
	}
	return next, nil
}

// MarkMailSent records a delivery. See rooms.Outbox.
func (db *DB) MarkMailSent(ctx context.Context, id string, at time.Time) error {
	return db.updateMail(ctx, "mark mail sent", id, func(m *rooms.Mail) {
		m.State = rooms.MailSent
		m.Attempts++
		m.SentAt = at.UTC()
		m.NextAttempt = time.Time{}
		m.Text = ""
	})
}

// MarkMailRetry records a failed attempt. See rooms.Outbox.
func (db *DB) MarkMailRetry(ctx context.Context, id, errText string, next time.Time) error {
	return db.updateMail(ctx, "mark mail for retry", id, func(m *rooms.Mail) {
		m.Attempts++
		m.LastError = truncateUTF8(errText, rooms.MaxMailError)
		m.NextAttempt = next.UTC()
	})
}

// updateMail applies change to the queued message id in one transaction;
// a sent message is left as it is.
func (db *DB) updateMail(ctx context.Context, what, id string, change func(*rooms.Mail)) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: %s %s: %w", what, id, err)
	}
	err := mailQueue.update(db.bolt, id, func(m *rooms.Mail) bool {
		if m.State == rooms.MailSent {
			return false
		}
		change(m)
		return true
	})
	if err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	return nil
}

// truncateUTF8 cuts s to at most n bytes, not inside a character.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
