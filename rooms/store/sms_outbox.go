package store

import (
	"context"
	"fmt"
	"time"

	"github.com/parley-dev/parley/rooms"
	bolt "go.etcd.io/bbolt"
)

// The SMS outbox is two buckets (see schema.go), the twins of the mail
// outbox's: sms_outbox holds each text message's JSON under its ID, and
// sms_outbox_due one key per queued message (dueKey of its NextAttempt,
// then its ID). textQueue (queue.go) reads and writes them; putText keeps
// the two in step, in the caller's transaction.

var _ rooms.SMSOutbox = (*DB)(nil)

// EnqueueText stores m in the SMS outbox on its own. See rooms.SMSOutbox.
func (db *DB) EnqueueText(ctx context.Context, m *rooms.TextMessage) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: enqueue text message: %w", err)
	}
	if err := db.bolt.Update(func(tx *bolt.Tx) error { return db.queueText(tx, m) }); err != nil {
		return fmt.Errorf("store: enqueue text message: %w", err)
	}
	return nil
}

// queueText writes the new message m with putText and, once tx has
// committed, tells Options.OnTextQueued.
func (db *DB) queueText(tx *bolt.Tx, m *rooms.TextMessage) error {
	if err := putText(tx, m); err != nil {
		return err
	}
	if db.onText != nil && m.State == rooms.TextQueued {
		tx.OnCommit(db.onText)
	}
	return nil
}

// putText writes m (new or updated) inside tx and moves its due-index
// entry: a queued message is due at m.NextAttempt, any other not at all.
func putText(tx *bolt.Tx, m *rooms.TextMessage) error {
	if m == nil || m.ID == "" || m.To == "" {
		return fmt.Errorf("text message: ID and recipient are required (use rooms.NewTextMessage)")
	}
	return textQueue.put(tx, m)
}

// getText decodes the text message with this ID inside tx.
func getText(tx *bolt.Tx, id []byte) (*rooms.TextMessage, error) { return textQueue.get(tx, id) }

// Text returns the text message with this ID. See rooms.SMSOutbox.
func (db *DB) Text(ctx context.Context, id string) (*rooms.TextMessage, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("store: text message %s: %w", id, err)
	}
	m, err := textQueue.one(db.bolt, id)
	if err != nil {
		return nil, fmt.Errorf("store: text message: %w", err)
	}
	return m, nil
}

// Texts returns the messages f selects, newest first (by CreatedAt, then
// ID). See rooms.SMSOutbox.
func (db *DB) Texts(ctx context.Context, f rooms.TextFilter) ([]*rooms.TextMessage, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("store: list text messages: %w", err)
	}
	out, err := textQueue.list(db.bolt, func(m *rooms.TextMessage) bool { return f.State == "" || m.State == f.State }, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("store: list text messages: %w", err)
	}
	return out, nil
}

// DueTexts returns up to limit queued messages due by now, the earliest
// first. See rooms.SMSOutbox.
func (db *DB) DueTexts(ctx context.Context, now time.Time, limit int) ([]*rooms.TextMessage, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("store: due text messages: %w", err)
	}
	out, err := textQueue.dueBy(db.bolt, now, limit)
	if err != nil {
		return nil, fmt.Errorf("store: due text messages: %w", err)
	}
	return out, nil
}

// NextTextDue returns the earliest NextAttempt of a queued message, or the
// zero time. See rooms.SMSOutbox.
func (db *DB) NextTextDue(ctx context.Context) (time.Time, error) {
	if err := ctx.Err(); err != nil {
		return time.Time{}, fmt.Errorf("store: next text message due: %w", err)
	}
	next, err := textQueue.nextDue(db.bolt)
	if err != nil {
		return time.Time{}, fmt.Errorf("store: next text message due: %w", err)
	}
	return next, nil
}

// MarkTextSent records the gateway's acceptance. See rooms.SMSOutbox.
func (db *DB) MarkTextSent(ctx context.Context, id string, at time.Time) error {
	return db.updateText(ctx, "mark text message sent", id, func(m *rooms.TextMessage) bool {
		if m.State != rooms.TextQueued {
			return false
		}
		m.State = rooms.TextSent
		m.Attempts++
		m.SentAt = at.UTC()
		m.NextAttempt = time.Time{}
		m.Text = ""
		return true
	})
}

// MarkTextRetry records a failed attempt. See rooms.SMSOutbox.
func (db *DB) MarkTextRetry(ctx context.Context, id, errText string, next time.Time) error {
	return db.updateText(ctx, "mark text message for retry", id, func(m *rooms.TextMessage) bool {
		if m.State != rooms.TextQueued {
			return false
		}
		m.Attempts++
		m.LastError = truncateUTF8(errText, rooms.MaxTextError)
		m.NextAttempt = next.UTC()
		return true
	})
}

// MarkTextReported records a delivery report. See rooms.SMSOutbox.
func (db *DB) MarkTextReported(ctx context.Context, id string, state rooms.TextState, errText string, at time.Time) error {
	if state != rooms.TextDelivered && state != rooms.TextFailed {
		return fmt.Errorf("store: report text message %s: state %q is neither delivered nor failed", id, state)
	}
	return db.updateText(ctx, "record text message report", id, func(m *rooms.TextMessage) bool {
		if m.State == rooms.TextDelivered {
			return false
		}
		if m.State == rooms.TextQueued { // the report came before our mark
			m.Attempts++
			m.SentAt = at.UTC()
			m.NextAttempt = time.Time{}
			m.Text = ""
		}
		m.State = state
		if state == rooms.TextDelivered {
			m.DeliveredAt = at.UTC()
		} else {
			m.FailedAt = at.UTC()
			m.LastError = truncateUTF8(errText, rooms.MaxTextError)
		}
		return true
	})
}

// updateText applies change to message id in one transaction; change
// reports whether it changed anything.
func (db *DB) updateText(ctx context.Context, what, id string, change func(*rooms.TextMessage) bool) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: %s %s: %w", what, id, err)
	}
	err := textQueue.update(db.bolt, id, change)
	if err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	return nil
}
