package bookings

import (
	"fmt"
	"slices"
	"time"
)

// taken is an occurrence of a live series, and its group's name.
type taken struct {
	occ   Occurrence
	group string
}

// busy is the non-cancelled occurrences of the live series on each
// account, expanded once and sorted by start, with the longest meeting
// on the account: a clash with a candidate starting at t can only be
// with one starting from t-longest-Gap, so conflictsOn looks at a
// window found by binary search rather than at every meeting.
type busy map[string]*accountBusy

type accountBusy struct {
	taken   []taken
	longest time.Duration
}

// expandOthers expands the live series among others, other than skipID.
func expandOthers(others []*Series, skipID string) (busy, error) {
	out := busy{}
	for _, o := range others {
		if o == nil || !o.State.Live() || o.ID == skipID {
			continue
		}
		all, err := o.Occurrences()
		if err != nil {
			return nil, err
		}
		ab := out[o.AccountID]
		if ab == nil {
			ab = &accountBusy{}
			out[o.AccountID] = ab
		}
		for _, oc := range all {
			if !oc.Cancelled {
				ab.taken = append(ab.taken, taken{occ: oc, group: o.GroupName})
				ab.longest = max(ab.longest, oc.End.Sub(oc.Start))
			}
		}
	}
	for _, ab := range out {
		slices.SortStableFunc(ab.taken, func(a, b taken) int { return a.occ.Start.Compare(b.occ.Start) })
	}
	return out, nil
}

// clash is the gap rule: two meetings on one account clash unless one
// ends at least Gap before the other starts (exactly Gap apart is fine).
func clash(a, b Occurrence) bool {
	return a.Start.Before(b.End.Add(Gap)) && b.Start.Before(a.End.Add(Gap))
}

// conflictsOn is every clash of cand's non-cancelled occurrences with the
// busy series on account, in cand's order, then the others' start.
func conflictsOn(cand []Occurrence, account string, others busy) []Conflict {
	ab := others[account]
	if ab == nil {
		return nil
	}
	var out []Conflict
	for _, c := range cand {
		if c.Cancelled {
			continue
		}
		from := c.Start.Add(-ab.longest - Gap)
		i, _ := slices.BinarySearchFunc(ab.taken, from, func(t taken, at time.Time) int { return t.occ.Start.Compare(at) })
		for ; i < len(ab.taken) && ab.taken[i].occ.Start.Before(c.End.Add(Gap)); i++ {
			if o := ab.taken[i]; clash(c, o.occ) {
				out = append(out, Conflict{Requested: c, With: o.occ, WithGroup: o.group, AccountID: account})
			}
		}
	}
	return out
}

// selfClashes is the pairs of cand's own non-cancelled occurrences that
// break the gap rule (a moved occurrence put next to another).
func selfClashes(cand []Occurrence, s *Series) []Conflict {
	var out []Conflict
	for i, a := range cand {
		if a.Cancelled {
			continue
		}
		for _, b := range cand[i+1:] {
			if !b.Cancelled && clash(a, b) {
				out = append(out, Conflict{Requested: a, With: b, WithGroup: s.GroupName, AccountID: s.AccountID})
			}
		}
	}
	return out
}

// Conflicts returns every pair of a non-cancelled occurrence of cand and
// one of a live series among others on cand's account (cand itself, by
// ID, excluded) that breaks the gap rule: they conflict iff cand.Start <
// other.End+Gap and other.Start < cand.End+Gap, so meetings exactly Gap
// apart are fine. Occurrences of cand itself that break it (after a move)
// are conflicts too.
func Conflicts(cand *Series, others []*Series) ([]Conflict, error) {
	occ, err := cand.Occurrences()
	if err != nil {
		return nil, err
	}
	b, err := expandOthers(others, cand.ID)
	if err != nil {
		return nil, err
	}
	return append(selfClashes(occ, cand), conflictsOn(occ, cand.AccountID, b)...), nil
}

// fits reports whether s, as it is, has no conflict on its account.
func fits(s *Series, others busy) (bool, error) {
	occ, err := s.Occurrences()
	if err != nil {
		return false, err
	}
	return len(occ) > 0 && len(selfClashes(occ, s)) == 0 && len(conflictsOn(occ, s.AccountID, others)) == 0, nil
}

// FirstFree returns the first of accounts on which cand fits as it is,
// or nil. cand.AccountID is left as it was.
func FirstFree(cand *Series, accounts []*Account, others []*Series) (*Account, error) {
	b, err := expandOthers(others, cand.ID)
	if err != nil {
		return nil, err
	}
	for _, a := range accounts {
		ok, err := fitsOn(*cand, a, b)
		if err != nil {
			return nil, err
		}
		if ok {
			return a, nil
		}
	}
	return nil, nil
}

// fitsOn reports whether cand, at its own times but on account a, has
// no conflict there.
func fitsOn(cand Series, a *Account, others busy) (bool, error) {
	cand.AccountID = a.ID
	return fits(&cand, others)
}

// Step is how far apart the start times Alternatives proposes are, and
// MaxEachWay how many it proposes before and after the requested time.
const (
	Step       = 15 * time.Minute
	MaxEachWay = 2
)

// Alternatives proposes what fits where cand does not: first the same
// times on each other account (in the order given) on which the whole
// series fits; then the nearest free start times, in Step steps earlier
// and later on the same day (on the Step grid, at most MaxEachWay each way), on the
// requested account — or, for a cand with no account ("any"), on
// whichever account the time fits first. Every alternative fits as a
// whole series (no occurrence conflicts), and none starts before
// cand.CreatedAt (the time of the request).
func Alternatives(cand *Series, accounts []*Account, others []*Series) ([]Alternative, error) {
	b, err := expandOthers(others, cand.ID)
	if err != nil {
		return nil, err
	}
	var out []Alternative
	if cand.AccountID != "" {
		for _, a := range accounts {
			if a.ID == cand.AccountID {
				continue
			}
			ok, err := fitsOn(*cand, a, b)
			if err != nil {
				return nil, err
			}
			if ok {
				out = append(out, Alternative{AccountID: a.ID, AccountName: a.Name, FirstDate: cand.FirstDate,
					StartTime: cand.StartTime, Reason: "the same times on " + a.Name})
			}
		}
	}
	on := accounts
	if cand.AccountID != "" {
		on = nil
		for _, a := range accounts {
			if a.ID == cand.AccountID {
				on = []*Account{a}
			}
		}
		if on == nil { // an account the list does not have: still try it
			on = []*Account{{ID: cand.AccountID, Name: cand.AccountID}}
		}
	}
	for _, dir := range []int{-1, 1} {
		found, err := nearestTimes(cand, on, b, dir)
		if err != nil {
			return nil, err
		}
		out = append(out, found...)
	}
	return out, nil
}

// nearestTimes walks from cand's start time in Step steps in direction
// dir (-1 earlier, +1 later) within the day, returning up to MaxEachWay
// start times at which the whole series fits on one of accounts.
func nearestTimes(cand *Series, accounts []*Account, b busy, dir int) ([]Alternative, error) {
	hour, minute, err := ParseClock(cand.StartTime)
	if err != nil {
		return nil, err
	}
	var out []Alternative
	for m := firstStep(hour*60+minute, dir); m >= 0 && m < 24*60 && len(out) < MaxEachWay; m += dir * int(Step/time.Minute) {
		st := fmt.Sprintf("%02d:%02d", m/60, m%60)
		for _, a := range accounts {
			c := *cand
			c.AccountID = a.ID
			c.StartTime = st
			ok, err := fits(&c, b)
			if err != nil {
				return nil, err
			}
			if ok && !cand.CreatedAt.IsZero() {
				first, _ := c.Occurrences()
				ok = first[0].Start.After(cand.CreatedAt)
			}
			if ok {
				word := "earlier"
				if dir > 0 {
					word = "later"
				}
				out = append(out, Alternative{AccountID: a.ID, AccountName: a.Name, FirstDate: c.FirstDate,
					StartTime: st, Reason: fmt.Sprintf("%s on %s, the nearest free time %s", st, a.Name, word)})
				break
			}
		}
	}
	return out, nil
}

// firstStep is the first start time (in minutes after midnight) on the
// Step grid strictly before (dir -1) or after (dir +1) base: from 19:07,
// 19:00 earlier and 19:15 later.
func firstStep(base, dir int) int {
	step := int(Step / time.Minute)
	if dir < 0 {
		if base <= 0 {
			return -1
		}
		return (base - 1) / step * step
	}
	return base/step*step + step
}

// MoveAlternatives proposes, for a move of occurrence index of cand (its
// exception already set) that conflicts, the nearest free start times
// on the moved-to day on the same account: Step steps earlier and later,
// at most MaxEachWay each way, each of which fits.
func MoveAlternatives(cand *Series, index int, others []*Series) ([]Alternative, error) {
	b, err := expandOthers(others, cand.ID)
	if err != nil {
		return nil, err
	}
	o, ok := cand.Occurrence(index)
	if !ok {
		return nil, fmt.Errorf("series %s has no meeting number %d", cand.ID, index)
	}
	day := midnight(o.Start)
	base := o.Start.Hour()*60 + o.Start.Minute()
	var out []Alternative
	for _, dir := range []int{-1, 1} {
		n := 0
		for m := firstStep(base, dir); m >= 0 && m < 24*60 && n < MaxEachWay; m += dir * int(Step/time.Minute) {
			c := *cand
			c.Exceptions = setException(cand.Exceptions, Exception{Index: index, Start: At(day, m/60, m%60)})
			ok, err := fits(&c, b)
			if err != nil {
				return nil, err
			}
			if ok {
				n++
				out = append(out, Alternative{AccountID: cand.AccountID, FirstDate: day.Format(DateLayout),
					StartTime: fmt.Sprintf("%02d:%02d", m/60, m%60), Reason: "the nearest free time that day"})
			}
		}
	}
	return out, nil
}
