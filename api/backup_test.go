package api

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/parley-dev/parley/rooms"
	"github.com/parley-dev/parley/rooms/store"
)

// TestBackupEndpoint checks GET /api/v1/backup is the operator's alone and
// returns a whole, sound database file of exactly its Content-Length.
func TestBackupEndpoint(t *testing.T) {
	f := newFixture(t)
	rm, err := rooms.New("Choir", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := f.db.CreateRoom(context.Background(), rm); err != nil {
		t.Fatal(err)
	}
	for _, hdr := range []map[string]string{nil, {"Authorization": "Bearer wrong"}} {
		resp, data := f.do(t, "GET", "/api/v1/backup", "", hdr)
		if resp.StatusCode != 401 || errorCode(t, data) != "unauthorized" {
			t.Errorf("backup with %v: %d %s; want 401 unauthorized", hdr, resp.StatusCode, data)
		}
	}
	resp, data := f.do(t, "GET", "/api/v1/backup", "", map[string]string{"Authorization": "Bearer " + opToken})
	if resp.StatusCode != 200 {
		t.Fatalf("backup: %d %s", resp.StatusCode, data)
	}
	if n, err := strconv.Atoi(resp.Header.Get("Content-Length")); err != nil || n != len(data) || n == 0 {
		t.Errorf("Content-Length %q for %d bytes", resp.Header.Get("Content-Length"), len(data))
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/octet-stream" {
		t.Errorf("Content-Type %q", ct)
	}
	path := filepath.Join(t.TempDir(), "backup.db")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := store.CheckFile(path, 0); err != nil {
		t.Fatalf("backup fails its check: %v", err)
	}
	db, err := store.Open(path, store.Options{NoCreate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got, err := db.RoomByLink(context.Background(), rm.Link); err != nil || got.Name != "Choir" {
		t.Errorf("room in backup: %+v, %v", got, err)
	}
}
