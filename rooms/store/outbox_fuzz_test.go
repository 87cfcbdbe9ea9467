package store

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/parley-dev/parley/rooms"
	bolt "go.etcd.io/bbolt"
)

// FuzzOutboxIndex runs a sequence of outbox operations that ops spells,
// two bytes each (which operation and on which of four messages; how far
// the time moves), and checks after each that the due index agrees with
// the records: DueMail and NextMailDue give exactly the queued messages,
// earliest due first, whatever order of enqueues (of new messages and
// again of stored ones, as putMail does for a change), retries and
// deliveries led there.
func FuzzOutboxIndex(f *testing.F) {
	db := openFuzzDB(f)
	ctx := context.Background()
	f.Add([]byte{0, 0, 1, 5, 4, 3, 8, 0, 13, 1})
	f.Add([]byte{0, 0, 0, 0, 4, 0, 8, 0, 4, 200, 1, 1, 9, 9, 12, 0})
	f.Fuzz(func(t *testing.T, ops []byte) {
		defer clearOutbox(t, db)
		base := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
		now := base
		var msgs [4]*rooms.Mail // what the model expects stored
		for i := 0; i+1 < len(ops); i += 2 {
			op, n, arg := ops[i]>>2%4, ops[i]%4, ops[i+1]
			now = now.Add(time.Duration(arg) * time.Second)
			var err error
			switch {
			case op == 0 && msgs[n] == nil: // enqueue a new message
				m, _ := rooms.NewMail("fuzz", "a@example.org", "s", "t", now)
				m.ID = "m_" + string(rune('a'+n))
				err = db.EnqueueMail(ctx, m)
				msgs[n] = m
			case op == 0: // rewrite a stored one, due at another time
				m := *msgs[n]
				m.NextAttempt = base.Add(time.Duration(arg) * time.Minute)
				err = db.EnqueueMail(ctx, &m)
				msgs[n] = &m
			case op == 1 && msgs[n] != nil:
				next := now.Add(time.Duration(arg%16) * time.Second)
				err = db.MarkMailRetry(ctx, msgs[n].ID, "421 later", next)
				if msgs[n].State == rooms.MailQueued {
					m := *msgs[n]
					m.NextAttempt, m.Attempts, m.LastError = next, m.Attempts+1, "421 later"
					msgs[n] = &m
				}
			case op == 2 && msgs[n] != nil:
				err = db.MarkMailSent(ctx, msgs[n].ID, now)
				if msgs[n].State == rooms.MailQueued {
					m := *msgs[n]
					m.State, m.SentAt, m.NextAttempt, m.Attempts, m.Text = rooms.MailSent, now, time.Time{}, m.Attempts+1, ""
					msgs[n] = &m
				}
			}
			if err != nil {
				t.Fatalf("op %d: %v", i/2, err)
			}
			checkOutbox(t, db, msgs[:], now)
		}
	})
}

// checkOutbox compares the stored outbox with the model want.
func checkOutbox(t *testing.T, db *DB, want []*rooms.Mail, now time.Time) {
	t.Helper()
	ctx := context.Background()
	var queued []*rooms.Mail
	for _, m := range want {
		if m != nil && m.State == rooms.MailQueued {
			queued = append(queued, m)
		}
	}
	slices.SortFunc(queued, func(a, b *rooms.Mail) int {
		return cmp.Or(a.NextAttempt.Compare(b.NextAttempt), cmp.Compare(a.ID, b.ID))
	})
	far := now.Add(1000 * time.Hour)
	due, err := db.DueMail(ctx, far, 10)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(due, queued, func(a, b *rooms.Mail) bool { return a.ID == b.ID && a.NextAttempt.Equal(b.NextAttempt) }) {
		t.Fatalf("DueMail = %v, want %v", mailSummary(due), mailSummary(queued))
	}
	next, err := db.NextMailDue(ctx)
	switch {
	case err != nil:
		t.Fatal(err)
	case len(queued) == 0 && !next.IsZero(), len(queued) > 0 && !next.Equal(queued[0].NextAttempt):
		t.Fatalf("NextMailDue = %v, want the first of %v", next, mailSummary(queued))
	}
	for _, m := range want {
		if m == nil {
			continue
		}
		got, err := db.Mail(ctx, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(m)
		if string(g) != string(w) {
			t.Fatalf("Mail(%s) = %s, want %s", m.ID, g, w)
		}
	}
	n := 0
	_ = db.bolt.View(func(tx *bolt.Tx) error { n = tx.Bucket(bucketOutboxDue).Stats().KeyN; return nil })
	if n != len(queued) {
		t.Fatalf("due index holds %d entries for %d queued messages", n, len(queued))
	}
}

func mailSummary(ms []*rooms.Mail) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.ID+"@"+m.NextAttempt.Format(time.TimeOnly))
	}
	return out
}

// clearOutbox empties the outbox buckets.
func clearOutbox(t *testing.T, db *DB) {
	t.Helper()
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketOutbox, bucketOutboxDue} {
			if err := tx.DeleteBucket(b); err != nil {
				return err
			}
			if _, err := tx.CreateBucket(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// FuzzMailRecord stores arbitrary bytes as an outbox record, as a damaged
// or hand-edited file holds, indexed as due, beside one good queued
// message, and reads the outbox through every DB method.
//
// Properties: no method panics; the damaged record never holds up the
// good message (DueMail returns it, NextMailDue gives its time, and it can
// be marked sent); Mail and Mails of a record that is not a Mail's JSON
// fail with an error other than ErrMailNotFound.
func FuzzMailRecord(f *testing.F) {
	db := openFuzzDB(f)
	ctx := context.Background()
	good, _ := rooms.NewMail("test", "a@example.org", "s", "t", time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC))
	seed, _ := json.Marshal(good)
	f.Add(seed)
	f.Add([]byte(`{"id":"m_bad","to":"b@example.org","state":"queued","nextAttempt":"2026-12-01T11:00:00Z"}`))
	f.Add([]byte(`{"id":"m_bad","state":"sent"`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, val []byte) {
		defer clearOutbox(t, db)
		g := *good
		if err := db.EnqueueMail(ctx, &g); err != nil {
			t.Fatal(err)
		}
		early := time.Date(2026, 12, 1, 11, 0, 0, 0, time.UTC)
		err := db.bolt.Update(func(tx *bolt.Tx) error {
			return errors.Join(tx.Bucket(bucketOutbox).Put([]byte("m_bad"), val),
				tx.Bucket(bucketOutboxDue).Put(dueKey(early, []byte("m_bad")), nil))
		})
		if err != nil {
			t.Fatal(err)
		}
		var want rooms.Mail
		decodes := json.Unmarshal(val, &want) == nil
		due, err := db.DueMail(ctx, good.NextAttempt, 10)
		if err != nil || !slices.ContainsFunc(due, func(m *rooms.Mail) bool { return m.ID == good.ID }) {
			t.Fatalf("DueMail = %v, %v; want the good message among them", mailSummary(due), err)
		}
		next, err := db.NextMailDue(ctx)
		if err != nil || next.After(good.NextAttempt) {
			t.Fatalf("NextMailDue = %v, %v; want at most %v", next, err, good.NextAttempt)
		}
		_, err = db.Mail(ctx, "m_bad")
		if !decodes && (err == nil || errors.Is(err, rooms.ErrMailNotFound)) {
			t.Fatalf("Mail of record %q: %v, want a decode error", val, err)
		}
		if _, err := db.Mails(ctx, rooms.MailFilter{}); !decodes && err == nil {
			t.Fatalf("Mails with record %q succeeded", val)
		}
		_ = db.MarkMailRetry(ctx, "m_bad", "x", early)
		if err := db.MarkMailSent(ctx, good.ID, early); err != nil {
			t.Fatalf("MarkMailSent of the good message: %v", err)
		}
	})
}
