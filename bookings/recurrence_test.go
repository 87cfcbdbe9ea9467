package bookings_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parley-dev/parley/bookings"
)

var london = mustZone("Europe/London")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// testNow is Tue 1 Dec 2026, 10:00 UK time (GMT).
var testNow = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

const (
	accountA = "a_aaaaaaaaaaaaaaaaaaaaaaaaaa"
	accountB = "a_bbbbbbbbbbbbbbbbbbbbbbbbbb"
)

func request(first, start string, minutes int, r bookings.Recurrence) bookings.Request {
	return bookings.Request{LeaderName: "Ann Leader", LeaderEmail: "ann@example.org", Account: accountA,
		FirstDate: first, StartTime: start, DurationMinutes: minutes, Recurrence: r}
}

func mustSeries(t *testing.T, req bookings.Request) *bookings.Series {
	t.Helper()
	s, errs := bookings.NewSeries(req, "g_1", "Tuesday Group", bookings.Limits{Location: london}, testNow)
	if errs != nil {
		t.Fatalf("NewSeries(%+v): %v", req, errs)
	}
	return s
}

// starts formats each occurrence's start as local wall-clock time and
// UTC offset: "2027-03-31 19:00 +0100".
func starts(t *testing.T, s *bookings.Series) []string {
	t.Helper()
	occ, err := s.Occurrences()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, o := range occ {
		out = append(out, o.Start.Format("2006-01-02 15:04 -0700"))
	}
	return out
}

func TestOccurrences(t *testing.T) {
	weekly := func(day string, count int, until string) bookings.Recurrence {
		return bookings.Recurrence{Frequency: bookings.Weekly, Weekday: day, Count: count, Until: until}
	}
	monthly := func(day string, nth []int, count int, until string) bookings.Recurrence {
		f := bookings.Monthly
		if len(nth) == 2 {
			f = bookings.TwiceMonthly
		}
		return bookings.Recurrence{Frequency: f, Weekday: day, Nth: nth, Count: count, Until: until}
	}
	// Expected dates are read off a printed calendar (python's calendar
	// module); UK summer time 2027 runs from Sun 28 Mar to Sun 31 Oct.
	tests := []struct {
		name  string
		req   bookings.Request
		want  []string
		sumry string
	}{
		{"one-off", request("2026-12-03", "19:00", 90, bookings.Recurrence{Frequency: bookings.Once}),
			[]string{"2026-12-03 19:00 +0000"}, "Thu 3 Dec 2026, 19:00-20:30 (UK time)"},
		{"one-off later today", request("2026-12-01", "10:30", 30, bookings.Recurrence{Frequency: bookings.Once}),
			[]string{"2026-12-01 10:30 +0000"}, "Tue 1 Dec 2026, 10:30-11:00 (UK time)"},
		{"weekly from the first date's weekday", request("2026-12-02", "19:00", 90, weekly("", 3, "")),
			[]string{"2026-12-02 19:00 +0000", "2026-12-09 19:00 +0000", "2026-12-16 19:00 +0000"},
			"Every Wednesday, 19:00-20:30 (UK time), 3 meetings from Wed 2 Dec 2026"},
		{"weekly: first date not a Wednesday starts on the next", request("2026-12-01", "19:00", 60, weekly("wednesday", 2, "")),
			[]string{"2026-12-02 19:00 +0000", "2026-12-09 19:00 +0000"}, ""},
		{"weekly until, inclusive", request("2026-12-01", "19:00", 60, weekly("tuesday", 0, "2026-12-15")),
			[]string{"2026-12-01 19:00 +0000", "2026-12-08 19:00 +0000", "2026-12-15 19:00 +0000"},
			"Every Tuesday, 19:00-20:00 (UK time), 3 meetings from Tue 1 Dec 2026 to Tue 15 Dec 2026"},
		{"weekly across the year's end", request("2026-12-23", "19:00", 60, weekly("wednesday", 3, "")),
			[]string{"2026-12-23 19:00 +0000", "2026-12-30 19:00 +0000", "2027-01-06 19:00 +0000"}, ""},
		{"weekly across the March change", request("2027-03-17", "19:00", 60, weekly("wednesday", 3, "")),
			[]string{"2027-03-17 19:00 +0000", "2027-03-24 19:00 +0000", "2027-03-31 19:00 +0100"}, ""},
		{"weekly on the Sundays of the March change", request("2027-03-21", "19:00", 60, weekly("sunday", 2, "")),
			[]string{"2027-03-21 19:00 +0000", "2027-03-28 19:00 +0100"}, ""},
		{"weekly across the October change", request("2027-10-20", "19:00", 60, weekly("wednesday", 0, "2027-11-03")),
			[]string{"2027-10-20 19:00 +0100", "2027-10-27 19:00 +0100", "2027-11-03 19:00 +0000"}, ""},
		{"weekly on the Sundays of the October change", request("2027-10-24", "19:00", 60, weekly("sunday", 2, "")),
			[]string{"2027-10-24 19:00 +0100", "2027-10-31 19:00 +0000"}, ""},
		{"monthly 2nd Monday", request("2026-12-01", "19:00", 90, monthly("monday", []int{2}, 3, "")),
			[]string{"2026-12-14 19:00 +0000", "2027-01-11 19:00 +0000", "2027-02-08 19:00 +0000"},
			"2nd Monday of each month, 19:00-20:30 (UK time), 3 meetings from Mon 14 Dec 2026"},
		{"monthly 2nd Monday, first date after this month's", request("2026-12-15", "19:00", 90, monthly("monday", []int{2}, 2, "")),
			[]string{"2027-01-11 19:00 +0000", "2027-02-08 19:00 +0000"}, ""},
		{"monthly last Friday", request("2026-12-01", "18:30", 60, monthly("friday", []int{-1}, 3, "")),
			[]string{"2026-12-25 18:30 +0000", "2027-01-29 18:30 +0000", "2027-02-26 18:30 +0000"},
			"Last Friday of each month, 18:30-19:30 (UK time), 3 meetings from Fri 25 Dec 2026"},
		{"monthly last Friday across the March change", request("2027-02-01", "18:30", 60, monthly("friday", []int{-1}, 0, "2027-04-30")),
			[]string{"2027-02-26 18:30 +0000", "2027-03-26 18:30 +0000", "2027-04-30 18:30 +0100"}, ""},
		{"monthly 5th Tuesday skips months with four", request("2026-12-01", "19:00", 60, monthly("tuesday", []int{5}, 3, "")),
			[]string{"2026-12-29 19:00 +0000", "2027-03-30 19:00 +0100", "2027-06-29 19:00 +0100"}, ""},
		{"twice-monthly 1st and 3rd Tuesday", request("2026-12-01", "19:00", 90, monthly("tuesday", []int{1, 3}, 4, "")),
			[]string{"2026-12-01 19:00 +0000", "2026-12-15 19:00 +0000", "2027-01-05 19:00 +0000", "2027-01-19 19:00 +0000"},
			"1st and 3rd Tuesday of each month, 19:00-20:30 (UK time), 4 meetings from Tue 1 Dec 2026"},
		{"twice-monthly, nth given in reverse", request("2026-12-01", "19:00", 90, monthly("tuesday", []int{3, 1}, 0, "2027-01-05")),
			[]string{"2026-12-01 19:00 +0000", "2026-12-15 19:00 +0000", "2027-01-05 19:00 +0000"},
			"1st and 3rd Tuesday of each month, 19:00-20:30 (UK time), 3 meetings from Tue 1 Dec 2026 to Tue 5 Jan 2027"},
		{"twice-monthly 1st and last Thursday", request("2027-03-01", "19:00", 60, monthly("thursday", []int{-1, 1}, 4, "")),
			[]string{"2027-03-04 19:00 +0000", "2027-03-25 19:00 +0000", "2027-04-01 19:00 +0100", "2027-04-29 19:00 +0100"},
			"1st and last Thursday of each month, 19:00-20:00 (UK time), 4 meetings from Thu 4 Mar 2027"},
		{"twice-monthly 2nd and 4th Wednesday until", request("2027-10-01", "19:00", 60, monthly("wednesday", []int{2, 4}, 0, "2027-11-10")),
			[]string{"2027-10-13 19:00 +0100", "2027-10-27 19:00 +0100", "2027-11-10 19:00 +0000"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustSeries(t, tt.req)
			if got := starts(t, s); !slices.Equal(got, tt.want) {
				t.Errorf("occurrences\n got %q\nwant %q", got, tt.want)
			}
			if tt.sumry != "" {
				if got := s.Summary(); got != tt.sumry {
					t.Errorf("Summary() = %q, want %q", got, tt.sumry)
				}
			}
			occ, _ := s.Occurrences()
			for i, o := range occ {
				if o.Index != i || o.End.Sub(o.Start) != s.Duration || o.SeriesID != s.ID {
					t.Errorf("occurrence %d = %+v", i, o)
				}
				if o.Start.Location().String() != "Europe/London" {
					t.Errorf("occurrence %d in %v, want the series' zone", i, o.Start.Location())
				}
			}
		})
	}
}

// The March and October changes seen from UTC: 19:00 local is 19:00Z in
// winter and 18:00Z in summer.
func TestOccurrencesUTCAcrossDST(t *testing.T) {
	s := mustSeries(t, request("2027-03-24", "19:00", 60, bookings.Recurrence{Frequency: bookings.Weekly, Count: 33}))
	occ, err := s.Occurrences()
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range occ {
		_, off := o.Start.Zone()
		summer := !o.Start.Before(time.Date(2027, 3, 28, 1, 0, 0, 0, time.UTC)) &&
			o.Start.Before(time.Date(2027, 10, 31, 1, 0, 0, 0, time.UTC))
		wantOff := 0
		if summer {
			wantOff = 3600
		}
		if off != wantOff || o.Start.Hour() != 19 || o.Start.UTC().Hour() != 19-wantOff/3600 {
			t.Errorf("%v: offset %d, UTC %v; want offset %d", o.Start, off, o.Start.UTC(), wantOff)
		}
	}
	if last := occ[len(occ)-1].Start; last.Format("2006-01-02 -0700") != "2027-11-03 +0000" {
		t.Errorf("last = %v", last)
	}
}

func TestOccurrenceLookups(t *testing.T) {
	s := mustSeries(t, request("2026-12-01", "19:00", 90, bookings.Recurrence{Frequency: bookings.Weekly, Count: 4}))
	at := func(day, clock string) time.Time {
		d, _ := time.ParseInLocation("2006-01-02 15:04", day+" "+clock, london)
		return d
	}
	if o, ok := s.Occurrence(2); !ok || !o.Start.Equal(at("2026-12-15", "19:00")) {
		t.Errorf("Occurrence(2) = %v %v", o, ok)
	}
	if _, ok := s.Occurrence(4); ok {
		t.Error("Occurrence(4) of 4 found")
	}
	cases := []struct {
		now         time.Time
		current     int // -1: none
		next        int
		description string
	}{
		{at("2026-12-01", "18:44"), -1, 0, "a minute before it opens"},
		{at("2026-12-01", "18:45"), 0, 0, "as it opens (15 minutes early)"},
		{at("2026-12-01", "20:44"), 0, 0, "in the grace"},
		{at("2026-12-01", "20:45"), -1, 1, "as it closes"},
		{at("2026-12-22", "20:45"), -1, -1, "after the last"},
	}
	for _, c := range cases {
		cur, ok := s.Current(c.now)
		if (c.current < 0) == ok || (ok && cur.Index != c.current) {
			t.Errorf("%s: Current = %v %v, want %d", c.description, cur.Index, ok, c.current)
		}
		nx, ok := s.Next(c.now)
		if (c.next < 0) == ok || (ok && nx.Index != c.next) {
			t.Errorf("%s: Next = %v %v, want %d", c.description, nx.Index, ok, c.next)
		}
	}
	if o, _ := s.Occurrence(0); !o.Opens().Equal(at("2026-12-01", "18:45")) || !o.Closes().Equal(at("2026-12-01", "20:45")) {
		t.Errorf("Opens %v Closes %v", o.Opens(), o.Closes())
	}
}

func TestZoneOtherThanLondon(t *testing.T) {
	ny := mustZone("America/New_York")
	req := request("2027-03-10", "09:00", 60, bookings.Recurrence{Frequency: bookings.Weekly, Count: 2})
	s, errs := bookings.NewSeries(req, "g", "G", bookings.Limits{Location: ny}, testNow)
	if errs != nil {
		t.Fatal(errs)
	}
	// The US changes on Sun 14 Mar 2027.
	if got, want := starts(t, s), []string{"2027-03-10 09:00 -0500", "2027-03-17 09:00 -0400"}; !slices.Equal(got, want) {
		t.Errorf("got %q want %q", got, want)
	}
	if !strings.Contains(s.Summary(), "(America/New_York)") {
		t.Errorf("Summary %q does not name the zone", s.Summary())
	}
}

// A start time in the hour the clocks skip (01:30 on the last Sunday of
// March) is moved on by the hour the clocks skip, as time.Date does:
// 02:30 BST, the same instant as 01:30 GMT. In the hour that repeats in
// October, 01:30 is one of its two 01:30s. Either way the meeting lasts
// as long as asked and the weeks around it are at 01:30.
func TestOccurrencesInTheChangingHour(t *testing.T) {
	spring := mustSeries(t, request("2027-03-21", "01:30", 60, bookings.Recurrence{Frequency: bookings.Weekly, Count: 3}))
	if got, want := starts(t, spring), []string{"2027-03-21 01:30 +0000", "2027-03-28 02:30 +0100", "2027-04-04 01:30 +0100"}; !slices.Equal(got, want) {
		t.Errorf("spring: got %q, want %q", got, want)
	}
	autumn := mustSeries(t, request("2027-10-24", "01:30", 60, bookings.Recurrence{Frequency: bookings.Weekly, Count: 3}))
	occ, err := autumn.Occurrences()
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range occ {
		if o.Start.Hour() != 1 || o.Start.Minute() != 30 || o.End.Sub(o.Start) != time.Hour {
			t.Errorf("autumn: %v-%v", o.Start, o.End)
		}
	}
}
