package store_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-dev/parley/rooms"
	"github.com/parley-dev/parley/rooms/store"
	bolt "go.etcd.io/bbolt"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var epoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// openTemp opens a fresh database in a temporary directory, closed when the
// test ends.
func openTemp(t *testing.T) (*store.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "data", "parley.db")
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db, path
}

func mustRoom(t *testing.T, name string) *rooms.Room {
	t.Helper()
	r, err := rooms.New(name, epoch)
	if err != nil {
		t.Fatalf("rooms.New(%q): %v", name, err)
	}
	return r
}

func mustCreate(t *testing.T, db *store.DB, names ...string) []*rooms.Room {
	t.Helper()
	var out []*rooms.Room
	for _, name := range names {
		r := mustRoom(t, name)
		if err := db.CreateRoom(context.Background(), r); err != nil {
			t.Fatalf("CreateRoom(%q): %v", name, err)
		}
		out = append(out, r)
	}
	return out
}

func roomNames(rs []*rooms.Room) []string {
	var names []string
	for _, r := range rs {
		names = append(names, r.Name)
	}
	return names
}

func sameRoom(a, b *rooms.Room) bool {
	return a.ID == b.ID && a.Name == b.Name && a.Link == b.Link && a.GroupID == b.GroupID && a.CreatedAt.Equal(b.CreatedAt)
}

func TestRoomLookups(t *testing.T) {
	ctx := context.Background()
	db, _ := openTemp(t)
	created := mustCreate(t, db, "beta", "Alpha", "Gamma Room")
	beta, alpha, gamma := created[0], created[1], created[2]

	tests := []struct {
		name string
		get  func() (*rooms.Room, error)
		want *rooms.Room // nil means ErrRoomNotFound
	}{
		{"by id", func() (*rooms.Room, error) { return db.Room(ctx, alpha.ID) }, alpha},
		{"by name exact", func() (*rooms.Room, error) { return db.RoomByName(ctx, "Alpha") }, alpha},
		{"by name other case", func() (*rooms.Room, error) { return db.RoomByName(ctx, "ALPHA") }, alpha},
		{"by name untrimmed", func() (*rooms.Room, error) { return db.RoomByName(ctx, "  gamma   room ") }, gamma},
		{"by link", func() (*rooms.Room, error) { return db.RoomByLink(ctx, beta.Link) }, beta},
		{"unknown id", func() (*rooms.Room, error) { return db.Room(ctx, "r_nope") }, nil},
		{"empty id", func() (*rooms.Room, error) { return db.Room(ctx, "") }, nil},
		{"unknown name", func() (*rooms.Room, error) { return db.RoomByName(ctx, "delta") }, nil},
		{"unknown link", func() (*rooms.Room, error) { return db.RoomByLink(ctx, "AAAAAAAAAAAAAAAAAAAAAA") }, nil},
		{"link is not a name", func() (*rooms.Room, error) { return db.RoomByName(ctx, beta.Link) }, nil},
		{"id is not a link", func() (*rooms.Room, error) { return db.RoomByLink(ctx, beta.ID) }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.get()
			if tt.want == nil {
				if !errors.Is(err, rooms.ErrRoomNotFound) {
					t.Fatalf("got %+v, %v; want ErrRoomNotFound", got, err)
				}
				return
			}
			if err != nil || !sameRoom(got, tt.want) {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}

	list, err := db.Rooms(ctx)
	if err != nil {
		t.Fatalf("Rooms: %v", err)
	}
	if got, want := roomNames(list), []string{"Alpha", "beta", "Gamma Room"}; !slices.Equal(got, want) {
		t.Errorf("Rooms = %q, want %q (sorted case-insensitively)", got, want)
	}

	// Returned rooms are copies.
	list[0].Name = "mutated"
	if r, _ := db.Room(ctx, alpha.ID); r.Name != "Alpha" {
		t.Errorf("mutating a returned room changed the store: %q", r.Name)
	}
}

func TestCreateRoomErrors(t *testing.T) {
	ctx := context.Background()
	db, _ := openTemp(t)
	existing := mustCreate(t, db, "Standup")[0]

	tests := []struct {
		name string
		room *rooms.Room
		want error // nil means any non-nil error
	}{
		{"same name", mustRoom(t, "Standup"), rooms.ErrRoomExists},
		{"name other case", mustRoom(t, "STANDUP"), rooms.ErrRoomExists},
		{"name other spacing", mustRoom(t, " standup "), rooms.ErrRoomExists},
		{"same id", &rooms.Room{ID: existing.ID, Name: "Other", Link: "fresh-link"}, rooms.ErrRoomExists},
		{"same link", &rooms.Room{ID: "r_other", Name: "Other", Link: existing.Link}, rooms.ErrRoomExists},
		{"invalid name", &rooms.Room{ID: "r_x", Name: "a/b", Link: "l"}, rooms.ErrInvalidName},
		{"unnormalised name", &rooms.Room{ID: "r_x", Name: " padded ", Link: "l"}, rooms.ErrInvalidName},
		{"no id", &rooms.Room{Name: "x", Link: "l"}, nil},
		{"no link", &rooms.Room{ID: "r_x", Name: "x"}, nil},
		{"nil", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := db.CreateRoom(ctx, tt.room)
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Fatalf("CreateRoom = %v, want %v", err, tt.want)
			}
		})
	}
	list, err := db.Rooms(ctx)
	if err != nil || len(list) != 1 {
		t.Fatalf("after failed creates Rooms = %q, %v; want only Standup", roomNames(list), err)
	}

	ctx2, cancel := context.WithCancel(ctx)
	cancel()
	if err := db.CreateRoom(ctx2, mustRoom(t, "late")); !errors.Is(err, context.Canceled) {
		t.Errorf("CreateRoom with cancelled context = %v, want context.Canceled", err)
	}
}

func TestCreateRoomFillsCreatedAt(t *testing.T) {
	now := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	path := filepath.Join(t.TempDir(), "parley.db")
	db, err := store.Open(path, store.Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer db.Close()
	r := &rooms.Room{ID: "r_a", Name: "a", Link: "link-a"}
	if err := db.CreateRoom(context.Background(), r); err != nil {
		t.Fatalf("CreateRoom: %v", err)
	}
	got, err := db.Room(context.Background(), "r_a")
	if err != nil || !got.CreatedAt.Equal(now) || !r.CreatedAt.Equal(now) {
		t.Fatalf("CreatedAt stored %v (err %v), caller's %v; want %v", got.CreatedAt, err, r.CreatedAt, now)
	}
}

func TestDeleteRoom(t *testing.T) {
	ctx := context.Background()
	db, _ := openTemp(t)
	created := mustCreate(t, db, "one", "Two")
	two := created[1]

	if err := db.DeleteRoom(ctx, two.ID); err != nil {
		t.Fatalf("DeleteRoom: %v", err)
	}
	lookups := map[string]func() (*rooms.Room, error){
		"id":   func() (*rooms.Room, error) { return db.Room(ctx, two.ID) },
		"name": func() (*rooms.Room, error) { return db.RoomByName(ctx, "two") },
		"link": func() (*rooms.Room, error) { return db.RoomByLink(ctx, two.Link) },
	}
	for what, get := range lookups {
		if r, err := get(); !errors.Is(err, rooms.ErrRoomNotFound) {
			t.Errorf("after delete, by %s = %+v, %v; want ErrRoomNotFound", what, r, err)
		}
	}
	if err := db.DeleteRoom(ctx, two.ID); !errors.Is(err, rooms.ErrRoomNotFound) {
		t.Errorf("second DeleteRoom = %v, want ErrRoomNotFound", err)
	}
	list, err := db.Rooms(ctx)
	if err != nil || !slices.Equal(roomNames(list), []string{"one"}) {
		t.Errorf("Rooms = %q, %v; want [one]", roomNames(list), err)
	}
	// The name index was cleaned, so the name is free again.
	mustCreate(t, db, "TWO")
}

func TestReopenKeepsData(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "parley.db")
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	r := mustCreate(t, db, "Persistent")[0]
	key, err := db.SigningKey()
	if err != nil || len(key) != store.SigningKeySize {
		t.Fatalf("SigningKey = %x, %v; want %d bytes", key, err, store.SigningKeySize)
	}
	if again, err := db.SigningKey(); err != nil || !bytes.Equal(again, key) {
		t.Fatalf("second SigningKey = %x, %v; want %x", again, err, key)
	}
	if err := db.SetPublicURL("https://meet.example.org/"); err != nil {
		t.Fatalf("SetPublicURL: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	db, err = store.Open(path, store.Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer db.Close()
	got, err := db.RoomByLink(ctx, r.Link)
	if err != nil || !sameRoom(got, r) {
		t.Errorf("after reopen RoomByLink = %+v, %v; want %+v", got, err, r)
	}
	if k, err := db.SigningKey(); err != nil || !bytes.Equal(k, key) {
		t.Errorf("after reopen SigningKey = %x, %v; want %x", k, err, key)
	}
	if u, err := db.PublicURL(); err != nil || u != "https://meet.example.org" {
		t.Errorf("after reopen PublicURL = %q, %v", u, err)
	}
}

func TestSigningKeyConcurrent(t *testing.T) {
	db, _ := openTemp(t)
	const n = 8
	keys := make([][]byte, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			k, err := db.SigningKey()
			if err != nil {
				t.Errorf("SigningKey: %v", err)
			}
			keys[i] = k
		})
	}
	wg.Wait()
	for i := 1; i < n; i++ {
		if !bytes.Equal(keys[i], keys[0]) {
			t.Fatalf("concurrent SigningKey calls disagree: %x vs %x", keys[i], keys[0])
		}
	}
}

func TestPublicURL(t *testing.T) {
	db, _ := openTemp(t)
	if u, err := db.PublicURL(); err != nil || u != "" {
		t.Fatalf("PublicURL on new db = %q, %v; want empty", u, err)
	}
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"https://meet.example.org", "https://meet.example.org", true},
		{"http://127.0.0.1:8080/", "http://127.0.0.1:8080", true},
		{" https://example.org/parley/ ", "https://example.org/parley", true},
		{"", "", true},
		{"meet.example.org", "", false},
		{"ftp://example.org", "", false},
		{"https://", "", false},
		{"https://example.org/?x=1", "", false},
		{"https://example.org/#frag", "", false},
		{"https://user:pw@example.org", "", false},
		{"https://exa mple.org", "", false},
	}
	for _, tt := range tests {
		before, _ := db.PublicURL()
		err := db.SetPublicURL(tt.in)
		got, _ := db.PublicURL()
		switch {
		case tt.ok && (err != nil || got != tt.want):
			t.Errorf("SetPublicURL(%q): err %v, PublicURL %q; want %q", tt.in, err, got, tt.want)
		case !tt.ok && (!errors.Is(err, store.ErrInvalidPublicURL) || got != before):
			t.Errorf("SetPublicURL(%q): err %v, PublicURL %q; want ErrInvalidPublicURL and %q kept", tt.in, err, got, before)
		}
	}
}

func TestSecondOpenFailsFast(t *testing.T) {
	_, path := openTemp(t)
	start := time.Now()
	db2, err := store.Open(path, store.Options{})
	elapsed := time.Since(start)
	if err == nil {
		db2.Close()
		t.Fatal("second Open succeeded; want ErrLocked")
	}
	if !errors.Is(err, store.ErrLocked) || !errors.Is(err, bolt.ErrTimeout) {
		t.Errorf("second Open = %v; want ErrLocked wrapping bolt.ErrTimeout", err)
	}
	if elapsed > 2*time.Second {
		t.Errorf("second Open took %v; want about the 1s default timeout", elapsed)
	}
}

func TestOpenCreatesPrivateFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	path := filepath.Join(dir, "parley.db")
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer db.Close()
	for p, want := range map[string]os.FileMode{dir: 0o700, path: 0o600} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		// The umask can only remove bits; nothing beyond want may be set.
		if fi.Mode().Perm()&^want != 0 {
			t.Errorf("%s mode %v, want at most %v", p, fi.Mode().Perm(), want)
		}
	}
}

func TestBackupOpens(t *testing.T) {
	ctx := context.Background()
	db, _ := openTemp(t)
	mustCreate(t, db, "one", "two", "three")
	key, err := db.SigningKey()
	if err != nil {
		t.Fatal(err)
	}

	backupPath := filepath.Join(t.TempDir(), "backup.db")
	f, err := os.Create(backupPath)
	if err != nil {
		t.Fatal(err)
	}
	n, err := db.Backup(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil || n == 0 {
		t.Fatalf("Backup = %d, %v", n, err)
	}
	// The original keeps working while the copy is open.
	mustCreate(t, db, "four")

	copyDB, err := store.Open(backupPath, store.Options{})
	if err != nil {
		t.Fatalf("Open backup: %v", err)
	}
	defer copyDB.Close()
	list, err := copyDB.Rooms(ctx)
	if err != nil || !slices.Equal(roomNames(list), []string{"one", "three", "two"}) {
		t.Errorf("backup Rooms = %q, %v; want [one three two]", roomNames(list), err)
	}
	if k, err := copyDB.SigningKey(); err != nil || !bytes.Equal(k, key) {
		t.Errorf("backup SigningKey = %x, %v; want %x", k, err, key)
	}
}

func TestSchemaMigration(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, path string)
	}{
		{"no file", func(*testing.T, string) {}},
		{"empty file", func(t *testing.T, path string) {
			if err := os.WriteFile(path, nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"bolt file without buckets", func(t *testing.T, path string) {
			bdb, err := bolt.Open(path, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			bdb.Close()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "parley.db")
			tt.setup(t, path)
			db, err := store.Open(path, store.Options{})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer db.Close()
			if v, err := db.SchemaVersion(); err != nil || v != store.CurrentVersion() {
				t.Errorf("SchemaVersion = %d, %v; want %d", v, err, store.CurrentVersion())
			}
			if list, err := db.Rooms(context.Background()); err != nil || len(list) != 0 {
				t.Errorf("Rooms = %v, %v; want none", list, err)
			}
		})
	}
}

func TestSchemaTooNew(t *testing.T) {
	path := filepath.Join(t.TempDir(), "future.db")
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	setMeta(t, path, "schema_version", "99")

	db, err = store.Open(path, store.Options{})
	if err == nil {
		db.Close()
		t.Fatal("Open succeeded on schema 99; want ErrSchemaTooNew")
	}
	if !errors.Is(err, store.ErrSchemaTooNew) {
		t.Fatalf("Open = %v; want ErrSchemaTooNew", err)
	}
	// The refusal released the lock and left the file alone.
	if got := getMeta(t, path, "schema_version"); got != "99" {
		t.Errorf("schema_version after refusal = %q, want 99", got)
	}
}

func setMeta(t *testing.T, path, key, val string) {
	t.Helper()
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	err = bdb.Update(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("meta")).Put([]byte(key), []byte(val))
	})
	if err != nil {
		t.Fatal(err)
	}
}

func getMeta(t *testing.T, path, key string) string {
	t.Helper()
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	var val string
	_ = bdb.View(func(tx *bolt.Tx) error {
		val = string(tx.Bucket([]byte("meta")).Get([]byte(key)))
		return nil
	})
	return val
}

func TestCheck(t *testing.T) {
	db, path := openTemp(t)
	var names []string
	for i := range 100 {
		names = append(names, fmt.Sprintf("check-%03d", i))
	}
	mustCreate(t, db, names...)
	if err := db.Check(); err != nil {
		t.Fatalf("Check of a sound file: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// Damage one page of a room index: give it a type no page has.
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const pageSize = 4096 // bbolt's default on Linux and macOS (os.Getpagesize)
	// Every such page is damaged: some of them may be stale copies on the
	// free list, which Check rightly does not read.
	var damaged []int
	for id := 2; (id+1)*pageSize <= len(data); id++ {
		p := data[id*pageSize : (id+1)*pageSize]
		const leafFlag = 0x02
		if binary.LittleEndian.Uint16(p[8:10]) == leafFlag && bytes.Contains(p, []byte("check-")) && !bytes.Contains(p, []byte("rooms_by_name")) {
			binary.LittleEndian.PutUint16(p[8:10], 0x40)
			damaged = append(damaged, id)
		}
	}
	if len(damaged) == 0 {
		t.Fatal("found no leaf page of the rooms to damage")
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err = store.Open(path, store.Options{})
	if err != nil {
		t.Fatalf("Open of the damaged file: %v", err)
	}
	defer db.Close()
	err = db.Check()
	named := false
	for _, id := range damaged {
		named = named || err != nil && strings.Contains(err.Error(), strconv.Itoa(id))
	}
	if !errors.Is(err, store.ErrCorrupt) || !named {
		t.Fatalf("Check of a file with pages %v damaged: %v, want ErrCorrupt naming one of them", damaged, err)
	}
}

// TestMigrateVersion1 opens a file left at schema version 1 (rooms only, as
// the first release wrote it): its rooms survive and the outbox appears.
func TestMigrateVersion1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v1.db")
	bdb, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = bdb.Update(func(tx *bolt.Tx) error {
		for _, b := range []string{"meta", "rooms", "rooms_by_name", "rooms_by_link"} {
			if _, err := tx.CreateBucket([]byte(b)); err != nil {
				return err
			}
		}
		rec := `{"id":"r_aaaaaaaaaaaaaaaaaaaaaaaaaa","name":"Old","link":"bGlua2xpbmtsaW5rbGluaw","createdAt":"2026-01-01T00:00:00Z"}`
		for b, kv := range map[string][2]string{
			"meta":          {"schema_version", "1"},
			"rooms":         {"r_aaaaaaaaaaaaaaaaaaaaaaaaaa", rec},
			"rooms_by_name": {"old", "r_aaaaaaaaaaaaaaaaaaaaaaaaaa"},
			"rooms_by_link": {"bGlua2xpbmtsaW5rbGluaw", "r_aaaaaaaaaaaaaaaaaaaaaaaaaa"},
		} {
			if err := tx.Bucket([]byte(b)).Put([]byte(kv[0]), []byte(kv[1])); err != nil {
				return err
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
	if v, err := db.SchemaVersion(); err != nil || v != store.CurrentVersion() {
		t.Errorf("SchemaVersion = %d, %v; want %d", v, err, store.CurrentVersion())
	}
	if r, err := db.RoomByName(context.Background(), "old"); err != nil || r.Link != "bGlua2xpbmtsaW5rbGluaw" {
		t.Errorf("RoomByName(old) = %+v, %v; want the version-1 room", r, err)
	}
	m, err := rooms.NewMail("test", "a@example.org", "s", "t", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := db.EnqueueMail(context.Background(), m); err != nil {
		t.Errorf("EnqueueMail after migration: %v", err)
	}
}
