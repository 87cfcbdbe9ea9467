package api

import (
	"fmt"
	"time"

	ics "github.com/arran4/golang-ical"
)

// vtimezone is the VTIMEZONE of loc (RFC 5545 §3.6.5) for the years
// first to last, made from Go's zone data: an observance at the start of
// the first year, then one STANDARD or DAYLIGHT onset per change of
// offset, those with the same offsets and name as one component with
// RDATEs. Calendar apps mostly know the zone by its TZID; the component
// is for those that do not, and is right for any zone.
func vtimezone(loc *time.Location, first, last int) *ics.VTimezone {
	vtz := ics.NewTimezone(loc.String())
	from := time.Date(first, 1, 1, 0, 0, 0, 0, loc)
	to := time.Date(last+1, 1, 1, 0, 0, 0, 0, loc)

	type key struct {
		dst     bool
		off, to int
		name    string
	}
	var order []key
	onsets := map[key][]string{}
	add := func(k key, onset string) {
		if _, ok := onsets[k]; !ok {
			order = append(order, k)
		}
		onsets[k] = append(onsets[k], onset)
	}
	// What is in force when the span starts.
	name, off := from.Zone()
	add(key{from.IsDST(), off, off, name}, from.Format(icalLocal))
	for _, tr := range zoneTransitions(loc, from, to) {
		after := tr.In(loc)
		name, toOff := after.Zone()
		_, fromOff := tr.Add(-time.Second).In(loc).Zone()
		// The onset is given in the local time in force before it.
		onset := tr.In(time.FixedZone("", fromOff)).Format(icalLocal)
		add(key{after.IsDST(), fromOff, toOff, name}, onset)
	}
	for _, k := range order {
		var c *ics.ComponentBase
		if k.dst {
			d := &ics.Daylight{}
			vtz.Components = append(vtz.Components, d)
			c = &d.ComponentBase
		} else {
			s := &ics.Standard{}
			vtz.Components = append(vtz.Components, s)
			c = &s.ComponentBase
		}
		all := onsets[k]
		c.AddProperty(ics.ComponentPropertyDtStart, all[0])
		c.AddProperty(ics.ComponentProperty(ics.PropertyTzoffsetfrom), utcOffset(k.off))
		c.AddProperty(ics.ComponentProperty(ics.PropertyTzoffsetto), utcOffset(k.to))
		if k.name != "" {
			c.AddProperty(ics.ComponentProperty(ics.PropertyTzname), k.name)
		}
		for _, o := range all[1:] {
			c.AddProperty(ics.ComponentPropertyRdate, o)
		}
	}
	return vtz
}

// zoneTransitions are the instants in [from, to) at which loc's offset
// (or its abbreviation) changes, found by stepping six hours at a time
// and narrowing each change to the second.
func zoneTransitions(loc *time.Location, from, to time.Time) []time.Time {
	const step = 6 * time.Hour
	var out []time.Time
	zone := func(t time.Time) string { n, o := t.In(loc).Zone(); return fmt.Sprint(n, o) }
	for t := from; t.Before(to); t = t.Add(step) {
		next := t.Add(step)
		if zone(t) == zone(next) {
			continue
		}
		lo, hi := t, next // zone(lo) != zone(hi); narrow to hi-lo == 1s
		for hi.Sub(lo) > time.Second {
			mid := lo.Add(hi.Sub(lo) / 2).Truncate(time.Second)
			if !mid.After(lo) {
				mid = lo.Add(time.Second)
			}
			if zone(mid) == zone(lo) {
				lo = mid
			} else {
				hi = mid
			}
		}
		if hi.Before(to) {
			out = append(out, hi)
		}
	}
	return out
}

// utcOffset is an offset in seconds as RFC 5545's UTC-OFFSET: "+0100",
// "-0330", with seconds only when there are some.
func utcOffset(sec int) string {
	sign := '+'
	if sec < 0 {
		sign, sec = '-', -sec
	}
	s := fmt.Sprintf("%c%02d%02d", sign, sec/3600, sec/60%60)
	if sec%60 != 0 {
		s += fmt.Sprintf("%02d", sec%60)
	}
	return s
}
