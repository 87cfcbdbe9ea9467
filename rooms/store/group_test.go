package store_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"

	"github.com/parley-dev/parley/rooms"
	"github.com/parley-dev/parley/rooms/store"
	bolt "go.etcd.io/bbolt"
)

// newSignUp returns a pending group named name with member endpoints for
// emails and one activation mail to the administrator.
func newSignUp(t *testing.T, name string, emails ...string) (*rooms.Group, []*rooms.Endpoint, []*rooms.Mail) {
	t.Helper()
	g, err := rooms.NewGroup(name, rooms.Limits{}, epoch)
	if err != nil {
		t.Fatal(err)
	}
	g.AdminName, g.AdminEmail = "Ada", "ada@example.org"
	g.ActivationHash = rooms.TokenHash("token-" + name)
	g.ActivationExpires = epoch.Add(rooms.ActivationTTL)
	var eps []*rooms.Endpoint
	for _, e := range emails {
		ep, err := rooms.NewMember(g.ID, e, epoch)
		if err != nil {
			t.Fatal(err)
		}
		eps = append(eps, ep)
	}
	m, err := rooms.NewMail("activation", g.AdminEmail, "Activate", "link", epoch)
	if err != nil {
		t.Fatal(err)
	}
	return g, eps, []*rooms.Mail{m}
}

func TestCreateGroup(t *testing.T) {
	ctx := context.Background()
	db, _ := openTemp(t)
	g, eps, mails := newSignUp(t, "The Choir", "alice@example.org", "Alice@other.org", "bob@example.org")
	if err := db.CreateGroup(ctx, g, eps, mails); err != nil {
		t.Fatalf("CreateGroup: %v", err)
	}
	wantAddr := []string{"alice@the-choir", "alice-2@the-choir", "bob@the-choir"}
	for i, ep := range eps {
		if ep.Address != wantAddr[i] || ep.GroupID != g.ID {
			t.Errorf("endpoint %d: address %q group %q; want %q", i, ep.Address, ep.GroupID, wantAddr[i])
		}
	}
	for _, name := range []string{"the choir", "THE-CHOIR", " The  Choir "} {
		if got, err := db.GroupByName(ctx, name); err != nil || got.ID != g.ID {
			t.Errorf("GroupByName(%q) = %+v, %v", name, got, err)
		}
	}
	if got, err := db.GroupByActivation(ctx, rooms.TokenHash("token-The Choir")); err != nil || got.ID != g.ID {
		t.Errorf("GroupByActivation = %+v, %v", got, err)
	}
	if got, err := db.EndpointByAddress(ctx, "ALICE-2@the-choir"); err != nil || got.Name != "Alice@other.org" {
		t.Errorf("EndpointByAddress = %+v, %v", got, err)
	}
	if got, err := db.EndpointByEmail(ctx, "BOB@EXAMPLE.ORG"); err != nil || got.ID != eps[2].ID {
		t.Errorf("EndpointByEmail = %+v, %v", got, err)
	}
	list, err := db.Endpoints(ctx, g.ID)
	if err != nil || len(list) != 3 {
		t.Fatalf("Endpoints = %v, %v", list, err)
	}
	if ms, err := db.MailsTo(ctx, "ADA@example.org"); err != nil || len(ms) != 1 || ms[0].ID != mails[0].ID {
		t.Errorf("activation mail not in the outbox: %v, %v", ms, err)
	}

	// A second group with the name in another case, or a taken e-mail,
	// is refused and stores nothing.
	g2, eps2, mails2 := newSignUp(t, "THE CHOIR", "carol@example.org")
	if err := db.CreateGroup(ctx, g2, eps2, mails2); !errors.Is(err, rooms.ErrGroupExists) {
		t.Errorf("same name: %v, want ErrGroupExists", err)
	}
	g3, eps3, mails3 := newSignUp(t, "Band", "carol@example.org", "BOB@example.org")
	err = db.CreateGroup(ctx, g3, eps3, mails3)
	var taken *rooms.EmailTakenError
	if !errors.As(err, &taken) || taken.Email != "BOB@example.org" || !errors.Is(err, rooms.ErrEmailTaken) {
		t.Errorf("taken e-mail: %v, want EmailTakenError for BOB@example.org", err)
	}
	for _, check := range []error{
		func() error { _, err := db.GroupByName(ctx, "Band"); return err }(),
		func() error { _, err := db.EndpointByEmail(ctx, "carol@example.org"); return err }(),
	} {
		if check == nil {
			t.Error("a refused sign-up left a record behind")
		}
	}
	if ms, _ := db.MailsTo(ctx, "ada@example.org"); len(ms) != 1 {
		t.Errorf("refused sign-ups left %d mails to ada", len(ms)-1)
	}
	all, err := db.Groups(ctx)
	if err != nil || len(all) != 1 {
		t.Errorf("Groups = %v, %v; want one", all, err)
	}
}

// TestCreateGroupRace: of sign-ups racing for one name (or one e-mail),
// exactly one wins and the others fail cleanly.
func TestCreateGroupRace(t *testing.T) {
	ctx := context.Background()
	db, _ := openTemp(t)
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		g, eps, mails := newSignUp(t, "Choir", "x"+string(rune('a'+i))+"@example.org")
		if i%2 == 1 { // half race for the e-mail under another name
			g, eps, mails = newSignUp(t, "Band "+string(rune('a'+i)), "shared@example.org")
		}
		wg.Go(func() { errs[i] = db.CreateGroup(ctx, g, eps, mails) })
	}
	wg.Wait()
	var nameWins, mailWins int
	for i, err := range errs {
		switch {
		case err == nil && i%2 == 0:
			nameWins++
		case err == nil:
			mailWins++
		case i%2 == 0 && !errors.Is(err, rooms.ErrGroupExists):
			t.Errorf("sign-up %d: %v, want ErrGroupExists", i, err)
		case i%2 == 1 && !errors.Is(err, rooms.ErrEmailTaken):
			t.Errorf("sign-up %d: %v, want ErrEmailTaken", i, err)
		}
	}
	if nameWins != 1 || mailWins != 1 {
		t.Errorf("%d sign-ups won the name and %d the e-mail; want 1 each", nameWins, mailWins)
	}
	if all, _ := db.Groups(ctx); len(all) != 2 {
		t.Errorf("%d groups stored, want 2", len(all))
	}
}

func TestUpdateGroupAndDelete(t *testing.T) {
	ctx := context.Background()
	db, _ := openTemp(t)
	g, eps, mails := newSignUp(t, "Choir", "alice@example.org")
	if err := db.CreateGroup(ctx, g, eps, mails); err != nil {
		t.Fatal(err)
	}
	var rsID, roomID string
	err := db.UpdateGroup(ctx, g.ID, func(tx rooms.GroupTx) error {
		gr := tx.Group()
		gr.State, gr.ActivationHash = rooms.GroupActive, rooms.TokenHash("used")
		if err := tx.PutGroup(gr); err != nil {
			return err
		}
		rs, err := rooms.NewRoomSystem(g.ID, "Board Room", epoch)
		if err != nil {
			return err
		}
		if err := tx.AddEndpoint(rs); err != nil {
			return err
		}
		rsID = rs.ID
		r, err := rooms.New("Weekly", epoch)
		if err != nil {
			return err
		}
		roomID = r.ID
		return tx.CreateRoom(r)
	})
	if err != nil {
		t.Fatalf("UpdateGroup: %v", err)
	}
	if _, err := db.GroupByActivation(ctx, rooms.TokenHash("token-Choir")); !errors.Is(err, rooms.ErrGroupNotFound) {
		t.Errorf("old activation hash still indexed: %v", err)
	}
	if ep, err := db.EndpointByAddress(ctx, "board-room@choir"); err != nil || ep.ID != rsID {
		t.Errorf("room system: %+v, %v", ep, err)
	}
	// A group room's name is unique in its group, not among all rooms.
	mustCreate(t, db, "Weekly")
	if list, _ := db.Rooms(ctx); len(list) != 1 || list[0].GroupID != "" {
		t.Errorf("operator Rooms() = %v; want only the operator's", list)
	}
	err = db.UpdateGroup(ctx, g.ID, func(tx rooms.GroupTx) error {
		r, _ := rooms.New("weekly", epoch)
		return tx.CreateRoom(r)
	})
	if !errors.Is(err, rooms.ErrRoomExists) {
		t.Errorf("second room weekly: %v, want ErrRoomExists", err)
	}
	// A failed fn stores nothing.
	err = db.UpdateGroup(ctx, g.ID, func(tx rooms.GroupTx) error {
		gr := tx.Group()
		gr.AdminName = "Changed"
		_ = tx.PutGroup(gr)
		return errors.New("give up")
	})
	if got, _ := db.Group(ctx, g.ID); err == nil || got.AdminName != "Ada" {
		t.Errorf("failed update stored: %+v, %v", got, err)
	}
	// Changing the name key is refused.
	err = db.UpdateGroup(ctx, g.ID, func(tx rooms.GroupTx) error {
		gr := tx.Group()
		gr.Name = "Other"
		return tx.PutGroup(gr)
	})
	if err == nil {
		t.Error("PutGroup changed the name key")
	}
	rs, err := db.GroupRooms(ctx, g.ID)
	if err != nil || len(rs) != 1 || rs[0].ID != roomID {
		t.Fatalf("GroupRooms = %v, %v", rs, err)
	}
	if r, err := db.RoomByLink(ctx, rs[0].Link); err != nil || r.GroupID != g.ID {
		t.Errorf("group room by link: %+v, %v", r, err)
	}

	keep := errors.New("keep it")
	if _, err := db.DeleteGroup(ctx, g.ID, func(*rooms.Group) error { return keep }); !errors.Is(err, keep) {
		t.Errorf("DeleteGroup with a failing check: %v", err)
	}
	if _, err := db.Group(ctx, g.ID); err != nil {
		t.Errorf("a refused delete removed the group: %v", err)
	}
	ids, err := db.DeleteGroup(ctx, g.ID, nil)
	if err != nil || len(ids) != 1 || ids[0] != roomID {
		t.Fatalf("DeleteGroup = %v, %v", ids, err)
	}
	if _, err := db.EndpointByEmail(ctx, "alice@example.org"); !errors.Is(err, rooms.ErrEndpointNotFound) {
		t.Errorf("e-mail not freed: %v", err)
	}
	if _, err := db.Room(ctx, roomID); !errors.Is(err, rooms.ErrRoomNotFound) {
		t.Errorf("group room not deleted: %v", err)
	}
	// The name and the e-mail are free again.
	g2, eps2, mails2 := newSignUp(t, "choir", "alice@example.org")
	if err := db.CreateGroup(ctx, g2, eps2, mails2); err != nil {
		t.Errorf("sign-up after delete: %v", err)
	}
	if err := db.UpdateGroup(ctx, g.ID, func(rooms.GroupTx) error { return nil }); !errors.Is(err, rooms.ErrGroupNotFound) {
		t.Errorf("UpdateGroup of deleted group: %v", err)
	}
}

// TestMigrateVersion2 opens a file at schema version 2 (rooms and the
// outbox, made by the first two migrations as that build ran them): its
// records survive and the group buckets appear.
func TestMigrateVersion2(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v2.db")
	bdb, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	old, err := rooms.NewMail("test", "a@example.org", "s", "t", epoch)
	if err != nil {
		t.Fatal(err)
	}
	err = bdb.Update(func(tx *bolt.Tx) error {
		if err := store.MigrateTo(tx, 2); err != nil {
			return err
		}
		rec := `{"id":"r_aaaaaaaaaaaaaaaaaaaaaaaaaa","name":"Old","link":"bGlua2xpbmtsaW5rbGluaw","createdAt":"2026-01-01T00:00:00Z"}`
		for b, kv := range map[string][2]string{
			"rooms":         {"r_aaaaaaaaaaaaaaaaaaaaaaaaaa", rec},
			"rooms_by_name": {"old", "r_aaaaaaaaaaaaaaaaaaaaaaaaaa"},
			"rooms_by_link": {"bGlua2xpbmtsaW5rbGluaw", "r_aaaaaaaaaaaaaaaaaaaaaaaaaa"},
		} {
			if err := tx.Bucket([]byte(b)).Put([]byte(kv[0]), []byte(kv[1])); err != nil {
				return err
			}
		}
		if tx.Bucket([]byte("groups")) != nil {
			t.Error("schema 2 already has the groups bucket")
		}
		return store.PutMail(tx, old)
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
	if v, err := db.SchemaVersion(); err != nil || v != store.CurrentVersion() || store.CurrentVersion() < 3 {
		t.Errorf("SchemaVersion = %d, %v; want %d", v, err, store.CurrentVersion())
	}
	if r, err := db.RoomByName(ctx, "old"); err != nil || r.Link != "bGlua2xpbmtsaW5rbGluaw" {
		t.Errorf("RoomByName(old) = %+v, %v", r, err)
	}
	if m, err := db.MailsTo(ctx, "a@example.org"); err != nil || len(m) != 1 || m[0].ID != old.ID {
		t.Errorf("outbox mail after migration: %+v, %v", m, err)
	}
	g, eps, mails := newSignUp(t, "Choir", "alice@example.org")
	if err := db.CreateGroup(ctx, g, eps, mails); err != nil {
		t.Errorf("CreateGroup after migration: %v", err)
	}
	if err := db.Check(); err != nil {
		t.Error(err)
	}
}
