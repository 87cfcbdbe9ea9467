package bookings

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// setException returns a copy of exs with e in place of the exception of
// its index (or added, in index order). The input is never modified:
// Series are values, and copies share their slices.
func setException(exs []Exception, e Exception) []Exception {
	out := make([]Exception, 0, len(exs)+1)
	added := false
	for _, x := range exs {
		switch {
		case x.Index == e.Index:
			continue
		case x.Index > e.Index && !added:
			out = append(out, e)
			added = true
		}
		out = append(out, x)
	}
	if !added {
		out = append(out, e)
	}
	return out
}

func (s *Series) exception(index int) (Exception, bool) {
	for _, e := range s.Exceptions {
		if e.Index == index {
			return e, true
		}
	}
	return Exception{}, false
}

// Cancel cancels the occurrence with this index (it keeps its index and
// stays in Occurrences with Cancelled set). The errors say, in plain
// words, that there is no such meeting or that it is cancelled already.
func (s *Series) Cancel(index int, reason string) error {
	o, ok := s.Occurrence(index)
	if !ok {
		return fmt.Errorf("this series has no meeting number %d", index)
	}
	if o.Cancelled {
		return fmt.Errorf("the meeting of %s is cancelled already", o.Start.Format("Mon 2 Jan 2006"))
	}
	e, _ := s.exception(index)
	e.Index, e.Cancelled, e.Reason = index, true, reason
	s.Exceptions = setException(s.Exceptions, e)
	return nil
}

// Move moves the occurrence with this index to startTime ("HH:MM") on
// date ("YYYY-MM-DD") in the series' zone, keeping its length. It
// refuses, in plain words, a meeting that does not exist or is
// cancelled, a date or time it cannot read, and a time within Gap of
// another meeting of the same series. Whether the account is free then
// is the store's check (UpdateSeries). MoveAt also refuses the past.
func (s *Series) Move(index int, date, startTime string) error {
	return s.MoveAt(index, date, startTime, time.Time{})
}

// MoveAt is Move that also refuses, unless now is zero, to move a
// meeting that has already started or to a time that has passed.
func (s *Series) MoveAt(index int, date, startTime string, now time.Time) error {
	o, ok := s.Occurrence(index)
	if !ok {
		return fmt.Errorf("this series has no meeting number %d", index)
	}
	if o.Cancelled {
		return fmt.Errorf("the meeting of %s is cancelled: it cannot be moved", o.Start.Format("Mon 2 Jan 2006"))
	}
	loc, err := s.Location()
	if err != nil {
		return err
	}
	day, err := ParseDate(date, loc)
	if err != nil {
		return fmt.Errorf("date: %w", err)
	}
	hour, minute, err := ParseClock(startTime)
	if err != nil {
		return fmt.Errorf("start time: %w", err)
	}
	start := At(day, hour, minute)
	if !now.IsZero() {
		if !o.Start.After(now) {
			return fmt.Errorf("the meeting of %s has already started: it cannot be moved", o.Start.Format("Mon 2 Jan 2006 15:04"))
		}
		if !start.After(now) {
			return errors.New("that time has already passed: choose a later one")
		}
	}
	moved := *s
	e, _ := s.exception(index)
	e.Index, e.Start = index, start
	moved.Exceptions = setException(s.Exceptions, e)
	all, err := moved.Occurrences()
	if err != nil {
		return err
	}
	for _, c := range selfClashes(all, &moved) {
		if c.Requested.Index == index || c.With.Index == index {
			other := c.With
			if other.Index == index {
				other = c.Requested
			}
			return fmt.Errorf("that is within %d minutes of this series' own meeting of %s",
				int(Gap/time.Minute), other.Start.Format("Mon 2 Jan 2006 15:04"))
		}
	}
	s.Exceptions = moved.Exceptions
	return nil
}

// Approve approves the series at now with its first link (link.First is
// set to 0; the link admits to the first LinkEvery occurrences).
func (s *Series) Approve(now time.Time, link Link) {
	s.State = Approved
	s.DecidedAt = now
	link.First = 0
	if link.CreatedAt.IsZero() {
		link.CreatedAt = now
	}
	s.Links = []Link{link}
}

// Decline declines a requested series at now, with the coordinator's
// reason.
func (s *Series) Decline(now time.Time, reason string) {
	s.State = Declined
	s.DecidedAt = now
	s.Reason = reason
}

// CancelSeries cancels the whole series (by its group or the
// coordinator): it no longer holds its slots, and its links admit no one.
func (s *Series) CancelSeries(reason string) {
	s.State = Cancelled
	s.Reason = reason
}

// AddLink adds a refreshed link (its First a multiple of LinkEvery, as
// NeededLink returns), replacing one with the same First.
func (s *Series) AddLink(link Link) {
	s.Links = slices.DeleteFunc(slices.Clone(s.Links), func(l Link) bool { return l.First == link.First })
	s.Links = append(s.Links, link)
	slices.SortFunc(s.Links, func(a, b Link) int { return a.First - b.First })
}

// linkEvery is LinkEvery within its bounds (a zero record means the default).
func (s *Series) linkEvery() int {
	if s.LinkEvery == 0 {
		return DefaultLinkEvery
	}
	return min(max(s.LinkEvery, MinLinkEvery), MaxLinkEvery)
}

// LinkFor returns the link admitting to occurrence index: the one with
// First <= index < First+LinkEvery.
func (s *Series) LinkFor(index int) (*Link, bool) {
	n := s.linkEvery()
	for i := range s.Links {
		l := &s.Links[i]
		if l.First <= index && index < l.First+n {
			c := *l
			return &c, true
		}
	}
	return nil, false
}

// LinkIndexes returns the occurrence indexes link admits to that the
// series has: [First, First+LinkEvery) cut to the series' length.
func (s *Series) LinkIndexes(l *Link) (first, last int) {
	return l.First, l.First + s.linkEvery() - 1
}

// NeededLink returns the First (a multiple of LinkEvery, never 0) of the
// first link the approved series needs next and does not have: its first
// non-cancelled occurrence opens within lead of now and its last one has
// not closed. Links[0] is made at approval, not by this.
func (s *Series) NeededLink(now time.Time, lead time.Duration) (first int, ok bool) {
	if s.State != Approved {
		return 0, false
	}
	all, err := s.Occurrences()
	if err != nil {
		return 0, false
	}
	byIndex := make([]Occurrence, len(all))
	for _, o := range all {
		byIndex[o.Index] = o
	}
	n := s.linkEvery()
	for k := n; k < len(byIndex); k += n {
		if _, have := s.LinkFor(k); have {
			continue
		}
		var firstOpen, lastClose time.Time
		for _, o := range byIndex[k:min(k+n, len(byIndex))] {
			if o.Cancelled {
				continue
			}
			if firstOpen.IsZero() || o.Opens().Before(firstOpen) {
				firstOpen = o.Opens()
			}
			if o.Closes().After(lastClose) {
				lastClose = o.Closes()
			}
		}
		if firstOpen.IsZero() || !lastClose.After(now) {
			continue
		}
		if !firstOpen.After(now.Add(lead)) {
			return k, true
		}
		return 0, false
	}
	return 0, false
}
