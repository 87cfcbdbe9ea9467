package signaling

import (
	"testing"
	"time"

	"github.com/parley-dev/parley/client"
	"github.com/parley-dev/parley/livecall"
	"github.com/parley-dev/parley/livecall/fakeclock"
	"github.com/parley-dev/parley/rooms"
)

// guestsAlone is the shape of the later "10-minute rule": 10 minutes
// after the last host or member left, the call ends for the guests.
type guestsAlone struct{ livecall.DefaultPolicy }

func (guestsAlone) OnEvent(ctl *livecall.Control, e livecall.Event) {
	if e.Kind == livecall.EventLastMemberLeft {
		ctl.AfterFunc(10*time.Minute, func(ctl *livecall.Control) { ctl.End("guests-alone") })
	}
}

// The policy hooks reach real participants through signaling, on the
// injected clock: the timer fires when the clock passes 10 minutes, not
// before, and without the test waiting for it.
func TestPolicyTimerEndsCall(t *testing.T) {
	clock := fakeclock.New(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	ts := startTestServer(t, Config{
		Clock:  clock,
		Policy: func(*rooms.Room) livecall.Policy { return guestsAlone{} },
	}, 0)
	member := ts.joinAs("member", "Max")
	guest := ts.joinAs("guest", "Gil")
	if err := member.Leave(); err != nil {
		t.Fatal(err)
	}
	waitState(t, guest, "the member gone", func(s client.State) bool { return len(s.Participants) == 0 })
	waitFor(t, 5*time.Second, "the timer set", func() bool { return clock.Pending() == 1 })

	clock.Advance(10*time.Minute - time.Second)
	// Info runs on the call's goroutine after anything the timers posted.
	if in := ts.callInfo(); in.State != livecall.StateOpen {
		t.Fatalf("after 9m59s the call is %v (%s)", in.State, in.Reason)
	}
	undisturbed(t, guest)
	clock.Advance(time.Second)
	waitState(t, guest, "the end", func(s client.State) bool { return s.Closed })
	if r := guest.State().Bye; r != "guests-alone" {
		t.Errorf("bye %q, want guests-alone", r)
	}
	waitFor(t, 10*time.Second, "the call to go", func() bool { return ts.srv.Stats().Calls == 0 })
}

// callInfo is the test room's live call, as the call sees it.
func (ts *testServer) callInfo() livecall.Info {
	ts.srv.mu.Lock()
	lc := ts.srv.calls[ts.room.ID]
	ts.srv.mu.Unlock()
	if lc == nil {
		return livecall.Info{State: livecall.StateEnded}
	}
	return lc.call.Info()
}
