package store_test

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/parley-dev/parley/rooms/store"
)

// TestOpenNoCreate checks that NoCreate opens an existing file but creates
// neither a missing file nor its directory.
func TestOpenNoCreate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "missing")
	path := filepath.Join(dir, "parley.db")
	db, err := store.Open(path, store.Options{NoCreate: true})
	if err == nil {
		db.Close()
		t.Fatal("Open with NoCreate made a database in a missing directory")
	}
	if !errors.Is(err, store.ErrNoDatabase) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open = %v; want ErrNoDatabase and fs.ErrNotExist", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open with NoCreate left %s behind (stat: %v)", dir, err)
	}

	// An empty directory: still no file made.
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if db, err := store.Open(path, store.Options{NoCreate: true}); err == nil {
		db.Close()
		t.Fatal("Open with NoCreate made a database in an empty directory")
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open with NoCreate created %s (stat: %v)", path, err)
	}

	// An existing file opens.
	db, err = store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, db, "kept")
	db.Close()
	db, err = store.Open(path, store.Options{NoCreate: true})
	if err != nil {
		t.Fatalf("Open existing with NoCreate: %v", err)
	}
	defer db.Close()
	if _, err := db.RoomByName(t.Context(), "kept"); err != nil {
		t.Errorf("room lost: %v", err)
	}
}

// TestBackupToSize checks BackupTo announces exactly the bytes it writes,
// and that the copy passes Check while a truncated or foreign file fails.
func TestBackupToSize(t *testing.T) {
	db, _ := openTemp(t)
	mustCreate(t, db, "one", "two")
	if err := db.Check(); err != nil {
		t.Fatalf("Check on a sound file: %v", err)
	}
	var buf bytes.Buffer
	announced := int64(-1)
	n, err := db.BackupTo(&buf, func(size int64) {
		if buf.Len() != 0 {
			t.Error("size called after writing began")
		}
		announced = size
	})
	if err != nil || n != announced || int64(buf.Len()) != n {
		t.Fatalf("BackupTo = %d, %v; announced %d, wrote %d", n, err, announced, buf.Len())
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "good.db")
	if err := os.WriteFile(good, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := store.CheckFile(good, 0); err != nil {
		t.Errorf("CheckFile(backup) = %v", err)
	}
	for name, data := range map[string][]byte{
		"truncated.db": buf.Bytes()[:buf.Len()/2],
		"foreign.db":   bytes.Repeat([]byte("not a database "), 1000),
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := store.CheckFile(p, 0); err == nil {
			t.Errorf("CheckFile(%s) passed", name)
		}
	}
	if err := store.CheckFile(filepath.Join(dir, "absent.db"), 0); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("CheckFile(absent) = %v; want fs.ErrNotExist", err)
	}
}
