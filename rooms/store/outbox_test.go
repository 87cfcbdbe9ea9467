package store_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parley-dev/parley/rooms"
	"github.com/parley-dev/parley/rooms/store"
)

func mustMail(t *testing.T, to, subject string, at time.Time) *rooms.Mail {
	t.Helper()
	m, err := rooms.NewMail("test", to, subject, "Hello,\n\nhttps://meet.example.org/activate/abc\n", at)
	if err != nil {
		t.Fatalf("NewMail(%q): %v", to, err)
	}
	return m
}

func mailIDs(ms []*rooms.Mail) []string {
	var ids []string
	for _, m := range ms {
		ids = append(ids, m.ID)
	}
	return ids
}

func TestOutboxLifecycle(t *testing.T) {
	ctx := context.Background()
	db, path := openTemp(t)
	a := mustMail(t, "a@example.org", "first", epoch)
	b := mustMail(t, "b@example.org", "second", epoch.Add(time.Minute))
	c := mustMail(t, "c@example.org", "third", epoch.Add(2*time.Minute))
	for _, m := range []*rooms.Mail{a, b, c} {
		if err := db.EnqueueMail(ctx, m); err != nil {
			t.Fatalf("EnqueueMail: %v", err)
		}
	}
	if next, err := db.NextMailDue(ctx); err != nil || !next.Equal(epoch) {
		t.Fatalf("NextMailDue = %v, %v; want %v", next, err, epoch)
	}
	due, err := db.DueMail(ctx, epoch.Add(time.Minute), 10)
	if err != nil || !slices.Equal(mailIDs(due), []string{a.ID, b.ID}) {
		t.Fatalf("DueMail at +1m = %v, %v; want a, b", mailIDs(due), err)
	}
	if due, _ := db.DueMail(ctx, epoch.Add(time.Hour), 1); !slices.Equal(mailIDs(due), []string{a.ID}) {
		t.Fatalf("DueMail limit 1 = %v; want a", mailIDs(due))
	}

	// a fails and is due again after c; b is sent.
	long := strings.Repeat("é", rooms.MaxMailError) // 2 bytes each
	if err := db.MarkMailRetry(ctx, a.ID, "421 try later "+long, epoch.Add(3*time.Minute)); err != nil {
		t.Fatalf("MarkMailRetry: %v", err)
	}
	if err := db.MarkMailSent(ctx, b.ID, epoch.Add(90*time.Second)); err != nil {
		t.Fatalf("MarkMailSent: %v", err)
	}
	due, _ = db.DueMail(ctx, epoch.Add(time.Hour), 10)
	if !slices.Equal(mailIDs(due), []string{c.ID, a.ID}) {
		t.Fatalf("DueMail after retry and send = %v; want c, a", mailIDs(due))
	}
	if next, _ := db.NextMailDue(ctx); !next.Equal(c.NextAttempt) {
		t.Fatalf("NextMailDue = %v, want c's %v", next, c.NextAttempt)
	}
	got, err := db.Mail(ctx, a.ID)
	if err != nil || got.Attempts != 1 || got.State != rooms.MailQueued || !got.NextAttempt.Equal(epoch.Add(3*time.Minute)) ||
		len(got.LastError) > rooms.MaxMailError || !strings.HasPrefix(got.LastError, "421 try later é") || !strings.HasSuffix(got.LastError, "é") {
		t.Fatalf("after retry: %+v, %v", got, err)
	}
	sent, err := db.Mail(ctx, b.ID)
	if err != nil || sent.State != rooms.MailSent || sent.Attempts != 1 || !sent.SentAt.Equal(epoch.Add(90*time.Second)) ||
		!sent.NextAttempt.IsZero() || sent.Text != "" || sent.Subject != "second" || sent.To != "b@example.org" {
		t.Fatalf("after sent: %+v, %v", sent, err)
	}
	// A sent message stays sent.
	if err := db.MarkMailRetry(ctx, b.ID, "late failure", epoch.Add(time.Hour)); err != nil {
		t.Fatalf("MarkMailRetry of a sent message: %v", err)
	}
	if err := db.MarkMailSent(ctx, b.ID, epoch.Add(time.Hour)); err != nil {
		t.Fatalf("MarkMailSent again: %v", err)
	}
	if again, _ := db.Mail(ctx, b.ID); *again != *sent {
		t.Fatalf("a sent message changed: %+v, was %+v", again, sent)
	}

	// Listing, newest first, filtered and limited.
	all, err := db.Mails(ctx, rooms.MailFilter{})
	if err != nil || !slices.Equal(mailIDs(all), []string{c.ID, b.ID, a.ID}) {
		t.Fatalf("Mails = %v, %v; want c, b, a", mailIDs(all), err)
	}
	if q, _ := db.Mails(ctx, rooms.MailFilter{State: rooms.MailQueued}); !slices.Equal(mailIDs(q), []string{c.ID, a.ID}) {
		t.Errorf("queued Mails = %v; want c, a", mailIDs(q))
	}
	if s, _ := db.Mails(ctx, rooms.MailFilter{State: rooms.MailSent}); !slices.Equal(mailIDs(s), []string{b.ID}) {
		t.Errorf("sent Mails = %v; want b", mailIDs(s))
	}
	if l, _ := db.Mails(ctx, rooms.MailFilter{Limit: 2}); !slices.Equal(mailIDs(l), []string{c.ID, b.ID}) {
		t.Errorf("Mails limit 2 = %v; want c, b", mailIDs(l))
	}

	// Unknown IDs.
	for name, err := range map[string]error{
		"Mail":          func() error { _, err := db.Mail(ctx, "m_nope"); return err }(),
		"MarkMailSent":  db.MarkMailSent(ctx, "m_nope", epoch),
		"MarkMailRetry": db.MarkMailRetry(ctx, "m_nope", "x", epoch),
	} {
		if !errors.Is(err, rooms.ErrMailNotFound) {
			t.Errorf("%s of an unknown ID: %v, want ErrMailNotFound", name, err)
		}
	}

	// All of it survives a reopen.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db2, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	due, _ = db2.DueMail(ctx, epoch.Add(time.Hour), 10)
	if !slices.Equal(mailIDs(due), []string{c.ID, a.ID}) {
		t.Fatalf("DueMail after reopen = %v; want c, a", mailIDs(due))
	}
}

func TestOutboxEmpty(t *testing.T) {
	ctx := context.Background()
	db, _ := openTemp(t)
	if next, err := db.NextMailDue(ctx); err != nil || !next.IsZero() {
		t.Errorf("NextMailDue of an empty outbox = %v, %v; want zero", next, err)
	}
	if due, err := db.DueMail(ctx, epoch, 10); err != nil || len(due) != 0 {
		t.Errorf("DueMail of an empty outbox = %v, %v", due, err)
	}
	if all, err := db.Mails(ctx, rooms.MailFilter{}); err != nil || all == nil || len(all) != 0 {
		t.Errorf("Mails of an empty outbox = %#v, %v; want an empty list", all, err)
	}
	if err := db.EnqueueMail(ctx, &rooms.Mail{ID: "m_x"}); err == nil {
		t.Error("EnqueueMail without a recipient succeeded")
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := db.EnqueueMail(cancelled, mustMail(t, "a@example.org", "x", epoch)); !errors.Is(err, context.Canceled) {
		t.Errorf("EnqueueMail with a cancelled context: %v", err)
	}
}

// TestOutboxDueTimes checks the due index orders messages due before
// 1970, at the zero time and far in the future.
func TestOutboxDueTimes(t *testing.T) {
	ctx := context.Background()
	db, _ := openTemp(t)
	times := []time.Time{
		time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC),
		epoch,
		{},
		time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC),
		epoch.Add(time.Nanosecond),
	}
	var ids []string
	for _, at := range times {
		m := mustMail(t, "a@example.org", "x", epoch)
		m.NextAttempt = at
		if err := db.EnqueueMail(ctx, m); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
	}
	due, err := db.DueMail(ctx, epoch, 10)
	if err != nil {
		t.Fatal(err)
	}
	got := mailIDs(due)
	// The zero time and 1960 share the earliest key; their order is by ID.
	if len(got) != 3 || got[2] != ids[1] || !slices.Contains(got[:2], ids[2]) || !slices.Contains(got[:2], ids[3]) {
		t.Errorf("DueMail at epoch = %v; want the zero-time and 1960 ones, then epoch's (%v)", got, ids)
	}
	if due, _ := db.DueMail(ctx, time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC), 10); len(due) != 4 {
		t.Errorf("DueMail in 2200 = %d messages, want 4", len(due))
	}
	if due, _ := db.DueMail(ctx, time.Date(3001, 1, 1, 0, 0, 0, 0, time.UTC), 10); len(due) != 5 {
		t.Errorf("DueMail in 3001 = %d messages, want 5", len(due))
	}
}
