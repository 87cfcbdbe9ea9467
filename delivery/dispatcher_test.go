package delivery

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/parley-dev/parley/internal/deliverytest"
	"github.com/parley-dev/parley/livecall/fakeclock"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var epoch = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// TestBackoff checks the wait doubles from MinBackoff, stops at
// MaxBackoff, and is spread by at most ±10%.
func TestBackoff(t *testing.T) {
	for _, tc := range []struct {
		jitter   float64
		attempts int
		want     time.Duration
	}{
		{0.5, 1, 30 * time.Second},
		{0.5, 2, time.Minute},
		{0.5, 7, 32 * time.Minute},
		{0.5, 8, time.Hour},
		{0.5, 100, time.Hour},
		{0, 1, 27 * time.Second},
		{1, 8, 66 * time.Minute},
	} {
		d, err := New(Config[*msg]{Outbox: &fakeOutbox{}, Send: func(context.Context, *msg) error { return nil },
			Describe: describe, Options: Options{Jitter: func() float64 { return tc.jitter }}})
		if err != nil {
			t.Fatal(err)
		}
		if got := d.backoff(tc.attempts); got != tc.want {
			t.Errorf("backoff(%d) with jitter %v = %v, want %v", tc.attempts, tc.jitter, got, tc.want)
		}
	}
	if _, err := New(Config[*msg]{}); !errors.Is(err, ErrIncomplete) {
		t.Errorf("New with no Outbox: %v, want ErrIncomplete", err)
	}
}

// TestRunRetriesThenSends runs a Dispatcher over an in-memory outbox on a
// fake clock: a failed send is retried after MinBackoff, not before, and
// then marked sent.
func TestRunRetriesThenSends(t *testing.T) {
	clock := fakeclock.New(epoch)
	ob := &fakeOutbox{msgs: map[string]*msg{"a": {id: "a", next: epoch}}}
	var mu sync.Mutex
	fail := true
	d, err := New(Config[*msg]{
		Outbox: ob,
		Send: func(context.Context, *msg) error {
			mu.Lock()
			defer mu.Unlock()
			if fail {
				return errors.New("down")
			}
			return nil
		},
		Describe: describe,
		Options:  Options{Clock: clock, Jitter: func() float64 { return 0.5 }},
	})
	if err != nil {
		t.Fatal(err)
	}
	deliverytest.Start(t, d.Run)
	settle := func(what string, cond func(m msg) bool) {
		t.Helper()
		deliverytest.Settle(t, clock, what, func() bool { return cond(ob.get("a")) })
	}
	settle("the failure", func(m msg) bool { return m.attempts == 1 })
	if m := ob.get("a"); !m.next.Equal(epoch.Add(30*time.Second)) || m.lastErr != "down" {
		t.Fatalf("after the failure: %+v", m)
	}
	mu.Lock()
	fail = false
	mu.Unlock()
	clock.Advance(29 * time.Second)
	if m := ob.get("a"); m.attempts != 1 || m.sent {
		t.Fatalf("retried early: %+v", m)
	}
	clock.Advance(time.Second)
	settle("the send", func(m msg) bool { return m.sent })
}

type msg struct {
	id       string
	attempts int
	next     time.Time
	lastErr  string
	sent     bool
}

func describe(m *msg) (string, int, []any) { return m.id, m.attempts, nil }

// fakeOutbox is an Outbox in memory, guarded by mu; it hands out copies.
type fakeOutbox struct {
	mu   sync.Mutex
	msgs map[string]*msg
}

func (o *fakeOutbox) get(id string) msg {
	o.mu.Lock()
	defer o.mu.Unlock()
	return *o.msgs[id]
}

func (o *fakeOutbox) Due(_ context.Context, now time.Time, limit int) ([]*msg, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var due []*msg
	for _, m := range o.msgs {
		if !m.sent && !m.next.After(now) && len(due) < limit {
			c := *m
			due = append(due, &c)
		}
	}
	return due, nil
}

func (o *fakeOutbox) NextDue(context.Context) (time.Time, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var next time.Time
	for _, m := range o.msgs {
		if !m.sent && (next.IsZero() || m.next.Before(next)) {
			next = m.next
		}
	}
	return next, nil
}

func (o *fakeOutbox) MarkSent(_ context.Context, id string, _ time.Time) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.msgs[id].attempts++
	o.msgs[id].sent = true
	return nil
}

func (o *fakeOutbox) MarkRetry(_ context.Context, id, lastErr string, next time.Time) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	m := o.msgs[id]
	m.attempts++
	m.lastErr, m.next = lastErr, next
	return nil
}
