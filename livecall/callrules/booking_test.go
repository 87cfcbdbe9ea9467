package callrules_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/parley-dev/parley/bookings"
	"github.com/parley-dev/parley/livecall"
	"github.com/parley-dev/parley/livecall/callrules"
	"github.com/parley-dev/parley/livecall/fakeclock"
	"github.com/parley-dev/parley/signaling/protocol"
)

// A weekly meeting, Tuesdays 19:00-20:30 UK time: 1 Dec (GMT), 8 Dec
// (cancelled), 15 Dec.
func weekly(t *testing.T) ([]bookings.Occurrence, *time.Location) {
	t.Helper()
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	var occs []bookings.Occurrence
	for i, day := range []int{1, 8, 15} {
		start := time.Date(2026, 12, day, 19, 0, 0, 0, loc)
		occs = append(occs, bookings.Occurrence{SeriesID: "b_1", Index: i, Start: start, End: start.Add(90 * time.Minute), Cancelled: day == 8})
	}
	return occs, loc
}

type bookingHarness struct {
	harness
	policy *callrules.Booking
}

func newBookingHarness(t *testing.T, now time.Time, cfg callrules.BookingConfig) *bookingHarness {
	h := &bookingHarness{harness: harness{t: t, clock: fakeclock.New(now), ended: make(chan string, 1)}}
	h.policy = callrules.NewBooking(cfg)
	h.call = livecall.New(livecall.Config{
		Room:    protocol.Room{ID: "b_1", Name: "Choir"},
		Policy:  h.policy,
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

func refusalCode(err error) string {
	var r *livecall.Refusal
	if errors.As(err, &r) {
		return r.Code
	}
	return ""
}

func (c *conn) bookingWarnings() []*protocol.CallWarning {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*protocol.CallWarning
	for _, m := range c.msgs {
		if w, ok := m.(*protocol.CallWarning); ok {
			out = append(out, w)
		}
	}
	return out
}

func (c *conn) joined() *protocol.Joined {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range c.msgs {
		if j, ok := m.(*protocol.Joined); ok {
			return j
		}
	}
	return nil
}

// Before the window: refused with the local opening time; 20 minutes
// early is refused, 15 admitted.
func TestBookingRefusedBeforeOpening(t *testing.T) {
	occs, loc := weekly(t)
	early := time.Date(2026, 12, 1, 18, 40, 0, 0, loc)
	h := newBookingHarness(t, early, callrules.BookingConfig{Occurrences: occs, Location: loc})
	_, err := h.join("m1", livecall.RoleMember)
	if refusalCode(err) != callrules.CodeMeetingNotOpen || !strings.Contains(err.Error(), "18:45 on Tue 1 Dec 2026 (UK time)") {
		t.Fatalf("20 minutes early: %v, want meeting-not-open at 18:45 UK time", err)
	}
	if <-h.ended != livecall.ReasonEmpty {
		t.Error("the refused first join left the call open")
	}

	h = newBookingHarness(t, early.Add(5*time.Minute), callrules.BookingConfig{Occurrences: occs, Location: loc, HostKey: true})
	c := h.mustJoin("m1", livecall.RoleHost)
	j := c.joined()
	if j.Role != string(livecall.RoleMember) {
		t.Errorf("a host token joined as %q, want member (no host at the start)", j.Role)
	}
	want := protocol.Booking{Start: "2026-12-01T19:00:00Z", End: "2026-12-01T20:30:00Z", ClosesAt: "2026-12-01T20:45:00Z"}
	if j.Call.Booking == nil || *j.Call.Booking != want || !j.Call.HostKey {
		t.Errorf("joined call %+v booking %+v, want %+v and hostKey", j.Call, j.Call.Booking, want)
	}
	// The deadline follows at once (call-updated, as the first join's event).
	if at, reason := c.endsAt(); at != want.ClosesAt || reason != callrules.ReasonMeetingOver {
		t.Errorf("endsAt %q %q, want the closing time, meeting-over", at, reason)
	}
}

// In the window: the deadline is the end plus 15 minutes; warnings 5
// minutes and 1 minute before; at the deadline the call ends for
// everyone with meeting-over; a joiner after it is refused meeting-over.
func TestBookingDeadlineWarningsAndEnd(t *testing.T) {
	occs, loc := weekly(t)
	h := newBookingHarness(t, time.Date(2026, 12, 1, 18, 50, 0, 0, loc), callrules.BookingConfig{Occurrences: occs, Location: loc})
	a := h.mustJoin("m1", livecall.RoleMember)
	h.clock.Advance(time.Hour) // 19:50
	b := h.mustJoin("m2", livecall.RoleMember)
	if at, reason := b.endsAt(); at != "2026-12-01T20:45:00Z" || reason != callrules.ReasonMeetingOver {
		t.Errorf("a later joiner sees endsAt %q %q", at, reason)
	}
	h.clock.Advance(50*time.Minute - time.Second) // 20:39:59
	if n := len(a.bookingWarnings()); h.state() != livecall.StateOpen || n != 0 {
		t.Fatalf("at 20:39:59: state %v, %d warnings", h.state(), n)
	}
	h.clock.Advance(time.Second) // 20:40
	h.state()
	if ws := b.bookingWarnings(); len(ws) != 1 || ws[0].EndsAt != "2026-12-01T20:45:00Z" || ws[0].Reason != callrules.ReasonMeetingOver {
		t.Errorf("at 20:40 warnings %+v", ws)
	}
	h.clock.Advance(4 * time.Minute) // 20:44
	h.state()
	if n := len(a.bookingWarnings()); n != 2 {
		t.Errorf("at 20:44 %d warnings, want 2", n)
	}
	h.clock.Advance(time.Minute - time.Second)
	if st := h.state(); st != livecall.StateOpen {
		t.Fatalf("at 20:44:59 the call is %v", st)
	}
	h.clock.Advance(time.Second)
	in := h.call.Info()
	if in.State == livecall.StateOpen || in.Reason != callrules.ReasonMeetingOver {
		t.Fatalf("at 20:45 the call is %v (%q)", in.State, in.Reason)
	}
	for _, c := range []*conn{a, b} {
		if bye := c.closed(); bye != callrules.ReasonMeetingOver {
			t.Errorf("bye %q, want meeting-over", bye)
		}
	}
	if h.clock.Pending() != 0 {
		t.Errorf("%d timers left after the end", h.clock.Pending())
	}
}

// After the close, the next occurrence (the cancelled one skipped) is
// not open yet; after the last, the meeting is over; a call open at the
// closing time refuses joiners before its timer has run.
func TestBookingBetweenAndAfterOccurrences(t *testing.T) {
	occs, loc := weekly(t)
	h := newBookingHarness(t, time.Date(2026, 12, 1, 20, 45, 0, 0, loc), callrules.BookingConfig{Occurrences: occs, Location: loc})
	_, err := h.join("m1", livecall.RoleMember)
	if refusalCode(err) != callrules.CodeMeetingNotOpen || !strings.Contains(err.Error(), "18:45 on Tue 15 Dec 2026") {
		t.Errorf("at the close: %v, want not open until 15 Dec (8 Dec is cancelled)", err)
	}
	h = newBookingHarness(t, time.Date(2026, 12, 15, 20, 45, 0, 0, loc), callrules.BookingConfig{Occurrences: occs, Location: loc})
	if _, err := h.join("m1", livecall.RoleMember); refusalCode(err) != callrules.ReasonMeetingOver {
		t.Errorf("after the last: %v, want meeting-over", err)
	}
	h = newBookingHarness(t, time.Date(2026, 12, 15, 20, 44, 0, 0, loc), callrules.BookingConfig{Occurrences: occs, Location: loc, MaxParticipants: 1})
	h.mustJoin("m1", livecall.RoleMember)
	if _, err := h.join("m2", livecall.RoleMember); refusalCode(err) != callrules.CodeRoomFull {
		t.Errorf("past the limit: %v, want room-full", err)
	}
	if n := h.clock.Pending(); n != 1 {
		t.Errorf("with a minute left, %d timers (the deadline only: a warning 5 minutes before is past)", n)
	}
}

// Across the change to summer time the window follows the wall clock.
func TestBookingSummerTime(t *testing.T) {
	_, loc := weekly(t)
	start := time.Date(2027, 6, 1, 19, 0, 0, 0, loc)
	occs := []bookings.Occurrence{{SeriesID: "b_1", Start: start, End: start.Add(time.Hour)}}
	h := newBookingHarness(t, time.Date(2027, 6, 1, 17, 44, 0, 0, time.UTC), callrules.BookingConfig{Occurrences: occs, Location: loc})
	if _, err := h.join("m1", livecall.RoleMember); refusalCode(err) != callrules.CodeMeetingNotOpen || !strings.Contains(err.Error(), "18:45 on Tue 1 Jun 2027 (UK time)") {
		t.Fatalf("17:44 UTC (18:44 BST): %v", err)
	}
	h = newBookingHarness(t, time.Date(2027, 6, 1, 17, 45, 0, 0, time.UTC), callrules.BookingConfig{Occurrences: occs, Location: loc})
	c := h.mustJoin("m1", livecall.RoleMember)
	if b := c.joined().Call.Booking; b == nil || b.Start != "2027-06-01T19:00:00+01:00" || b.ClosesAt != "2027-06-01T20:15:00+01:00" {
		t.Errorf("booking %+v", b)
	}
}

// The coordinator changes the series while its call runs: moving another
// meeting changes nothing; moving this one a little later carries the
// call on to the new closing time, with its warnings; moving it to
// another day, or to before now, ends the call (meeting-moved);
// cancelling it ends the call (meeting-cancelled).
func TestBookingScheduleChangedWhileRunning(t *testing.T) {
	occs, loc := weekly(t)
	at1850 := time.Date(2026, 12, 1, 18, 50, 0, 0, loc)
	moved := func(index int, by time.Duration) []bookings.Occurrence {
		out := append([]bookings.Occurrence(nil), occs...)
		out[index].Start, out[index].End, out[index].Moved = out[index].Start.Add(by), out[index].End.Add(by), true
		return out
	}

	h := newBookingHarness(t, at1850, callrules.BookingConfig{Occurrences: occs, Location: loc})
	a := h.mustJoin("m1", livecall.RoleMember)
	if err := h.call.Notify(callrules.ScheduleChanged{Occurrences: moved(2, time.Hour), Live: true}); err != nil {
		t.Fatal(err)
	}
	if at, _ := a.endsAt(); at != "2026-12-01T20:45:00Z" {
		t.Errorf("another meeting moved: endsAt %q, want 20:45 still", at)
	}
	if err := h.call.Notify(callrules.ScheduleChanged{Occurrences: moved(0, 30*time.Minute), Live: true}); err != nil {
		t.Fatal(err)
	}
	if at, reason := a.endsAt(); at != "2026-12-01T21:15:00Z" || reason != callrules.ReasonMeetingOver {
		t.Errorf("this meeting moved 30 min later: endsAt %q %q, want 21:15 meeting-over", at, reason)
	}
	h.clock.Advance(2*time.Hour + 20*time.Minute - time.Second) // 21:09:59: the old warnings must not come
	if n := len(a.bookingWarnings()); n != 0 || h.state() != livecall.StateOpen {
		t.Fatalf("at 21:09:59: %d warnings, state %v", n, h.state())
	}
	h.clock.Advance(time.Second) // 21:10
	h.state()
	if n := len(a.bookingWarnings()); n != 1 {
		t.Errorf("at 21:10: %d warnings, want the 5-minute one", n)
	}
	h.clock.Advance(5 * time.Minute)
	h.state()
	if bye := a.closed(); bye != callrules.ReasonMeetingOver {
		t.Errorf("at 21:15 bye %q, want meeting-over", bye)
	}

	h = newBookingHarness(t, at1850, callrules.BookingConfig{Occurrences: occs, Location: loc})
	a = h.mustJoin("m1", livecall.RoleMember)
	if err := h.call.Notify(callrules.ScheduleChanged{Occurrences: moved(0, 24*time.Hour), Live: true}); err != nil {
		t.Fatal(err)
	}
	if bye := a.closed(); bye != callrules.ReasonMeetingMoved {
		t.Errorf("moved to tomorrow: bye %q, want meeting-moved", bye)
	}

	h = newBookingHarness(t, at1850.Add(time.Hour), callrules.BookingConfig{Occurrences: occs, Location: loc})
	a = h.mustJoin("m1", livecall.RoleMember)
	if err := h.call.Notify(callrules.ScheduleChanged{Occurrences: moved(0, -2*time.Hour), Live: true}); err != nil {
		t.Fatal(err)
	}
	if bye := a.closed(); bye != callrules.ReasonMeetingMoved {
		t.Errorf("moved to before now: bye %q, want meeting-moved", bye)
	}

	h = newBookingHarness(t, at1850, callrules.BookingConfig{Occurrences: occs, Location: loc})
	a = h.mustJoin("m1", livecall.RoleMember)
	cancelled := append([]bookings.Occurrence(nil), occs...)
	cancelled[0].Cancelled = true
	if err := h.call.Notify(callrules.ScheduleChanged{Occurrences: cancelled, Live: true}); err != nil {
		t.Fatal(err)
	}
	if bye := a.closed(); bye != callrules.ReasonMeetingCancelled {
		t.Errorf("cancelled: bye %q, want meeting-cancelled", bye)
	}
	if h.clock.Pending() != 0 {
		t.Errorf("%d timers left after the end", h.clock.Pending())
	}

	h = newBookingHarness(t, at1850, callrules.BookingConfig{Occurrences: occs, Location: loc})
	a = h.mustJoin("m1", livecall.RoleMember)
	if err := h.call.Notify(callrules.ScheduleChanged{Occurrences: occs, Live: false}); err != nil {
		t.Fatal(err)
	}
	if bye := a.closed(); bye != callrules.ReasonMeetingCancelled {
		t.Errorf("series cancelled: bye %q, want meeting-cancelled", bye)
	}
}
