package store

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/parley-dev/parley/rooms"
	bolt "go.etcd.io/bbolt"
)

// openFuzzDB opens a database for a fuzz target, without fsync (a fuzzer
// writes thousands of times a second; durability is tested elsewhere).
func openFuzzDB(f *testing.F) *DB {
	f.Helper()
	db, err := Open(filepath.Join(f.TempDir(), "fuzz.db"), Options{})
	if err != nil {
		f.Fatal(err)
	}
	db.bolt.NoSync = true
	f.Cleanup(func() { _ = db.Close() })
	return db
}

// errRollback ends a transaction a fuzz target only looks inside.
var errRollback = errors.New("rollback")

// FuzzRoomRecord stores arbitrary bytes as a room record, as a damaged or
// hand-edited file holds, with index entries pointing at it, and reads it
// back through every DB method. The seeds (testdata/fuzz/FuzzRoomRecord)
// are records this package writes and damaged ones.
//
// Properties: no method panics; a record that is not a room's JSON gives
// an error (not ErrRoomNotFound) from Room, RoomByName, RoomByLink, Rooms
// and DeleteRoom, and DeleteRoom leaves it in place; one that is gives
// the room json.Unmarshal makes of it, and DeleteRoom removes it and its
// index entries, leaving entries under other keys that point at it.
func FuzzRoomRecord(f *testing.F) {
	db := openFuzzDB(f)
	ctx := context.Background()
	const id = "r_fuzz"
	f.Fuzz(func(t *testing.T, val []byte) {
		var want rooms.Room
		decodes := json.Unmarshal(val, &want) == nil
		// Index entries go under the record's keys where bbolt can hold
		// them, else under others (which DeleteRoom must then leave).
		nameKey, link, stray := []byte(rooms.NameKey(want.Name)), []byte(want.Link), 0
		if !decodes || len(nameKey) == 0 || len(nameKey) > bolt.MaxKeySize {
			nameKey, stray = []byte("fuzz name"), stray+1
		}
		if !decodes || len(link) == 0 || len(link) > bolt.MaxKeySize {
			link, stray = []byte("fuzzlink"), stray+1
		}
		putRecord(t, db, id, val, nameKey, link)
		defer clearRooms(t, db)

		lookups := map[string]func() (*rooms.Room, error){
			"Room":       func() (*rooms.Room, error) { return db.Room(ctx, id) },
			"RoomByName": func() (*rooms.Room, error) { return db.lookupKey(ctx, bucketRoomsByName, nameKey) },
			"RoomByLink": func() (*rooms.Room, error) { return db.RoomByLink(ctx, string(link)) },
			"Rooms": func() (*rooms.Room, error) {
				all, err := db.Rooms(ctx)
				if err != nil || len(all) != 1 {
					return nil, errors.Join(err, errors.New("not one room"))
				}
				return all[0], nil
			},
		}
		for name, lookup := range lookups {
			got, err := lookup()
			switch {
			case !decodes && (err == nil || errors.Is(err, rooms.ErrRoomNotFound)):
				t.Fatalf("%s of record %q = %+v, %v; want a decode error", name, val, got, err)
			case decodes && (err != nil || !reflect.DeepEqual(*got, want)):
				t.Fatalf("%s of record %q = %+v, %v; want %+v", name, val, got, err, want)
			}
		}
		err := db.DeleteRoom(ctx, id)
		left := countKeys(t, db)
		switch {
		case !decodes && (err == nil || left != 3):
			t.Fatalf("DeleteRoom of undecodable record %q = %v, %d keys left; want an error and all 3", val, err, left)
		case decodes && (err != nil || left != stray):
			t.Fatalf("DeleteRoom of %q = %v, %d keys left; want %d (index entries under other keys)", val, err, left, stray)
		}
	})
}

// lookupKey is RoomByName with the index key given as is (the fuzzed
// record's name key may not be valid UTF-8, which NameKey would change).
func (db *DB) lookupKey(ctx context.Context, bucket, key []byte) (*rooms.Room, error) {
	return db.lookup(ctx, "room by key", func(tx *bolt.Tx) []byte { return tx.Bucket(bucket).Get(key) })
}

// putRecord writes val as room id, indexed under nameKey and link.
func putRecord(t *testing.T, db *DB, id string, val, nameKey, link []byte) {
	t.Helper()
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		return errors.Join(tx.Bucket(bucketRooms).Put([]byte(id), val),
			tx.Bucket(bucketRoomsByName).Put(nameKey, []byte(id)),
			tx.Bucket(bucketRoomsByLink).Put(link, []byte(id)))
	})
	if err != nil {
		t.Fatal(err)
	}
}

// countKeys returns the number of keys in the room buckets.
func countKeys(t *testing.T, db *DB) int {
	t.Helper()
	n := 0
	err := db.bolt.View(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketRooms, bucketRoomsByName, bucketRoomsByLink} {
			n += tx.Bucket(b).Stats().KeyN
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// clearRooms empties the room buckets.
func clearRooms(t *testing.T, db *DB) {
	t.Helper()
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketRooms, bucketRoomsByName, bucketRoomsByLink} {
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

// FuzzRoomRoundTrip creates a room from a fuzzed name, link and creation
// time, and looks it up. The seeds (testdata/fuzz/FuzzRoomRoundTrip) are
// names and links from the tests and the API docs.
//
// Properties: CreateRoom accepts a room exactly when rooms.New accepts its
// name (an unnormalised name is refused with ErrInvalidName); Room,
// RoomByName (given the name as typed) and RoomByLink return it unchanged;
// RoomByLink finds it with exactly its link and with nothing else (probe);
// a second room of the same name is refused with ErrRoomExists; DeleteRoom
// leaves no record and no index entry.
func FuzzRoomRoundTrip(f *testing.F) {
	db := openFuzzDB(f)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, name, link, probe string, createdNanos int64) {
		if link == "" || !utf8.ValidString(link) || len(link) > bolt.MaxKeySize {
			// Links are made by rooms.New: base64url. A link JSON cannot
			// hold (invalid UTF-8) would be indexed under other bytes
			// than it is recorded with.
			return
		}
		defer clearRooms(t, db)
		r, err := rooms.New(name, time.Unix(0, createdNanos))
		if err != nil {
			raw := &rooms.Room{ID: "r_raw", Name: name, Link: link}
			if err := db.CreateRoom(ctx, raw); !errors.Is(err, rooms.ErrInvalidName) {
				t.Fatalf("CreateRoom with name %q = %v; rooms.New refused it", name, err)
			}
			return
		}
		r.Link = link
		if err := db.CreateRoom(ctx, r); err != nil {
			t.Fatalf("CreateRoom(%+v) = %v", r, err)
		}
		if raw := (&rooms.Room{ID: "r_raw", Name: name, Link: link + "2"}); name != r.Name {
			if err := db.CreateRoom(ctx, raw); !errors.Is(err, rooms.ErrInvalidName) {
				t.Fatalf("CreateRoom with unnormalised name %q = %v", name, err)
			}
		}
		checkLookups(t, db, r, name, probe)
		dup, _ := rooms.New(strings.ToUpper(r.Name), time.Unix(0, createdNanos))
		if dup != nil && rooms.NameKey(dup.Name) == rooms.NameKey(r.Name) {
			if err := db.CreateRoom(ctx, dup); !errors.Is(err, rooms.ErrRoomExists) {
				t.Fatalf("second room named %q (first %q) = %v, want ErrRoomExists", dup.Name, r.Name, err)
			}
		}
		if err := db.DeleteRoom(ctx, r.ID); err != nil {
			t.Fatalf("DeleteRoom: %v", err)
		}
		if n := countKeys(t, db); n != 0 {
			t.Fatalf("%d keys left after DeleteRoom", n)
		}
	})
}

// checkLookups checks every way of finding r, created from typed.
func checkLookups(t *testing.T, db *DB, r *rooms.Room, typed, probe string) {
	t.Helper()
	ctx := context.Background()
	for what, lookup := range map[string]func() (*rooms.Room, error){
		"Room":       func() (*rooms.Room, error) { return db.Room(ctx, r.ID) },
		"RoomByName": func() (*rooms.Room, error) { return db.RoomByName(ctx, typed) },
		"RoomByLink": func() (*rooms.Room, error) { return db.RoomByLink(ctx, r.Link) },
	} {
		got, err := lookup()
		if err != nil || got.ID != r.ID || got.Name != r.Name || got.Link != r.Link || !got.CreatedAt.Equal(r.CreatedAt) {
			t.Fatalf("%s = %+v, %v; want %+v", what, got, err, r)
		}
	}
	got, err := db.RoomByLink(ctx, probe)
	if probe == r.Link {
		return
	}
	if !errors.Is(err, rooms.ErrRoomNotFound) || got != nil {
		t.Fatalf("RoomByLink(%q) = %+v, %v; the link is %q", probe, got, err, r.Link)
	}
}

// FuzzSchemaVersion runs the migrations on a file whose recorded schema
// version is arbitrary bytes, inside a transaction it then rolls back.
// The seeds (testdata/fuzz/FuzzSchemaVersion) are versions past, present,
// future and corrupt.
//
// Properties: a decimal version up to the current one migrates to the
// current one; a larger one fails with ErrSchemaTooNew; anything else
// fails with an error saying the version is corrupt; nothing panics.
func FuzzSchemaVersion(f *testing.F) {
	db := openFuzzDB(f)
	f.Fuzz(func(t *testing.T, raw []byte) {
		v, convErr := strconv.Atoi(string(raw))
		err := db.bolt.Update(func(tx *bolt.Tx) error {
			if err := tx.Bucket(bucketMeta).Put(keySchemaVersion, raw); err != nil {
				return err
			}
			err := migrate(tx)
			switch {
			case convErr != nil || v < 0:
				if err == nil || !strings.Contains(err.Error(), "corrupt schema version") {
					t.Fatalf("schema version %q: migrate = %v, want corrupt", raw, err)
				}
			case v > currentVersion():
				if !errors.Is(err, ErrSchemaTooNew) {
					t.Fatalf("schema version %q: migrate = %v, want ErrSchemaTooNew", raw, err)
				}
			default:
				if got, verr := schemaVersion(tx); err != nil || verr != nil || got != currentVersion() {
					t.Fatalf("schema version %q: migrate = %v, then version %d, %v", raw, err, got, verr)
				}
			}
			return errRollback
		})
		if !errors.Is(err, errRollback) {
			t.Fatalf("transaction: %v", err)
		}
	})
}
