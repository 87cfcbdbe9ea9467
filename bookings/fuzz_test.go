package bookings_test

import (
	"slices"
	"testing"
	"time"

	"github.com/parley-dev/parley/bookings"
)

var fieldNames = []string{"leaderName", "leaderEmail", "account", "title", "firstDate", "startTime", "durationMinutes",
	"recurrence", "recurrence.frequency", "recurrence.weekday", "recurrence.nth", "recurrence.count", "recurrence.until"}

// FuzzNewSeries validates arbitrary requests. The seeds
// (testdata/fuzz/FuzzNewSeries) are every pattern of the tests and
// requests each field error refuses.
//
// Properties: NewSeries never panics; it returns a series or field
// errors, never both or neither; each error is keyed by a request field
// and says something; a series it accepts expands to 1 to MaxOccurrences
// occurrences in time order, the first after now and on or after the
// first date, each as long as asked, the last within MaxSpan, at the
// start time asked (wall-clock, unless that time does not exist that day),
// on the weekday asked; and it clashes with a copy of itself.
func FuzzNewSeries(f *testing.F) {
	f.Fuzz(func(t *testing.T, name, email, account, first, start string, minutes int,
		freq, weekday string, nth1, nth2, nthN, count int, until string) {
		var nth []int
		switch nthN {
		case 1:
			nth = []int{nth1}
		case 2:
			nth = []int{nth1, nth2}
		}
		req := bookings.Request{LeaderName: name, LeaderEmail: email, Account: account, FirstDate: first,
			StartTime: start, DurationMinutes: minutes,
			Recurrence: bookings.Recurrence{Frequency: bookings.Frequency(freq), Weekday: weekday, Nth: nth, Count: count, Until: until}}
		s, errs := bookings.NewSeries(req, "g_1", "Group", bookings.Limits{Location: london}, testNow)
		if (s == nil) == (errs == nil) {
			t.Fatalf("NewSeries(%+v) = %+v, %v: want exactly one", req, s, errs)
		}
		if errs != nil {
			if len(errs) == 0 {
				t.Fatal("empty field errors")
			}
			for k, msg := range errs {
				if !slices.Contains(fieldNames, k) || msg == "" {
					t.Fatalf("field error %q: %q", k, msg)
				}
			}
			return
		}
		occ, err := s.Occurrences()
		if err != nil {
			t.Fatalf("accepted %+v, then Occurrences: %v", req, err)
		}
		if len(occ) < 1 || len(occ) > bookings.MaxOccurrences {
			t.Fatalf("accepted %+v with %d occurrences", req, len(occ))
		}
		firstDay, _ := bookings.ParseDate(s.FirstDate, london)
		hour, minute, _ := bookings.ParseClock(s.StartTime)
		for i, o := range occ {
			if o.Index != i || (i > 0 && !o.Start.After(occ[i-1].Start)) || o.End.Sub(o.Start) != s.Duration {
				t.Fatalf("occurrence %d of %+v: %+v", i, req, o)
			}
			if o.Start.Before(firstDay) || o.Start.Sub(firstDay) > bookings.MaxSpan+24*time.Hour {
				t.Fatalf("occurrence %d of %+v at %v", i, req, o.Start)
			}
			wall := bookings.At(o.Start, hour, minute)
			if wall.Hour() == hour && wall.Minute() == minute && (o.Start.Hour() != hour || o.Start.Minute() != minute) {
				t.Fatalf("occurrence %d of %+v at %v, not at %s", i, req, o.Start, s.StartTime)
			}
			if d, err := bookings.ParseWeekday(s.Recurrence.Weekday); err == nil && s.Recurrence.Weekday != "" && o.Start.Weekday() != d {
				t.Fatalf("occurrence %d of %+v on a %v", i, req, o.Start.Weekday())
			}
		}
		if !occ[0].Start.After(testNow) {
			t.Fatalf("accepted %+v starting %v, before now", req, occ[0].Start)
		}
		twin := *s
		twin.ID = bookings.NewID("b_")
		if c, err := bookings.Conflicts(s, []*bookings.Series{&twin}); err != nil || len(c) < len(occ) {
			t.Fatalf("%+v against its twin: %d conflicts, %v", req, len(c), err)
		}
	})
}
