// Package deliverytest holds what the tests of a delivery.Dispatcher
// (packages mail, sms and delivery) share: running one until the test
// ends, waiting for it to fall asleep on a fake clock, and a logger that
// writes to the test log. Only tests import it.
package deliverytest

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-dev/parley/livecall/fakeclock"
)

// Start runs run on its own goroutine until the test ends or the returned
// stop is called (which cancels its context and waits for it to return;
// calling stop again does nothing).
func Start(t testing.TB, run func(context.Context) error) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = run(ctx) })
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); wg.Wait() }) }
	t.Cleanup(stop)
	return stop
}

// Settle waits (in real time, briefly) until cond holds and the
// dispatcher is asleep on its next timer: c has exactly one pending.
func Settle(t testing.TB, c *fakeclock.Clock, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !(cond() && c.Pending() == 1) {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s (%d timers pending)", what, c.Pending())
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// Logger returns a logger that writes its lines to t's log.
func Logger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(logWriter{t}, nil))
}

// logWriter sends log lines to the test log.
type logWriter struct{ t testing.TB }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
