package api

import (
	"context"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parley-dev/parley/bookings"
	"github.com/parley-dev/parley/clock"
	"github.com/parley-dev/parley/rooms"
	"github.com/parley-dev/parley/rooms/store"
)

// tableFixture is a server with groups and bookings on a real store, the
// group Choir active, two meeting accounts and the feed series booked on
// the first (approved, but the moved one-off, which is pending).
type tableFixture struct {
	*groupFixture
	accounts []*bookings.Account
	series   []*bookings.Series // as stored
	other    *bookings.Series   // another group's series on the second account
	gone     []*bookings.Series // a declined and a cancelled series, on the first account
}

func newTableFixture(t *testing.T) *tableFixture {
	t.Helper()
	tf := &tableFixture{}
	tf.groupFixture = newGroupFixture(t, func(cfg *Config) {
		db := cfg.Rooms.(*store.DB)
		key, err := db.SigningKey()
		must(t, err)
		cfg.Guests.Key = key
		cfg.Bookings = BookingConfig{Store: db, Location: london, Clock: laterClock{tf}}
	})
	tf.activeGroup(t)
	ctx := context.Background()
	var err error
	tf.accounts, err = tf.db.EnsureAccounts(ctx, 2, feedEpoch)
	must(t, err)
	g := tf.group(t)
	for _, s := range feedSeries(t) {
		s.AccountID, s.GroupID, s.GroupName = tf.accounts[0].ID, g.ID, g.Name
		tf.series = append(tf.series, tf.book(t, s))
	}
	other := testSeries(t, "Orchestra rehearsal", "2027-01-04", "19:00", 120,
		bookings.Recurrence{Frequency: bookings.Weekly, Weekday: "monday", Count: 10})
	other.AccountID, other.GroupID, other.GroupName = tf.accounts[1].ID, "g_orchestra", "Orchestra"
	other.State = bookings.Approved
	tf.other = tf.book(t, other)
	for i, st := range []bookings.State{bookings.Declined, bookings.Cancelled} {
		s := testSeries(t, "Gone "+string(st), "2027-01-0"+string(rune('5'+i)), "08:00", 30, bookings.Recurrence{Frequency: bookings.Once})
		s.AccountID, s.GroupID, s.GroupName = tf.accounts[0].ID, g.ID, g.Name
		s = tf.book(t, s)
		s, err = tf.db.UpdateSeries(ctx, s.ID, func(s *bookings.Series) ([]*rooms.Mail, error) { s.State = st; return nil, nil })
		must(t, err)
		tf.gone = append(tf.gone, s)
	}
	return tf
}

// laterClock is the fixture's fake clock, which exists only once
// newGroupFixture has returned: after the server's Config is made.
type laterClock struct{ tf *tableFixture }

func (c laterClock) Now() time.Time { return c.tf.clock.Now() }
func (c laterClock) AfterFunc(d time.Duration, f func()) clock.Timer {
	return c.tf.clock.AfterFunc(d, f)
}

// book stores s as it is (state, exceptions, links) and returns the
// stored copy.
func (tf *tableFixture) book(t *testing.T, s *bookings.Series) *bookings.Series {
	t.Helper()
	want := *s
	plain := *s
	plain.State, plain.Exceptions = bookings.Requested, nil
	ctx := context.Background()
	must(t, tf.db.Book(ctx, &plain, nil))
	got, err := tf.db.UpdateSeries(ctx, s.ID, func(st *bookings.Series) ([]*rooms.Mail, error) {
		st.State, st.Exceptions = want.State, want.Exceptions
		if want.State == bookings.Approved {
			st.Links = []bookings.Link{{Token: "SECRET-LINK-" + s.ID, HostKeyHash: "hash", CreatedAt: feedEpoch}}
		}
		return nil, nil
	})
	must(t, err)
	return got
}

// page GETs path with b's cookies (or none with b nil) and hdr.
func (tf *tableFixture) page(t *testing.T, b *browser, path string, hdr map[string]string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest("GET", tf.srv.URL+path, nil)
	must(t, err)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	c := http.DefaultClient
	if b != nil {
		c = b.c
	}
	resp, err := c.Do(req)
	must(t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(body)
}

func (tf *tableFixture) groupUser(t *testing.T) *browser {
	t.Helper()
	b := tf.browser(t)
	b.call("POST", "/api/v1/group/login", map[string]string{"groupName": "Choir", "pin": "2468"}).want(t, 200, "")
	return b
}

// inMonth are the series' occurrences (cancelled ones too) that start in
// month (yyyy-mm, local), and those that do not.
func inMonth(t *testing.T, series []*bookings.Series, month string) (in, out []bookings.Occurrence) {
	t.Helper()
	for _, s := range series {
		occs, err := s.Occurrences()
		must(t, err)
		for _, o := range occs {
			if o.Start.In(london).Format("2006-01") == month {
				in = append(in, o)
			} else {
				out = append(out, o)
			}
		}
	}
	return in, out
}

func TestTableAccess(t *testing.T) {
	tf := newTableFixture(t)
	path := "/bookings/all/2027-01"
	for _, p := range []string{"/bookings", path, "/bookings/" + tf.accounts[0].ID + "/2027-01"} {
		status, _, body := tf.page(t, nil, p, nil)
		if status != 401 || !strings.Contains(body, "Sign in to see the bookings table") ||
			!strings.Contains(body, `href="/group"`) || !strings.Contains(body, `href="/admin"`) || strings.Contains(body, "Choir") {
			t.Errorf("GET %s signed out: %d\n%s", p, status, body)
		}
	}
	if status, _, body := tf.page(t, nil, path+".csv", nil); status != 401 || strings.Contains(body, "Choir") {
		t.Errorf("CSV signed out: %d %s", status, body)
	}
	anon := tf.browser(t)
	anon.call("GET", "/api/v1/bookings/table", nil).want(t, 401, "unauthorized")

	// A group user sees every account's table.
	user := tf.groupUser(t)
	if status, _, body := tf.page(t, user, "/bookings", nil); status != 200 || !strings.Contains(body, "Rehearsal") ||
		!strings.Contains(body, tf.accounts[1].Name) {
		t.Errorf("GET /bookings as a group user: %d", status)
	}
	user.call("GET", "/api/v1/bookings/table?month=2027-01", nil).want(t, 200, "")

	// An administrator only as a coordinator.
	admin := tf.adminBrowser(t, "hunter2")
	if status, _, body := tf.page(t, admin, path, nil); status != 403 || !strings.Contains(body, "not a coordinator") {
		t.Errorf("GET %s as an administrator: %d\n%s", path, status, body)
	}
	admin.call("GET", "/api/v1/bookings/table", nil).want(t, 403, "not-coordinator")
	g := tf.group(t)
	_, err := tf.db.UpdateBookingSettings(context.Background(), func(s *bookings.Settings) error {
		s.Coordinators = append(s.Coordinators, g.ID)
		return nil
	})
	must(t, err)
	if status, _, body := tf.page(t, admin, path, nil); status != 200 || !strings.Contains(body, "coordinator") {
		t.Errorf("GET %s as a coordinator: %d", path, status)
	}

	// The operator's token, for the CSV and the JSON.
	op := map[string]string{"Authorization": "Bearer " + opToken}
	if status, _, _ := tf.page(t, nil, path+".csv", op); status != 200 {
		t.Errorf("CSV with the operator token: %d", status)
	}
	if status, _, _ := tf.page(t, nil, "/api/v1/bookings/table", op); status != 200 {
		t.Errorf("JSON with the operator token: %d", status)
	}
	if status, _, _ := tf.page(t, nil, "/api/v1/bookings/table", map[string]string{"Authorization": "Bearer nope"}); status != 401 {
		t.Errorf("JSON with a wrong operator token: %d", status)
	}

	// The operator's pages: the same table under /operator/bookings,
	// signed in as on the outbox page.
	if status, hdr, body := tf.page(t, nil, "/operator/bookings", nil); status != 401 ||
		!strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Basic ") || strings.Contains(body, "Choir") {
		t.Errorf("/operator/bookings without the token: %d", status)
	}
	basic := map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("operator:"+opToken))}
	status, _, body := tf.page(t, nil, "/operator/bookings/all/2027-01", basic)
	if status != 200 || !strings.Contains(body, "Rehearsal") || !strings.Contains(body, "Operator") ||
		!strings.Contains(body, `href="/operator/bookings/all/2027-02"`) || !strings.Contains(body, `href="/operator/bookings/all/2027-01.csv"`) ||
		!strings.Contains(body, `href="/operator/bookings/`+tf.accounts[0].ID+`/2027-01"`) {
		t.Errorf("/operator/bookings/all/2027-01 as the operator: %d\n%s", status, body)
	}
	if status, hdr, _ := tf.page(t, nil, "/operator/bookings/all/2027-01.csv", basic); status != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/csv") {
		t.Errorf("the operator's CSV: %d", status)
	}

	// A PIN change signs the group user out.
	admin.call("PUT", "/api/v1/admin/pin", map[string]string{"password": "hunter2", "pin": "97531"}).want(t, 204, "")
	if status, _, body := tf.page(t, user, path, nil); status != 401 || !strings.Contains(body, "session has ended") {
		t.Errorf("GET %s after the PIN changed: %d\n%s", path, status, body)
	}

	// Unknown months and accounts.
	if status, _, _ := tf.page(t, admin, "/bookings/all/2027-13", nil); status != 404 {
		t.Errorf("month 13: %d", status)
	}
	if status, _, _ := tf.page(t, admin, "/bookings/"+bookings.NewID("a_")+"/2027-01", nil); status != 404 {
		t.Errorf("unknown account: %d", status)
	}
	admin.call("GET", "/api/v1/bookings/table?month=January", nil).want(t, 400, "bad-request")
	admin.call("GET", "/api/v1/bookings/table?account=a_nope", nil).want(t, 404, "account-not-found")
}

var dayRow = regexp.MustCompile(`<th scope="rowgroup" colspan="5">([^<]+)</th>`)

func TestTableMonthView(t *testing.T) {
	tf := newTableFixture(t)
	user := tf.groupUser(t)
	acct := tf.accounts[0]
	for _, month := range []string{"2026-12", "2027-01", "2027-03", "2027-04", "2027-05", "2027-10"} {
		status, hdr, body := tf.page(t, user, "/bookings/"+acct.ID+"/"+month, nil)
		if status != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") {
			t.Fatalf("month %s: %d %s", month, status, hdr.Get("Content-Type"))
		}
		in, out := inMonth(t, tf.series, month)
		days := map[string]bool{}
		for _, m := range dayRow.FindAllStringSubmatch(body, -1) {
			days[m[1]] = true
		}
		for _, o := range in {
			label := o.Start.In(london).Format("Mon 2 Jan")
			times := o.Start.In(london).Format("15:04") + "–" + o.End.In(london).Format("15:04")
			if !days[label] || !strings.Contains(body, times) {
				t.Errorf("month %s lacks the occurrence of %s %s", month, label, times)
			}
		}
		for _, o := range out {
			if label := o.Start.In(london).Format("Mon 2 Jan"); days[label] {
				t.Errorf("month %s shows %s, of another month", month, label)
			}
		}
		if len(days) == 0 {
			t.Errorf("month %s: no days", month)
		}
		// Other accounts, links and host keys are not in it.
		if strings.Contains(body, "Orchestra") || strings.Contains(body, "SECRET-LINK") || strings.Contains(body, "/m/") ||
			strings.Contains(body, "hash") || strings.Contains(body, "Gone") {
			t.Errorf("month %s shows what it should not:\n%s", month, body)
		}
		// CSP: no inline style or script.
		if strings.Contains(body, " style=") || strings.Contains(body, "<style") || regexp.MustCompile(`<script(?: type="module")?>`).MatchString(body) {
			t.Errorf("month %s has inline style or script", month)
		}
		if !strings.Contains(body, `<link rel="stylesheet" href="/assets/bookings.css">`) {
			t.Errorf("month %s lacks the table's stylesheet", month)
		}
	}

	// Marks, state, zone, navigation, the feed.
	_, _, jan := tf.page(t, user, "/bookings/"+acct.ID+"/2027-01", nil)
	for _, want := range []string{
		"January 2027", "Time (UK time)", "moved from Wed 6 Jan 19:00", "cancelled", `data-state="confirmed"`,
		`href="/bookings/` + acct.ID + `/2026-12"`, `href="/bookings/` + acct.ID + `/2027-02"`,
		`href="/bookings/` + acct.ID + `/2027-01.csv"`, tf.api.calendarURL("account", acct.ID), tf.api.calendarURL("group", tf.group(t).ID),
		"1 h 30 min",
	} {
		if !strings.Contains(jan, want) {
			t.Errorf("January lacks %q", want)
		}
	}
	// A meeting moved into another month: there at its new time, and here
	// marked where it was.
	_, _, apr := tf.page(t, user, "/bookings/"+acct.ID+"/2027-04", nil)
	_, _, may := tf.page(t, user, "/bookings/"+acct.ID+"/2027-05", nil)
	if !strings.Contains(apr, "moved from Mon 10 May 10:00") || !strings.Contains(may, "moved to Fri 30 Apr 10:00") ||
		!strings.Contains(may, `<th scope="rowgroup" colspan="5">Mon 10 May</th>`) || !strings.Contains(jan, "moved to Thu 7 Jan 18:00") {
		t.Errorf("the move from May to April is not shown in both months")
	}
	_, _, jun := tf.page(t, user, "/bookings/"+acct.ID+"/2027-06", nil)
	if !strings.Contains(jun, ">pending<") || !strings.Contains(jun, "AGM") || !strings.Contains(jun, "moved from Thu 3 Jun 12:00") {
		t.Errorf("June lacks the pending AGM")
	}

	// /bookings is this month, every account.
	tf.clock.Advance(time.Date(2027, 1, 15, 12, 0, 0, 0, time.UTC).Sub(tf.clock.Now()))
	user = tf.groupUser(t) // the session of December has expired
	_, _, now := tf.page(t, user, "/bookings", nil)
	if !strings.Contains(now, "January 2027") || !strings.Contains(now, "Orchestra") || !strings.Contains(now, tf.accounts[1].Name) ||
		!strings.Contains(now, `href="/bookings/all/2027-02"`) {
		t.Errorf("/bookings in January 2027:\n%s", now)
	}
	// An empty month says so.
	_, _, empty := tf.page(t, user, "/bookings/"+tf.accounts[1].ID+"/2027-06", nil)
	if !strings.Contains(empty, "No bookings on "+tf.accounts[1].Name+" in June 2027") {
		t.Errorf("empty month:\n%s", empty)
	}
}

func TestTablePrintStylesheet(t *testing.T) {
	tf := newTableFixture(t)
	status, hdr, css := tf.page(t, nil, "/assets/bookings.css", nil)
	if status != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/css") {
		t.Fatalf("bookings.css: %d %s", status, hdr.Get("Content-Type"))
	}
	i := strings.Index(css, "@media print")
	if i < 0 {
		t.Fatal("bookings.css has no print rules")
	}
	printRules := css[i:]
	for _, want := range []string{".month-nav", ".console-header", ".feed", "display: none", "break-before: page", "background: #fff", "color: #000"} {
		if !strings.Contains(printRules, want) {
			t.Errorf("the print rules lack %q", want)
		}
	}
	if !strings.Contains(css, "@media screen and (max-width: 560px)") {
		t.Error("bookings.css has no phone layout")
	}
	if status, _, js := tf.page(t, nil, "/assets/bookings.js", nil); status != 200 || !strings.Contains(js, "clipboard") {
		t.Errorf("bookings.js: %d", status)
	}
}

func TestTableCSV(t *testing.T) {
	tf := newTableFixture(t)
	user := tf.groupUser(t)
	acct := tf.accounts[0]
	status, hdr, body := tf.page(t, user, "/bookings/"+acct.ID+"/2027-01.csv", nil)
	if status != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/csv") ||
		hdr.Get("Content-Disposition") != `attachment; filename="bookings-meeting-account-1-2027-01.csv"` {
		t.Fatalf("CSV: %d %v", status, hdr)
	}
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	must(t, err)
	if !slices.Equal(recs[0], csvHeader) {
		t.Fatalf("header %v", recs[0])
	}
	in, _ := inMonth(t, tf.series, "2027-01")
	if len(recs)-1 != len(in) {
		t.Fatalf("%d rows, want %d:\n%s", len(recs)-1, len(in), body)
	}
	byID := map[string]*bookings.Series{}
	for _, s := range tf.series {
		byID[s.ID] = s
	}
	var want [][]string
	for _, o := range in {
		s := byID[o.SeriesID]
		status, moved := "scheduled", ""
		if o.Cancelled {
			status = "cancelled"
		} else if o.Moved {
			status = "moved"
			plain := *s
			plain.Exceptions = nil
			po, _ := plain.Occurrence(o.Index)
			moved = po.Start.In(london).Format("2006-01-02 15:04")
		}
		st := o.Start.In(london)
		want = append(want, []string{st.Format("2006-01-02"), st.Format("15:04"), o.End.In(london).Format("15:04"),
			itoa(int(o.End.Sub(o.Start) / time.Minute)), "Europe/London", acct.Name, "Choir", s.Title,
			tableState(s.State), status, moved})
	}
	slices.SortStableFunc(want, func(a, b []string) int { return strings.Compare(a[0]+a[1], b[0]+b[1]) })
	for i, w := range want {
		if !slices.Equal(recs[i+1], w) {
			t.Errorf("row %d = %q, want %q", i+1, recs[i+1], w)
		}
	}

	// Every account: one file, both accounts' rows.
	_, hdr, body = tf.page(t, user, "/bookings/all/2027-01.csv", nil)
	recs, err = csv.NewReader(strings.NewReader(body)).ReadAll()
	must(t, err)
	inOther, _ := inMonth(t, []*bookings.Series{tf.other}, "2027-01")
	if len(recs)-1 != len(in)+len(inOther) || !strings.Contains(hdr.Get("Content-Disposition"), "bookings-2027-01.csv") {
		t.Errorf("all accounts' CSV: %d rows, want %d; %s", len(recs)-1, len(in)+len(inOther), hdr.Get("Content-Disposition"))
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestCSVText(t *testing.T) {
	for in, want := range map[string]string{"Choir": "Choir", "=HYPERLINK(1)": "'=HYPERLINK(1)", "+1": "'+1", "-x": "'-x", "@a": "'@a", "": ""} {
		if got := csvText(in); got != want {
			t.Errorf("csvText(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTableJSON(t *testing.T) {
	tf := newTableFixture(t)
	user := tf.groupUser(t)
	r := user.call("GET", "/api/v1/bookings/table?account="+tf.accounts[0].ID+"&month=2027-03", nil)
	r.want(t, 200, "")
	var v TableView
	r.decode(t, &v)
	in, _ := inMonth(t, tf.series, "2027-03")
	if v.Month != "2027-03" || v.TimeZone != "Europe/London" || len(v.Accounts) != 1 || len(v.Accounts[0].Occurrences) != len(in) {
		t.Fatalf("table: %s", r.body)
	}
	a := v.Accounts[0]
	if a.Account.ID != tf.accounts[0].ID || a.CalendarURL != tf.api.calendarURL("account", a.Account.ID) {
		t.Errorf("account %+v", a)
	}
	for i, row := range a.Occurrences {
		if i > 0 && row.Start.Before(a.Occurrences[i-1].Start) {
			t.Errorf("rows out of order at %d", i)
		}
		if row.Group != "Choir" || row.Date != row.Start.In(london).Format("2006-01-02") {
			t.Errorf("row %+v", row)
		}
	}
	// The weekly rehearsal moved to Sunday 28 March, the day the clocks go forward: 20:00 BST.
	found := false
	for _, row := range a.Occurrences {
		if row.Status == "moved" && row.Date == "2027-03-28" {
			found = row.Start.UTC().Hour() == 19 && row.MovedFrom != nil && row.MovedFrom.Equal(time.Date(2027, 3, 24, 19, 0, 0, 0, time.UTC))
		}
	}
	if !found {
		t.Errorf("no moved rehearsal on 28 March at 19:00 UTC: %s", r.body)
	}
	r = user.call("GET", "/api/v1/bookings/table", nil) // this month, every account
	r.want(t, 200, "")
	r.decode(t, &v)
	if v.Month != "2026-12" || len(v.Accounts) != 2 {
		t.Errorf("this month: %s", r.body)
	}
}

func TestFeedRoutes(t *testing.T) {
	tf := newTableFixture(t)
	acct := tf.accounts[0]
	u, err := url.Parse(tf.api.calendarURL("account", acct.ID))
	must(t, err)
	if u.Scheme != "https" || u.Host != "meet.example.org" || !strings.HasSuffix(u.Path, ".ics") {
		t.Fatalf("calendar URL %s", u)
	}
	key := strings.TrimSuffix(u.Path[strings.LastIndex(u.Path, "/")+1:], ".ics")
	if len(key) < 22 {
		t.Errorf("feed key %q under 128 bits", key)
	}
	status, hdr, feed := tf.page(t, nil, u.Path, nil) // no cookie
	if status != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/calendar") || hdr.Get("Cache-Control") != feedCacheControl {
		t.Fatalf("feed: %d %v\n%s", status, hdr, feed)
	}
	events := parseFeed(t, feed)
	want := ours(t, tf.series)
	for _, s := range tf.series {
		uid := s.ID + "@meet.example.org"
		if g := expandParsed(t, events, uid); !slices.Equal(g, want[uid]) {
			t.Errorf("%s over HTTP: %v\nwant %v", s.Title, g, want[uid])
		}
	}
	for _, s := range append([]*bookings.Series{tf.other}, tf.gone...) {
		if strings.Contains(feed, s.ID) {
			t.Errorf("the account's feed has %s (%s, %s)", s.Title, s.AccountID, s.State)
		}
	}
	if strings.Contains(feed, "SECRET-LINK") {
		t.Error("the feed has a link")
	}

	// The group's page has its feed (GET /api/v1/group/bookings).
	var gb GroupBookingsResponse
	r := tf.groupUser(t).call("GET", "/api/v1/group/bookings", nil)
	r.want(t, 200, "")
	r.decode(t, &gb)
	if gb.CalendarURL == "" || gb.CalendarURL != tf.api.calendarURL("group", tf.group(t).ID) {
		t.Errorf("group bookings' calendarUrl %q", gb.CalendarURL)
	}

	// Wrong keys, another feed's key, other kinds: 404.
	other := tf.api.calendarURL("account", tf.accounts[1].ID)
	otherKey := other[strings.LastIndex(other, "/")+1:]
	for _, p := range []string{
		"/cal/account/" + acct.ID + "/" + strings.Repeat("A", len(key)) + ".ics",
		"/cal/account/" + acct.ID + "/" + key[:len(key)-1] + ".ics",
		"/cal/account/" + acct.ID + "/" + key,
		"/cal/account/" + acct.ID + "/" + otherKey,
		"/cal/group/" + acct.ID + "/" + key + ".ics",
		"/cal/account/" + bookings.NewID("a_") + "/" + key + ".ics",
	} {
		if status, _, body := tf.page(t, nil, p, nil); status != 404 || strings.Contains(body, "VCALENDAR") {
			t.Errorf("GET %s: %d", p, status)
		}
	}

	// The group's feed: its series on every account, no one else's.
	gu, err := url.Parse(tf.api.calendarURL("group", tf.group(t).ID))
	must(t, err)
	status, _, gfeed := tf.page(t, nil, gu.Path, nil)
	if status != 200 || !strings.Contains(gfeed, "X-WR-CALNAME:Choir bookings") {
		t.Fatalf("group feed: %d\n%s", status, gfeed)
	}
	for _, s := range tf.series {
		if !strings.Contains(gfeed, "UID:"+s.ID) {
			t.Errorf("the group's feed lacks %s", s.Title)
		}
	}
	if strings.Contains(gfeed, tf.other.ID) || strings.Contains(gfeed, tf.gone[0].ID) || strings.Contains(gfeed, tf.gone[1].ID) {
		t.Error("the group's feed has another group's, a declined or a cancelled series")
	}
	ou, _ := url.Parse(tf.api.calendarURL("group", "g_orchestra"))
	if _, _, ofeed := tf.page(t, nil, ou.Path, nil); !strings.Contains(ofeed, "UID:"+tf.other.ID) || strings.Contains(ofeed, tf.series[0].ID) {
		t.Errorf("the other group's feed:\n%s", ofeed)
	}

	// The feed follows the bookings: a series cancelled leaves it.
	_, err = tf.db.UpdateSeries(context.Background(), tf.series[0].ID, func(s *bookings.Series) ([]*rooms.Mail, error) {
		s.CancelSeries("the choir has disbanded")
		return nil, nil
	})
	must(t, err)
	if _, _, feed := tf.page(t, nil, u.Path, nil); strings.Contains(feed, tf.series[0].ID) || !strings.Contains(feed, tf.series[1].ID) {
		t.Error("a cancelled series is still in the feed")
	}
}

func TestFeedsOffWithoutKey(t *testing.T) {
	gf := newGroupFixture(t, func(cfg *Config) {
		cfg.Bookings = BookingConfig{Store: cfg.Rooms.(*store.DB), Location: london}
	})
	if u := gf.api.calendarURL("account", "a_x"); u != "" {
		t.Errorf("calendar URL without a signing key: %q", u)
	}
}
