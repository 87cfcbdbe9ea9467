package bookings

import (
	"fmt"
	"strings"
	"time"
)

// ZoneName is how times in a zone are labelled for people: "UK time" for
// Europe/London, otherwise the zone's IANA name.
func ZoneName(loc *time.Location) string {
	if loc == nil || loc.String() == "Europe/London" {
		return "UK time"
	}
	return loc.String()
}

// DayLayout is how Summary and mails write a day: "Tue 1 Dec 2026".
const DayLayout = "Mon 2 Jan 2006"

// Ordinal is "1st", "2nd", "3rd", "4th", "5th", or "last" for -1.
func Ordinal(n int) string {
	switch n {
	case -1:
		return "last"
	case 1:
		return "1st"
	case 2:
		return "2nd"
	case 3:
		return "3rd"
	}
	return fmt.Sprintf("%dth", n)
}

// Pattern says in words how the series repeats: "every Wednesday",
// "the 2nd Monday of each month", "the 1st and 3rd Tuesday of each
// month", "once".
func (s *Series) Pattern() string {
	r := s.Recurrence
	day := r.Weekday
	if day == "" {
		if loc, err := s.Location(); err == nil {
			if d, err := ParseDate(s.FirstDate, loc); err == nil {
				day = WeekdayName(d.Weekday())
			}
		}
	}
	if d, err := ParseWeekday(day); err == nil {
		day = d.String()
	}
	switch r.Frequency {
	case Weekly:
		return "every " + day
	case Monthly, TwiceMonthly:
		words := make([]string, len(r.Nth))
		for i, n := range r.Nth {
			words[i] = Ordinal(n)
		}
		return "the " + strings.Join(words, " and ") + " " + day + " of each month"
	}
	return "once"
}

// Summary describes the series in a line, e.g. "1st and 3rd Tuesday of
// each month, 19:00-20:30 (UK time), 10 meetings from Tue 1 Dec 2026";
// a one-off is "Tue 1 Dec 2026, 19:00-20:30 (UK time)".
func (s *Series) Summary() string {
	loc, err := s.Location()
	if err != nil {
		return s.FirstDate + " " + s.StartTime
	}
	starts, err := s.starts()
	if err != nil || len(starts) == 0 {
		return s.FirstDate + " " + s.StartTime
	}
	first := starts[0]
	times := fmt.Sprintf("%s-%s (%s)", first.Format(TimeLayout), first.Add(s.Duration).Format(TimeLayout), ZoneName(loc))
	if s.Recurrence.Frequency == Once {
		return first.Format(DayLayout) + ", " + times
	}
	p := s.Pattern()
	p = strings.TrimPrefix(p, "the ")
	p = strings.ToUpper(p[:1]) + p[1:]
	n := "meetings"
	if len(starts) == 1 {
		n = "meeting"
	}
	out := fmt.Sprintf("%s, %s, %d %s from %s", p, times, len(starts), n, first.Format(DayLayout))
	if s.Recurrence.Until != "" && len(starts) > 1 {
		out += " to " + starts[len(starts)-1].Format(DayLayout)
	}
	return out
}
