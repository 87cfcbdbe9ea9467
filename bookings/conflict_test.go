package bookings_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/parley-dev/parley/bookings"
)

var patterns = []struct {
	name string
	rec  bookings.Recurrence
}{
	{"one-off", bookings.Recurrence{Frequency: bookings.Once}},
	{"weekly count", bookings.Recurrence{Frequency: bookings.Weekly, Count: 10}},
	{"weekly until", bookings.Recurrence{Frequency: bookings.Weekly, Until: "2027-06-01"}},
	{"monthly 2nd", bookings.Recurrence{Frequency: bookings.Monthly, Nth: []int{2}, Count: 6}},
	{"monthly last", bookings.Recurrence{Frequency: bookings.Monthly, Nth: []int{-1}, Until: "2027-12-31"}},
	{"monthly 5th", bookings.Recurrence{Frequency: bookings.Monthly, Nth: []int{5}, Count: 4}},
	{"twice-monthly 1st and 3rd", bookings.Recurrence{Frequency: bookings.TwiceMonthly, Nth: []int{1, 3}, Count: 10}},
	{"twice-monthly 2nd and last", bookings.Recurrence{Frequency: bookings.TwiceMonthly, Nth: []int{2, -1}, Until: "2027-04-30"}},
}

// The gap rule at its edges, on every pattern: the booked series is
// 19:00-20:30 every time; another series on the same days may end at
// 18:30 or start at 21:00 (30 minutes apart) but not a minute nearer.
func TestConflictsGapEdges(t *testing.T) {
	for _, p := range patterns {
		rec := p.rec
		rec.Weekday = "tuesday"
		booked := mustSeries(t, request("2026-12-01", "19:00", 90, rec))
		n := len(starts(t, booked))
		edges := []struct {
			start   string
			minutes int
			clash   bool
		}{
			{"21:00", 60, false}, // starts 30 minutes after the end
			{"20:59", 60, true},  // 29 minutes
			{"17:30", 60, false}, // ends 30 minutes before the start
			{"17:31", 60, true},  // 29 minutes
			{"19:30", 30, true},  // inside
			{"17:00", 240, true}, // around
			{"15:00", 60, false},
		}
		for _, e := range edges {
			t.Run(fmt.Sprintf("%s/%s+%d", p.name, e.start, e.minutes), func(t *testing.T) {
				cand := mustSeries(t, request("2026-12-01", e.start, e.minutes, rec))
				got, err := bookings.Conflicts(cand, []*bookings.Series{booked})
				if err != nil {
					t.Fatal(err)
				}
				want := 0
				if e.clash {
					want = n // every occurrence clashes with its namesake
				}
				if len(got) != want {
					t.Fatalf("%d conflicts, want %d: %+v", len(got), want, got)
				}
				for _, c := range got {
					if c.Requested.Index != c.With.Index || c.WithGroup != "Tuesday Group" || c.AccountID != accountA {
						t.Errorf("conflict %+v", c)
					}
				}
				// On another account, or against a series that holds no slots, nothing clashes.
				other := *cand
				other.AccountID = accountB
				declined := *booked
				declined.State = bookings.Declined
				for _, pair := range [][2]*bookings.Series{{&other, booked}, {cand, &declined}} {
					if got, _ := bookings.Conflicts(pair[0], []*bookings.Series{pair[1]}); len(got) != 0 {
						t.Errorf("conflicts %+v", got)
					}
				}
			})
		}
	}
}

// Different patterns meet on some days only: a weekly Tuesday clashes
// with the 1st and 3rd Tuesday on exactly those days.
func TestConflictsAcrossPatterns(t *testing.T) {
	booked := mustSeries(t, request("2026-12-01", "19:00", 90,
		bookings.Recurrence{Frequency: bookings.TwiceMonthly, Weekday: "tuesday", Nth: []int{1, 3}, Count: 4}))
	cand := mustSeries(t, request("2026-12-01", "20:00", 60,
		bookings.Recurrence{Frequency: bookings.Weekly, Until: "2027-01-31"}))
	got, err := bookings.Conflicts(cand, []*bookings.Series{booked, cand})
	if err != nil {
		t.Fatal(err)
	}
	var days []string
	for _, c := range got {
		days = append(days, c.Requested.Start.Format("2006-01-02"))
	}
	if want := "2026-12-01 2026-12-15 2027-01-05 2027-01-19"; strings.Join(days, " ") != want {
		t.Errorf("conflicts on %v, want %s", days, want)
	}
	// A cancelled occurrence holds no slot, on either side.
	if err := booked.Cancel(1, "holiday"); err != nil {
		t.Fatal(err)
	}
	if err := cand.Cancel(5, ""); err != nil { // 5 Jan
		t.Fatal(err)
	}
	got, _ = bookings.Conflicts(cand, []*bookings.Series{booked})
	if len(got) != 2 {
		t.Errorf("after cancelling: %+v", got)
	}
	e := &bookings.ConflictError{Conflicts: got}
	if msg := e.Error(); !strings.Contains(msg, "Tue 1 Dec 2026 20:00") || !strings.Contains(msg, "Tuesday Group") {
		t.Errorf("message %q", msg)
	}
}

// Every alternative proposed is free: booking it (NewSeries from the
// alternative's fields, then Conflicts) finds no conflict.
func TestAlternativesFit(t *testing.T) {
	accounts := []*bookings.Account{{ID: accountA, Name: "Meeting account 1"}, {ID: accountB, Name: "Meeting account 2"}}
	for _, p := range patterns {
		t.Run(p.name, func(t *testing.T) {
			rec := p.rec
			rec.Weekday = "tuesday"
			booked := mustSeries(t, request("2026-12-01", "19:00", 90, rec))
			// A one-off at 21:30 on account A on the first day, and the
			// same series on B at 17:00-18:00.
			later := mustSeries(t, request("2026-12-01", "21:30", 60, bookings.Recurrence{Frequency: bookings.Once}))
			onB := mustSeries(t, request("2026-12-01", "17:00", 60, rec))
			onB.AccountID = accountB
			others := []*bookings.Series{booked, later, onB}

			cand := mustSeries(t, request("2026-12-01", "19:30", 60, rec))
			alts, err := bookings.Alternatives(cand, accounts, others)
			if err != nil {
				t.Fatal(err)
			}
			if len(alts) == 0 {
				t.Fatal("no alternatives")
			}
			var earlier, laterN int
			for _, a := range alts {
				req := request("2026-12-01", a.StartTime, 60, rec)
				req.Account, req.FirstDate = a.AccountID, a.FirstDate
				s := mustSeries(t, req)
				if c, _ := bookings.Conflicts(s, others); len(c) != 0 {
					t.Errorf("alternative %+v conflicts: %+v", a, c)
				}
				if a.Reason == "" || a.AccountName == "" {
					t.Errorf("alternative %+v unexplained", a)
				}
				switch {
				case a.AccountID == accountB:
					if a.StartTime != "19:30" {
						t.Errorf("other account at another time: %+v", a)
					}
				case a.StartTime < "19:30":
					earlier++
				default:
					laterN++
				}
			}
			if alts[0].AccountID != accountB {
				t.Errorf("first alternative %+v, want the same times on account 2", alts[0])
			}
			// Account A is busy from 18:30 (19:00 less the gap) to 21:00,
			// so the nearest earlier fit ends at 18:30: 17:30, then 17:15.
			// Later fits start at 21:00 unless the 21:30 one-off is in the
			// way on the first day.
			if earlier != 2 || laterN == 0 || laterN > 2 {
				t.Errorf("%d earlier and %d later: %+v", earlier, laterN, alts)
			}
			if alts[1].StartTime != "17:30" || alts[2].StartTime != "17:15" {
				t.Errorf("earlier alternatives %+v, want 17:30 then 17:15", alts[1:3])
			}
		})
	}
}

// For "any", the nearest times are on whichever account is free.
func TestAlternativesAny(t *testing.T) {
	accounts := []*bookings.Account{{ID: accountA, Name: "Meeting account 1"}, {ID: accountB, Name: "Meeting account 2"}}
	once := bookings.Recurrence{Frequency: bookings.Once}
	a := mustSeries(t, request("2026-12-03", "19:00", 60, once))
	breq := request("2026-12-03", "18:00", 120, once)
	breq.Account = accountB
	b := mustSeries(t, breq)
	req := request("2026-12-03", "19:00", 60, once)
	req.Account = "any"
	cand := mustSeries(t, req)
	if free, err := bookings.FirstFree(cand, accounts, []*bookings.Series{a, b}); err != nil || free != nil {
		t.Fatalf("FirstFree = %v, %v", free, err)
	}
	alts, err := bookings.Alternatives(cand, accounts, []*bookings.Series{a, b})
	if err != nil {
		t.Fatal(err)
	}
	// A has 19:00-20:00, B 18:00-20:00: earlier, only A fits (at 17:30
	// and 17:15); later, both fit from 20:30, A first.
	var got []string
	for _, x := range alts {
		got = append(got, x.AccountID[:3]+x.StartTime)
	}
	if want := "a_a17:30 a_a17:15 a_a20:30 a_a20:45"; strings.Join(got, " ") != want {
		t.Errorf("alternatives %v, want %s", got, want)
	}
	// With B cleared, FirstFree picks it.
	b.State = bookings.Cancelled
	if free, _ := bookings.FirstFree(cand, accounts, []*bookings.Series{a, b}); free == nil || free.ID != accountB {
		t.Errorf("FirstFree = %v", free)
	}
}

// Alternatives never propose a time already past.
func TestAlternativesNotInThePast(t *testing.T) {
	once := bookings.Recurrence{Frequency: bookings.Once}
	booked := mustSeries(t, request("2026-12-01", "11:00", 60, once)) // testNow is 10:00
	cand := mustSeries(t, request("2026-12-01", "11:00", 60, once))
	alts, err := bookings.Alternatives(cand, []*bookings.Account{{ID: accountA, Name: "A"}}, []*bookings.Series{booked})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range alts {
		if a.StartTime <= "10:00" {
			t.Errorf("alternative in the past: %+v", a)
		}
	}
	if len(alts) != 2 || alts[0].StartTime != "12:30" {
		t.Errorf("alternatives %+v", alts)
	}
}

// Conflicts (which looks only at a window of each account's meetings)
// finds exactly the pairs a brute-force check of every pair finds.
func TestConflictsMatchBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	freqs := []bookings.Recurrence{
		{Frequency: bookings.Once},
		{Frequency: bookings.Weekly, Count: 12},
		{Frequency: bookings.Monthly, Nth: []int{-1}, Count: 4},
		{Frequency: bookings.TwiceMonthly, Nth: []int{1, 3}, Count: 6},
	}
	days := []string{"monday", "tuesday", "wednesday"}
	random := func(account string) *bookings.Series {
		rec := freqs[rng.IntN(len(freqs))]
		rec.Weekday = days[rng.IntN(len(days))]
		req := request(fmt.Sprintf("2026-12-%02d", 2+rng.IntN(20)), fmt.Sprintf("%02d:%02d", 8+rng.IntN(12), 5*rng.IntN(12)),
			5+rng.IntN(236), rec)
		req.Account = account
		return mustSeries(t, req)
	}
	total := 0
	for round := range 40 {
		var others []*bookings.Series
		for range 8 {
			acct := accountA
			if rng.IntN(3) == 0 {
				acct = accountB
			}
			others = append(others, random(acct))
		}
		cand := random(accountA)
		got, err := bookings.Conflicts(cand, others)
		if err != nil {
			t.Fatal(err)
		}
		want := 0
		co, _ := cand.Occurrences()
		for _, o := range others {
			if o.AccountID != cand.AccountID {
				continue
			}
			oo, _ := o.Occurrences()
			for _, a := range co {
				for _, b := range oo {
					if a.Start.Before(b.End.Add(bookings.Gap)) && b.Start.Before(a.End.Add(bookings.Gap)) {
						want++
					}
				}
			}
		}
		total += want
		if len(got) != want {
			t.Errorf("round %d: %d conflicts, brute force finds %d", round, len(got), want)
		}
	}
	if total < 20 {
		t.Errorf("only %d conflicts in all the rounds: the test would not notice a missed one", total)
	}
}
