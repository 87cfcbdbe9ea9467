package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// chromedp's allocator reaps the browser process in the background.
		goleak.IgnoreTopFunction("os/exec.(*Cmd).watchCtx"),
	)
}

// testLogger discards logs unless PARLEY_TEST_LOG is set.
func testLogger() *slog.Logger {
	if os.Getenv("PARLEY_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// startServer runs a Main on 127.0.0.1:0 with a fresh data directory and
// stops it when the test ends.
func startServer(t *testing.T, dataDir string) *Main {
	t.Helper()
	return startServerConfig(t, Config{DataDir: dataDir})
}

// startServerConfig is startServer with cfg (Listen, the ports and an
// empty DataDir are filled in).
func startServerConfig(t *testing.T, cfg Config) *Main {
	t.Helper()
	return startServerWith(t, nil, func(c *Config) {
		dir := c.DataDir
		*c = cfg
		if c.DataDir == "" {
			c.DataDir = dir
		}
	})
}

// createRoom makes a room on m and returns its link id.
func createRoom(t *testing.T, m *Main, name string) string {
	t.Helper()
	rm, _, err := m.CreateRoom(context.Background(), name)
	if err != nil {
		t.Fatalf("create room %q: %v", name, err)
	}
	return rm.Link
}
