package livecall_test

import (
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-dev/parley/livecall"
	"github.com/parley-dev/parley/signaling/protocol"
)

// A detached participant keeps its place for the grace period, on the
// call's clock: the others see it reconnecting, nothing is sent to it,
// and Reattach gives it resumed and shows it connected again.
func TestDetachReattach(t *testing.T) {
	rec := &recorder{}
	h := newHarness(t, rec)
	alice := h.join("alice", livecall.RoleHost)
	bob := h.join("bob", livecall.RoleMember)
	var gone atomic.Int32
	if err := h.call.Detach("alice", 30*time.Second, func() { gone.Add(1) }); err != nil {
		t.Fatal(err)
	}
	if u := last[protocol.ParticipantUpdated](bob); u == nil || u.Participant.ID != "alice" || u.Participant.Connection != protocol.ConnectionReconnecting {
		t.Fatalf("bob was sent %+v, want alice reconnecting", u)
	}
	n := len(alice.all())
	if err := h.call.SetMute("bob", true, true); err != nil {
		t.Fatal(err)
	}
	if len(alice.all()) != n {
		t.Errorf("a reconnecting participant was sent %T", alice.all()[n])
	}
	h.clock.Advance(29 * time.Second)
	if in := h.call.Info(); len(in.Participants) != 2 || !in.Participants[0].Reconnecting {
		t.Fatalf("before the grace ended: %+v", in.Participants)
	}
	if _, err := h.call.Reattach(livecall.ResumeRequest{ID: "alice", ResumeToken: "next"}); err != nil {
		t.Fatal(err)
	}
	r := last[protocol.Resumed](alice)
	if r == nil || r.ParticipantID != "alice" || r.Role != "host" || r.ResumeToken != "next" || r.Self.Connection != protocol.ConnectionConnected ||
		len(r.Participants) != 1 || r.Participants[0].ID != "bob" || !r.Participants[0].AudioMuted {
		t.Fatalf("alice's resumed = %+v", r)
	}
	if u := last[protocol.ParticipantUpdated](bob); u.Participant.ID != "alice" || u.Participant.Connection != protocol.ConnectionConnected {
		t.Fatalf("bob was sent %+v, want alice connected", u)
	}
	h.clock.Advance(time.Hour) // the grace timer was stopped
	if in := h.call.Info(); len(in.Participants) != 2 || gone.Load() != 0 {
		t.Fatalf("after reattach: %+v, gone %d", in.Participants, gone.Load())
	}
	for _, m := range bob.all() {
		if _, ok := m.(*protocol.ParticipantLeft); ok {
			t.Errorf("bob was sent participant-left")
		}
	}
	k := rec.kinds()
	if !slices.Contains(k, livecall.EventReconnecting) || !slices.Contains(k, livecall.EventReconnected) || slices.Contains(k, livecall.EventLeft) {
		t.Errorf("events %v", k)
	}
	if _, err := h.call.Reattach(livecall.ResumeRequest{ID: "alice"}); !errors.Is(err, livecall.ErrNotReconnecting) {
		t.Errorf("reattach of a connected participant: %v", err)
	}
}

// When the grace passes, the participant leaves with reason disconnected
// and gone is called once; Reattach then fails.
func TestDetachGraceEnds(t *testing.T) {
	rec := &recorder{}
	h := newHarness(t, rec)
	h.join("alice", livecall.RoleMember)
	bob := h.join("bob", livecall.RoleMember)
	var gone atomic.Int32
	h.call.Detach("alice", 30*time.Second, func() { gone.Add(1) })
	h.clock.Advance(30 * time.Second)
	h.call.Info() // after the timer's op
	if l := last[protocol.ParticipantLeft](bob); l == nil || l.ParticipantID != "alice" || l.Reason != protocol.ReasonDisconnected {
		t.Fatalf("bob was sent %+v", l)
	}
	if gone.Load() != 1 {
		t.Errorf("gone called %d times", gone.Load())
	}
	if _, err := h.call.Reattach(livecall.ResumeRequest{ID: "alice"}); !errors.Is(err, livecall.ErrNotReconnecting) {
		t.Errorf("reattach after the grace: %v", err)
	}
	if !slices.Contains(rec.kinds(), livecall.EventLeft) {
		t.Errorf("events %v", rec.kinds())
	}
}

// A host may remove a reconnecting participant, and a call ending lets
// its reconnecting participants go at once: gone is called, and the call
// ends without waiting for the grace.
func TestDetachedRemovedAndEnded(t *testing.T) {
	h := newHarness(t, nil)
	h.join("host", livecall.RoleHost)
	h.join("alice", livecall.RoleMember)
	h.join("bob", livecall.RoleMember)
	var aliceGone, bobGone atomic.Int32
	h.call.Detach("alice", time.Minute, func() { aliceGone.Add(1) })
	h.call.Detach("bob", time.Minute, func() { bobGone.Add(1) })
	if err := h.call.Remove("host", "alice"); err != nil {
		t.Fatal(err)
	}
	if aliceGone.Load() != 1 {
		t.Errorf("removed: gone called %d times", aliceGone.Load())
	}
	h.call.End(protocol.ReasonRoomDeleted)
	if bobGone.Load() != 1 {
		t.Errorf("ended: gone called %d times", bobGone.Load())
	}
	h.call.Leave("host", protocol.ReasonLeft)
	select {
	case <-h.call.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the call did not end")
	}
	if h.clock.Pending() != 0 {
		t.Errorf("%d timers left", h.clock.Pending())
	}
}
