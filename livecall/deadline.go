package livecall

import (
	"time"

	"github.com/parley-dev/parley/signaling/protocol"
)

// A call's deadline: the time its policy will end it (a booked meeting's
// end, or ten minutes after the last member left a call of guests). It is
// part of the call's state, so every participant sees it (call.endsAt and
// call.endReason in joined, resumed and call-updated) and can count down.

// deadline is the call's deadline, if any. Owned by run.
type deadline struct {
	at     time.Time
	reason string
	timer  Timer
}

// SetDeadline makes the call end for everyone at at, with reason (the
// reason each bye carries), unless the deadline is cleared or moved first.
// Everyone is sent call-updated with the new endsAt and endReason. A
// deadline already past ends the call at once (on the next turn of the
// call's goroutine).
func (ctl *Control) SetDeadline(at time.Time, reason string) {
	c := ctl.c
	if c.state != StateOpen {
		return
	}
	if c.deadline.timer != nil {
		c.deadline.timer.Stop()
	}
	at = at.UTC()
	c.deadline = deadline{at: at, reason: reason}
	c.deadline.timer = c.afterFunc(at.Sub(c.clock.Now()), func(ctl *Control) {
		ctl.c.deadline = deadline{}
		ctl.End(reason)
	})
	c.broadcast("", protocol.CallUpdated{Type: protocol.TypeCallUpdated, Call: c.wireState()})
}

// ClearDeadline lifts the call's deadline, if it has one; everyone is sent
// call-updated without endsAt.
func (ctl *Control) ClearDeadline() {
	c := ctl.c
	if c.deadline.at.IsZero() {
		return
	}
	c.deadline.timer.Stop()
	c.deadline = deadline{}
	if c.state == StateOpen {
		c.broadcast("", protocol.CallUpdated{Type: protocol.TypeCallUpdated, Call: c.wireState()})
	}
}

// Deadline returns the call's deadline and its reason; ok is false when it
// has none.
func (ctl *Control) Deadline() (at time.Time, reason string, ok bool) {
	d := ctl.c.deadline
	return d.at, d.reason, !d.at.IsZero()
}

// Warn sends everyone call-warning with the deadline and its reason, for
// the client to say that the call ends soon. It does nothing while the
// call has no deadline. A policy calls it from timers, e.g. 5 minutes and
// 1 minute before the deadline.
func (ctl *Control) Warn() {
	c := ctl.c
	if c.deadline.at.IsZero() || c.state != StateOpen {
		return
	}
	c.broadcast("", protocol.CallWarning{Type: protocol.TypeCallWarning,
		EndsAt: c.deadline.at.Format(time.RFC3339), Reason: c.deadline.reason})
}
