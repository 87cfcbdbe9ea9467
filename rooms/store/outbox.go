package store

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/parley-dev/parley/rooms"
	bolt "go.etcd.io/bbolt"
)

// The outbox is two buckets (see schema.go): outbox holds each message's
// JSON under its ID, and outbox_due one key per queued message, its
// NextAttempt (dueKey) followed by its ID, so the messages due are a
// prefix of a cursor walk and the next due time is the first key. putMail
// keeps the two in step, in the caller's transaction.

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
	val, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode mail %s: %w", m.ID, err)
	}
	id := []byte(m.ID)
	due := tx.Bucket(bucketOutboxDue)
	if old := tx.Bucket(bucketOutbox).Get(id); old != nil {
		var prev rooms.Mail
		// A damaged old record has no entry we could name; any it had
		// points at a record DueMail skips once this one is written.
		if json.Unmarshal(old, &prev) == nil && prev.State == rooms.MailQueued {
			if err := due.Delete(dueKey(prev.NextAttempt, id)); err != nil {
				return fmt.Errorf("unindex mail %s: %w", m.ID, err)
			}
		}
	}
	if m.State == rooms.MailQueued {
		if err := due.Put(dueKey(m.NextAttempt, id), nil); err != nil {
			return fmt.Errorf("index mail %s: %w", m.ID, err)
		}
	}
	if err := tx.Bucket(bucketOutbox).Put(id, val); err != nil {
		return fmt.Errorf("store mail %s: %w", m.ID, err)
	}
	return nil
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
func getMail(tx *bolt.Tx, id []byte) (*rooms.Mail, error) {
	val := tx.Bucket(bucketOutbox).Get(id)
	if val == nil {
		return nil, fmt.Errorf("%s: %w", id, rooms.ErrMailNotFound)
	}
	m := new(rooms.Mail)
	if err := json.Unmarshal(val, m); err != nil {
		return nil, fmt.Errorf("decode mail %s: %w", id, err)
	}
	return m, nil
}

// dueKeyTimeLen is the length of the time prefix of a due-index key.
const dueKeyTimeLen = 8

// dueKey is the due-index key of the message id due at t: t as big-endian
// Unix nanoseconds (so keys sort by time; the zero time and times before
// 1970 are 0, times past 2262 the largest value), then id.
func dueKey(t time.Time, id []byte) []byte {
	var n uint64
	switch {
	case t.IsZero() || t.Unix() < 0:
		n = 0
	case t.Unix() >= math.MaxInt64/int64(time.Second):
		n = math.MaxInt64
	default:
		n = uint64(t.UnixNano())
	}
	k := make([]byte, dueKeyTimeLen, dueKeyTimeLen+len(id))
	binary.BigEndian.PutUint64(k, n)
	return append(k, id...)
}

// dueKeyTime is the time in a due-index key.
func dueKeyTime(k []byte) time.Time {
	return time.Unix(0, int64(binary.BigEndian.Uint64(k))).UTC()
}

// Mail returns the outbox message with this ID. See rooms.Outbox.
func (db *DB) Mail(ctx context.Context, id string) (*rooms.Mail, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("store: mail %s: %w", id, err)
	}
	var m *rooms.Mail
	err := db.bolt.View(func(tx *bolt.Tx) error {
		var err error
		m, err = getMail(tx, []byte(id))
		return err
	})
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
	out := []*rooms.Mail{} // [] not null when encoded
	err := db.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketOutbox).ForEach(func(id, _ []byte) error {
			m, err := getMail(tx, id)
			if err != nil {
				return err
			}
			if f.State == "" || m.State == f.State {
				out = append(out, m)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store: list mail: %w", err)
	}
	slices.SortFunc(out, func(a, b *rooms.Mail) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, nil
}

// DueMail returns up to limit queued messages due at or before now, the
// earliest first. See rooms.Outbox.
func (db *DB) DueMail(ctx context.Context, now time.Time, limit int) ([]*rooms.Mail, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("store: due mail: %w", err)
	}
	var out []*rooms.Mail
	end := dueKey(now, nil)
	err := db.bolt.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketOutboxDue).Cursor()
		for k, _ := c.First(); k != nil && len(out) < limit; k, _ = c.Next() {
			if bytes.Compare(k[:min(len(k), dueKeyTimeLen)], end) > 0 {
				break
			}
			if m := dueMail(tx, k); m != nil {
				out = append(out, m)
			}
		}
		return nil
	})
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
	var next time.Time
	err := db.bolt.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketOutboxDue).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			if dueMail(tx, k) != nil {
				next = dueKeyTime(k)
				return nil
			}
		}
		return nil
	})
	if err != nil {
		return time.Time{}, fmt.Errorf("store: next mail due: %w", err)
	}
	return next, nil
}

// dueMail returns the message a due-index key names, or nil if the entry
// is stale: its record is missing, damaged, sent or due at another time,
// as only a damaged file can have. Skipping such entries, rather than
// failing, keeps one bad record from holding up every other message.
func dueMail(tx *bolt.Tx, k []byte) *rooms.Mail {
	if len(k) <= dueKeyTimeLen {
		return nil
	}
	m, err := getMail(tx, k[dueKeyTimeLen:])
	if err != nil || m.State != rooms.MailQueued || !bytes.Equal(dueKey(m.NextAttempt, []byte(m.ID)), k) {
		return nil
	}
	return m
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
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		m, err := getMail(tx, []byte(id))
		if err != nil {
			return err
		}
		if m.State == rooms.MailSent {
			return nil
		}
		change(m)
		return putMail(tx, m)
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
