package ringing

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/parley-dev/parley/livecall/fakeclock"
)

var start = time.Date(2026, 12, 1, 13, 0, 0, 0, time.UTC)

// missed records what OnMissed was told.
type missed struct {
	mu    sync.Mutex
	rings []Ring
}

func (m *missed) add(r Ring) {
	m.mu.Lock()
	m.rings = append(m.rings, r)
	m.mu.Unlock()
}

func (m *missed) list() []Ring {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Ring(nil), m.rings...)
}

func newExchange(t *testing.T) (*Exchange, *fakeclock.Clock, *missed) {
	t.Helper()
	clock := fakeclock.New(start)
	m := &missed{}
	x := New(Config{Clock: clock, OnMissed: m.add})
	t.Cleanup(x.Close)
	return x, clock, m
}

func TestRingThenAnswer(t *testing.T) {
	x, clock, m := newExchange(t)
	r, err := x.Ring("", "alice", "bob", "conn1")
	if err != nil {
		t.Fatal(err)
	}
	if len(r.CallID) < 20 || r.From != "alice" || r.To != "bob" || r.Origin != "conn1" || r.Conference || !r.Started.Equal(start) {
		t.Fatalf("ring %+v", r)
	}
	if !x.Ringing("bob") || x.Ringing("alice") {
		t.Error("Ringing: want bob only")
	}
	clock.Advance(29 * time.Second)
	got, err := x.Answer(r.CallID, "bob")
	if err != nil || got != r {
		t.Fatalf("Answer = %+v, %v; want %+v", got, err, r)
	}
	if _, err := x.Answer(r.CallID, "bob"); !errors.Is(err, ErrUnknownCall) {
		t.Errorf("second Answer: %v, want ErrUnknownCall", err)
	}
	clock.Advance(time.Minute)
	if len(m.list()) != 0 || x.Len() != 0 || clock.Pending() != 0 {
		t.Errorf("after answer: missed %v, %d rings, %d timers", m.list(), x.Len(), clock.Pending())
	}
}

func TestMissedAfterTimeout(t *testing.T) {
	x, clock, m := newExchange(t)
	r, err := x.Ring("", "alice", "bob", "")
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(DefaultTimeout - time.Millisecond)
	if len(m.list()) != 0 {
		t.Fatal("missed before 30 s")
	}
	clock.Advance(time.Millisecond)
	if got := m.list(); len(got) != 1 || got[0] != r {
		t.Fatalf("missed %v, want [%+v]", got, r)
	}
	if _, err := x.Decline(r.CallID, "bob"); !errors.Is(err, ErrUnknownCall) {
		t.Errorf("decline after missed: %v", err)
	}
	if x.Ringing("bob") || x.Len() != 0 {
		t.Error("a missed ring is still there")
	}
	// Bob may be rung again.
	if _, err := x.Ring("", "alice", "bob", ""); err != nil {
		t.Errorf("ring again: %v", err)
	}
}

func TestRefusals(t *testing.T) {
	x, _, _ := newExchange(t)
	if _, err := x.Ring("", "alice", "alice", ""); !errors.Is(err, ErrSelf) {
		t.Errorf("ring self: %v", err)
	}
	r, err := x.Ring("", "alice", "bob", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := x.Ring("", "carol", "bob", ""); !errors.Is(err, ErrBusy) {
		t.Errorf("ring a ringing endpoint: %v", err)
	}
	for _, to := range []string{"carol", "dave"} {
		if _, err := x.Ring("", "alice", to, ""); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := x.Ring("", "alice", "erin", ""); !errors.Is(err, ErrTooManyRings) {
		t.Errorf("a 4th ring: %v", err)
	}
	if _, err := x.Answer(r.CallID, "carol"); !errors.Is(err, ErrUnknownCall) {
		t.Errorf("answer someone else's ring: %v", err)
	}
	if _, err := x.Answer("c_nope", "bob"); !errors.Is(err, ErrUnknownCall) {
		t.Errorf("answer unknown call: %v", err)
	}
	if _, err := x.Cancel(r.CallID, "bob"); !errors.Is(err, ErrUnknownCall) {
		t.Errorf("the callee cancels: %v", err)
	}
	if _, err := x.Decline(r.CallID, "bob"); err != nil {
		t.Fatal(err)
	}
	// A ring ended frees the caller's place.
	if _, err := x.Ring("", "alice", "erin", ""); err != nil {
		t.Errorf("ring after a decline: %v", err)
	}
}

func TestConferenceAndCancel(t *testing.T) {
	x, clock, m := newExchange(t)
	callID := NewCallID()
	a, err := x.Ring(callID, "alice", "carol", "")
	if err != nil {
		t.Fatal(err)
	}
	b, err := x.Ring(callID, "bob", "dave", "")
	if err != nil {
		t.Fatal(err)
	}
	if a.CallID != callID || !a.Conference || b.CallID != callID {
		t.Fatalf("conference rings %+v %+v", a, b)
	}
	got, err := x.Cancel(callID, "alice")
	if err != nil || len(got) != 1 || got[0] != a {
		t.Fatalf("Cancel = %v, %v", got, err)
	}
	if !x.Ringing("dave") || x.Ringing("carol") {
		t.Error("cancel stopped the wrong ring")
	}
	if rest := x.EndCall(callID); len(rest) != 1 || rest[0] != b {
		t.Errorf("EndCall = %v", rest)
	}
	clock.Advance(time.Minute)
	if len(m.list()) != 0 || clock.Pending() != 0 {
		t.Errorf("ended rings were missed: %v, %d timers", m.list(), clock.Pending())
	}
}

func TestDrop(t *testing.T) {
	x, clock, m := newExchange(t)
	in, _ := x.Ring("", "alice", "bob", "")
	out, _ := x.Ring("", "bob", "carol", "")
	other, _ := x.Ring("", "dave", "erin", "")
	incoming, outgoing := x.Drop("bob")
	if len(incoming) != 1 || incoming[0] != in || len(outgoing) != 1 || outgoing[0] != out {
		t.Fatalf("Drop = %v, %v", incoming, outgoing)
	}
	clock.Advance(DefaultTimeout)
	if got := m.list(); len(got) != 1 || got[0] != other {
		t.Errorf("missed %v, want only %+v", got, other)
	}
}

// TestNewCallIDsDiffer: a new call never takes the id of one in use.
func TestNewCallIDsDiffer(t *testing.T) {
	x, _, _ := newExchange(t)
	seen := map[string]bool{}
	for i, to := range []string{"b", "c", "d"} {
		r, err := x.Ring("", "a", to, "")
		if err != nil {
			t.Fatal(i, err)
		}
		if seen[r.CallID] {
			t.Fatalf("call id %s twice", r.CallID)
		}
		seen[r.CallID] = true
	}
}

// TestRaceAnswerAndTimeout: a ring answered as it times out ends once.
func TestRaceAnswerAndTimeout(t *testing.T) {
	for range 50 {
		x, clock, m := newExchange(t)
		r, _ := x.Ring("", "alice", "bob", "")
		var answered bool
		done := make(chan struct{})
		go func() {
			_, err := x.Answer(r.CallID, "bob")
			answered = err == nil
			close(done)
		}()
		clock.Advance(DefaultTimeout)
		<-done
		if answered == (len(m.list()) == 1) {
			t.Fatalf("answered %v and missed %v", answered, m.list())
		}
	}
}
