package bookings

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/teambition/rrule-go"
)

// Date and clock layouts of requests and series.
const (
	DateLayout = "2006-01-02"
	TimeLayout = "15:04"
)

var weekdays = map[string]time.Weekday{
	"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday, "wednesday": time.Wednesday,
	"thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday,
}

// ParseWeekday reads a weekday's English name ("tuesday"), or its first
// three letters ("tue"), in any case.
func ParseWeekday(s string) (time.Weekday, error) {
	k := strings.ToLower(strings.TrimSpace(s))
	if d, ok := weekdays[k]; ok {
		return d, nil
	}
	if len(k) == 3 {
		for name, d := range weekdays {
			if strings.HasPrefix(name, k) {
				return d, nil
			}
		}
	}
	return 0, fmt.Errorf("%q is not a day of the week (say monday, tuesday, … sunday)", s)
}

// WeekdayName is the lower-case English name ParseWeekday reads.
func WeekdayName(d time.Weekday) string { return strings.ToLower(d.String()) }

// Location returns the series' time zone.
func (s *Series) Location() (*time.Location, error) {
	name := s.TimeZone
	if name == "" {
		name = DefaultTimeZone
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("series %s: time zone %q: %w", s.ID, name, err)
	}
	return loc, nil
}

// ParseDate reads "YYYY-MM-DD" as midnight of that day in loc.
func ParseDate(s string, loc *time.Location) (time.Time, error) {
	if len(s) != len(DateLayout) {
		return time.Time{}, errors.New("not a date: write it as YYYY-MM-DD, e.g. 2026-12-01")
	}
	d, err := time.ParseInLocation(DateLayout, s, loc)
	if err != nil {
		return time.Time{}, errors.New("not a date: write it as YYYY-MM-DD, e.g. 2026-12-01")
	}
	return d, nil
}

// ParseClock reads "HH:MM" (24-hour) as hours and minutes.
func ParseClock(s string) (hour, minute int, err error) {
	if len(s) != len(TimeLayout) {
		return 0, 0, errors.New("not a time: write it as HH:MM on the 24-hour clock, e.g. 19:00")
	}
	t, err := time.Parse(TimeLayout, s)
	if err != nil {
		return 0, 0, errors.New("not a time: write it as HH:MM on the 24-hour clock, e.g. 19:00")
	}
	return t.Hour(), t.Minute(), nil
}

// At returns the wall-clock time hh:mm on date (midnight of a day in its
// zone). In a DST gap the clock is moved on as time.Date does.
func At(date time.Time, hour, minute int) time.Time {
	return time.Date(date.Year(), date.Month(), date.Day(), hour, minute, 0, 0, date.Location())
}

// expansionLimit bounds any expansion: no series is ever expanded past
// this many occurrences, whatever its record says.
const expansionLimit = MaxOccurrences + 1

// The years a first date may be in: rrule-go misbehaves far outside them
// (year 0 makes it index out of range), and no booking needs them.
const (
	minYear = 2000
	maxYear = 9000
)

// starts expands the series' recurrence to the start times of its
// occurrences, in the rule's order (the occurrence indexes), before
// exceptions. It stops after expansionLimit starts or MaxSpan after the
// first date, so a corrupt record cannot make it run away; a panic in
// rrule-go on a record no request could make is an error instead.
func (s *Series) starts() (out []time.Time, err error) {
	defer func() {
		if p := recover(); p != nil {
			out, err = nil, fmt.Errorf("series %s: expanding the recurrence failed: %v", s.ID, p)
		}
	}()
	loc, err := s.Location()
	if err != nil {
		return nil, err
	}
	first, err := ParseDate(s.FirstDate, loc)
	if err != nil {
		return nil, fmt.Errorf("series %s: first date %q: %w", s.ID, s.FirstDate, err)
	}
	if first.Year() < minYear || first.Year() > maxYear {
		return nil, fmt.Errorf("series %s: first date %q is out of range (years %d to %d)", s.ID, s.FirstDate, minYear, maxYear)
	}
	hour, minute, err := ParseClock(s.StartTime)
	if err != nil {
		return nil, fmt.Errorf("series %s: start time %q: %w", s.ID, s.StartTime, err)
	}
	rule, err := s.rule(first, hour, minute, loc)
	if err != nil {
		return nil, fmt.Errorf("series %s: %w", s.ID, err)
	}
	horizon := first.AddDate(0, 0, int(MaxSpan/(24*time.Hour))+1)
	next := rule.Iterator()
	for len(out) < expansionLimit {
		t, ok := next()
		if !ok || t.After(horizon) {
			break
		}
		out = append(out, t)
	}
	return out, nil
}

// rule builds the series' RRULE with DTSTART at hh:mm on its first date
// in loc: rrule-go expands in DTSTART's location, so every occurrence is
// at hh:mm local time whatever the UTC offset that day. A DTSTART the
// rule does not pick is not an occurrence in rrule-go (unlike RFC 5545's
// "DTSTART is the first instance"), so the first occurrence is the first
// day on or after the first date that the rule picks, as Request says.
func (s *Series) rule(first time.Time, hour, minute int, loc *time.Location) (*rrule.RRule, error) {
	r := s.Recurrence
	wd := first.Weekday()
	if r.Weekday != "" {
		d, err := ParseWeekday(r.Weekday)
		if err != nil {
			return nil, err
		}
		wd = d
	}
	day := rruleWeekday(wd)
	opt := rrule.ROption{
		Dtstart: At(first, hour, minute),
		Freq:    rrule.WEEKLY,
	}
	switch r.Frequency {
	case Once:
		opt.Byweekday = []rrule.Weekday{day}
		opt.Count = 1
		return rrule.NewRRule(opt)
	case Weekly:
		opt.Byweekday = []rrule.Weekday{day}
	case Monthly, TwiceMonthly:
		want := 1
		if r.Frequency == TwiceMonthly {
			want = 2
		}
		if len(r.Nth) != want {
			return nil, fmt.Errorf("a %s series needs %d week(s) of the month, has %d", r.Frequency, want, len(r.Nth))
		}
		opt.Freq = rrule.MONTHLY
		for _, n := range r.Nth {
			if !validNth(n) {
				return nil, fmt.Errorf("week of the month %d: want 1 to 5, or -1 for the last", n)
			}
			opt.Byweekday = append(opt.Byweekday, day.Nth(n))
		}
	default:
		return nil, fmt.Errorf("unknown frequency %q", r.Frequency)
	}
	switch {
	case r.Count > 0 && r.Until == "":
		opt.Count = r.Count
	case r.Count == 0 && r.Until != "":
		until, err := ParseDate(r.Until, loc)
		if err != nil {
			return nil, fmt.Errorf("until %q: %w", r.Until, err)
		}
		// The end of that local day: the last occurrence may be on it.
		opt.Until = time.Date(until.Year(), until.Month(), until.Day(), 23, 59, 59, 0, loc)
	default:
		return nil, errors.New("a repeating series needs exactly one of count and until")
	}
	return rrule.NewRRule(opt)
}

func validNth(n int) bool { return n == -1 || (n >= 1 && n <= 5) }

func rruleWeekday(d time.Weekday) rrule.Weekday {
	// rrule-go numbers weekdays from Monday.
	return []rrule.Weekday{rrule.SU, rrule.MO, rrule.TU, rrule.WE, rrule.TH, rrule.FR, rrule.SA}[d]
}

// Occurrences returns the whole series in time order with its exceptions
// applied: a moved occurrence at its new time (Moved), a cancelled one
// included with Cancelled set. Index is the position in the rule's
// expansion, which never shifts.
func (s *Series) Occurrences() ([]Occurrence, error) {
	starts, err := s.starts()
	if err != nil {
		return nil, err
	}
	loc, err := s.Location()
	if err != nil {
		return nil, err
	}
	out := make([]Occurrence, len(starts))
	for i, t := range starts {
		out[i] = Occurrence{SeriesID: s.ID, Index: i, Start: t, End: t.Add(s.Duration)}
	}
	for _, e := range s.Exceptions {
		if e.Index < 0 || e.Index >= len(out) {
			continue
		}
		o := &out[e.Index]
		if !e.Start.IsZero() {
			o.Start = e.Start.In(loc)
			o.End = o.Start.Add(s.Duration)
			o.Moved = true
		}
		if e.Cancelled {
			o.Cancelled = true
		}
	}
	slices.SortStableFunc(out, func(a, b Occurrence) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return a.Index - b.Index
	})
	return out, nil
}

// Occurrence returns the occurrence with this index, exceptions applied.
func (s *Series) Occurrence(index int) (Occurrence, bool) {
	all, err := s.Occurrences()
	if err != nil {
		return Occurrence{}, false
	}
	for _, o := range all {
		if o.Index == index {
			return o, true
		}
	}
	return Occurrence{}, false
}

// Current returns the non-cancelled occurrence whose call is open at now:
// [Opens, Closes) holds now.
func (s *Series) Current(now time.Time) (Occurrence, bool) {
	all, err := s.Occurrences()
	if err != nil {
		return Occurrence{}, false
	}
	for _, o := range all {
		if !o.Cancelled && !now.Before(o.Opens()) && now.Before(o.Closes()) {
			return o, true
		}
	}
	return Occurrence{}, false
}

// Next returns the first non-cancelled occurrence, in time order, whose
// call has not closed at now (the current one if there is one).
func (s *Series) Next(now time.Time) (Occurrence, bool) {
	all, err := s.Occurrences()
	if err != nil {
		return Occurrence{}, false
	}
	for _, o := range all {
		if !o.Cancelled && o.Closes().After(now) {
			return o, true
		}
	}
	return Occurrence{}, false
}

// End returns when the last non-cancelled occurrence ends (zero if none).
func (s *Series) End() time.Time {
	all, err := s.Occurrences()
	if err != nil {
		return time.Time{}
	}
	var end time.Time
	for _, o := range all {
		if !o.Cancelled && o.End.After(end) {
			end = o.End
		}
	}
	return end
}
