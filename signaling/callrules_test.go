package signaling

import (
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-dev/parley/client"
	"github.com/parley-dev/parley/livecall"
	"github.com/parley-dev/parley/livecall/callrules"
	"github.com/parley-dev/parley/livecall/fakeclock"
	"github.com/parley-dev/parley/rooms"
	"github.com/parley-dev/parley/signaling/protocol"
)

// The meeting rooms' policy through signaling with real clients: a host
// keeps the call alive, a guest left alone sees the no-member deadline and
// is ended with bye no-member at ten (fake-clock) minutes; a joiner past the
// room's maximum gets error room-full and the close.
func TestCallRulesThroughSignaling(t *testing.T) {
	clock := fakeclock.New(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	ts := startTestServer(t, Config{
		Clock: clock,
		Policy: func(*rooms.Room) livecall.Policy {
			return callrules.New(callrules.Config{MaxParticipants: 2})
		},
	}, 0)
	host := ts.joinAs("host", "Hana")
	guest := ts.joinAs("guest", "Gil")

	full := ts.dial(0)
	full.send(protocol.Join{Type: protocol.TypeJoin, Version: protocol.Version, Token: ts.tokenFor("guest"), Name: "Third"})
	full.expectError(callrules.CodeRoomFull)
	full.expectClose(websocket.ClosePolicyViolation, callrules.CodeRoomFull)

	if s := guest.State(); s.Call.EndsAt != "" {
		t.Fatalf("with the host in, endsAt %q", s.Call.EndsAt)
	}
	if err := host.Leave(); err != nil {
		t.Fatal(err)
	}
	want := clock.Now().Add(10 * time.Minute).UTC().Format(time.RFC3339)
	waitState(t, guest, "the no-member deadline", func(s client.State) bool {
		return s.Call.EndsAt == want && s.Call.EndReason == callrules.ReasonNoMember
	})
	clock.Advance(10*time.Minute - time.Second)
	if in := ts.callInfo(); in.State != livecall.StateOpen {
		t.Fatalf("at 9:59 the call is %v (%s)", in.State, in.Reason)
	}
	clock.Advance(time.Second)
	waitState(t, guest, "the end", func(s client.State) bool { return s.Closed })
	if b := guest.State().Bye; b != callrules.ReasonNoMember {
		t.Errorf("bye %q, want no-member", b)
	}
}
