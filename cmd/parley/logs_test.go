package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/parley-dev/parley/client"
	"github.com/parley-dev/parley/signaling"
)

// logRecorder is a slog.Handler keeping every record at minLevel or above,
// with the attributes it was given (WithAttrs) and its own.
type logRecorder struct {
	minLevel slog.Level
	attrs    []slog.Attr
	mu       *sync.Mutex
	recs     *[]slog.Record
}

func newLogRecorder(minLevel slog.Level) *logRecorder {
	return &logRecorder{minLevel: minLevel, mu: &sync.Mutex{}, recs: new([]slog.Record)}
}

func (h *logRecorder) Enabled(_ context.Context, l slog.Level) bool { return l >= h.minLevel }

func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	r = r.Clone()
	r.AddAttrs(h.attrs...)
	h.mu.Lock()
	*h.recs = append(*h.recs, r)
	h.mu.Unlock()
	return nil
}

func (h *logRecorder) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), as...)
	return &c
}

func (h *logRecorder) WithGroup(string) slog.Handler { return h }

func (h *logRecorder) records() []slog.Record {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]slog.Record(nil), *h.recs...)
}

func attr(r slog.Record, key string) string {
	var v string
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == key {
			v = a.Value.String()
			return false
		}
		return true
	})
	return v
}

func describe(r slog.Record) string {
	s := r.Level.String() + " " + r.Message
	r.Attrs(func(a slog.Attr) bool { s += " " + a.String(); return true })
	return s
}

// TestChurnLogsNoWarnings runs joins, leaves and drops (the WebSocket and
// PeerConnection closed without a leave message) around a participant who
// stays, then shuts the server down, and checks nothing was logged at
// Warn or above (sfu, signaling, api) and nothing of Pion's above Debug:
// all of it is normal.
func TestChurnLogsNoWarnings(t *testing.T) {
	rec := newLogRecorder(slog.LevelDebug)
	// Drops are not resumed here: the stayer must see them leave at once.
	m := NewMain(Config{Listen: "127.0.0.1:0", DataDir: t.TempDir(),
		Signaling: signaling.Config{ResumeGrace: -1}}, slog.New(rec))
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			m.Close()
		}
	}()
	link := createRoom(t, m, "churn")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	join := func(name string, publishing bool) *client.Client {
		t.Helper()
		c, err := client.Join(ctx, client.Config{BaseURL: m.LocalURL(), Link: link, Name: name,
			PublishAudio: publishing, PublishVideo: publishing, Logger: testLogger()})
		if err != nil {
			t.Fatalf("%s: join: %v", name, err)
		}
		return c
	}
	pubCtx, stopPub := context.WithCancel(ctx)
	var pubs sync.WaitGroup
	defer func() { stopPub(); pubs.Wait() }()
	startPublishing := func(c *client.Client, i int) {
		pubs.Add(1)
		go func() { defer pubs.Done(); publish(pubCtx, c, i) }()
	}

	stayer := join("stayer", true)
	startPublishing(stayer, 0)
	for round := range 3 {
		var cs []*client.Client
		for i := range 4 {
			c := join(fmt.Sprintf("r%d-%d", round, i), i%2 == 0)
			if i%2 == 0 {
				startPublishing(c, 10*round+i+1)
			}
			cs = append(cs, c)
		}
		for _, c := range cs {
			if err := c.WaitConnected(ctx); err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
		if err := stayer.Wait(ctx, func(s client.State) bool { return len(s.Participants) == 4 }); err != nil {
			t.Fatalf("round %d: the stayer never saw 4 others: %v", round, err)
		}
		time.Sleep(200 * time.Millisecond) // media flows a while
		for i, c := range cs {
			if i < 2 {
				if err := c.Leave(); err != nil {
					t.Errorf("leave: %v", err)
				}
			} else if err := c.Close(); err != nil { // a drop
				t.Errorf("close: %v", err)
			}
		}
		if err := stayer.Wait(ctx, func(s client.State) bool { return len(s.Participants) == 0 }); err != nil {
			t.Fatalf("round %d: the stayer still sees others: %v", round, err)
		}
	}
	stopPub()
	pubs.Wait()
	if err := stayer.Leave(); err != nil {
		t.Errorf("leave: %v", err)
	}
	// The server shuts down with a participant in a call, too.
	last := join("last", false)
	if err := last.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	closed = true
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	last.Close()

	for _, r := range rec.records() {
		if r.Level >= slog.LevelWarn || attr(r, "pion") != "" && r.Level > slog.LevelDebug {
			t.Errorf("logged during normal churn: %s", describe(r))
		}
	}
}
