package callrules

import (
	"fmt"
	"time"

	"github.com/parley-dev/parley/bookings"
	"github.com/parley-dev/parley/livecall"
	"github.com/parley-dev/parley/signaling/protocol"
)

// The rules of a booked meeting's call (issue #14): the join window.
// Anyone with the meeting's join token joins, as a member (no host at the
// start, no waiting room), from bookings.EarlyJoin before an occurrence's
// start until its end plus bookings.Grace; on the first join the call's
// deadline is set to that closing time with reason ReasonMeetingOver, and
// everyone is warned 5 minutes and 1 minute before; at the deadline the
// call ends for everyone.

// Codes and reasons of the join window (docs/protocol.md).
const (
	// CodeMeetingNotOpen refuses a join before the occurrence opens
	// (15 minutes before its start); the message gives the local time.
	CodeMeetingNotOpen = "meeting-not-open"
	// ReasonMeetingOver refuses a join once the occurrence has closed
	// (15 minutes after its end), and is the deadline's reason and the
	// bye's when the call is closed at that time.
	ReasonMeetingOver = "meeting-over"
	// ReasonMeetingCancelled ends the call of an occurrence the
	// coordinator cancelled (or whose series was cancelled) while it ran.
	ReasonMeetingCancelled = "meeting-cancelled"
	// ReasonMeetingMoved ends the call of an occurrence the coordinator
	// moved, while it ran, to a time whose window does not hold now.
	ReasonMeetingMoved = "meeting-moved"
)

// ScheduleChanged is the notice (livecall.Call.Notify) that a booked
// meeting's series changed while its call ran: its occurrences as they
// now are, and whether the series still holds them (Live).
type ScheduleChanged struct {
	Occurrences []bookings.Occurrence
	Live        bool
}

// BookingConfig configures a Booking policy: the series' occurrences,
// given at construction (the policy runs on the call's goroutine and
// never reads the store).
type BookingConfig struct {
	// Occurrences are the series' occurrences in time order (as
	// bookings.Series.Occurrences returns them); cancelled ones are
	// skipped.
	Occurrences []bookings.Occurrence
	// Location is the zone times are told in (the series'); nil means
	// bookings.DefaultTimeZone.
	Location *time.Location
	// HostKey says that the meeting has a host key, which a participant
	// may send (claim-host) to become its host; shown in the call state.
	HostKey bool
	// Warnings are how long before the closing time everyone is warned
	// (call-warning); nil means 5 minutes and 1 minute.
	Warnings []time.Duration
	// MaxParticipants is the most participants the call admits; 0 or
	// less means no limit.
	MaxParticipants int
}

// Booking is the live-call policy of one booked meeting's call. Its
// methods run on the call's goroutine only, so its state needs no lock.
type Booking struct {
	// set at construction
	cfg BookingConfig
	// owned by the call's goroutine
	occ      bookings.Occurrence // the occurrence this call is for, once chosen
	chosen   bool
	warnings []livecall.Timer
}

var (
	_ livecall.Policy   = (*Booking)(nil)
	_ livecall.CallInfo = (*Booking)(nil)
	_ livecall.Listener = (*Booking)(nil)
)

// NewBooking returns the policy of one booked meeting's call (it holds
// that call's timers: make one per call).
func NewBooking(cfg BookingConfig) *Booking {
	if cfg.Location == nil {
		if loc, err := time.LoadLocation(bookings.DefaultTimeZone); err == nil {
			cfg.Location = loc
		} else {
			cfg.Location = time.UTC
		}
	}
	if cfg.Warnings == nil {
		cfg.Warnings = []time.Duration{5 * time.Minute, time.Minute}
	}
	return &Booking{cfg: cfg}
}

// Admit refuses a joiner outside the join window of the occurrence on
// now (CodeMeetingNotOpen before it opens, ReasonMeetingOver once it has
// closed) and past MaxParticipants (CodeRoomFull). The first joiner fixes
// the call's occurrence. A booked meeting starts with no host: a token's
// host role joins as a member; a host is made only by claiming it with
// the host key (Call.ClaimHost).
func (p *Booking) Admit(ctl *livecall.Control, a livecall.Admission) (livecall.Role, error) {
	now := ctl.Now()
	if !p.chosen {
		occ, err := p.current(now)
		if err != nil {
			return "", err
		}
		p.occ, p.chosen = occ, true
	} else if !now.Before(p.occ.Closes()) {
		return "", p.over()
	}
	if max := p.cfg.MaxParticipants; max > 0 && len(ctl.Participants()) >= max {
		return "", &livecall.Refusal{Code: CodeRoomFull,
			Message: fmt.Sprintf("the meeting is full: it has %d participants, its limit; try again later", max)}
	}
	if a.Role == livecall.RoleHost {
		return livecall.RoleMember, nil
	}
	return a.Role, nil
}

// current returns the occurrence whose window [Opens, Closes) holds now,
// or the refusal for a joiner outside every window.
func (p *Booking) current(now time.Time) (bookings.Occurrence, error) {
	for _, o := range p.cfg.Occurrences {
		if o.Cancelled || !now.Before(o.Closes()) {
			continue
		}
		if now.Before(o.Opens()) {
			return bookings.Occurrence{}, &livecall.Refusal{Code: CodeMeetingNotOpen,
				Message: fmt.Sprintf("the meeting opens at %s: members may join up to %d minutes before the start",
					LocalTime(o.Opens(), p.cfg.Location), int(bookings.EarlyJoin/time.Minute))}
		}
		return o, nil
	}
	return bookings.Occurrence{}, &livecall.Refusal{Code: ReasonMeetingOver, Message: "this meeting is over: the series has no more meetings"}
}

// over is the refusal of a joiner after the call's occurrence closed.
func (p *Booking) over() error {
	return &livecall.Refusal{Code: ReasonMeetingOver, Message: fmt.Sprintf("this meeting closed at %s, %d minutes after its end",
		LocalTime(p.occ.Closes(), p.cfg.Location), int(bookings.Grace/time.Minute))}
}

// OnEvent sets the deadline at the occurrence's closing time on the
// first join, with its warnings; they stop when the call ends.
func (p *Booking) OnEvent(ctl *livecall.Control, e livecall.Event) {
	switch e.Kind {
	case livecall.EventFirstJoin:
		p.arm(ctl)
	case livecall.EventEnding:
		p.disarm()
	}
}

// arm sets the deadline at the call's occurrence's closing time, with
// its warnings.
func (p *Booking) arm(ctl *livecall.Control) {
	closes := p.occ.Closes()
	ctl.SetDeadline(closes, ReasonMeetingOver)
	left := closes.Sub(ctl.Now())
	for _, before := range p.cfg.Warnings {
		if before <= 0 || before >= left {
			continue
		}
		p.warnings = append(p.warnings, ctl.AfterFunc(left-before, func(ctl *livecall.Control) { ctl.Warn() }))
	}
}

// disarm stops the pending warnings.
func (p *Booking) disarm() {
	for _, t := range p.warnings {
		t.Stop()
	}
	p.warnings = nil
}

// OnNotice follows a change of the series while the call runs
// (ScheduleChanged): the call of an occurrence cancelled (or of a series
// no longer live) ends for everyone with ReasonMeetingCancelled; of one
// moved a little (its new window opens before the old one closes, and
// closes after now), it carries on to the new closing time, and
// otherwise it ends with ReasonMeetingMoved. A call no one has joined
// yet just takes the new occurrences.
func (p *Booking) OnNotice(ctl *livecall.Control, notice any) {
	ch, ok := notice.(ScheduleChanged)
	if !ok {
		return
	}
	p.cfg.Occurrences = ch.Occurrences
	if !p.chosen {
		return
	}
	var cur *bookings.Occurrence
	for i := range ch.Occurrences {
		if ch.Occurrences[i].Index == p.occ.Index {
			cur = &ch.Occurrences[i]
		}
	}
	switch {
	case !ch.Live || cur == nil || cur.Cancelled:
		ctl.End(ReasonMeetingCancelled)
	case cur.Start.Equal(p.occ.Start) && cur.End.Equal(p.occ.End):
		// This meeting is unchanged (another one of the series changed).
	case cur.Opens().After(p.occ.Closes()) || !ctl.Now().Before(cur.Closes()):
		ctl.End(ReasonMeetingMoved)
	default:
		p.disarm()
		p.occ = *cur
		p.arm(ctl)
	}
}

// CallInfo adds the occurrence's times and whether it has a host key to
// the call's state.
func (p *Booking) CallInfo(_ *livecall.Control, st *protocol.CallState) {
	if !p.chosen {
		return
	}
	st.Booking = &protocol.Booking{
		Start:    p.occ.Start.Format(time.RFC3339),
		End:      p.occ.End.Format(time.RFC3339),
		ClosesAt: p.occ.Closes().Format(time.RFC3339),
	}
	st.HostKey = p.cfg.HostKey
}

// LocalTime renders t as people in loc read it, with the zone's name
// (bookings.ZoneName): "18:45 on Tue 1 Dec 2026 (UK time)".
func LocalTime(t time.Time, loc *time.Location) string {
	return t.In(loc).Format("15:04 on "+bookings.DayLayout) + " (" + bookings.ZoneName(loc) + ")"
}
