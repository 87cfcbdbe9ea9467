package bookings_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/parley-dev/parley/bookings"
)

func localAt(t *testing.T, s string) time.Time {
	t.Helper()
	d, err := time.ParseInLocation("2006-01-02 15:04", s, london)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestCancelAndMove(t *testing.T) {
	s := mustSeries(t, request("2026-12-02", "19:00", 60, bookings.Recurrence{Frequency: bookings.Weekly, Count: 4}))
	// 2, 9, 16, 23 Dec.
	if err := s.Cancel(1, "Christmas concert"); err != nil {
		t.Fatal(err)
	}
	if err := s.Cancel(1, "again"); err == nil || !strings.Contains(err.Error(), "cancelled already") {
		t.Errorf("second Cancel = %v", err)
	}
	if err := s.Move(1, "2026-12-10", "19:00"); err == nil || !strings.Contains(err.Error(), "cannot be moved") {
		t.Errorf("moving a cancelled meeting = %v", err)
	}
	// The last moved to before the third: it comes first in time order
	// but keeps its index.
	if err := s.Move(3, "2026-12-15", "18:00"); err != nil {
		t.Fatal(err)
	}
	refusals := []struct {
		index       int
		date, start string
		now         time.Time
		words       string
	}{
		{4, "2026-12-30", "19:00", time.Time{}, "no meeting number 4"},
		{-1, "2026-12-30", "19:00", time.Time{}, "no meeting number -1"},
		{2, "16/12/2026", "19:00", time.Time{}, "YYYY-MM-DD"},
		{2, "2026-12-16", "7pm", time.Time{}, "HH:MM"},
		{2, "2026-12-15", "19:29", time.Time{}, "within 30 minutes of this series' own meeting of Tue 15 Dec 2026 18:00"},
		{0, "2026-12-03", "19:00", localAt(t, "2026-12-02 19:00"), "already started"},
		{2, "2026-12-01", "09:00", testNow, "already passed"},
	}
	for _, r := range refusals {
		if err := s.MoveAt(r.index, r.date, r.start, r.now); err == nil || !strings.Contains(err.Error(), r.words) {
			t.Errorf("MoveAt(%d, %s, %s) = %v, want %q", r.index, r.date, r.start, err, r.words)
		}
	}
	// 30 minutes after the moved one's end (19:00) is fine.
	if err := s.MoveAt(2, "2026-12-15", "19:30", testNow); err != nil {
		t.Fatalf("move 30 minutes after: %v", err)
	}
	occ, err := s.Occurrences()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range occ {
		got = append(got, fmt.Sprintf("%d %s moved=%v cancelled=%v", o.Index, o.Start.Format("Jan 2 15:04"), o.Moved, o.Cancelled))
	}
	want := []string{
		"0 Dec 2 19:00 moved=false cancelled=false",
		"1 Dec 9 19:00 moved=false cancelled=true",
		"3 Dec 15 18:00 moved=true cancelled=false",
		"2 Dec 15 19:30 moved=true cancelled=false",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("occurrences\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Cancelling a moved meeting keeps where it had moved to.
	if err := s.Cancel(3, ""); err != nil {
		t.Fatal(err)
	}
	if o, _ := s.Occurrence(3); !o.Cancelled || !o.Moved || o.Start.Day() != 15 {
		t.Errorf("cancelled moved occurrence %+v", o)
	}
	if len(s.Exceptions) != 3 || s.Exceptions[0].Index != 1 || s.Exceptions[0].Reason != "Christmas concert" {
		t.Errorf("exceptions %+v", s.Exceptions)
	}
	// Next skips cancelled ones; the series ends with its last meeting.
	if nx, ok := s.Next(localAt(t, "2026-12-03 00:00")); !ok || nx.Index != 2 {
		t.Errorf("Next = %+v, %v; want index 2", nx, ok)
	}
	if end := s.End(); !end.Equal(localAt(t, "2026-12-15 20:30")) {
		t.Errorf("End = %v", end)
	}
}

// Moves change a copy's exceptions only: Series are values.
func TestMoveLeavesCopiesAlone(t *testing.T) {
	s := mustSeries(t, request("2026-12-02", "19:00", 60, bookings.Recurrence{Frequency: bookings.Weekly, Count: 3}))
	if err := s.Cancel(0, ""); err != nil {
		t.Fatal(err)
	}
	c := *s
	if err := c.Move(2, "2026-12-17", "19:00"); err != nil {
		t.Fatal(err)
	}
	if err := c.Cancel(1, ""); err != nil {
		t.Fatal(err)
	}
	if len(s.Exceptions) != 1 || len(c.Exceptions) != 3 {
		t.Errorf("original %+v, copy %+v", s.Exceptions, c.Exceptions)
	}
}

func TestMoveAlternatives(t *testing.T) {
	once := bookings.Recurrence{Frequency: bookings.Once}
	other := mustSeries(t, request("2026-12-10", "19:00", 60, once))
	s := mustSeries(t, request("2026-12-02", "19:00", 60, bookings.Recurrence{Frequency: bookings.Weekly, Count: 3}))
	if err := s.Move(1, "2026-12-10", "19:45"); err != nil {
		t.Fatal(err)
	}
	if c, _ := bookings.Conflicts(s, []*bookings.Series{other}); len(c) != 1 || c[0].Requested.Index != 1 {
		t.Fatalf("conflicts %+v", c)
	}
	alts, err := bookings.MoveAlternatives(s, 1, []*bookings.Series{other})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range alts {
		got = append(got, a.FirstDate+" "+a.StartTime)
		c := *s
		if err := c.Move(1, a.FirstDate, a.StartTime); err != nil {
			t.Errorf("alternative %+v: %v", a, err)
		}
		if cs, _ := bookings.Conflicts(&c, []*bookings.Series{other}); len(cs) != 0 {
			t.Errorf("alternative %+v conflicts: %+v", a, cs)
		}
	}
	if want := "2026-12-10 17:30,2026-12-10 17:15,2026-12-10 20:30,2026-12-10 20:45"; strings.Join(got, ",") != want {
		t.Errorf("alternatives %v, want %s", got, want)
	}
}

func TestLinks(t *testing.T) {
	for _, every := range []int{6, 10} {
		t.Run(fmt.Sprintf("every %d", every), func(t *testing.T) {
			req := request("2026-12-02", "19:00", 60, bookings.Recurrence{Frequency: bookings.Weekly, Count: 25})
			s, errs := bookings.NewSeries(req, "g", "G", bookings.Limits{Location: london, LinkEvery: every}, testNow)
			if errs != nil {
				t.Fatal(errs)
			}
			const lead = 72 * time.Hour
			if _, ok := s.NeededLink(testNow.AddDate(1, 0, 0), lead); ok {
				t.Error("a requested series needs a link")
			}
			s.Approve(testNow, bookings.Link{First: 3, Token: "t0", HostKeyHash: "h0"})
			if s.State != bookings.Approved || !s.DecidedAt.Equal(testNow) || len(s.Links) != 1 || s.Links[0].First != 0 ||
				!s.Links[0].CreatedAt.Equal(testNow) {
				t.Fatalf("after Approve: %+v", s)
			}
			for i := range every {
				if l, ok := s.LinkFor(i); !ok || l.Token != "t0" {
					t.Errorf("LinkFor(%d) = %v, %v", i, l, ok)
				}
			}
			if _, ok := s.LinkFor(every); ok {
				t.Errorf("LinkFor(%d) found before the refresh", every)
			}
			// Occurrence `every` is on 2 Dec + every weeks at 19:00 and
			// opens at 18:45; its link is needed from lead before that.
			opens := localAt(t, "2026-12-02 18:45").AddDate(0, 0, 7*every)
			if k, ok := s.NeededLink(opens.Add(-lead-time.Minute), lead); ok {
				t.Errorf("NeededLink a minute early = %d", k)
			}
			if k, ok := s.NeededLink(opens.Add(-lead), lead); !ok || k != every {
				t.Errorf("NeededLink at the lead = %d, %v; want %d", k, ok, every)
			}
			// Cancel that occurrence: the link is needed a week later,
			// lead before the block's first meeting that takes place.
			c := *s
			if err := c.Cancel(every, ""); err != nil {
				t.Fatal(err)
			}
			if _, ok := c.NeededLink(opens.Add(-lead), lead); ok {
				t.Error("needed for a cancelled meeting")
			}
			if k, ok := c.NeededLink(opens.AddDate(0, 0, 7).Add(-lead), lead); !ok || k != every {
				t.Errorf("after cancelling = %d, %v", k, ok)
			}
			s.AddLink(bookings.Link{First: every, Token: "t1"})
			if l, ok := s.LinkFor(2*every - 1); !ok || l.Token != "t1" {
				t.Errorf("LinkFor(%d) = %v, %v", 2*every-1, l, ok)
			}
			if k, ok := s.NeededLink(opens.Add(-lead), lead); ok {
				t.Errorf("needed again after AddLink: %d", k)
			}
			second := opens.AddDate(0, 0, 7*every)
			if k, ok := s.NeededLink(second.Add(-lead), lead); !ok || k != 2*every {
				t.Errorf("second refresh = %d, %v; want %d", k, ok, 2*every)
			}
			// Long after the series, nothing is needed.
			if k, ok := s.NeededLink(testNow.AddDate(2, 0, 0), lead); ok {
				t.Errorf("needed after the end: %d", k)
			}
			if first, last := s.LinkIndexes(&s.Links[1]); first != every || last != 2*every-1 {
				t.Errorf("LinkIndexes = %d, %d", first, last)
			}
		})
	}
}

func TestDeclineAndCancelSeries(t *testing.T) {
	s := mustSeries(t, request("2026-12-02", "19:00", 60, bookings.Recurrence{Frequency: bookings.Weekly, Count: 2}))
	d := *s
	d.Decline(testNow, "the hall is closed")
	if d.State != bookings.Declined || d.State.Live() || d.Reason != "the hall is closed" || !d.DecidedAt.Equal(testNow) {
		t.Errorf("declined %+v", d)
	}
	s.CancelSeries("the group has disbanded")
	if s.State != bookings.Cancelled || s.State.Live() {
		t.Errorf("cancelled %+v", s)
	}
	if _, ok := s.NeededLink(testNow, time.Hour); ok {
		t.Error("a cancelled series needs a link")
	}
}

func TestSummaryWords(t *testing.T) {
	cases := []struct {
		rec  bookings.Recurrence
		want string
	}{
		{bookings.Recurrence{Frequency: bookings.Weekly, Count: 1}, "Every Wednesday, 19:00-20:00 (UK time), 1 meeting from Wed 2 Dec 2026"},
		{bookings.Recurrence{Frequency: bookings.Monthly, Nth: []int{5}, Weekday: "wed", Count: 2}, "5th Wednesday of each month, 19:00-20:00 (UK time), 2 meetings from Wed 30 Dec 2026"},
		{bookings.Recurrence{Frequency: bookings.TwiceMonthly, Nth: []int{-1, 2}, Weekday: "wed", Count: 2}, "2nd and last Wednesday of each month, 19:00-20:00 (UK time), 2 meetings from Wed 9 Dec 2026"},
	}
	for _, c := range cases {
		s := mustSeries(t, request("2026-12-02", "19:00", 60, c.rec))
		if got := s.Summary(); got != c.want {
			t.Errorf("Summary = %q, want %q", got, c.want)
		}
	}
	late := mustSeries(t, request("2026-12-02", "23:00", 120, bookings.Recurrence{Frequency: bookings.Once}))
	if got := late.Summary(); got != "Wed 2 Dec 2026, 23:00-01:00 (UK time)" {
		t.Errorf("past midnight: %q", got)
	}
}
