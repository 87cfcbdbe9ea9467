package callrules_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/parley-dev/parley/livecall"
	"github.com/parley-dev/parley/livecall/callrules"
	"github.com/parley-dev/parley/livecall/fakeclock"
	"github.com/parley-dev/parley/signaling/protocol"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// conn records what the call sends one participant (the transport's
// side of livecall.Conn; the real one is tested through signaling).
type conn struct {
	mu   sync.Mutex
	msgs []any
	bye  string
}

func (c *conn) Send(data []byte) {
	msg, err := protocol.Decode(data)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.msgs = append(c.msgs, err)
		return
	}
	c.msgs = append(c.msgs, msg)
}
func (c *conn) Close(reason string)     { c.mu.Lock(); c.bye = reason; c.mu.Unlock() }
func (c *conn) SetAudioForwarding(bool) {}
func (c *conn) closed() string          { c.mu.Lock(); defer c.mu.Unlock(); return c.bye }

// endsAt is the call's deadline as the participant last heard it.
func (c *conn) endsAt() (string, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := len(c.msgs) - 1; i >= 0; i-- {
		switch m := c.msgs[i].(type) {
		case *protocol.CallUpdated:
			return m.Call.EndsAt, m.Call.EndReason
		case *protocol.Joined:
			return m.Call.EndsAt, m.Call.EndReason
		}
	}
	return "", ""
}

func (c *conn) warnings() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, m := range c.msgs {
		if w, ok := m.(*protocol.CallWarning); ok && w.Reason == callrules.ReasonNoMember {
			n++
		}
	}
	return n
}

type harness struct {
	t     *testing.T
	clock *fakeclock.Clock
	call  *livecall.Call
	ended chan string
}

var start = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

func newHarness(t *testing.T, cfg callrules.Config) *harness {
	h := &harness{t: t, clock: fakeclock.New(start), ended: make(chan string, 1)}
	h.call = livecall.New(livecall.Config{
		Room:    protocol.Room{ID: "r_1", Name: "Weekly"},
		Policy:  callrules.New(cfg),
		Clock:   h.clock,
		OnEnded: func(reason string) { h.ended <- reason },
	})
	t.Cleanup(func() {
		for _, p := range h.call.Info().Participants {
			h.call.Leave(p.ID, protocol.ReasonLeft)
		}
		<-h.call.Done()
	})
	return h
}

func (h *harness) join(id string, role livecall.Role) (*conn, error) {
	c := &conn{}
	_, err := h.call.Join(livecall.JoinRequest{ID: id, Name: id, Role: role, Conn: c})
	return c, err
}

func (h *harness) mustJoin(id string, role livecall.Role) *conn {
	h.t.Helper()
	c, err := h.join(id, role)
	if err != nil {
		h.t.Fatalf("join %s: %v", id, err)
	}
	return c
}

// wantEnded checks that the call is ending with reason no-member and that
// the participant was sent bye no-member.
func (h *harness) wantEnded(c *conn) {
	h.t.Helper()
	in := h.call.Info()
	if in.State == livecall.StateOpen || in.Reason != callrules.ReasonNoMember {
		h.t.Fatalf("call %v with reason %q, want ending with no-member", in.State, in.Reason)
	}
	if b := c.closed(); b != callrules.ReasonNoMember {
		h.t.Errorf("bye %q, want no-member", b)
	}
}

// state is the call's state once it has done what its timers posted.
func (h *harness) state() livecall.State { return h.call.Info().State }

// A guest alone: the deadline is ten minutes ahead, shown to them; warned
// at 5 and 9 minutes; at 10 the call ends with bye no-member.
func TestGuestAloneEndedAfterTenMinutes(t *testing.T) {
	h := newHarness(t, callrules.Config{})
	g := h.mustJoin("g1", livecall.RoleGuest)
	if at, reason := g.endsAt(); at != start.Add(10*time.Minute).Format(time.RFC3339) || reason != callrules.ReasonNoMember {
		t.Fatalf("the guest sees endsAt %q reason %q; want 10 minutes ahead, no-member", at, reason)
	}
	h.clock.Advance(5 * time.Minute)
	h.state()
	if n := g.warnings(); n != 1 {
		t.Errorf("after 5 minutes %d warnings, want 1", n)
	}
	h.clock.Advance(5*time.Minute - time.Second)
	if st := h.state(); st != livecall.StateOpen {
		t.Fatalf("at 9:59 the call is %v", st)
	}
	if n := g.warnings(); n != 2 {
		t.Errorf("after 9:59 %d warnings, want 2", n)
	}
	h.clock.Advance(time.Second)
	h.wantEnded(g)
}

// A member joining at 9:59 stops the timer; the last member leaving
// starts a fresh ten minutes; a member in the call first means no timer.
func TestMemberStopsTimerAndLeavingRestartsIt(t *testing.T) {
	h := newHarness(t, callrules.Config{})
	g := h.mustJoin("g1", livecall.RoleGuest)
	h.clock.Advance(10*time.Minute - time.Second)
	h.mustJoin("m1", livecall.RoleMember)
	if at, _ := g.endsAt(); at != "" {
		t.Fatalf("after the member joined the guest still sees endsAt %q", at)
	}
	h.clock.Advance(time.Hour)
	if st := h.state(); st != livecall.StateOpen {
		t.Fatalf("with a member in it the call is %v", st)
	}
	warned := g.warnings()
	if h.clock.Pending() != 0 {
		t.Errorf("%d timers left running after the member joined", h.clock.Pending())
	}
	// A host counts as a member; a second guest changes nothing.
	h.mustJoin("h1", livecall.RoleHost)
	h.mustJoin("g2", livecall.RoleGuest)
	h.call.Leave("m1", protocol.ReasonLeft)
	if at, _ := g.endsAt(); at != "" {
		t.Fatalf("with the host still in, endsAt %q", at)
	}
	left := h.clock.Now()
	h.call.Leave("h1", protocol.ReasonLeft)
	if at, reason := g.endsAt(); at != left.Add(10*time.Minute).Format(time.RFC3339) || reason != callrules.ReasonNoMember {
		t.Fatalf("after the last member left: endsAt %q reason %q", at, reason)
	}
	h.clock.Advance(10*time.Minute - time.Second)
	if st := h.state(); st != livecall.StateOpen {
		t.Fatalf("9:59 after the last member left the call is %v", st)
	}
	if n := g.warnings() - warned; n != 2 {
		t.Errorf("%d new warnings, want 2", n)
	}
	h.clock.Advance(time.Second)
	h.wantEnded(g)
}

func TestMembersOnlyNoTimer(t *testing.T) {
	h := newHarness(t, callrules.Config{NoMemberWait: time.Minute})
	m := h.mustJoin("m1", livecall.RoleMember)
	h.clock.Advance(time.Hour)
	if at, _ := m.endsAt(); at != "" || h.state() != livecall.StateOpen {
		t.Errorf("a member alone: endsAt %q, state %v", at, h.state())
	}
	// A configured wait, and a warning not shorter than it is skipped.
	g := h.mustJoin("g1", livecall.RoleGuest)
	h.call.Leave("m1", protocol.ReasonLeft)
	if at, _ := g.endsAt(); at != h.clock.Now().Add(time.Minute).Format(time.RFC3339) {
		t.Errorf("wait 1m: endsAt %q", at)
	}
	h.clock.Advance(time.Minute)
	h.wantEnded(g)
	if n := g.warnings(); n != 0 {
		t.Errorf("%d warnings; want none (5m and 1m are not shorter than the wait)", n)
	}
}

func TestRoomFull(t *testing.T) {
	h := newHarness(t, callrules.Config{MaxParticipants: 2})
	h.mustJoin("m1", livecall.RoleMember)
	h.mustJoin("g1", livecall.RoleGuest)
	_, err := h.join("g2", livecall.RoleGuest)
	var r *livecall.Refusal
	if !errors.As(err, &r) || r.Code != callrules.CodeRoomFull || r.Message == "" {
		t.Fatalf("third joiner: %v, want a room-full refusal", err)
	}
	if _, err := h.join("h1", livecall.RoleHost); !errors.As(err, &r) || r.Code != "room-full" {
		t.Errorf("a host past the maximum: %v, want room-full too", err)
	}
	h.call.Leave("g1", protocol.ReasonLeft)
	h.mustJoin("g3", livecall.RoleGuest)
}
