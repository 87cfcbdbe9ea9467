package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-dev/parley/api"
	"github.com/parley-dev/parley/rooms/store"
)

// checkBackup opens a backup as the server would and returns its room
// names, after a bbolt consistency check; every room must resolve by name
// and by link (the indexes were copied with their records).
func checkBackup(t *testing.T, path string) map[string]bool {
	t.Helper()
	if err := store.CheckFile(path, 0); err != nil {
		t.Fatalf("backup %s fails the bbolt check: %v", path, err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("backup %s: mode %v, %v; want private (0600)", path, fi.Mode().Perm(), err)
	}
	db, err := store.Open(path, store.Options{NoCreate: true})
	if err != nil {
		t.Fatalf("open backup: %v", err)
	}
	defer db.Close()
	ctx := context.Background()
	all, err := db.Rooms(ctx)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, rm := range all {
		byName, err1 := db.RoomByName(ctx, rm.Name)
		byLink, err2 := db.RoomByLink(ctx, rm.Link)
		if err1 != nil || err2 != nil || byName.ID != rm.ID || byLink.ID != rm.ID {
			t.Errorf("room %q in the backup: by name %v, by link %v", rm.Name, err1, err2)
		}
		names[rm.Name] = true
	}
	return names
}

// TestBackupWhileServing takes a backup through a running server while
// rooms are being created, and another with the server stopped.
func TestBackupWhileServing(t *testing.T) {
	dir := t.TempDir()
	m := NewMain(Config{Listen: "127.0.0.1:0", DataDir: dir, TCPPort: -1}, testLogger())
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for i := range 20 {
		createRoom(t, m, fmt.Sprintf("before %d", i))
	}
	// Keep creating rooms while the backup runs.
	var (
		stop    = make(chan struct{})
		wg      sync.WaitGroup
		created atomic.Int64
	)
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, _, err := m.CreateRoom(context.Background(), fmt.Sprintf("during %d", i)); err != nil {
				t.Errorf("create during backup: %v", err)
				return
			}
			created.Add(1)
		}
	})
	for created.Load() < 5 {
		time.Sleep(time.Millisecond)
	}
	file := filepath.Join(t.TempDir(), "hot.db")
	stdout, stderr, code := cliRun(t, "backup", file, "--data", dir)
	close(stop)
	wg.Wait()
	if code != exitOK || !strings.Contains(stdout, "from the server running on") {
		t.Fatalf("backup while serving: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	names := checkBackup(t, file)
	for i := range 20 {
		if !names[fmt.Sprintf("before %d", i)] {
			t.Errorf("room %q, created before the backup, is missing", fmt.Sprintf("before %d", i))
		}
	}
	if created.Load() < 10 {
		t.Logf("only %d rooms were created during the backup", created.Load())
	}
	if _, err := os.Stat(file + ".tmp"); !os.IsNotExist(err) {
		t.Errorf("%s.tmp left behind: %v", file, err)
	}

	// A second backup to the same file is refused, without --force.
	before, _ := os.ReadFile(file)
	if _, stderr, code := cliRun(t, "backup", file, "--data", dir); code != exitError || !strings.Contains(stderr, "already exists; choose another name, or give --force") {
		t.Errorf("backup over an existing file: exit %d, %q", code, stderr)
	}
	if after, _ := os.ReadFile(file); string(after) != string(before) {
		t.Error("a refused backup changed the file")
	}
	if _, stderr, code := cliRun(t, "backup", filepath.Join(dir, "parley.db"), "--force", "--data", dir); code != exitError || !strings.Contains(stderr, "is the database itself") {
		t.Errorf("backup onto the live database: exit %d, %q", code, stderr)
	}

	// Offline: the server is stopped; the copy comes from the file.
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code = cliRun(t, "backup", file, "--force", "--data", dir)
	if code != exitOK || !strings.Contains(stdout, "(no server running)") {
		t.Fatalf("offline backup: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	offline := checkBackup(t, file)
	if want := 20 + int(created.Load()); len(offline) != want {
		t.Errorf("offline backup has %d rooms, want %d", len(offline), want)
	}
}

// TestBackupFailureLeavesNoFile checks a backup that fails midway (a cut
// download, a copy that is not a database, a damaged source) leaves neither
// FILE nor FILE.tmp, and keeps an existing FILE as it was.
func TestBackupFailureLeavesNoFile(t *testing.T) {
	fake := func(body func(w http.ResponseWriter)) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/api/v1/rooms":
				json.NewEncoder(w).Encode(map[string]any{"rooms": []api.RoomView{}})
			case "/api/v1/backup":
				body(w)
			}
		}))
		t.Cleanup(srv.Close)
		dir := t.TempDir()
		if err := writeOperatorFile(filepath.Join(dir, operatorFileName), operatorInfo{URL: srv.URL, Token: "t"}); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	cut := fake(func(w http.ResponseWriter) {
		w.Header().Set("Content-Length", "1000000")
		w.WriteHeader(200)
		io.WriteString(w, strings.Repeat("x", 5000))
	})
	notDB := fake(func(w http.ResponseWriter) {
		w.Header().Set("Content-Length", "65536")
		io.WriteString(w, strings.Repeat("not a database ", 65536/15+1)[:65536])
	})
	refused := fake(func(w http.ResponseWriter) {
		w.WriteHeader(500)
		io.WriteString(w, `{"error":{"code":"internal","message":"internal error (ref abc123)"}}`)
	})
	damaged := offlineDataDir(t, "Choir")
	dbPath := filepath.Join(damaged, "parley.db")
	data, err := os.ReadFile(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dbPath, data[:len(data)/2], 0o600); err != nil {
		t.Fatal(err)
	}

	for _, tt := range []struct {
		name, dir, want string
	}{
		{"cut off", cut, "the server's copy was cut off after 4.9 KiB of 976.6 KiB; "},
		{"not a database", notDB, "the copy is damaged (invalid database), so"},
		{"server error", refused, "the server did not make a backup: the server answered: internal error (ref abc123)"},
		{"damaged source", damaged, "it is shorter than its own header says, so it is damaged"},
	} {
		for _, existing := range []bool{false, true} {
			file := filepath.Join(t.TempDir(), "backup.db")
			args := []string{"backup", file, "--data", tt.dir}
			if existing {
				if err := os.WriteFile(file, []byte("old backup"), 0o600); err != nil {
					t.Fatal(err)
				}
				args = append(args, "--force")
			}
			_, stderr, code := cliRun(t, args...)
			if code != exitError || !strings.Contains(stderr, tt.want) || strings.Contains(stderr, "store:") || strings.Contains(stderr, "EOF") {
				t.Errorf("%s: exit %d, stderr %q; want exit 1 and %q", tt.name, code, stderr, tt.want)
			}
			got, err := os.ReadFile(file)
			switch {
			case existing && string(got) != "old backup":
				t.Errorf("%s: the existing backup became %d bytes, %v", tt.name, len(got), err)
			case !existing && !os.IsNotExist(err):
				t.Errorf("%s: a failed backup left %s (%d bytes)", tt.name, file, len(got))
			}
			if _, err := os.Stat(file + ".tmp"); !os.IsNotExist(err) {
				t.Errorf("%s: %s.tmp left behind", tt.name, file)
			}
		}
	}
}

// TestRestoreBackup follows the README's restore procedure: a backup
// becomes the parley.db of a new data directory, and a server started on
// it has the rooms, whose links still join.
func TestRestoreBackup(t *testing.T) {
	src := t.TempDir()
	m := startServer(t, src)
	link := createRoom(t, m, "Thursday Choir")
	createRoom(t, m, "Board")
	file := filepath.Join(t.TempDir(), "parley-backup.db")
	if _, stderr, code := cliRun(t, "backup", file, "--data", src); code != exitOK {
		t.Fatalf("backup: %s", stderr)
	}
	m.Close()

	restored := t.TempDir()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(restored, "parley.db"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	m2 := startServer(t, restored)
	stdout, stderr, code := cliRun(t, "room", "list", "--data", restored)
	if code != exitOK || !strings.Contains(stdout, "Thursday Choir") || !strings.Contains(stdout, "Board") {
		t.Fatalf("rooms after restore: exit %d, %q, %q", code, stdout, stderr)
	}
	resp, err := http.Post(m2.LocalURL()+"/api/v1/join", "application/json", strings.NewReader(`{"link":"`+link+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var jr api.JoinResponse
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&jr) != nil || jr.Room.Name != "Thursday Choir" {
		t.Fatalf("join the old link on the restored server: %d %+v", resp.StatusCode, jr)
	}
}
