package store_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/parley-dev/parley/rooms"
	"github.com/parley-dev/parley/rooms/store"
	bolt "go.etcd.io/bbolt"
)

func mustText(t *testing.T, to string, at time.Time) *rooms.TextMessage {
	t.Helper()
	m, err := rooms.NewTextMessage("test", to, "Join me: https://meet.example.org/g/abc", at)
	if err != nil {
		t.Fatalf("NewTextMessage(%q): %v", to, err)
	}
	return m
}

func textIDs(ms []*rooms.TextMessage) []string {
	var ids []string
	for _, m := range ms {
		ids = append(ids, m.ID)
	}
	return ids
}

func TestSMSOutboxLifecycle(t *testing.T) {
	ctx := context.Background()
	queued := 0
	path := filepath.Join(t.TempDir(), "parley.db")
	db, err := store.Open(path, store.Options{OnTextQueued: func() { queued++ }})
	if err != nil {
		t.Fatal(err)
	}
	a := mustText(t, "+447700900001", epoch)
	b := mustText(t, "+447700900002", epoch.Add(time.Minute))
	c := mustText(t, "+447700900003", epoch.Add(2*time.Minute))
	for _, m := range []*rooms.TextMessage{a, b, c} {
		if err := db.EnqueueText(ctx, m); err != nil {
			t.Fatalf("EnqueueText: %v", err)
		}
	}
	if queued != 3 {
		t.Errorf("OnTextQueued called %d times, want 3", queued)
	}
	if next, err := db.NextTextDue(ctx); err != nil || !next.Equal(epoch) {
		t.Fatalf("NextTextDue = %v, %v; want %v", next, err, epoch)
	}
	if due, err := db.DueTexts(ctx, epoch.Add(time.Minute), 10); err != nil || !slices.Equal(textIDs(due), []string{a.ID, b.ID}) {
		t.Fatalf("DueTexts at +1m = %v, %v; want a, b", textIDs(due), err)
	}
	// a fails and is due after c; b is accepted, then reported delivered.
	if err := db.MarkTextRetry(ctx, a.ID, "gateway answered 503", epoch.Add(3*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := db.MarkTextSent(ctx, b.ID, epoch.Add(90*time.Second)); err != nil {
		t.Fatal(err)
	}
	if due, _ := db.DueTexts(ctx, epoch.Add(time.Hour), 10); !slices.Equal(textIDs(due), []string{c.ID, a.ID}) {
		t.Fatalf("DueTexts after retry = %v; want c, a", textIDs(due))
	}
	got, err := db.Text(ctx, b.ID)
	if err != nil || got.State != rooms.TextSent || got.Text != "" || got.Attempts != 1 || !got.SentAt.Equal(epoch.Add(90*time.Second)) {
		t.Fatalf("sent message = %+v, %v; want sent once, text dropped", got, err)
	}
	if err := db.MarkTextReported(ctx, b.ID, rooms.TextDelivered, "", epoch.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	// A late failure report does not undo a delivery.
	if err := db.MarkTextReported(ctx, b.ID, rooms.TextFailed, "late", epoch.Add(3*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.Text(ctx, b.ID); got.State != rooms.TextDelivered || !got.DeliveredAt.Equal(epoch.Add(2*time.Minute)) {
		t.Errorf("after reports = %+v; want delivered at +2m", got)
	}
	// A report for a message still queued takes it out of the queue.
	if err := db.MarkTextReported(ctx, c.ID, rooms.TextFailed, "unknown subscriber", epoch.Add(4*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.Text(ctx, c.ID); got.State != rooms.TextFailed || got.LastError != "unknown subscriber" || got.Text != "" {
		t.Errorf("failed message = %+v; want failed, text dropped", got)
	}
	if err := db.MarkTextReported(ctx, c.ID, rooms.TextQueued, "", epoch); err == nil {
		t.Error("MarkTextReported(queued) succeeded; want an error")
	}
	if err := db.MarkTextSent(ctx, "s_nope", epoch); !errors.Is(err, rooms.ErrTextNotFound) {
		t.Errorf("MarkTextSent(unknown) = %v; want ErrTextNotFound", err)
	}
	// Listing, newest first, by state; and all of it survives a reopen.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if all, _ := db.Texts(ctx, rooms.TextFilter{}); !slices.Equal(textIDs(all), []string{c.ID, b.ID, a.ID}) {
		t.Errorf("Texts = %v; want c, b, a", textIDs(all))
	}
	if q, _ := db.Texts(ctx, rooms.TextFilter{State: rooms.TextQueued}); !slices.Equal(textIDs(q), []string{a.ID}) {
		t.Errorf("Texts(queued) = %v; want a", textIDs(q))
	}
	if next, _ := db.NextTextDue(ctx); !next.Equal(epoch.Add(3 * time.Minute)) {
		t.Errorf("NextTextDue after reopen = %v; want +3m", next)
	}
}

// TestMigrateInvitations opens a file at the schema before invitations
// (version 4: as the guest links left it), with a room in it: the room
// survives, and the invitation and SMS outbox buckets appear.
func TestMigrateInvitations(t *testing.T) {
	ctx := context.Background()
	db, path := openTemp(t)
	room := mustCreate(t, db, "Kept")[0]
	db.Close()
	bdb, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	prev := 4 // the version before invitations (5 is the bookings' since)
	err = bdb.Update(func(tx *bolt.Tx) error {
		for _, b := range []string{"invitations", "invitations_by_room", "invitations_by_member", "sms_outbox", "sms_outbox_due"} {
			if err := tx.DeleteBucket([]byte(b)); err != nil {
				return err
			}
		}
		return tx.Bucket([]byte("meta")).Put([]byte("schema_version"), []byte(strconv.Itoa(prev)))
	})
	bdb.Close()
	if err != nil {
		t.Fatal(err)
	}
	db, err = store.Open(path, store.Options{})
	if err != nil {
		t.Fatalf("Open at schema %d: %v", prev, err)
	}
	defer db.Close()
	if v, err := db.SchemaVersion(); err != nil || v != store.CurrentVersion() {
		t.Errorf("SchemaVersion = %d, %v; want %d", v, err, store.CurrentVersion())
	}
	if r, err := db.Room(ctx, room.ID); err != nil || r.Name != "Kept" {
		t.Errorf("Room after migration = %+v, %v", r, err)
	}
	if err := db.EnqueueText(ctx, mustText(t, "+447700900123", epoch)); err != nil {
		t.Errorf("EnqueueText after migration: %v", err)
	}
}
