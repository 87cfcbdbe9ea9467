package livecall

import "time"

// Policy holds the rules of a call that later features add without
// touching transport or media: who is admitted and as what, and what
// happens on each event (typically: set or stop a timer, end the call).
// Its methods run on the call's goroutine, one at a time, with a Control
// valid only during the call; they must not block.
type Policy interface {
	// Admit decides whether the joiner may join now, and with which
	// role (normally a.Role, from the join token). It refuses with an
	// error, usually a *Refusal. A locked call refuses non-hosts after
	// Admit, whatever it returns.
	Admit(ctl *Control, a Admission) (Role, error)
	// OnEvent is told of each change, after it happened and after the
	// participants were told.
	OnEvent(ctl *Control, e Event)
}

// Admission is a request to join, as the policy sees it.
type Admission struct {
	ID   string
	Name string
	Role Role // from the join token
}

// EventKind says what happened.
type EventKind int

// The events a Policy sees.
const (
	// EventFirstJoin: the first participant joined the call.
	EventFirstJoin EventKind = iota + 1
	// EventJoined: a participant joined (after EventFirstJoin for the first).
	EventJoined
	// EventLeft: a participant left (Reason says why: left,
	// disconnected, removed...). Not sent while the call is ending.
	EventLeft
	// EventLastMemberLeft: the last host or member left, and only guests
	// remain (sent after EventLeft). The "10-minute rule" hangs here.
	EventLastMemberLeft
	// EventRoleChanged: Participant.Role changed from OldRole.
	EventRoleChanged
	// EventEnding: the call started ending, with Reason; everyone has
	// been sent bye. Timers are stopped after OnEvent returns.
	EventEnding
	// EventReconnecting: the participant's connection dropped; the call
	// keeps its place for the grace period (Call.Detach). It is followed
	// by EventReconnected, or by EventLeft with reason disconnected.
	EventReconnecting
	// EventReconnected: a reconnecting participant is back (Call.Reattach).
	EventReconnected
)

func (k EventKind) String() string {
	switch k {
	case EventFirstJoin:
		return "first-join"
	case EventJoined:
		return "joined"
	case EventLeft:
		return "left"
	case EventLastMemberLeft:
		return "last-member-left"
	case EventRoleChanged:
		return "role-changed"
	case EventEnding:
		return "ending"
	case EventReconnecting:
		return "reconnecting"
	case EventReconnected:
		return "reconnected"
	}
	return "unknown"
}

// Event is one change of a call.
type Event struct {
	Kind        EventKind
	Participant Participant // who it is about (zero for EventEnding)
	OldRole     Role        // EventRoleChanged only
	Reason      string      // EventLeft and EventEnding
}

// DefaultPolicy admits everyone with the role of their join token and has
// no timers.
type DefaultPolicy struct{}

// Admit returns a.Role.
func (DefaultPolicy) Admit(_ *Control, a Admission) (Role, error) { return a.Role, nil }

// OnEvent does nothing.
func (DefaultPolicy) OnEvent(*Control, Event) {}

var _ Policy = DefaultPolicy{}

// Control is what a Policy may do with the call while one of its methods
// runs. It must not be kept and used later, except through AfterFunc.
type Control struct {
	c *Call
}

// Now is the call's clock.
func (ctl *Control) Now() time.Time { return ctl.c.clock.Now() }

// Participants returns the participants, in join order.
func (ctl *Control) Participants() []Participant { return ctl.c.list() }

// Locked reports whether the call is locked.
func (ctl *Control) Locked() bool { return ctl.c.locked }

// State is the call's lifecycle state.
func (ctl *Control) State() State { return ctl.c.state }

// End ends the call for everyone with reason (a protocol reason shown in
// each participant's bye, documented in docs/protocol.md).
func (ctl *Control) End(reason string) { ctl.c.end(reason) }

// AfterFunc runs f on the call's goroutine, with a fresh Control, once d
// has passed on the call's clock, unless the timer is stopped or the call
// starts ending first. The Timer's Stop may be called only from a Policy
// method or a timer's f.
func (ctl *Control) AfterFunc(d time.Duration, f func(*Control)) Timer {
	return ctl.c.afterFunc(d, f)
}
