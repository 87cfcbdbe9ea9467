package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-dev/parley/rooms"
	"github.com/parley-dev/parley/rooms/store"
)

// cliRun runs a command line as main does and returns what the operator
// sees: stdout, stderr and the exit status.
func cliRun(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = runMain(context.Background(), args, &out, &errOut)
	return out.String(), errOut.String(), code
}

// offlineDataDir makes a data directory holding a database with rooms,
// as a stopped server leaves it.
func offlineDataDir(t *testing.T, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	db, err := store.Open(filepath.Join(dir, "parley.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, name := range names {
		rm, err := rooms.New(name, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := db.CreateRoom(context.Background(), rm); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestRoomCLISameOnlineAndOffline checks each failure reads the same, in
// plain words, with the same exit status, whether the CLI goes through a
// running server or opens the database.
func TestRoomCLISameOnlineAndOffline(t *testing.T) {
	offline := offlineDataDir(t, "Choir")
	online := t.TempDir()
	createRoom(t, startServer(t, online), "Choir")

	tests := []struct {
		args       []string
		code       int
		wantStderr string // the first line
	}{
		{[]string{"room", "create", "Choir"}, exitError, `parley: a room named "Choir" already exists`},
		{[]string{"room", "create", "  CHOIR "}, exitError, `parley: a room named "CHOIR" already exists`},
		{[]string{"room", "create", "bad/name"}, exitError, `parley: "bad/name" is not a valid room name: character '/' not allowed (use letters, digits, space, '-', '_', '.')`},
		{[]string{"room", "create", ""}, exitError, `parley: a room name cannot be empty`},
		{[]string{"room", "create", "   "}, exitError, `parley: a room name cannot be empty`},
		{[]string{"room", "delete", "Nope"}, exitError, `parley: there is no room named "Nope" (parley room list shows the rooms)`},
		{[]string{"room", "delete", "bad/name"}, exitError, `parley: there is no room named "bad/name" (parley room list shows the rooms)`},
		{[]string{"room", "create", "Thursday", "Choir"}, exitUsage, `parley: room create takes one name, got 2 words; to create the room "Thursday Choir", quote its name:`},
		{[]string{"room", "delete", "Thursday", "Choir"}, exitUsage, `parley: room delete takes one name, got 2 words; to delete the room "Thursday Choir", quote its name:`},
		{[]string{"room", "create"}, exitUsage, `parley: room create needs the room's name, as in: parley room create "Thursday Choir"`},
		{[]string{"room", "list", "extra"}, exitUsage, `parley: room list takes no arguments, got ["extra"]`},
		{[]string{"room", "frobnicate"}, exitUsage, `parley: room: unknown subcommand "frobnicate"`},
		{[]string{"room", "list", "--frob"}, exitUsage, `parley: room list: unknown flag --frob`},
	}
	for _, tt := range tests {
		var seen [2]string
		for i, dir := range []string{offline, online} {
			args := append(append([]string{}, tt.args...), "--data", dir)
			stdout, stderr, code := cliRun(t, args...)
			where := []string{"offline", "online"}[i]
			first, _, _ := strings.Cut(stderr, "\n")
			if code != tt.code || first != tt.wantStderr || stdout != "" {
				t.Errorf("%s %q: exit %d, stdout %q, stderr %q; want exit %d and %q", where, tt.args, code, stdout, stderr, tt.code, tt.wantStderr)
			}
			for _, jargon := range []string{"store:", "create room:", "server says", "room already exists", "room not found", "json:"} {
				if strings.Contains(stderr, jargon) {
					t.Errorf("%s %q: stderr %q contains %q", where, tt.args, stderr, jargon)
				}
			}
			seen[i] = stderr
		}
		if seen[0] != seen[1] {
			t.Errorf("%q: offline says\n%s\nonline says\n%s", tt.args, seen[0], seen[1])
		}
	}
	// The hint is a command that works.
	_, stderr, _ := cliRun(t, "room", "create", "Thursday", "Choir", "--data", offline)
	if !strings.Contains(stderr, "\n  parley room create \"Thursday Choir\"\n") {
		t.Errorf("two words: stderr %q lacks the quoted command", stderr)
	}
}

// TestRoomCLINeverCreatesDatabase checks that without a server the room
// commands refuse a missing directory or database rather than making a
// fresh empty one.
func TestRoomCLINeverCreatesDatabase(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-such-dir")
	empty := t.TempDir()
	for _, args := range [][]string{{"room", "list"}, {"room", "create", "Choir"}, {"room", "delete", "Choir"}} {
		_, stderr, code := cliRun(t, append(args, "--data", missing)...)
		if code != exitError || !strings.Contains(stderr, "there is no data directory "+missing) {
			t.Errorf("%q on a missing directory: exit %d, %q", args, code, stderr)
		}
		if _, err := os.Stat(missing); !os.IsNotExist(err) {
			t.Fatalf("%q created %s", args, missing)
		}
		_, stderr, code = cliRun(t, append(args, "--data", empty)...)
		if code != exitError || !strings.Contains(stderr, "there is no database in "+empty) {
			t.Errorf("%q on an empty directory: exit %d, %q", args, code, stderr)
		}
		if _, err := os.Stat(filepath.Join(empty, "parley.db")); !os.IsNotExist(err) {
			t.Fatalf("%q created a database in %s", args, empty)
		}
	}
}

// TestHelp checks every way of asking for help prints usage on stdout and
// exits 0.
func TestHelp(t *testing.T) {
	for _, args := range [][]string{
		{"--help"}, {"-h"}, {"help"},
		{"help", "room"}, {"room", "--help"}, {"room", "-h"}, {"room", "help"},
		{"room", "create", "--help"}, {"room", "list", "-h"}, {"room", "delete", "Choir", "--help"},
		{"help", "serve"}, {"help", "backup"}, {"backup", "--help"}, {"help", "health"}, {"health", "-h"},
	} {
		stdout, stderr, code := cliRun(t, args...)
		if code != exitOK || !strings.Contains(stdout, "Usage") || stderr != "" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want usage on stdout and exit 0", args, code, stdout, stderr)
		}
	}
	if stdout, _, _ := cliRun(t, "help", "serve"); !strings.Contains(stdout, "-log-level") || !strings.Contains(stdout, "debug, info, warn or error") {
		t.Errorf("help serve lacks --log-level and its values: %q", stdout)
	}
	for _, args := range [][]string{{}, {"frobnicate"}, {"help", "frobnicate"}, {"room"}} {
		if _, stderr, code := cliRun(t, args...); code != exitUsage || !strings.HasPrefix(stderr, "parley: ") {
			t.Errorf("%q: exit %d, stderr %q; want exit 2 and a message", args, code, stderr)
		}
	}
}

func TestLogLevelErrorListsValues(t *testing.T) {
	_, err := parseServeFlags([]string{"--log-level", "loud"}, &bytes.Buffer{}, func(string) (string, bool) { return "", false })
	if err == nil || err.Error() != `--log-level "loud": want debug, info, warn or error` {
		t.Errorf("--log-level loud: %v", err)
	}
	for _, ok := range []string{"debug", "info", "warn", "error", "WARN"} {
		if _, err := parseServeFlags([]string{"--log-level", ok}, &bytes.Buffer{}, func(string) (string, bool) { return "", false }); err != nil {
			t.Errorf("--log-level %s: %v", ok, err)
		}
	}
}
