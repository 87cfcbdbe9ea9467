package store

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/parley-dev/parley/rooms"
	bolt "go.etcd.io/bbolt"
)

// A queue is one outbox's pair of buckets (see schema.go), shared in shape
// by the mail outbox (outbox, outbox_due) and the SMS outbox (sms_outbox,
// sms_outbox_due): records holds each message's JSON under its ID, and due
// one key per queued message, its NextAttempt (dueKey) followed by its ID,
// so the messages due are a prefix of a cursor walk and the next due time
// is the first key. put keeps the two in step, in the caller's
// transaction. T is the message type (rooms.Mail, rooms.TextMessage).
type queue[T any] struct {
	records, due []byte // bucket names
	noun         string // in errors: "mail", "text message"
	notFound     error  // the sentinel get wraps
	info         func(*T) queued
}

// queued is what a queue needs to know of a message.
type queued struct {
	id          string
	createdAt   time.Time
	queued      bool // in the due index, due at nextAttempt
	nextAttempt time.Time
}

// mailQueue is the mail outbox.
var mailQueue = queue[rooms.Mail]{
	records: bucketOutbox, due: bucketOutboxDue, noun: "mail", notFound: rooms.ErrMailNotFound,
	info: func(m *rooms.Mail) queued {
		return queued{id: m.ID, createdAt: m.CreatedAt, queued: m.State == rooms.MailQueued, nextAttempt: m.NextAttempt}
	},
}

// textQueue is the SMS outbox.
var textQueue = queue[rooms.TextMessage]{
	records: bucketSMSOutbox, due: bucketSMSOutboxDue, noun: "text message", notFound: rooms.ErrTextNotFound,
	info: func(m *rooms.TextMessage) queued {
		return queued{id: m.ID, createdAt: m.CreatedAt, queued: m.State == rooms.TextQueued, nextAttempt: m.NextAttempt}
	},
}

// put writes m (new or updated) inside tx, and moves its entry in the due
// index: a queued message is due at its NextAttempt, any other not at all.
func (q queue[T]) put(tx *bolt.Tx, m *T) error {
	mi := q.info(m)
	val, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode %s %s: %w", q.noun, mi.id, err)
	}
	id := []byte(mi.id)
	due := tx.Bucket(q.due)
	if old := tx.Bucket(q.records).Get(id); old != nil {
		prev := new(T)
		// A damaged old record has no entry we could name; any it had
		// points at a record dueEntry skips once this one is written.
		if json.Unmarshal(old, prev) == nil {
			if pi := q.info(prev); pi.queued {
				if err := due.Delete(dueKey(pi.nextAttempt, id)); err != nil {
					return fmt.Errorf("unindex %s %s: %w", q.noun, mi.id, err)
				}
			}
		}
	}
	if mi.queued {
		if err := due.Put(dueKey(mi.nextAttempt, id), nil); err != nil {
			return fmt.Errorf("index %s %s: %w", q.noun, mi.id, err)
		}
	}
	if err := tx.Bucket(q.records).Put(id, val); err != nil {
		return fmt.Errorf("store %s %s: %w", q.noun, mi.id, err)
	}
	return nil
}

// get decodes the message with this ID inside tx.
func (q queue[T]) get(tx *bolt.Tx, id []byte) (*T, error) {
	val := tx.Bucket(q.records).Get(id)
	if val == nil {
		return nil, fmt.Errorf("%s: %w", id, q.notFound)
	}
	m := new(T)
	if err := json.Unmarshal(val, m); err != nil {
		return nil, fmt.Errorf("decode %s %s: %w", q.noun, id, err)
	}
	return m, nil
}

// one returns the message with this ID, read in a transaction of its own.
func (q queue[T]) one(b *bolt.DB, id string) (*T, error) {
	var m *T
	err := b.View(func(tx *bolt.Tx) error {
		var err error
		m, err = q.get(tx, []byte(id))
		return err
	})
	return m, err
}

// list returns the messages keep selects, newest first (by CreatedAt,
// then ID), at most limit of them if limit is positive.
func (q queue[T]) list(b *bolt.DB, keep func(*T) bool, limit int) ([]*T, error) {
	out := []*T{} // [] not null when encoded
	err := b.View(func(tx *bolt.Tx) error {
		return tx.Bucket(q.records).ForEach(func(id, _ []byte) error {
			m, err := q.get(tx, id)
			if err != nil {
				return err
			}
			if keep(m) {
				out = append(out, m)
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b *T) int {
		ai, bi := q.info(a), q.info(b)
		if c := bi.createdAt.Compare(ai.createdAt); c != 0 {
			return c
		}
		return cmp.Compare(bi.id, ai.id)
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// dueBy returns up to limit queued messages due at or before now, the
// earliest first.
func (q queue[T]) dueBy(b *bolt.DB, now time.Time, limit int) ([]*T, error) {
	var out []*T
	end := dueKey(now, nil)
	err := b.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(q.due).Cursor()
		for k, _ := c.First(); k != nil && len(out) < limit; k, _ = c.Next() {
			if bytes.Compare(k[:min(len(k), dueKeyTimeLen)], end) > 0 {
				break
			}
			if m := q.dueEntry(tx, k); m != nil {
				out = append(out, m)
			}
		}
		return nil
	})
	return out, err
}

// nextDue returns the earliest NextAttempt of a queued message, or the
// zero time.
func (q queue[T]) nextDue(b *bolt.DB) (time.Time, error) {
	var next time.Time
	err := b.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(q.due).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			if q.dueEntry(tx, k) != nil {
				next = dueKeyTime(k)
				return nil
			}
		}
		return nil
	})
	return next, err
}

// dueEntry returns the message a due-index key names, or nil if the entry
// is stale: its record is missing, damaged, no longer queued or due at
// another time, as only a damaged file can have. Skipping such entries,
// rather than failing, keeps one bad record from holding up every other
// message.
func (q queue[T]) dueEntry(tx *bolt.Tx, k []byte) *T {
	if len(k) <= dueKeyTimeLen {
		return nil
	}
	m, err := q.get(tx, k[dueKeyTimeLen:])
	if err != nil {
		return nil
	}
	if mi := q.info(m); !mi.queued || !bytes.Equal(dueKey(mi.nextAttempt, []byte(mi.id)), k) {
		return nil
	}
	return m
}

// update applies change to message id in one transaction, and writes it
// back with put unless change reports it changed nothing.
func (q queue[T]) update(b *bolt.DB, id string, change func(*T) bool) error {
	return b.Update(func(tx *bolt.Tx) error {
		m, err := q.get(tx, []byte(id))
		if err != nil {
			return err
		}
		if !change(m) {
			return nil
		}
		return q.put(tx, m)
	})
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
