package api

import (
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apognu/gocal"
	ics "github.com/arran4/golang-ical"

	"github.com/parley-dev/parley/bookings"
	"github.com/parley-dev/parley/livecall/fakeclock"
)

// The feeds are checked with github.com/apognu/gocal, a parser that is
// not the library that writes them (arran4/golang-ical) and does not use
// the domain's rrule-go.
//
// gocal v0.9.1 expands an RRULE itself, but only partly: it ignores the
// ordinal of a BYDAY ("2MO", "-1FR" and "1TU,3TU" all mean "a Monday /
// Friday / Tuesday in a 7-day window from DTSTART's day of the month").
// So its own expansion is compared where it is right (weekly and one-off
// series), and for every series the test also expands what gocal parsed
// (DTSTART with its TZID, the RRULE's parts, the EXDATEs, the
// RECURRENCE-ID overrides) by RFC 5545's rules, written out below
// without rrule-go: both must equal Series.Occurrences to the minute in
// UTC.

var london = mustZone("Europe/London")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// feedEpoch is "now" in the feed tests: before every series starts.
var feedEpoch = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// testAccount is the feed tests' meeting account.
var testAccount = bookings.NewID("a_")

// testSeries makes a series with NewSeries, on testAccount for group
// g_choir, failing the test on field errors.
func testSeries(t *testing.T, title, first, start string, minutes int, rec bookings.Recurrence) *bookings.Series {
	t.Helper()
	req := bookings.Request{LeaderName: "Ada Lovelace", LeaderEmail: "ada@example.org", Account: testAccount, Title: title,
		FirstDate: first, StartTime: start, DurationMinutes: minutes, Recurrence: rec}
	s, errs := bookings.NewSeries(req, "g_choir", "Choir", bookings.Limits{Location: london}, feedEpoch)
	if len(errs) > 0 {
		t.Fatalf("NewSeries(%s): %v", title, errs)
	}
	return s
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// feedSeries are series of every pattern, the repeating ones each
// crossing the year's end and both DST changes, with a cancelled and a
// moved occurrence; a one-off on the day the clocks go forward, and a
// pending one-off that was moved. They fit on one account together.
func feedSeries(t *testing.T) []*bookings.Series {
	weekly := testSeries(t, "Rehearsal", "2026-12-02", "19:00", 90,
		bookings.Recurrence{Frequency: bookings.Weekly, Weekday: "wednesday", Count: 50})
	must(t, weekly.Cancel(3, "snow"))               // Wed 23 Dec 2026
	must(t, weekly.Move(5, "2027-01-07", "18:00"))  // Wed 6 Jan → Thu 7 Jan
	must(t, weekly.Move(16, "2027-03-28", "20:00")) // Wed 24 Mar → Sun 28 Mar, the day the clocks change
	second := testSeries(t, "Committee", "2026-12-01", "10:00", 60,
		bookings.Recurrence{Frequency: bookings.Monthly, Weekday: "monday", Nth: []int{2}, Count: 14})
	must(t, second.Cancel(1, ""))                  // Mon 11 Jan 2027
	must(t, second.Move(3, "2027-03-09", "10:30")) // Mon 8 Mar → Tue 9 Mar
	must(t, second.Move(5, "2027-04-30", "10:00")) // Mon 10 May → Fri 30 Apr, into the month before
	last := testSeries(t, "Social", "2026-12-01", "18:30", 120,
		bookings.Recurrence{Frequency: bookings.Monthly, Weekday: "friday", Nth: []int{-1}, Until: "2027-12-31"})
	must(t, last.Cancel(0, ""))                   // Fri 25 Dec 2026
	must(t, last.Move(10, "2027-10-22", "18:30")) // Fri 29 Oct → Fri 22 Oct
	twice := testSeries(t, "Choir practice", "2026-12-01", "19:30", 75,
		bookings.Recurrence{Frequency: bookings.TwiceMonthly, Weekday: "tuesday", Nth: []int{1, 3}, Count: 26})
	must(t, twice.Cancel(2, ""))                   // Tue 5 Jan 2027
	must(t, twice.Move(21, "2027-10-28", "19:30")) // Tue 19 Oct → Thu 28 Oct
	once := testSeries(t, "Spring concert", "2027-03-28", "14:00", 180, bookings.Recurrence{Frequency: bookings.Once})
	movedOnce := testSeries(t, "AGM", "2027-06-03", "12:00", 60, bookings.Recurrence{Frequency: bookings.Once})
	must(t, movedOnce.Move(0, "2027-06-04", "12:00")) // Thu 3 Jun → Fri 4 Jun, still pending
	for _, s := range []*bookings.Series{weekly, second, last, twice, once} {
		s.State = bookings.Approved
	}
	return []*bookings.Series{weekly, second, last, twice, once, movedOnce}
}

// testTable is a bookingTable on a server with a signing key, for the
// feed's pure parts.
func testTable(t *testing.T) *bookingTable {
	t.Helper()
	s := &Server{cfg: Config{PublicURL: "https://meet.example.org", Guests: GuestConfig{Key: []byte(strings.Repeat("k", 32))}},
		log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	return &bookingTable{s: s, loc: london, clock: fakeclock.New(feedEpoch)}
}

// serialize is the feed's text, as served.
func serialize(t *testing.T, cal *ics.Calendar) string {
	t.Helper()
	var b strings.Builder
	must(t, writeCalendar(&b, cal))
	return b.String()
}

// slot is an occurrence as the test compares them.
type slot struct {
	uid        string
	start, end string // UTC, to the minute
}

func mkSlot(uid string, start, end time.Time) slot {
	const f = "2006-01-02 15:04Z"
	return slot{uid, start.UTC().Format(f), end.UTC().Format(f)}
}

func sortSlots(s []slot) []slot {
	slices.SortFunc(s, func(a, b slot) int {
		if c := strings.Compare(a.start, b.start); c != 0 {
			return c
		}
		return strings.Compare(a.uid, b.uid)
	})
	return s
}

// ours are the series' occurrences that happen (not cancelled).
func ours(t *testing.T, series []*bookings.Series) map[string][]slot {
	t.Helper()
	out := map[string][]slot{}
	for _, s := range series {
		occs, err := s.Occurrences()
		must(t, err)
		for _, o := range occs {
			if !o.Cancelled {
				uid := s.ID + "@meet.example.org"
				out[uid] = append(out[uid], mkSlot(uid, o.Start, o.End))
			}
		}
		sortSlots(out[s.ID+"@meet.example.org"])
	}
	return out
}

// parseFeed parses a feed with gocal over 2026-2028.
func parseFeed(t *testing.T, feed string) []gocal.Event {
	t.Helper()
	start, end := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC)
	p := gocal.NewParser(strings.NewReader(feed))
	p.Start, p.End = &start, &end
	if err := p.Parse(); err != nil {
		t.Fatalf("gocal: %v\n%s", err, feed)
	}
	return p.Events
}

func TestFeedOccurrencesMatchAnIndependentParser(t *testing.T) {
	tb := testTable(t)
	series := feedSeries(t)
	cal, err := tb.calendar("Meeting account 1 bookings", series, map[string]string{testAccount: "Meeting account 1"})
	must(t, err)
	feed := serialize(t, cal)
	events := parseFeed(t, feed)
	want := ours(t, series)

	// gocal's own expansion, for the series whose rules it expands right.
	got := map[string][]slot{}
	for _, e := range events {
		got[e.Uid] = append(got[e.Uid], mkSlot(e.Uid, *e.Start, *e.End))
	}
	for _, s := range series {
		uid := s.ID + "@meet.example.org"
		if s.Recurrence.Frequency != bookings.Weekly && s.Recurrence.Frequency != bookings.Once {
			continue
		}
		if g := sortSlots(got[uid]); !slices.Equal(g, want[uid]) {
			t.Errorf("%s (%s): gocal expands\n%v\nwant\n%v", s.Title, s.Recurrence.Frequency, g, want[uid])
		}
	}

	// Content lines (RFC 5545 §3.1): CRLF after each, at most 75 octets.
	if !strings.HasSuffix(feed, "END:VCALENDAR\r\n") {
		t.Error("the feed does not end with END:VCALENDAR and CRLF")
	}
	for i, line := range strings.Split(strings.TrimSuffix(feed, "\r\n"), "\r\n") {
		if strings.ContainsAny(line, "\r\n") || len(line) > 75 {
			t.Errorf("line %d (%d octets) is not a content line: %q", i+1, len(line), line)
		}
	}

	// The rules as RFC 5545 writes them, each ending on its last day.
	for _, want := range []string{
		"RRULE:FREQ=WEEKLY;BYDAY=WE;UNTIL=20271110T235959Z",   // 50 Wednesdays from 2 Dec 2026
		"RRULE:FREQ=MONTHLY;BYDAY=2MO;UNTIL=20280110T235959Z", // 14 2nd Mondays from 14 Dec 2026
		"RRULE:FREQ=MONTHLY;BYDAY=-1FR;UNTIL=20271231T235959Z",
		"RRULE:FREQ=MONTHLY;BYDAY=1TU,3TU;UNTIL=20271221T235959Z", // 26 from 1 Dec 2026
		"DTSTART;TZID=Europe/London:20261202T190000",
		"EXDATE;TZID=Europe/London:20261223T190000",
		"RECURRENCE-ID;TZID=Europe/London:20270324T190000",
		"DTSTART;TZID=Europe/London:20270328T200000", // the moved rehearsal, in summer time
	} {
		if !strings.Contains(feed, want+"\r\n") {
			t.Errorf("the feed lacks the line %s", want)
		}
	}
	if strings.Count(feed, "RRULE:") != 4 || strings.Count(feed, "EXDATE") != 4 || strings.Count(feed, "RECURRENCE-ID") != 6 {
		t.Errorf("the feed has %d RRULEs (want 4), %d EXDATEs (4), %d RECURRENCE-IDs (6)",
			strings.Count(feed, "RRULE:"), strings.Count(feed, "EXDATE"), strings.Count(feed, "RECURRENCE-ID"))
	}
	if !strings.Contains(strings.ReplaceAll(feed, "\r\n ", ""), "Moved by the coordinator from Thu 3 Jun 2027 12:00") {
		t.Error("the moved one-off does not say from when")
	}

	// What each event says: "group: title", the join window, the state.
	byUID := map[string]*bookings.Series{}
	for _, s := range series {
		byUID[s.ID+"@meet.example.org"] = s
	}
	for _, e := range events {
		s := byUID[e.Uid]
		if s == nil {
			t.Fatalf("event %q is of no series", e.Uid)
		}
		status := map[bookings.State]string{bookings.Approved: "CONFIRMED", bookings.Requested: "TENTATIVE"}[s.State]
		if e.Summary != "Choir: "+s.Title || e.Status != status || !strings.Contains(e.Description, "join up to 15 minutes before the start") {
			t.Errorf("event of %s: summary %q, status %q (want %s), description %q", s.Title, e.Summary, e.Status, status, e.Description)
		}
		if e.Location != "Meeting account 1" || strings.Contains(e.Description, "/m/") {
			t.Errorf("event of %s: location %q, description %q", s.Title, e.Location, e.Description)
		}
	}

	// RFC 5545's expansion of what gocal parsed, for every series.
	for _, s := range series {
		uid := s.ID + "@meet.example.org"
		g := expandParsed(t, events, uid)
		if !slices.Equal(g, want[uid]) {
			t.Errorf("%s (%s): the feed's rule expands to\n%v\nwant\n%v", s.Title, s.Recurrence.Frequency, g, want[uid])
		}
		if len(g) == 0 {
			t.Errorf("%s: no occurrences in the feed", s.Title)
		}
	}
	if t.Failed() {
		t.Logf("feed:\n%s", feed)
	}
}

// expandParsed expands, by RFC 5545, the series uid as gocal parsed it:
// the master's DTSTART (its raw value and TZID), RRULE, EXDATEs and the
// length of its instances, and the overrides (events with a
// RECURRENCE-ID), which replace the instance they name.
func expandParsed(t *testing.T, events []gocal.Event, uid string) []slot {
	t.Helper()
	var master *gocal.Event
	var overrides []gocal.Event
	for i, e := range events {
		switch {
		case e.Uid != uid:
		case e.RecurrenceID != "":
			overrides = append(overrides, e)
		case master == nil:
			master = &events[i]
		}
	}
	if master == nil {
		return nil
	}
	loc := mustZone(master.RawStart.Params["TZID"])
	dtstart, err := time.ParseInLocation("20060102T150405", master.RawStart.Value, loc)
	must(t, err)
	length := master.End.Sub(*master.Start)
	var starts []time.Time
	if !master.IsRecurring {
		starts = []time.Time{dtstart}
	} else {
		starts = expandRule(t, dtstart, master.RecurrenceRule)
	}
	var out []slot
	for _, st := range starts {
		if slices.ContainsFunc(master.ExcludeDates, func(x time.Time) bool { return x.Equal(st) }) {
			continue
		}
		i := slices.IndexFunc(overrides, func(o gocal.Event) bool {
			rid, err := time.ParseInLocation("20060102T150405", o.RecurrenceID, loc)
			return err == nil && rid.Equal(st)
		})
		if i >= 0 {
			out = append(out, mkSlot(uid, *overrides[i].Start, *overrides[i].End))
			overrides = slices.Delete(overrides, i, i+1)
			continue
		}
		out = append(out, mkSlot(uid, st, st.Add(length)))
	}
	if len(overrides) > 0 {
		t.Errorf("%s: %d RECURRENCE-ID(s) name no instance of the rule: %v", uid, len(overrides), overrides[0].RecurrenceID)
	}
	return sortSlots(out)
}

// expandRule is RFC 5545 §3.3.10 for the rules the feeds use:
// FREQ=WEEKLY;BYDAY=<day> and FREQ=MONTHLY;BYDAY=<n><day>[,<n><day>]
// (n 1 to 5, or -1), ending with UNTIL (UTC) or COUNT. Instances keep
// DTSTART's wall-clock time in its zone.
func expandRule(t *testing.T, dtstart time.Time, rule map[string]string) []time.Time {
	t.Helper()
	days := map[string]time.Weekday{"SU": time.Sunday, "MO": time.Monday, "TU": time.Tuesday, "WE": time.Wednesday,
		"TH": time.Thursday, "FR": time.Friday, "SA": time.Saturday}
	var until time.Time
	if u := rule["UNTIL"]; u != "" {
		var err error
		until, err = time.Parse("20060102T150405Z", u)
		must(t, err)
	}
	count, _ := strconv.Atoi(rule["COUNT"])
	if until.IsZero() == (count == 0) {
		t.Fatalf("rule %v: want exactly one of UNTIL and COUNT", rule)
	}
	if rule["INTERVAL"] != "" && rule["INTERVAL"] != "1" {
		t.Fatalf("rule %v: INTERVAL not expected", rule)
	}
	at := func(y int, m time.Month, d int) time.Time {
		return time.Date(y, m, d, dtstart.Hour(), dtstart.Minute(), dtstart.Second(), 0, dtstart.Location())
	}
	var cands []time.Time
	switch rule["FREQ"] {
	case "WEEKLY":
		if rule["BYDAY"] != strings.ToUpper(dtstart.Weekday().String()[:2]) {
			t.Fatalf("weekly rule %v: BYDAY is not DTSTART's weekday", rule)
		}
		for i := 0; i < 600; i++ {
			cands = append(cands, at(dtstart.Year(), dtstart.Month(), dtstart.Day()+7*i))
		}
	case "MONTHLY":
		for i := 0; i < 60; i++ {
			first := at(dtstart.Year(), dtstart.Month()+time.Month(i), 1)
			y, m := first.Year(), first.Month()
			daysIn := time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
			var month []time.Time
			for _, part := range strings.Split(rule["BYDAY"], ",") {
				wd, ok := days[part[len(part)-2:]]
				n, err := strconv.Atoi(part[:len(part)-2])
				if !ok || err != nil || n == 0 {
					t.Fatalf("rule %v: BYDAY %q", rule, part)
				}
				firstWd := 1 + (int(wd)-int(first.Weekday())+7)%7 // the month's first such weekday
				d := firstWd + 7*(n-1)
				if n < 0 {
					d = firstWd + 7*((daysIn-firstWd)/7)
				}
				if d <= daysIn {
					month = append(month, at(y, m, d))
				}
			}
			slices.SortFunc(month, time.Time.Compare)
			cands = append(cands, month...)
		}
	default:
		t.Fatalf("rule %v: FREQ not expected", rule)
	}
	var out []time.Time
	for _, c := range cands {
		if c.Before(dtstart) || !until.IsZero() && c.After(until) || count > 0 && len(out) == count {
			continue
		}
		out = append(out, c)
	}
	if !out[0].Equal(dtstart) {
		t.Errorf("rule %v: DTSTART %v is not its first instance %v", rule, dtstart, out[0])
	}
	return out
}

// TestFeedTimeZone checks the VTIMEZONE against the UK's rule (the
// Summer Time Order 2002): summer time from 01:00 UTC on the last Sunday
// of March to 01:00 UTC on the last Sunday of October, worked out here
// without Go's zone data.
func TestFeedTimeZone(t *testing.T) {
	tb := testTable(t)
	cal, err := tb.calendar("x", feedSeries(t), nil)
	must(t, err)
	feed := strings.ReplaceAll(serialize(t, cal), "\r\n ", "")
	block := between(t, feed, "BEGIN:VTIMEZONE", "END:VTIMEZONE")
	if !strings.Contains(block, "TZID:Europe/London") {
		t.Fatalf("VTIMEZONE without TZID Europe/London:\n%s", block)
	}
	daylight := between(t, block, "BEGIN:DAYLIGHT", "END:DAYLIGHT")
	var standard []string // the initial observance and the autumn changes
	for rest := block; strings.Contains(rest, "BEGIN:STANDARD"); {
		standard = append(standard, between(t, rest, "BEGIN:STANDARD", "END:STANDARD"))
		rest = rest[strings.Index(rest, "END:STANDARD")+1:]
	}
	lastSunday := func(y int, m time.Month) int {
		d := time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC)
		return d.Day() - int(d.Weekday())
	}
	for _, want := range []string{"TZOFFSETFROM:+0000", "TZOFFSETTO:+0100", "TZNAME:BST"} {
		if !strings.Contains(daylight, want) {
			t.Errorf("DAYLIGHT lacks %s:\n%s", want, daylight)
		}
	}
	autumn := ""
	for _, s := range standard {
		if strings.Contains(s, "TZOFFSETFROM:+0100") {
			autumn = s
		}
	}
	for _, want := range []string{"TZOFFSETTO:+0000", "TZNAME:GMT"} {
		if !strings.Contains(autumn, want) {
			t.Errorf("autumn STANDARD lacks %s:\n%s", want, autumn)
		}
	}
	// The series run from Dec 2026 to Jan 2028: the zone covers 2025-2029.
	for y := 2025; y <= 2029; y++ {
		spring := fmt.Sprintf("%d03%02dT010000", y, lastSunday(y, time.March)) // 01:00 GMT, local before the change
		fall := fmt.Sprintf("%d10%02dT020000", y, lastSunday(y, time.October)) // 01:00 UTC is 02:00 BST
		if !strings.Contains(daylight, ":"+spring) {
			t.Errorf("DAYLIGHT has no onset %s:\n%s", spring, daylight)
		}
		if !strings.Contains(autumn, ":"+fall) {
			t.Errorf("STANDARD has no onset %s:\n%s", fall, autumn)
		}
	}
	if n := strings.Count(daylight, "RDATE") + 1; n != 5 {
		t.Errorf("DAYLIGHT has %d onsets, want 5 (2025-2029)", n)
	}
}

func between(t *testing.T, s, from, to string) string {
	t.Helper()
	i := strings.Index(s, from)
	j := strings.Index(s[max(i, 0):], to)
	if i < 0 || j < 0 {
		t.Fatalf("no %s … %s in\n%s", from, to, s)
	}
	return s[i : i+j]
}

// TestFeedTimeZoneResolvesEveryEvent reads the feed's VTIMEZONE as a
// calendar app without zone data would (its onsets and offsets only) and
// resolves the local start of every occurrence with it: each must be the
// instant Series.Occurrences has, the weeks around both DST changes
// among them.
//
// Other zones too: Sydney's summer time spans the year's end, New York's
// changes on other dates at 02:00, Kolkata has none and a half-hour
// offset.
func TestFeedTimeZoneResolvesEveryEvent(t *testing.T) {
	zoned := func(name string) []*bookings.Series {
		loc := mustZone(name)
		req := bookings.Request{LeaderName: "Ada Lovelace", LeaderEmail: "ada@example.org", Title: "Rehearsal",
			FirstDate: "2026-12-02", StartTime: "07:30", DurationMinutes: 60,
			Recurrence: bookings.Recurrence{Frequency: bookings.Weekly, Count: 60}}
		s, errs := bookings.NewSeries(req, "g_choir", "Choir", bookings.Limits{Location: loc}, feedEpoch)
		if len(errs) > 0 {
			t.Fatalf("NewSeries in %s: %v", name, errs)
		}
		return []*bookings.Series{s}
	}
	for _, tc := range []struct {
		zone   string
		series []*bookings.Series
	}{
		{"Europe/London", feedSeries(t)},
		{"Australia/Sydney", zoned("Australia/Sydney")},
		{"America/New_York", zoned("America/New_York")},
		{"Asia/Kolkata", zoned("Asia/Kolkata")},
	} {
		t.Run(tc.zone, func(t *testing.T) {
			tb := testTable(t)
			tb.loc = mustZone(tc.zone)
			cal, err := tb.calendar("x", tc.series, nil)
			must(t, err)
			feed := strings.ReplaceAll(serialize(t, cal), "\r\n ", "")
			if strings.Count(feed, "BEGIN:VTIMEZONE") != 1 || !strings.Contains(feed, "TZID:"+tc.zone+"\r\n") {
				t.Fatalf("want one VTIMEZONE, of %s:\n%s", tc.zone, feed)
			}
			zone := parseVTimezone(t, feed)
			n := 0
			for _, s := range tc.series {
				occs, err := s.Occurrences()
				must(t, err)
				for _, o := range occs {
					wall := o.Start.In(tb.loc).Format("20060102T150405")
					got, ok := zone.resolve(wall)
					if !ok || !got.Equal(o.Start) {
						t.Errorf("%s %s: the VTIMEZONE makes it %v (%v), want %v", s.Title, wall, got.UTC(), ok, o.Start.UTC())
					}
					n++
				}
			}
			if n < 60 {
				t.Fatalf("only %d occurrences checked", n)
			}
		})
	}
}

// vzone is a VTIMEZONE's observances: from each onset (a UTC instant)
// the offset in force, in time order.
type vzone []struct {
	from time.Time
	off  time.Duration
}

// parseVTimezone reads the STANDARD and DAYLIGHT parts of the feed's one
// VTIMEZONE (DTSTART and RDATE onsets, local in TZOFFSETFROM).
func parseVTimezone(t *testing.T, feed string) vzone {
	t.Helper()
	offset := func(s string) time.Duration {
		h, _ := strconv.Atoi(s[1:3])
		m, _ := strconv.Atoi(s[3:5])
		d := time.Duration(h)*time.Hour + time.Duration(m)*time.Minute
		if s[0] == '-' {
			d = -d
		}
		return d
	}
	var z vzone
	block := between(t, feed, "BEGIN:VTIMEZONE", "END:VTIMEZONE")
	for _, part := range strings.Split(block, "BEGIN:")[2:] { // [0] before, [1] VTIMEZONE
		var from, to time.Duration
		var onsets []string
		for _, line := range strings.Split(part, "\r\n") {
			k, v, _ := strings.Cut(line, ":")
			switch k {
			case "TZOFFSETFROM":
				from = offset(v)
			case "TZOFFSETTO":
				to = offset(v)
			case "DTSTART", "RDATE":
				onsets = append(onsets, v)
			}
		}
		for _, o := range onsets {
			local, err := time.Parse("20060102T150405", o)
			must(t, err)
			z = append(z, struct {
				from time.Time
				off  time.Duration
			}{local.Add(-from), to})
		}
	}
	slices.SortFunc(z, func(a, b struct {
		from time.Time
		off  time.Duration
	}) int {
		return a.from.Compare(b.from)
	})
	if len(z) == 0 {
		t.Fatalf("VTIMEZONE without onsets:\n%s", block)
	}
	return z
}

// resolve is the instant of a local DATE-TIME in the zone.
func (z vzone) resolve(wall string) (time.Time, bool) {
	w, err := time.Parse("20060102T150405", wall)
	if err != nil {
		return time.Time{}, false
	}
	for i, p := range z {
		utc := w.Add(-p.off)
		if !utc.Before(p.from) && (i == len(z)-1 || utc.Before(z[i+1].from)) {
			return utc, true
		}
	}
	return time.Time{}, false
}
