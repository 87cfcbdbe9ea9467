package sms_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-dev/parley/delivery"
	"github.com/parley-dev/parley/internal/deliverytest"
	"github.com/parley-dev/parley/livecall/fakeclock"
	"github.com/parley-dev/parley/rooms"
	"github.com/parley-dev/parley/rooms/store"
	"github.com/parley-dev/parley/sms"
	"github.com/parley-dev/parley/sms/smstest"
)

// rig is a dispatcher on a fake clock, over a real store, sending to a
// real HTTPS gateway.
type rig struct {
	t     *testing.T
	clock *fakeclock.Clock
	path  string
	db    *store.DB
	gw    *smstest.Server
	d     *sms.Dispatcher
	stop  func()
}

func newRig(t *testing.T) *rig {
	t.Helper()
	r := &rig{t: t, clock: fakeclock.New(epoch), path: filepath.Join(t.TempDir(), "parley.db"), gw: smstest.Start(t)}
	r.open()
	return r
}

func (r *rig) open() {
	db, err := store.Open(r.path, store.Options{})
	if err != nil {
		r.t.Fatal(err)
	}
	r.db = db
	r.t.Cleanup(func() { _ = db.Close() })
}

// start runs a dispatcher until the test ends (or stop).
func (r *rig) start() {
	r.t.Helper()
	g, err := sms.NewGateway(sms.GatewayConfig{URL: r.gw.URL() + "/send", AuthHeader: "Authorization: Bearer k", Client: r.gw.Client()})
	if err != nil {
		r.t.Fatal(err)
	}
	d, err := sms.NewDispatcher(sms.DispatcherConfig{
		Outbox: r.db,
		Sender: g,
		Options: delivery.Options{
			Clock:  r.clock,
			Jitter: func() float64 { return 0.5 }, // no spread: exact waits
			Logger: deliverytest.Logger(r.t),
		},
	})
	if err != nil {
		r.t.Fatal(err)
	}
	r.d = d
	r.stop = deliverytest.Start(r.t, d.Run)
}

func (r *rig) enqueue(to string) *rooms.TextMessage {
	r.t.Helper()
	m, err := rooms.NewTextMessage("invitation", to, "Join me: https://meet.example.org/g/abc", r.clock.Now())
	if err != nil {
		r.t.Fatal(err)
	}
	if err := r.db.EnqueueText(context.Background(), m); err != nil {
		r.t.Fatal(err)
	}
	if r.d != nil {
		r.d.Notify()
	}
	return m
}

func (r *rig) text(id string) *rooms.TextMessage {
	r.t.Helper()
	m, err := r.db.Text(context.Background(), id)
	if err != nil {
		r.t.Fatal(err)
	}
	return m
}

// settle waits until cond holds and the dispatcher is asleep.
func (r *rig) settle(what string, cond func() bool) {
	r.t.Helper()
	deliverytest.Settle(r.t, r.clock, what, cond)
}

// TestDispatcherRetriesWithBackoff has the gateway fail, and checks each
// retry comes after a doubled wait on the fake clock and not a second
// sooner, with the gateway's answer recorded; then the gateway recovers
// and the message goes out once and is marked sent.
func TestDispatcherRetriesWithBackoff(t *testing.T) {
	r := newRig(t)
	r.gw.Fail(503)
	r.start()
	m := r.enqueue("+447700900123")
	t0 := r.clock.Now()
	elapsed := time.Duration(0)
	for attempt, wait := range []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute} {
		r.settle("an attempt", func() bool { return r.text(m.ID).Attempts == attempt+1 })
		got := r.text(m.ID)
		if got.State != rooms.TextQueued || !got.NextAttempt.Equal(t0.Add(elapsed+wait)) || !strings.Contains(got.LastError, "503") {
			t.Fatalf("after attempt %d: %+v; want queued, next at +%v, the 503 recorded", attempt+1, got, elapsed+wait)
		}
		r.clock.Advance(wait - time.Second)
		if n := r.text(m.ID).Attempts; n != attempt+1 {
			t.Fatalf("attempt %d came a second early", n)
		}
		if attempt == 3 {
			r.gw.Accept()
		}
		r.clock.Advance(time.Second)
		elapsed += wait
	}
	r.settle("sent", func() bool { return r.text(m.ID).State == rooms.TextSent })
	got := r.text(m.ID)
	if got.Attempts != 5 || !got.SentAt.Equal(t0.Add(elapsed)) || got.Text != "" {
		t.Errorf("sent record: %+v", got)
	}
	for range 5 {
		r.clock.Advance(time.Hour)
	}
	r.stop()
	if n := len(r.gw.Requests()); n != 5 {
		t.Errorf("the gateway received %d requests, want 5 (4 refused, 1 accepted)", n)
	}
}

// TestDispatcherNeverLoses queues a message while no gateway runs (none
// configured), closes the store as a stopping server does, and reopens
// it: the message is still queued, and the first dispatcher sends it at
// once.
func TestDispatcherNeverLoses(t *testing.T) {
	r := newRig(t)
	m := r.enqueue("+447700900123")
	r.clock.Advance(3 * time.Hour)
	if err := r.db.Close(); err != nil {
		t.Fatal(err)
	}
	r.open()
	if got := r.text(m.ID); got.State != rooms.TextQueued || got.Text == "" {
		t.Fatalf("after a restart: %+v; want it queued with its text", got)
	}
	r.start()
	reqs := r.gw.Wait(t, 1, 10*time.Second)
	if !strings.Contains(reqs[0].Body, `"to":"+447700900123"`) || reqs[0].Header.Get("Authorization") != "Bearer k" {
		t.Errorf("request %+v", reqs[0])
	}
	r.settle("sent", func() bool { return r.text(m.ID).State == rooms.TextSent })
}

// TestDispatcherWakesOnNotify checks a message queued while the dispatcher
// sleeps goes out with no time passing.
func TestDispatcherWakesOnNotify(t *testing.T) {
	r := newRig(t)
	r.start()
	r.settle("idle", func() bool { return true })
	for i, to := range []string{"+447700900001", "+447700900002"} {
		m := r.enqueue(to)
		r.gw.Wait(t, i+1, 10*time.Second)
		r.settle("sent", func() bool { return r.text(m.ID).State == rooms.TextSent })
	}
}
