package livecall_test

import (
	"testing"
	"time"

	"github.com/parley-dev/parley/livecall"
	"github.com/parley-dev/parley/signaling/protocol"
)

// A policy sets a deadline when only guests remain and lifts it when a
// member comes back; everyone sees call.endsAt, the warnings arrive 5 and
// 1 minutes before, and at the deadline the call ends with its reason: the
// shape of the 10-minute rule and of a booked meeting's end, on a fake
// clock.
func TestDeadline(t *testing.T) {
	rec := &recorder{}
	rec.on = func(ctl *livecall.Control, e livecall.Event) {
		switch {
		case e.Kind == livecall.EventLastMemberLeft:
			at := ctl.Now().Add(10 * time.Minute)
			ctl.SetDeadline(at, "no-member")
			ctl.AfterFunc(5*time.Minute, func(ctl *livecall.Control) { ctl.Warn() })
			ctl.AfterFunc(9*time.Minute, func(ctl *livecall.Control) { ctl.Warn() })
		case e.Kind == livecall.EventJoined && e.Participant.Role != livecall.RoleGuest:
			ctl.ClearDeadline()
		}
	}
	h := newHarness(t, rec)
	h.join("m1", livecall.RoleMember)
	guest := h.join("g1", livecall.RoleGuest)
	if j := last[protocol.Joined](guest); j == nil || j.Call.EndsAt != "" || j.Call.EndReason != "" {
		t.Fatalf("joined.call = %+v, want no deadline", j)
	}
	h.call.Leave("m1", protocol.ReasonLeft)
	want := h.clock.Now().Add(10 * time.Minute).UTC().Format(time.RFC3339)
	u := last[protocol.CallUpdated](guest)
	if u == nil || u.Call.EndsAt != want || u.Call.EndReason != "no-member" {
		t.Fatalf("call-updated = %+v, want endsAt %s reason no-member", u, want)
	}
	// A guest joining meanwhile is shown the deadline in joined.
	g2 := h.join("g2", livecall.RoleGuest)
	if j := last[protocol.Joined](g2); j == nil || j.Call.EndsAt != want {
		t.Errorf("late guest's joined.call = %+v, want endsAt %s", j, want)
	}

	// A member joining lifts it; the old timer must not fire.
	h.join("m2", livecall.RoleMember)
	if u := last[protocol.CallUpdated](guest); u == nil || u.Call.EndsAt != "" {
		t.Fatalf("after a member joined, call-updated = %+v, want no endsAt", u)
	}
	h.clock.Advance(11 * time.Minute)
	if st := h.call.Info().State; st != livecall.StateOpen {
		t.Fatalf("a lifted deadline ended the call: %v", st)
	}

	// The member leaves again: a new deadline, warnings, then the end.
	h.call.Leave("m2", protocol.ReasonLeft)
	warnings := func() int {
		h.call.Info() // the timers' work is done once the call answers
		n := 0
		for _, m := range guest.all() {
			if w, ok := m.(*protocol.CallWarning); ok && w.Reason == "no-member" && w.EndsAt != "" {
				n++
			}
		}
		return n
	}
	h.clock.Advance(5 * time.Minute)
	if n := warnings(); n != 1 {
		t.Errorf("after 5 minutes %d warnings, want 1", n)
	}
	h.clock.Advance(4 * time.Minute)
	if n := warnings(); n != 2 {
		t.Errorf("after 9 minutes %d warnings, want 2", n)
	}
	h.clock.Advance(time.Minute - time.Second)
	if st := h.call.Info().State; st != livecall.StateOpen {
		t.Fatalf("1 s before the deadline the call is %v", st)
	}
	h.clock.Advance(time.Second)
	h.call.Info()
	if guest.bye() != "no-member" || g2.bye() != "no-member" {
		t.Errorf("at the deadline byes %q %q, want no-member", guest.bye(), g2.bye())
	}
	h.call.Leave("g1", protocol.ReasonDisconnected)
	h.call.Leave("g2", protocol.ReasonDisconnected)
	if r := <-h.ended; r != "no-member" {
		t.Errorf("ended with %q", r)
	}
}

// Warn without a deadline sends nothing; a deadline in the past ends the
// call on the next turn.
func TestDeadlinePastAndWarnWithout(t *testing.T) {
	rec := &recorder{}
	rec.on = func(ctl *livecall.Control, e livecall.Event) {
		if e.Kind != livecall.EventJoined || e.Participant.ID != "b" {
			return
		}
		ctl.Warn()
		if _, _, ok := ctl.Deadline(); ok {
			t.Errorf("Deadline reports one before any was set")
		}
		ctl.SetDeadline(ctl.Now().Add(-time.Minute), "booking-over")
		if _, r, ok := ctl.Deadline(); !ok || r != "booking-over" {
			t.Errorf("Deadline() = %q, %v", r, ok)
		}
	}
	h := newHarness(t, rec)
	a := h.join("a", livecall.RoleMember)
	h.join("b", livecall.RoleMember)
	h.clock.Advance(0)
	h.call.Info()
	if a.bye() != "booking-over" {
		t.Fatalf("a past deadline did not end the call: bye %q", a.bye())
	}
	if last[protocol.CallWarning](a) != nil {
		t.Errorf("Warn without a deadline sent call-warning")
	}
	h.call.Leave("a", protocol.ReasonLeft)
	h.call.Leave("b", protocol.ReasonLeft)
	<-h.ended
}
