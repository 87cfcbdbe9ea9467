package store_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/parley-dev/parley/rooms"
	"github.com/parley-dev/parley/rooms/store"
	bolt "go.etcd.io/bbolt"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

func newLink(t *testing.T, roomID string, kind rooms.GuestLinkKind, at time.Time) (*rooms.GuestLink, string) {
	t.Helper()
	l, token, err := rooms.NewGuestLink(testKey, roomID, kind, "test", at, 0)
	if err != nil {
		t.Fatal(err)
	}
	return l, token
}

func TestGuestLinks(t *testing.T) {
	ctx := context.Background()
	db, _ := openTemp(t)
	a, _ := rooms.New("Alpha", epoch)
	b, _ := rooms.New("Beta", epoch)
	for _, r := range []*rooms.Room{a, b} {
		if err := db.CreateRoom(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	orphan, _ := newLink(t, "r_nope", rooms.GuestLinkInvitation, epoch)
	if err := db.CreateGuestLink(ctx, orphan); !errors.Is(err, rooms.ErrRoomNotFound) {
		t.Errorf("link to a missing room: %v, want ErrRoomNotFound", err)
	}

	s1, tok1 := newLink(t, a.ID, rooms.GuestLinkStanding, epoch)
	inv, _ := newLink(t, a.ID, rooms.GuestLinkInvitation, epoch.Add(time.Minute))
	s2, tok2 := newLink(t, a.ID, rooms.GuestLinkStanding, epoch.Add(2*time.Minute))
	other, _ := newLink(t, b.ID, rooms.GuestLinkStanding, epoch)
	for _, l := range []*rooms.GuestLink{s1, inv, other} {
		if err := db.CreateGuestLink(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.CreateGuestLink(ctx, inv); err == nil {
		t.Error("the same link stored twice")
	}
	if got, err := db.StandingGuestLink(ctx, a.ID); err != nil || got.ID != s1.ID {
		t.Errorf("standing link = %+v, %v; want %s", got, err, s1.ID)
	}
	// A new standing link revokes the old one, in the same transaction.
	if err := db.CreateGuestLink(ctx, s2); err != nil {
		t.Fatal(err)
	}
	if got, err := db.StandingGuestLink(ctx, a.ID); err != nil || got.ID != s2.ID {
		t.Errorf("standing link = %+v, %v; want %s", got, err, s2.ID)
	}
	old, err := db.GuestLinkByHash(ctx, rooms.TokenHash(tok1))
	if err != nil || !errors.Is(old.Check(epoch.Add(3*time.Minute)), rooms.ErrGuestLinkRevoked) {
		t.Errorf("the old standing link: %+v, %v; want revoked", old, err)
	}
	if got, err := db.GuestLinkByHash(ctx, rooms.TokenHash(tok2)); err != nil || got.ID != s2.ID || got.RoomID != a.ID || got.Check(epoch.Add(time.Hour)) != nil {
		t.Errorf("by token: %+v, %v", got, err)
	}
	list, err := db.GuestLinks(ctx, a.ID)
	if err != nil || len(list) != 3 || list[0].ID != s2.ID || list[1].ID != inv.ID || list[2].ID != s1.ID {
		t.Errorf("GuestLinks(a) = %v, %v; want newest first", list, err)
	}

	r, err := db.RevokeGuestLink(ctx, inv.ID, epoch.Add(5*time.Minute), "endpoint:e_x")
	if err != nil || r.RevokedAt != epoch.Add(5*time.Minute) || r.RevokedBy != "endpoint:e_x" {
		t.Errorf("revoke: %+v, %v", r, err)
	}
	r, err = db.RevokeGuestLink(ctx, inv.ID, epoch.Add(9*time.Minute), "someone else")
	if err != nil || r.RevokedAt != epoch.Add(5*time.Minute) {
		t.Errorf("second revoke: %+v, %v; want the first kept", r, err)
	}
	if _, err := db.RevokeGuestLink(ctx, "gl_nope", epoch, ""); !errors.Is(err, rooms.ErrGuestLinkNotFound) {
		t.Errorf("revoke of no link: %v", err)
	}

	// In one transaction with other writes: a failing fn stores nothing.
	late, _ := newLink(t, a.ID, rooms.GuestLinkInvitation, epoch)
	boom := errors.New("boom")
	err = db.UpdateGuestLinks(ctx, func(tx rooms.GuestLinkTx) error {
		if err := tx.CreateGuestLink(late); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Errorf("UpdateGuestLinks = %v", err)
	}
	if _, err := db.GuestLink(ctx, late.ID); !errors.Is(err, rooms.ErrGuestLinkNotFound) {
		t.Errorf("link of a failed transaction: %v", err)
	}

	// Deleting a room deletes its links, and only its.
	if err := db.DeleteRoom(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.GuestLinkByHash(ctx, rooms.TokenHash(tok2)); !errors.Is(err, rooms.ErrGuestLinkNotFound) {
		t.Errorf("link of a deleted room: %v", err)
	}
	if got, err := db.GuestLink(ctx, other.ID); err != nil || got.RoomID != b.ID {
		t.Errorf("room B's link after deleting A: %+v, %v", got, err)
	}
	if err := db.Check(); err != nil {
		t.Error(err)
	}
}

func TestRoomMembers(t *testing.T) {
	ctx := context.Background()
	db, _ := openTemp(t)
	g, eps, mails := newSignUp(t, "Choir", "alice@example.org", "bob@example.org")
	if err := db.CreateGroup(ctx, g, eps, mails); err != nil {
		t.Fatal(err)
	}
	g2, eps2, mails2 := newSignUp(t, "Band", "carol@example.org")
	if err := db.CreateGroup(ctx, g2, eps2, mails2); err != nil {
		t.Fatal(err)
	}
	rm, _ := rooms.New("Weekly", epoch)
	err := db.UpdateGroup(ctx, g.ID, func(tx rooms.GroupTx) error { return tx.CreateRoom(rm) })
	if err != nil {
		t.Fatal(err)
	}
	if !rm.HasMember(eps[0].ID) || !rm.HasMember(eps[1].ID) {
		t.Error("a room with no member list has not every endpoint as member")
	}
	set := func(ids ...string) (*rooms.Room, error) {
		var out *rooms.Room
		err := db.UpdateGroup(ctx, g.ID, func(tx rooms.GroupTx) error {
			var err error
			out, err = tx.SetRoomMembers(rm.ID, ids)
			return err
		})
		return out, err
	}
	if _, err := set(eps[0].ID, eps2[0].ID); !errors.Is(err, rooms.ErrNotGroupEndpoint) {
		t.Errorf("another group's endpoint as member: %v", err)
	}
	got, err := set(eps[1].ID, eps[1].ID)
	if err != nil || len(got.Members) != 1 || !got.HasMember(eps[1].ID) || got.HasMember(eps[0].ID) {
		t.Errorf("SetRoomMembers = %+v, %v", got, err)
	}
	stored, err := db.Room(ctx, rm.ID)
	if err != nil || len(stored.Members) != 1 || stored.Members[0] != eps[1].ID {
		t.Errorf("stored room = %+v, %v", stored, err)
	}
	// Removing an endpoint takes it off the member lists.
	if _, err := set(eps[0].ID, eps[1].ID); err != nil {
		t.Fatal(err)
	}
	err = db.UpdateGroup(ctx, g.ID, func(tx rooms.GroupTx) error { return tx.DeleteEndpoint(eps[1].ID) })
	if err != nil {
		t.Fatal(err)
	}
	if stored, err := db.Room(ctx, rm.ID); err != nil || len(stored.Members) != 1 || stored.Members[0] != eps[0].ID {
		t.Errorf("after removing an endpoint: %+v, %v", stored, err)
	}
	op, _ := rooms.New("Lobby", epoch)
	if err := db.CreateRoom(ctx, op); err != nil {
		t.Fatal(err)
	}
	err = db.UpdateGroup(ctx, g.ID, func(tx rooms.GroupTx) error { _, err := tx.SetRoomMembers(op.ID, nil); return err })
	if !errors.Is(err, rooms.ErrRoomNotFound) {
		t.Errorf("members of an operator's room through a group: %v", err)
	}
}

// TestMigrateVersion3 opens a file as schema 3 left it, with a group room
// and endpoints: the room keeps working, open to every endpoint (no member
// list), and guest links can be made for it.
func TestMigrateVersion3(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v3.db")
	bdb, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := `{"id":"r_aaaaaaaaaaaaaaaaaaaaaaaaaa","name":"Old","link":"bGlua2xpbmtsaW5rbGluaw","groupId":"g_x","createdAt":"2026-01-01T00:00:00Z"}`
	err = bdb.Update(func(tx *bolt.Tx) error {
		if err := store.MigrateTo(tx, 3); err != nil {
			return err
		}
		if tx.Bucket([]byte("guest_links")) != nil {
			t.Error("schema 3 already has guest_links")
		}
		for b, kv := range map[string][][2]string{
			"rooms":              {{"r_aaaaaaaaaaaaaaaaaaaaaaaaaa", rec}},
			"rooms_by_link":      {{"bGlua2xpbmtsaW5rbGluaw", "r_aaaaaaaaaaaaaaaaaaaaaaaaaa"}},
			"rooms_by_group":     {{"g_x/old", "r_aaaaaaaaaaaaaaaaaaaaaaaaaa"}},
			"endpoints_by_group": {{"g_x/e_1", ""}, {"g_x/e_2", ""}, {"g_y/e_3", ""}},
		} {
			for _, e := range kv {
				if err := tx.Bucket([]byte(b)).Put([]byte(e[0]), []byte(e[1])); err != nil {
					return err
				}
			}
		}
		return nil
	})
	bdb.Close()
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer db.Close()
	ctx := context.Background()
	if v, err := db.SchemaVersion(); err != nil || v != store.CurrentVersion() || store.CurrentVersion() < 4 {
		t.Errorf("SchemaVersion = %d, %v; want %d", v, err, store.CurrentVersion())
	}
	r, err := db.RoomByLink(ctx, "bGlua2xpbmtsaW5rbGluaw")
	if err != nil || len(r.Members) != 0 || !r.HasMember("e_1") {
		t.Errorf("old room = %+v, %v; want no member list", r, err)
	}
	l, tok := newLink(t, r.ID, rooms.GuestLinkStanding, epoch)
	if err := db.CreateGuestLink(ctx, l); err != nil {
		t.Fatalf("CreateGuestLink after migration: %v", err)
	}
	if got, err := db.GuestLinkByHash(ctx, rooms.TokenHash(tok)); err != nil || got.ID != l.ID {
		t.Errorf("link after migration: %+v, %v", got, err)
	}
	if err := db.Check(); err != nil {
		t.Error(err)
	}
}
