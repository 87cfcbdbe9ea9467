package bookings_test

import (
	"strings"
	"testing"
	"time"

	"github.com/parley-dev/parley/bookings"
)

func TestNewSeriesSetsFields(t *testing.T) {
	req := request("2026-12-01", "19:00", 90, bookings.Recurrence{Frequency: "Weekly", Weekday: "TUE", Nth: []int{2}, Count: 3})
	req.LeaderName = "  Ann   O'Leary "
	s, errs := bookings.NewSeries(req, "g_1", "Tuesday Group", bookings.Limits{Location: london, LinkEvery: 6}, testNow)
	if errs != nil {
		t.Fatal(errs)
	}
	if !bookings.ValidID("b_", s.ID) {
		t.Errorf("ID %q", s.ID)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"State", s.State, bookings.Requested},
		{"AccountID", s.AccountID, accountA},
		{"TimeZone", s.TimeZone, "Europe/London"},
		{"Duration", s.Duration, 90 * time.Minute},
		{"LinkEvery", s.LinkEvery, 6},
		{"CreatedAt", s.CreatedAt, testNow},
		{"Title", s.Title, "Tuesday Group"},
		{"LeaderName", s.LeaderName, "Ann O'Leary"},
		{"Frequency", s.Recurrence.Frequency, bookings.Weekly},
		{"Weekday", s.Recurrence.Weekday, "tuesday"},
		{"Nth (unused by weekly, cleared)", len(s.Recurrence.Nth), 0},
		{"GroupID", s.GroupID, "g_1"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	for _, acct := range []string{"any", "", "ANY"} {
		req.Account = acct
		s, errs := bookings.NewSeries(req, "g_1", "G", bookings.Limits{Location: london}, testNow)
		if errs != nil || s.AccountID != "" || s.LinkEvery != bookings.DefaultLinkEvery {
			t.Errorf("account %q: %v %v", acct, s, errs)
		}
	}
}

func TestNewSeriesFieldErrors(t *testing.T) {
	ok := request("2026-12-01", "19:00", 90, bookings.Recurrence{Frequency: bookings.Weekly, Count: 3})
	mod := func(f func(r *bookings.Request)) bookings.Request {
		r := ok
		f(&r)
		return r
	}
	rec := func(f func(r *bookings.Recurrence)) bookings.Request {
		return mod(func(r *bookings.Request) { f(&r.Recurrence) })
	}
	tests := []struct {
		name  string
		req   bookings.Request
		field string
		words string // part of the message
	}{
		{"no name", mod(func(r *bookings.Request) { r.LeaderName = "  " }), "leaderName", "name"},
		{"long name", mod(func(r *bookings.Request) { r.LeaderName = strings.Repeat("a", 65) }), "leaderName", "at most 64"},
		{"name with a tag", mod(func(r *bookings.Request) { r.LeaderName = "<b>Ann</b>" }), "leaderName", "not allowed"},
		{"no email", mod(func(r *bookings.Request) { r.LeaderEmail = "" }), "leaderEmail", "e-mail"},
		{"email with a name", mod(func(r *bookings.Request) { r.LeaderEmail = "Ann <ann@example.org>" }), "leaderEmail", "nothing around"},
		{"not an email", mod(func(r *bookings.Request) { r.LeaderEmail = "ann.example.org" }), "leaderEmail", "Not an e-mail"},
		{"long email", mod(func(r *bookings.Request) { r.LeaderEmail = strings.Repeat("a", 250) + "@x.org" }), "leaderEmail", "254"},
		{"bad account", mod(func(r *bookings.Request) { r.Account = "room 1" }), "account", "meeting accounts"},
		{"long title", mod(func(r *bookings.Request) { r.Title = strings.Repeat("t", 101) }), "title", "at most 100"},
		{"bad date", mod(func(r *bookings.Request) { r.FirstDate = "1/12/2026" }), "firstDate", "YYYY-MM-DD"},
		{"impossible date", mod(func(r *bookings.Request) { r.FirstDate = "2026-02-30" }), "firstDate", "YYYY-MM-DD"},
		{"past date", mod(func(r *bookings.Request) { r.FirstDate = "2026-11-30" }), "firstDate", "in the past"},
		{"far ahead", mod(func(r *bookings.Request) { r.FirstDate = "2028-12-03" }), "firstDate", "too far ahead"},
		{"bad time", mod(func(r *bookings.Request) { r.StartTime = "7pm" }), "startTime", "HH:MM"},
		{"one-digit hour", mod(func(r *bookings.Request) { r.StartTime = "9:00" }), "startTime", "HH:MM"},
		{"25 o'clock", mod(func(r *bookings.Request) { r.StartTime = "25:00" }), "startTime", "HH:MM"},
		{"time passed today", mod(func(r *bookings.Request) {
			r.StartTime = "09:30"
			r.Recurrence = bookings.Recurrence{Frequency: bookings.Once}
		}), "startTime", "already passed"},
		{"zero minutes", mod(func(r *bookings.Request) { r.DurationMinutes = 0 }), "durationMinutes", "at least 1"},
		{"over the cap", mod(func(r *bookings.Request) { r.DurationMinutes = 241 }), "durationMinutes", "at most 240 minutes (4 hours)"},
		{"no frequency", rec(func(r *bookings.Recurrence) { r.Frequency = "" }), "recurrence.frequency", "how the meeting repeats"},
		{"daily", rec(func(r *bookings.Recurrence) { r.Frequency = "daily" }), "recurrence.frequency", "not a recurrence"},
		{"bad weekday", rec(func(r *bookings.Recurrence) { r.Weekday = "funday" }), "recurrence.weekday", "day of the week"},
		{"monthly without nth", rec(func(r *bookings.Recurrence) { r.Frequency = bookings.Monthly }), "recurrence.nth", "which week"},
		{"monthly 6th", rec(func(r *bookings.Recurrence) { r.Frequency = bookings.Monthly; r.Nth = []int{6} }), "recurrence.nth", "which week"},
		{"monthly 0th", rec(func(r *bookings.Recurrence) { r.Frequency = bookings.Monthly; r.Nth = []int{0} }), "recurrence.nth", "which week"},
		{"monthly -2", rec(func(r *bookings.Recurrence) { r.Frequency = bookings.Monthly; r.Nth = []int{-2} }), "recurrence.nth", "which week"},
		{"monthly two", rec(func(r *bookings.Recurrence) { r.Frequency = bookings.Monthly; r.Nth = []int{1, 3} }), "recurrence.nth", "which week"},
		{"twice-monthly one", rec(func(r *bookings.Recurrence) { r.Frequency = bookings.TwiceMonthly; r.Nth = []int{1} }), "recurrence.nth", "two weeks"},
		{"twice-monthly same", rec(func(r *bookings.Recurrence) { r.Frequency = bookings.TwiceMonthly; r.Nth = []int{2, 2} }), "recurrence.nth", "different"},
		{"no end", rec(func(r *bookings.Recurrence) { r.Count = 0 }), "recurrence.count", "how many"},
		{"both ends", rec(func(r *bookings.Recurrence) { r.Until = "2027-01-01" }), "recurrence.until", "not both"},
		{"too many", rec(func(r *bookings.Recurrence) { r.Count = 121 }), "recurrence.count", "1 to 120"},
		{"negative count", rec(func(r *bookings.Recurrence) { r.Count = -1 }), "recurrence.count", "1 to 120"},
		{"weekly 120 spans too long", rec(func(r *bookings.Recurrence) { r.Count = 120 }), "recurrence.count", "within 732 days"},
		{"5th Monday 20 times", rec(func(r *bookings.Recurrence) {
			r.Frequency, r.Weekday, r.Nth, r.Count = bookings.Monthly, "monday", []int{5}, 20
		}), "recurrence.count", "ask for fewer"},
		{"until before first", rec(func(r *bookings.Recurrence) { r.Count, r.Until = 0, "2026-11-30" }), "recurrence.until", "before the first"},
		{"until too far", rec(func(r *bookings.Recurrence) { r.Count, r.Until = 0, "2029-01-01" }), "recurrence.until", "at most 732 days"},
		{"bad until", rec(func(r *bookings.Recurrence) { r.Count, r.Until = 0, "soon" }), "recurrence.until", "YYYY-MM-DD"},
		{"no occurrence before until", rec(func(r *bookings.Recurrence) {
			r.Frequency, r.Weekday, r.Nth, r.Count, r.Until = bookings.Monthly, "monday", []int{5}, 0, "2026-12-20"
		}), "recurrence.until", "No meeting falls"},
		{"one-off counted twice", rec(func(r *bookings.Recurrence) { r.Frequency = bookings.Once; r.Count = 2 }), "recurrence.count", "once"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, errs := bookings.NewSeries(tt.req, "g", "G", bookings.Limits{Location: london}, testNow)
			if s != nil || errs == nil {
				t.Fatalf("accepted: %+v", s)
			}
			msg, ok := errs[tt.field]
			if !ok || !strings.Contains(msg, tt.words) {
				t.Errorf("errors %v, want %s containing %q", errs, tt.field, tt.words)
			}
		})
	}
}

func TestNewSeriesLimits(t *testing.T) {
	req := request("2026-12-01", "19:00", 300, bookings.Recurrence{Frequency: bookings.Once})
	if _, errs := bookings.NewSeries(req, "g", "G", bookings.Limits{Location: london, MaxDuration: 5 * time.Hour}, testNow); errs != nil {
		t.Errorf("300 minutes with a 5-hour cap: %v", errs)
	}
	// Limits.Now is used when now is zero.
	req.DurationMinutes = 60
	req.FirstDate = "2026-12-05"
	if _, errs := bookings.NewSeries(req, "g", "G", bookings.Limits{Location: london, Now: testNow.AddDate(0, 0, 10)}, time.Time{}); errs["firstDate"] == "" {
		t.Errorf("a date in the past by Limits.Now accepted: %v", errs)
	}
	// The day boundary is the zone's, not UTC's: 23:30 UTC on 31 May is
	// already 1 June in London.
	now := time.Date(2027, 5, 31, 23, 30, 0, 0, time.UTC)
	req.FirstDate = "2027-05-31"
	if _, errs := bookings.NewSeries(req, "g", "G", bookings.Limits{Location: london}, now); errs["firstDate"] == "" {
		t.Errorf("yesterday in London accepted: %v", errs)
	}
	// The largest series allowed expands fully.
	req = request("2026-12-01", "19:00", 60, bookings.Recurrence{Frequency: bookings.Weekly, Until: "2028-12-01"})
	s := mustSeries(t, req)
	if n := len(starts(t, s)); n != 105 {
		t.Errorf("weekly for 2 years: %d meetings", n)
	}
}

func TestParseWeekday(t *testing.T) {
	for in, want := range map[string]time.Weekday{"monday": time.Monday, "Tue": time.Tuesday, "SUNDAY": time.Sunday, " sat ": time.Saturday} {
		if got, err := bookings.ParseWeekday(in); err != nil || got != want {
			t.Errorf("ParseWeekday(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "mo", "tues", "someday"} {
		if _, err := bookings.ParseWeekday(in); err == nil {
			t.Errorf("ParseWeekday(%q) accepted", in)
		}
	}
}

func TestIDsAndSecrets(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		id, tok, key := bookings.NewID("b_"), bookings.NewLinkToken(), bookings.NewHostKey()
		if !bookings.ValidID("b_", id) || len(tok) != 22 || len(key) != bookings.HostKeyDigits ||
			strings.Trim(key, "0123456789") != "" || strings.ContainsAny(tok, "+/=") {
			t.Fatalf("id %q token %q key %q", id, tok, key)
		}
		if seen[id] || seen[tok] {
			t.Fatal("repeated")
		}
		seen[id], seen[tok] = true, true
	}
	for _, bad := range []string{"b_", "a_aaaaaaaaaaaaaaaaaaaaaaaaaa", "b_AAAAAAAAAAAAAAAAAAAAAAAAAA", "b_aaaaaaaaaaaaaaaaaaaaaaaaa1"} {
		if bookings.ValidID("b_", bad) {
			t.Errorf("ValidID(%q)", bad)
		}
	}
}
