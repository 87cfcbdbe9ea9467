package sfu

import (
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/pion/logging"
)

// TestPionLogDoesNotReadLiveObjects: a Pion message with a pointer to a
// struct that another goroutine writes (as "got new track: %+v" has) is
// logged without reading its fields, so -race stays quiet.
func TestPionLogDoesNotReadLiveObjects(t *testing.T) {
	var buf strings.Builder
	var mu sync.Mutex
	l := newTestPionLogger(&buf, &mu)
	type track struct{ ssrc uint32 }
	tr := &track{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 1000 {
			tr.ssrc = uint32(i)
		}
	}()
	l.Debugf("got new track: %+v", tr)
	l.Debugf("err %v", errors.New("kept"))
	<-done
	mu.Lock()
	out := buf.String()
	mu.Unlock()
	if !strings.Contains(out, "*sfu.track") || !strings.Contains(out, "kept") {
		t.Fatalf("logged %q", out)
	}
}

// newTestPionLogger is a Pion logger writing text records at every level
// to buf, which mu guards.
func newTestPionLogger(buf *strings.Builder, mu *sync.Mutex) logging.LeveledLogger {
	h := slog.NewTextHandler(lockedWriter{buf, mu}, &slog.HandlerOptions{Level: slog.LevelDebug - 4})
	return newPionLoggerFactory(slog.New(h), nil).NewLogger("pc")
}

type lockedWriter struct {
	w  *strings.Builder
	mu *sync.Mutex
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
