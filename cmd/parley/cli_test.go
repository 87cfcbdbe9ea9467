package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parley-dev/parley/client"
	"github.com/parley-dev/parley/metrics"
	"github.com/parley-dev/parley/rooms/store"
	"github.com/parley-dev/parley/signaling/protocol"
)

// cli runs the parley command line and returns its stdout.
func cli(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, &out, &errOut)
	return out.String(), err
}

func linkOf(t *testing.T, url string) string {
	t.Helper()
	i := strings.LastIndex(url, "/r/")
	if i < 0 {
		t.Fatalf("%q is not a join link", url)
	}
	return strings.TrimSpace(url[i+3:])
}

func TestRoomCLIWithoutServer(t *testing.T) {
	dir := offlineDataDir(t)
	out, err := cli(t, "room", "create", "demo", "--data", dir)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	url := strings.TrimSpace(out)
	if !strings.HasPrefix(url, "http://localhost:8080/r/") || len(linkOf(t, url)) < 22 {
		t.Fatalf("create printed %q, want a join link", out)
	}
	if _, err := cli(t, "room", "create", "DEMO", "--data", dir); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("duplicate name: err = %v, want 'exists'", err)
	}
	if _, err := cli(t, "room", "create", "--data", dir, "bad/name"); err == nil {
		t.Fatal("a name with a slash was accepted")
	}
	if _, err := cli(t, "room", "create", "--data", dir); err == nil {
		t.Fatal("create without a name was accepted")
	}
	out, err = cli(t, "room", "list", "--data", dir)
	if err != nil || !strings.Contains(out, "demo") || !strings.Contains(out, url) {
		t.Fatalf("list = %q, %v; want demo and its link", out, err)
	}
	if _, err := cli(t, "room", "delete", "demo", "--data", dir); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := cli(t, "room", "delete", "demo", "--data", dir); err == nil {
		t.Fatal("deleting a missing room succeeded")
	}
	out, _ = cli(t, "room", "list", "--data", dir)
	if strings.Contains(out, "demo") {
		t.Fatalf("deleted room still listed: %q", out)
	}
	if _, err := cli(t, "room", "frobnicate", "--data", dir); err == nil {
		t.Fatal("unknown subcommand accepted")
	}
}

// TestRoomCLIWhileServing checks the CLI works through a running server
// (which holds the database lock), and that its links are joinable.
func TestRoomCLIWhileServing(t *testing.T) {
	dir := t.TempDir()
	m := startServer(t, dir)
	info, err := os.Stat(filepath.Join(dir, operatorFileName))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("operator file mode %v, want 0600", info.Mode().Perm())
	}
	out, err := cli(t, "room", "create", "live", "--data", dir)
	if err != nil {
		t.Fatalf("create while serving: %v", err)
	}
	url := strings.TrimSpace(out)
	if !strings.HasPrefix(url, m.URL()+"/r/") {
		t.Fatalf("link %q is not under the server's URL %s", url, m.URL())
	}
	out, err = cli(t, "room", "list", "--data", dir)
	if err != nil || !strings.Contains(out, "live") {
		t.Fatalf("list while serving = %q, %v", out, err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := client.Join(ctx, client.Config{BaseURL: m.LocalURL(), Link: linkOf(t, url), Name: "Ada", Logger: testLogger()})
	if err != nil {
		t.Fatalf("join the CLI's link: %v", err)
	}
	defer c.Close()

	// Deleting the room ends its call.
	if _, err := cli(t, "room", "delete", "live", "--data", dir); err != nil {
		t.Fatalf("delete while serving: %v", err)
	}
	if err := c.Wait(ctx, func(s client.State) bool { return s.Bye == protocol.ReasonRoomDeleted && s.Closed }); err != nil {
		t.Fatalf("participant not told the room was deleted: %v (state %+v)", err, c.State())
	}
}

// TestShutdownTellsParticipants checks a stopping server says bye to
// everyone, removes its operator file and closes the database.
func TestShutdownTellsParticipants(t *testing.T) {
	dir := t.TempDir()
	m := NewMain(Config{Listen: "127.0.0.1:0", DataDir: dir, TCPPort: -1}, testLogger())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := m.Run(ctx); err != nil {
		t.Fatal(err)
	}
	link := createRoom(t, m, "closing")
	c, err := client.Join(ctx, client.Config{BaseURL: m.LocalURL(), Link: link, Name: "Ada", Logger: testLogger()})
	if err != nil {
		m.Close()
		t.Fatal(err)
	}
	defer c.Close()
	if err := m.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := c.Wait(ctx, func(s client.State) bool { return s.Bye == protocol.ReasonServerShutdown && s.Closed }); err != nil {
		t.Fatalf("participant not told of the shutdown: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, operatorFileName)); !os.IsNotExist(err) {
		t.Errorf("operator file left behind: %v", err)
	}
	db, err := store.Open(filepath.Join(dir, "parley.db"), store.Options{Timeout: time.Second})
	if err != nil {
		t.Fatalf("database not closed cleanly: %v", err)
	}
	db.Close()
}

func TestServeFlags(t *testing.T) {
	env := map[string]string{"PARLEY_UDP_PORT": "9000", "PARLEY_LISTEN": ":9090"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	cfg, err := parseServeFlags([]string{"--listen", ":7000", "--public-ip", "203.0.113.7, [2001:DB8::7]", "--ice-servers", "stun:stun.example.org:3478"}, &bytes.Buffer{}, lookup)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != ":7000" || cfg.UDPPort != 9000 || cfg.TCPPort != 9000 || cfg.DataDir != defaultDataDir {
		t.Errorf("cfg = %+v", cfg)
	}
	if !slices.Equal(cfg.PublicIPs, []string{"203.0.113.7", "2001:db8::7"}) || len(cfg.ICEServers) != 1 {
		t.Errorf("public IPs %v, ICE servers %v", cfg.PublicIPs, cfg.ICEServers)
	}
	cfg, err = parseServeFlags(nil, &bytes.Buffer{}, func(string) (string, bool) { return "", false })
	if err != nil || cfg.Listen != defaultListen || cfg.UDPPort != defaultMediaPort {
		t.Errorf("defaults: %+v, %v", cfg, err)
	}
	for _, bad := range [][]string{
		{"--udp-port", "70000"},
		{"--udp-port", "x"},
		{"--public-ip", "not-an-ip"},
		{"--public-ip", "fe80::1%eth0"},
		{"--ice-servers", "http://x"},
		{"--ice-servers", "[{"},
		{"--public-url", "meet.example.org"},
		{"--log-level", "loud"},
		{"extra"},
	} {
		if _, err := parseServeFlags(bad, &bytes.Buffer{}, func(string) (string, bool) { return "", false }); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

// TestOperatorEndpoints checks /metrics and /debug/pprof/ follow the flags.
func TestOperatorEndpoints(t *testing.T) {
	get := func(m *Main, path string, hdr string) int {
		req, _ := http.NewRequest("GET", m.LocalURL()+path, nil)
		if hdr != "" {
			req.Header.Set("Authorization", "Bearer "+hdr)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	start := func(cfg Config) *Main {
		cfg.Listen, cfg.DataDir, cfg.TCPPort = "127.0.0.1:0", t.TempDir(), -1
		m := NewMain(cfg, testLogger())
		if err := m.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Close() })
		return m
	}
	def := start(Config{})
	if c := get(def, "/metrics", ""); c != 200 {
		t.Errorf("default /metrics from loopback: %d, want 200", c)
	}
	if c := get(def, "/debug/pprof/", ""); c != 404 {
		t.Errorf("default /debug/pprof/: %d, want 404 (off)", c)
	}
	off, _ := metrics.ParseAccess("off", "")
	if c := get(start(Config{Metrics: off}), "/metrics", ""); c != 404 {
		t.Errorf("--metrics off: %d, want 404", c)
	}
	elsewhere, _ := metrics.ParseAccess("192.0.2.0/24", "tok")
	m := start(Config{Metrics: elsewhere, PProf: true})
	if c := get(m, "/metrics", ""); c != 403 {
		t.Errorf("/metrics from outside the allowed network: %d, want 403", c)
	}
	if c := get(m, "/metrics", "tok"); c != 200 {
		t.Errorf("/metrics with the token: %d, want 200", c)
	}
	if c := get(m, "/debug/pprof/", "tok"); c != 200 {
		t.Errorf("--pprof with the token: %d, want 200", c)
	}
}
