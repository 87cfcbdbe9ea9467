package livecall_test

import (
	"errors"
	"testing"

	"github.com/parley-dev/parley/livecall"
	"github.com/parley-dev/parley/signaling/protocol"
)

// Every moderation method works for a host and is refused, changing
// nothing, for a member and a guest.
func TestModerationNeedsHost(t *testing.T) {
	ops := map[string]func(c *livecall.Call, from string) error{
		"end":       func(c *livecall.Call, from string) error { return c.EndForAll(from) },
		"remove":    func(c *livecall.Call, from string) error { return c.Remove(from, "target") },
		"mute":      func(c *livecall.Call, from string) error { return c.Mute(from, "target") },
		"mute-all":  func(c *livecall.Call, from string) error { return c.MuteAll(from) },
		"lock":      func(c *livecall.Call, from string) error { return c.SetLocked(from, true) },
		"hand-host": func(c *livecall.Call, from string) error { return c.HandHost(from, "target") },
	}
	for name, op := range ops {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, nil)
			h.join("host", livecall.RoleHost)
			h.join("member", livecall.RoleMember)
			h.join("guest", livecall.RoleGuest)
			target := h.join("target", livecall.RoleMember)
			before := h.call.Info()
			for _, from := range []string{"member", "guest"} {
				if err := op(h.call, from); !errors.Is(err, livecall.ErrNotHost) {
					t.Errorf("from %s: %v, want ErrNotHost", from, err)
				}
			}
			if err := op(h.call, "nobody"); !errors.Is(err, livecall.ErrUnknownParticipant) {
				t.Errorf("from a stranger: %v", err)
			}
			after := h.call.Info()
			if len(after.Participants) != len(before.Participants) || after.Locked || after.State != livecall.StateOpen || target.bye() != "" || target.off() {
				t.Fatalf("refused requests changed the call: %+v", after)
			}
			for i := range after.Participants {
				if after.Participants[i] != before.Participants[i] {
					t.Fatalf("refused requests changed %+v", after.Participants[i])
				}
			}
			if err := op(h.call, "host"); err != nil {
				t.Errorf("from the host: %v", err)
			}
		})
	}
}

func TestRemove(t *testing.T) {
	h := newHarness(t, nil)
	host := h.join("host", livecall.RoleHost)
	bob := h.join("bob", livecall.RoleMember)
	if err := h.call.Remove("host", "ghost"); !errors.Is(err, livecall.ErrUnknownParticipant) {
		t.Errorf("remove of a stranger: %v", err)
	}
	if err := h.call.Remove("host", "host"); !errors.Is(err, livecall.ErrSelf) {
		t.Errorf("remove of oneself: %v", err)
	}
	if err := h.call.Remove("host", "bob"); err != nil {
		t.Fatal(err)
	}
	if bob.bye() != protocol.ReasonRemoved {
		t.Errorf("bob's bye %q", bob.bye())
	}
	if l := last[protocol.ParticipantLeft](host); l == nil || l.ParticipantID != "bob" || l.Reason != protocol.ReasonRemoved {
		t.Errorf("host saw %+v", l)
	}
	h.call.Leave("bob", protocol.ReasonDisconnected) // his session ending: a no-op
	if n := len(h.call.Info().Participants); n != 1 {
		t.Errorf("%d participants", n)
	}
}

// A host's mute stops the participant's audio until they unmute
// themselves; a mute message that keeps the microphone muted (a camera
// toggle) does not lift it. mute-all spares hosts.
func TestHostMute(t *testing.T) {
	h := newHarness(t, nil)
	host := h.join("host", livecall.RoleHost)
	cohost := h.join("cohost", livecall.RoleHost)
	bob := h.join("bob", livecall.RoleMember)
	if err := h.call.Mute("host", "bob"); err != nil {
		t.Fatal(err)
	}
	if !bob.off() {
		t.Fatal("bob's audio still forwarded")
	}
	u := last[protocol.ParticipantUpdated](host)
	if u == nil || u.Participant.ID != "bob" || !u.Participant.AudioMuted || !u.Participant.AudioMutedByHost {
		t.Fatalf("host saw %+v", u)
	}
	if u := last[protocol.ParticipantUpdated](bob); u == nil || !u.Participant.AudioMutedByHost {
		t.Errorf("bob was not told: %+v", u)
	}
	h.call.SetMute("bob", true, true) // camera off, microphone still muted
	if !bob.off() {
		t.Error("a camera toggle lifted the host's mute")
	}
	h.call.SetMute("bob", false, true)
	if bob.off() {
		t.Fatal("bob unmuted himself but his audio is still off")
	}
	if u := last[protocol.ParticipantUpdated](host); u.Participant.AudioMuted || u.Participant.AudioMutedByHost {
		t.Errorf("after unmute host saw %+v", u)
	}
	if err := h.call.MuteAll("host"); err != nil {
		t.Fatal(err)
	}
	if !bob.off() || cohost.off() || host.off() {
		t.Errorf("mute-all: bob off %v, cohost off %v, host off %v", bob.off(), cohost.off(), host.off())
	}
}

// A locked call refuses members and guests with ErrLocked, lets hosts in,
// and everyone sees call-updated; unlock lets members in again.
func TestLock(t *testing.T) {
	h := newHarness(t, nil)
	host := h.join("host", livecall.RoleHost)
	if err := h.call.SetLocked("host", true); err != nil {
		t.Fatal(err)
	}
	if u := last[protocol.CallUpdated](host); u == nil || !u.Call.Locked {
		t.Fatalf("host saw %+v", u)
	}
	for _, role := range []livecall.Role{livecall.RoleMember, livecall.RoleGuest} {
		if _, err := h.call.Join(livecall.JoinRequest{ID: "x", Name: "x", Role: role, Conn: &fakeConn{}}); !errors.Is(err, livecall.ErrLocked) {
			t.Errorf("%s joining a locked call: %v", role, err)
		}
	}
	h2 := h.join("host2", livecall.RoleHost)
	if j := last[protocol.Joined](h2); !j.Call.Locked {
		t.Errorf("joined of a locked call says %+v", j.Call)
	}
	if err := h.call.SetLocked("host", false); err != nil {
		t.Fatal(err)
	}
	h.join("m", livecall.RoleMember)
}

func TestHandHost(t *testing.T) {
	h := newHarness(t, nil)
	h.join("a", livecall.RoleHost)
	bc := h.join("b", livecall.RoleMember)
	if err := h.call.HandHost("a", "a"); !errors.Is(err, livecall.ErrSelf) {
		t.Errorf("hand to oneself: %v", err)
	}
	if err := h.call.HandHost("a", "b"); err != nil {
		t.Fatal(err)
	}
	roles := map[string]livecall.Role{}
	for _, p := range h.call.Info().Participants {
		roles[p.ID] = p.Role
	}
	if roles["a"] != livecall.RoleMember || roles["b"] != livecall.RoleHost {
		t.Fatalf("roles %v", roles)
	}
	if u := last[protocol.ParticipantUpdated](bc); u == nil || u.Participant.ID != "a" || u.Participant.Role != "member" {
		t.Errorf("b last saw %+v", u)
	}
	if err := h.call.Remove("a", "b"); !errors.Is(err, livecall.ErrNotHost) {
		t.Errorf("the former host removed someone: %v", err)
	}
	if err := h.call.EndForAll("b"); err != nil {
		t.Errorf("the new host: %v", err)
	}
}

// A participant who proved the host key becomes a host beside any host
// there is; everyone sees it; the new host moderates.
func TestClaimHost(t *testing.T) {
	h := newHarness(t, nil)
	ac := h.join("a", livecall.RoleMember)
	h.join("b", livecall.RoleMember)
	if err := h.call.ClaimHost("ghost"); !errors.Is(err, livecall.ErrUnknownParticipant) {
		t.Errorf("claim by a stranger: %v", err)
	}
	if err := h.call.EndForAll("b"); !errors.Is(err, livecall.ErrNotHost) {
		t.Fatalf("a member ended the call: %v", err)
	}
	if err := h.call.ClaimHost("b"); err != nil {
		t.Fatal(err)
	}
	if u := last[protocol.ParticipantUpdated](ac); u == nil || u.Participant.ID != "b" || u.Participant.Role != "host" {
		t.Errorf("a last saw %+v", u)
	}
	if err := h.call.ClaimHost("b"); err != nil {
		t.Errorf("claiming again: %v", err)
	}
	if err := h.call.EndForAll("b"); err != nil {
		t.Errorf("the new host: %v", err)
	}
	if b := ac.bye(); b != protocol.ReasonEndedByHost {
		t.Errorf("a's bye %q", b)
	}
}
