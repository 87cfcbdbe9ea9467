// Package callrules holds the rules of a meeting room's live call
// (issue #13), as a livecall.Policy:
//
//   - the 10-minute rule: whenever the call has guests and no host or
//     member (guests who arrived first, or every member left), the call's
//     deadline is set NoMemberWait ahead with reason "no-member", and
//     everyone is warned 5 minutes and 1 minute before; a host or member
//     joining lifts it; at the deadline the call ends for everyone;
//   - the room's maximum of participants: a joiner past MaxParticipants is
//     refused with protocol error code "room-full".
//
// A booked meeting's call (issue #14) has other rules, the join window of
// its occurrences: NewBooking (booking.go).
//
// The policy runs on the call's goroutine and its clock (livecall.Control),
// so tests drive it with a fake clock.
package callrules

import (
	"fmt"
	"time"

	"github.com/parley-dev/parley/livecall"
)

// ReasonNoMember is the deadline's reason, and the bye's when it runs out.
const ReasonNoMember = "no-member"

// CodeRoomFull is the protocol error code of a join refused because the
// room has MaxParticipants already.
const CodeRoomFull = "room-full"

// DefaultNoMemberWait is how long guests may be in a call without a member.
const DefaultNoMemberWait = 10 * time.Minute

// Config configures a Policy. The zero value means the defaults.
type Config struct {
	// NoMemberWait is how long a call of guests without a host or member
	// lasts; default DefaultNoMemberWait.
	NoMemberWait time.Duration
	// Warnings are how long before the deadline everyone is warned
	// (call-warning); nil means 5 minutes and 1 minute. Warnings not
	// shorter than NoMemberWait are skipped.
	Warnings []time.Duration
	// MaxParticipants is the most participants the call admits; 0 or
	// less means no limit.
	MaxParticipants int
}

// Policy is the live-call policy of one call. Its methods run on the
// call's goroutine only (livecall.Policy), so its state needs no lock.
type Policy struct {
	// set at construction
	cfg Config
	// owned by the call's goroutine
	warnings []livecall.Timer // the pending warnings of the no-member deadline
}

var _ livecall.Policy = (*Policy)(nil)

// New returns the policy of one call (a Policy holds that call's timers:
// make one per call).
func New(cfg Config) *Policy {
	if cfg.NoMemberWait <= 0 {
		cfg.NoMemberWait = DefaultNoMemberWait
	}
	if cfg.Warnings == nil {
		cfg.Warnings = []time.Duration{5 * time.Minute, time.Minute}
	}
	return &Policy{cfg: cfg}
}

// Admit refuses a joiner past MaxParticipants with CodeRoomFull; anyone
// else joins with their token's role.
func (p *Policy) Admit(ctl *livecall.Control, a livecall.Admission) (livecall.Role, error) {
	if max := p.cfg.MaxParticipants; max > 0 && len(ctl.Participants()) >= max {
		return "", &livecall.Refusal{Code: CodeRoomFull,
			Message: fmt.Sprintf("the room is full: it has %d participants, its limit; try again later", max)}
	}
	return a.Role, nil
}

// OnEvent keeps the no-member deadline in step with who is in the call.
func (p *Policy) OnEvent(ctl *livecall.Control, e livecall.Event) {
	switch e.Kind {
	case livecall.EventEnding:
		p.stopWarnings()
		return
	case livecall.EventReconnecting, livecall.EventReconnected:
		return // the participant keeps their place meanwhile
	}
	guests, members := 0, 0
	for _, pt := range ctl.Participants() {
		if pt.Role == livecall.RoleGuest {
			guests++
		} else {
			members++
		}
	}
	_, reason, has := ctl.Deadline()
	switch {
	case guests > 0 && members == 0:
		if !has {
			p.startDeadline(ctl)
		}
	case has && reason == ReasonNoMember:
		p.stopWarnings()
		ctl.ClearDeadline()
	}
}

func (p *Policy) startDeadline(ctl *livecall.Control) {
	ctl.SetDeadline(ctl.Now().Add(p.cfg.NoMemberWait), ReasonNoMember)
	for _, before := range p.cfg.Warnings {
		if before <= 0 || before >= p.cfg.NoMemberWait {
			continue
		}
		p.warnings = append(p.warnings, ctl.AfterFunc(p.cfg.NoMemberWait-before, func(ctl *livecall.Control) { ctl.Warn() }))
	}
}

func (p *Policy) stopWarnings() {
	for _, t := range p.warnings {
		t.Stop()
	}
	p.warnings = nil
}
