package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-dev/parley/auth"
	"github.com/parley-dev/parley/bookings"
	"github.com/parley-dev/parley/livecall/fakeclock"
	"github.com/parley-dev/parley/rooms/store"
)

// bookingFixture is the groups API with bookings on a real store: the
// group Choir active, its user signed in, two meeting accounts, and the
// meeting clock (a fake one) at groupEpoch, Tue 1 Dec 2026 12:00 UTC.
type bookingFixture struct {
	*groupFixture
	meeting  *fakeclock.Clock
	user     *browser // Choir's group user
	accounts []*bookings.Account
	dbPath   string
}

func newBookingFixture(t *testing.T) *bookingFixture {
	t.Helper()
	bf := &bookingFixture{meeting: fakeclock.New(groupEpoch)}
	bf.groupFixture = newGroupFixture(t, func(cfg *Config) {
		db := cfg.Rooms.(*store.DB)
		cfg.Bookings = BookingConfig{Store: db, Clock: bf.meeting}
		key, err := db.SigningKey()
		if err != nil {
			t.Fatal(err)
		}
		cfg.Guests.Key = key // the calendar feeds' key
	})
	// The fixture's database is in one of the test's temporary directories.
	paths, _ := filepath.Glob(filepath.Join(filepath.Dir(t.TempDir()), "*", "parley.db"))
	if len(paths) != 1 {
		t.Fatalf("database files %q", paths)
	}
	bf.dbPath = paths[0]
	var err error
	if bf.accounts, err = bf.db.EnsureAccounts(context.Background(), 2, groupEpoch); err != nil {
		t.Fatal(err)
	}
	bf.activeGroup(t)
	bf.user = bf.groupUser(t, "Choir", "2468")
	return bf
}

func (bf *bookingFixture) groupUser(t *testing.T, name, pin string) *browser {
	t.Helper()
	b := bf.browser(t)
	b.call("POST", "/api/v1/group/login", map[string]string{"groupName": name, "pin": pin}).want(t, 200, "")
	return b
}

// op calls the API as the operator (bearer token).
func (bf *bookingFixture) op(t *testing.T, method, path string, body any) reply {
	t.Helper()
	req := bf.request(method, path, body)
	req.Header.Set("Authorization", "Bearer "+opToken)
	return do(t, http.DefaultClient, req)
}

// bcall is browser.call for the booking routes, whose replies tests
// read whole (a 409 booking-conflict's conflicts and alternatives).
func (bf *bookingFixture) bcall(t *testing.T, b *browser, method, path string, body any) reply {
	t.Helper()
	return do(t, b.c, bf.request(method, path, body))
}

// request is a request to the fixture's server with body, if any, as JSON.
func (bf *bookingFixture) request(method, path string, body any) *http.Request {
	var rd io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		rd = bytes.NewReader(data)
	}
	req, _ := http.NewRequest(method, bf.srv.URL+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

func do(t *testing.T, c *http.Client, req *http.Request) reply {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	rep := reply{status: resp.StatusCode, body: data, hdr: resp.Header}
	if resp.StatusCode >= 400 {
		var eb ErrorBody
		if err := json.Unmarshal(data, &eb); err != nil || eb.Error.Code == "" {
			t.Fatalf("%s %s: error body %q", req.Method, req.URL.Path, data)
		}
		rep.code, rep.msg, rep.fields = eb.Error.Code, eb.Error.Message, eb.Error.Fields
	}
	return rep
}

// twiceMonthly is a request for the 1st and 3rd Tuesday, 19:00-20:30,
// ten meetings from Tue 1 Dec 2026, on account.
func twiceMonthly(account string) map[string]any {
	return map[string]any{
		"leaderName": "Ada Lovelace", "leaderEmail": "ada@example.org", "account": account,
		"firstDate": "2026-12-01", "startTime": "19:00", "durationMinutes": 90,
		"recurrence": map[string]any{"frequency": "twice-monthly", "weekday": "tuesday", "nth": []int{1, 3}, "count": 10},
	}
}

// book POSTs req as user and returns the reply.
func (bf *bookingFixture) book(t *testing.T, user *browser, req map[string]any) reply {
	t.Helper()
	return bf.bcall(t, user, "POST", "/api/v1/group/bookings", req)
}

// booked is the booking a 201 reply carries.
func booked(t *testing.T, r reply) SeriesView {
	t.Helper()
	return bookingIn(t, r, 201)
}

// seriesOf is the booking a 200 reply carries.
func seriesOf(t *testing.T, r reply) SeriesView {
	t.Helper()
	return bookingIn(t, r, 200)
}

func bookingIn(t *testing.T, r reply, status int) SeriesView {
	t.Helper()
	r.want(t, status, "")
	var out struct{ Booking SeriesView }
	r.decode(t, &out)
	return out.Booking
}

func conflictOf(t *testing.T, r reply) ConflictBody {
	t.Helper()
	if r.status != 409 {
		t.Fatalf("got %d %s; want 409 booking-conflict", r.status, r.body)
	}
	var c ConflictBody
	r.decode(t, &c)
	if c.Error.Code != "booking-conflict" || c.Error.Message == "" {
		t.Fatalf("conflict body %s", r.body)
	}
	return c
}

var (
	meetingLink = regexp.MustCompile(`https://meet\.example\.org/m/([A-Za-z0-9_-]{22})\b`)
	hostKeyRE   = regexp.MustCompile(`Your host key \(for you alone\):\n\n  (\d+)\n`)
)

// TestBookingApproved: a twice-monthly series is requested (201, mail
// booking-requested), approved by the operator (mail with the link and
// an 8-digit host key), the stored hash verifies the key, and the key is
// in the database file only inside that mail.
func TestBookingApproved(t *testing.T) {
	bf := newBookingFixture(t)
	var list GroupBookingsResponse
	r := bf.user.call("GET", "/api/v1/group/bookings", nil)
	r.want(t, 200, "")
	r.decode(t, &list)
	if len(list.Bookings) != 0 || len(list.Accounts) != 2 || list.TimeZone != "Europe/London" || list.MaxDurationMinutes != 240 ||
		!strings.HasPrefix(list.CalendarURL, "https://meet.example.org/cal/group/"+bf.group(t).ID+"/") {
		t.Fatalf("empty list: %s", r.body)
	}

	v := booked(t, bf.book(t, bf.user, twiceMonthly(bf.accounts[0].ID)))
	if v.State != bookings.Requested || v.Link != "" || v.Group.Name != "Choir" || v.Account.Name != "Meeting account 1" || len(v.Occurrences) != 10 {
		t.Fatalf("requested: %+v", v)
	}
	if o := v.Occurrences[0]; o.Start.Format(time.RFC3339) != "2026-12-01T19:00:00Z" || o.OpensAt.Format("15:04") != "18:45" || o.ClosesAt.Format("15:04") != "20:45" || o.State != "scheduled" {
		t.Errorf("first occurrence: %+v", o)
	}
	if o := v.Occurrences[1]; o.Start.Format(time.RFC3339) != "2026-12-15T19:00:00Z" {
		t.Errorf("second occurrence: %+v", o)
	}
	if !strings.Contains(string(bf.book(t, bf.user, twiceMonthly(bf.accounts[0].ID)).body), "booking-conflict") {
		t.Error("a requested series does not hold its slots")
	}
	feed, err := http.Get(bf.srv.URL + strings.TrimPrefix(list.CalendarURL, "https://meet.example.org"))
	if err != nil {
		t.Fatal(err)
	}
	ics, _ := io.ReadAll(feed.Body)
	feed.Body.Close()
	if feed.StatusCode != 200 || !strings.Contains(string(ics), "BEGIN:VEVENT") {
		t.Errorf("the group's calendarUrl: %d %s", feed.StatusCode, ics)
	}
	req := bf.mails(t, "ada@example.org", "booking-requested")
	if len(req) != 1 || !strings.Contains(req[0].Text, "Tue 1 Dec 2026, 19:00-20:30") || !strings.Contains(req[0].Text, "UK time") {
		t.Fatalf("booking-requested mail: %+v", req)
	}

	a := seriesOf(t, bf.op(t, "POST", "/api/v1/coordinator/bookings/"+v.ID+"/approve", nil))
	if a.State != bookings.Approved || !strings.HasPrefix(a.Link, "https://meet.example.org/m/") {
		t.Fatalf("approved: %+v", a)
	}
	ms := bf.mails(t, "ada@example.org", "booking-confirmed")
	if len(ms) != 1 {
		t.Fatalf("%d booking-confirmed mails", len(ms))
	}
	text := ms[0].Text
	link, key := meetingLink.FindStringSubmatch(text), hostKeyRE.FindStringSubmatch(text)
	if link == nil || key == nil || len(key[1]) != bookings.HostKeyDigits || link[0] != a.Link {
		t.Fatalf("no link %s and 8-digit host key in:\n%s", a.Link, text)
	}
	for _, words := range []string{"members may\njoin up to 15 minutes before the start", "closes 15 minutes\nafter its end", "Don't share\nthe host key unless someone else is running your meeting",
		"Tue 1 Dec 2026, 19:00-20:30", "(UK time)", "Tue 16 Mar 2027", "Tue 6 Apr 2027", "Hello Ada Lovelace"} {
		if !strings.Contains(text, words) {
			t.Errorf("confirmation lacks %q:\n%s", words, text)
		}
	}
	s, err := bf.db.Series(context.Background(), v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Links) != 1 || s.Links[0].Token != link[1] || s.Links[0].First != 0 {
		t.Fatalf("stored links: %+v", s.Links)
	}
	if ok, err := auth.VerifySecret(s.Links[0].HostKeyHash, key[1]); !ok || err != nil {
		t.Errorf("the stored hash does not verify the mailed key: %v %v", ok, err)
	}
	if ok, _ := auth.VerifySecret(s.Links[0].HostKeyHash, "00000000"); ok && key[1] != "00000000" {
		t.Error("the stored hash verifies another key")
	}
	keyOnlyInMail(t, bf.dbPath, key[1])
	bf.op(t, "POST", "/api/v1/coordinator/bookings/"+v.ID+"/approve", nil).want(t, 409, "not-requested")
}

// keyOnlyInMail scans the bbolt file's bytes: every copy of key (live or
// on a freed page) is inside a mail's text (JSON-escaped), none
// elsewhere.
func keyOnlyInMail(t *testing.T, path, key string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	inMail := []byte(`Your host key (for you alone):\n\n  ` + key)
	found := 0
	for i := 0; ; {
		j := bytes.Index(data[i:], []byte(key))
		if j < 0 {
			break
		}
		at := i + j
		if at < len(inMail)-len(key) || !bytes.Equal(data[at-(len(inMail)-len(key)):at+len(key)], inMail) {
			t.Errorf("the host key is in the database outside the mail, at byte %d: %q", at, data[max(at-80, 0):min(at+40, len(data))])
		}
		found++
		i = at + len(key)
	}
	if found == 0 {
		t.Error("the host key is not even in the queued mail")
	}
}

// TestBookingConflict: a request coming within 30 minutes of a booking on
// the account is refused, naming each conflicting occurrence, with
// alternatives that really fit; exactly 30 minutes apart is fine.
func TestBookingConflict(t *testing.T) {
	bf := newBookingFixture(t)
	first := booked(t, bf.book(t, bf.user, twiceMonthly(bf.accounts[0].ID)))

	req := twiceMonthly(bf.accounts[0].ID)
	req["startTime"] = "17:01" // ends 18:31: 29 minutes before 19:00
	c := conflictOf(t, bf.book(t, bf.user, req))
	if len(c.Conflicts) != 10 {
		t.Fatalf("%d conflicts, want each of the 10: %+v", len(c.Conflicts), c.Conflicts)
	}
	for i, x := range c.Conflicts {
		if x.Index != i || x.With.Group != "Choir" || x.Account.Name != "Meeting account 1" || !x.With.Start.Equal(first.Occurrences[i].Start) {
			t.Errorf("conflict %d: %+v", i, x)
		}
	}
	if !strings.Contains(c.Error.Message, "Tue 1 Dec 2026, 17:01-18:31") || !strings.Contains(c.Error.Message, "Tue 15 Dec 2026, 17:01-18:31") {
		t.Errorf("the message does not name the meetings: %s", c.Error.Message)
	}
	if len(c.Alternatives) == 0 || c.Alternatives[0].Account.Name != "Meeting account 2" || c.Alternatives[0].StartTime != "17:01" {
		t.Fatalf("alternatives: %+v", c.Alternatives)
	}
	bf.bcall(t, bf.user, "POST", "/api/v1/group/bookings/check", req).want(t, 409, "booking-conflict")

	// 30 minutes apart: it fits (check, then book).
	req["startTime"] = "17:00" // ends 18:30
	r := bf.bcall(t, bf.user, "POST", "/api/v1/group/bookings/check", req)
	r.want(t, 200, "")
	var chk CheckResponse
	r.decode(t, &chk)
	if chk.Account.ID != bf.accounts[0].ID || len(chk.Occurrences) != 10 || chk.Summary == "" {
		t.Errorf("check: %s", r.body)
	}
	booked(t, bf.book(t, bf.user, req))

	// Every alternative proposed for a conflicting request can be booked.
	req = twiceMonthly(bf.accounts[0].ID)
	req["startTime"] = "20:30"
	c = conflictOf(t, bf.book(t, bf.user, req))
	if len(c.Alternatives) < 2 {
		t.Fatalf("alternatives: %+v", c.Alternatives)
	}
	for _, alt := range c.Alternatives {
		try := twiceMonthly(alt.Account.ID)
		try["firstDate"], try["startTime"] = alt.FirstDate, alt.StartTime
		if r := bf.bcall(t, bf.user, "POST", "/api/v1/group/bookings/check", try); r.status != 200 {
			t.Errorf("alternative %+v does not fit: %s", alt, r.body)
		}
	}
	alt := c.Alternatives[0]
	try := twiceMonthly(alt.Account.ID)
	try["firstDate"], try["startTime"] = alt.FirstDate, alt.StartTime
	if got := booked(t, bf.book(t, bf.user, try)); got.Account.ID != alt.Account.ID {
		t.Errorf("booked the alternative on %+v", got.Account)
	}
}

// TestBookingAnyAccount: "any" takes the first account free, then the
// next; with both taken, the conflicts on each.
func TestBookingAnyAccount(t *testing.T) {
	bf := newBookingFixture(t)
	req := twiceMonthly("any")
	one, two := booked(t, bf.book(t, bf.user, req)), booked(t, bf.book(t, bf.user, req))
	if one.Account.ID != bf.accounts[0].ID || two.Account.ID != bf.accounts[1].ID {
		t.Fatalf("any: %s then %s", one.Account.Name, two.Account.Name)
	}
	c := conflictOf(t, bf.book(t, bf.user, req))
	if len(c.Conflicts) != 20 {
		t.Errorf("%d conflicts on the two accounts, want 20", len(c.Conflicts))
	}
	conflictOf(t, bf.bcall(t, bf.user, "POST", "/api/v1/group/bookings/check", req))
}

// TestBookingRace: two requests for one slot at once: exactly one wins.
func TestBookingRace(t *testing.T) {
	bf := newBookingFixture(t)
	other := bf.groupUser(t, "Choir", "2468")
	var wg sync.WaitGroup
	replies := make([]reply, 2)
	for i, u := range []*browser{bf.user, other} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			replies[i] = bf.book(t, u, twiceMonthly(bf.accounts[0].ID))
		}()
	}
	wg.Wait()
	won := 0
	for _, r := range replies {
		switch r.status {
		case 201:
			won++
		case 409:
		default:
			t.Errorf("reply %d %s", r.status, r.body)
		}
	}
	if won != 1 {
		t.Fatalf("%d of two racing requests won, want exactly 1", won)
	}
	ss, _ := bf.db.SeriesList(context.Background(), bookings.Filter{})
	if len(ss) != 1 || len(bf.mails(t, "ada@example.org", "booking-requested")) != 1 {
		t.Errorf("%d series stored", len(ss))
	}
}

// TestBookingAutoApprove: with auto-approve on, a request that fits is
// approved at once and the leader gets the link and key, no "requested".
func TestBookingAutoApprove(t *testing.T) {
	bf := newBookingFixture(t)
	r := bf.op(t, "PUT", "/api/v1/coordinator/settings", map[string]bool{"autoApprove": true})
	r.want(t, 200, "")
	bf.op(t, "PUT", "/api/v1/coordinator/settings", map[string]string{}).want(t, 422, "invalid")
	v := booked(t, bf.book(t, bf.user, twiceMonthly("any")))
	if v.State != bookings.Approved || v.Link == "" {
		t.Fatalf("auto-approved: %+v", v)
	}
	ms := bf.mails(t, "ada@example.org", "booking-confirmed")
	if len(ms) != 1 || hostKeyRE.FindStringSubmatch(ms[0].Text) == nil || !strings.Contains(ms[0].Text, v.Link) {
		t.Fatalf("confirmation: %+v", ms)
	}
	if n := len(bf.mails(t, "ada@example.org", "booking-requested")); n != 0 {
		t.Errorf("%d booking-requested mails", n)
	}
	var list CoordinatorBookings
	r = bf.op(t, "GET", "/api/v1/coordinator/bookings?state=approved", nil)
	r.want(t, 200, "")
	r.decode(t, &list)
	if len(list.Bookings) != 1 || !list.Settings.AutoApprove || len(list.Accounts) != 2 {
		t.Errorf("coordinator list: %s", r.body)
	}
	bf.op(t, "GET", "/api/v1/coordinator/bookings?state=maybe", nil).want(t, 400, "bad-request")
}

// TestBookingChanges: decline, cancel, and one occurrence cancelled and
// moved (into a conflict: 409), each mailed to the leader.
func TestBookingChanges(t *testing.T) {
	bf := newBookingFixture(t)
	acct := bf.accounts[0].ID
	d := booked(t, bf.book(t, bf.user, twiceMonthly(acct)))
	r := bf.op(t, "POST", "/api/v1/coordinator/bookings/"+d.ID+"/decline", map[string]string{"reason": "The hall is closed  that month."})
	if v := seriesOf(t, r); v.State != bookings.Declined || v.Reason != "The hall is closed that month." {
		t.Fatalf("declined: %+v", v)
	}
	if ms := bf.mails(t, "ada@example.org", "booking-declined"); len(ms) != 1 || !strings.Contains(ms[0].Text, "The hall is closed that month.") {
		t.Errorf("declined mail: %+v", ms)
	}
	bf.op(t, "POST", "/api/v1/coordinator/bookings/"+d.ID+"/cancel", nil).want(t, 409, "not-live")

	// Its slots are free again.
	s := booked(t, bf.book(t, bf.user, twiceMonthly(acct)))
	seriesOf(t, bf.op(t, "POST", "/api/v1/coordinator/bookings/"+s.ID+"/approve", nil))
	path := "/api/v1/coordinator/bookings/" + s.ID + "/occurrences/"
	v := seriesOf(t, bf.op(t, "POST", path+"2/cancel", map[string]string{"reason": "Christmas"}))
	if v.Occurrences[2].State != "cancelled" {
		t.Errorf("occurrence 2: %+v", v.Occurrences[2])
	}
	if ms := bf.mails(t, "ada@example.org", "occurrence-cancelled"); len(ms) != 1 || !strings.Contains(ms[0].Text, "Tue 5 Jan 2027, 19:00-20:30") || !strings.Contains(ms[0].Text, "Christmas") {
		t.Errorf("occurrence-cancelled mail: %+v", ms)
	}
	bf.op(t, "POST", path+"2/cancel", nil).want(t, 409, "cannot-change")
	bf.op(t, "POST", path+"99/cancel", nil).want(t, 409, "cannot-change")
	bf.op(t, "POST", path+"x/cancel", nil).want(t, 404, "occurrence-not-found")

	v = seriesOf(t, bf.op(t, "POST", path+"1/move", MoveRequest{Date: "2026-12-16", StartTime: "18:00"}))
	if o := v.Occurrences[1]; o.State != "moved" || o.Start.Format(time.RFC3339) != "2026-12-16T18:00:00Z" || o.End.Format("15:04") != "19:30" {
		t.Errorf("moved: %+v", o)
	}
	if ms := bf.mails(t, "ada@example.org", "occurrence-moved"); len(ms) != 1 || !strings.Contains(ms[0].Text, "Tue 15 Dec 2026, 19:00-20:30") || !strings.Contains(ms[0].Text, "Wed 16 Dec 2026, 18:00-19:30") {
		t.Errorf("occurrence-moved mail: %+v", ms)
	}
	// Another group's meeting on Thu 17 Dec; moving onto it is refused.
	other := twiceMonthly(acct)
	other["firstDate"], other["recurrence"] = "2026-12-17", map[string]any{"frequency": "once"}
	booked(t, bf.book(t, bf.user, other))
	c := conflictOf(t, bf.op(t, "POST", path+"1/move", MoveRequest{Date: "2026-12-17", StartTime: "20:00"}))
	if len(c.Conflicts) != 1 || c.Conflicts[0].Index != 1 || len(c.Alternatives) == 0 {
		t.Fatalf("move conflict: %+v", c)
	}
	alt := c.Alternatives[0] // the nearest free time that day: the move to it goes through
	if alt.FirstDate != "2026-12-17" {
		t.Errorf("a move's alternative on another day: %+v", alt)
	}
	v = seriesOf(t, bf.op(t, "POST", path+"1/move", MoveRequest{Date: alt.FirstDate, StartTime: alt.StartTime}))
	if got := v.Occurrences[1].Start.Format("2006-01-02 15:04"); got != alt.FirstDate+" "+alt.StartTime {
		t.Errorf("moved to the alternative: %s, want %s %s", got, alt.FirstDate, alt.StartTime)
	}
	bf.op(t, "POST", path+"1/move", MoveRequest{Date: "17/12/2026", StartTime: "8pm"}).want(t, 422, "invalid")

	v = seriesOf(t, bf.user.call("POST", "/api/v1/group/bookings/"+s.ID+"/cancel", nil))
	if v.State != bookings.Cancelled || v.Link != "" {
		t.Errorf("withdrawn: %+v", v)
	}
	if ms := bf.mails(t, "ada@example.org", "booking-cancelled"); len(ms) != 1 || !strings.Contains(ms[0].Text, "Your group has withdrawn the booking") {
		t.Errorf("cancelled mail: %+v", ms)
	}
}

// TestBookingAccess: a group user sees and touches only its group's
// series; the coordinator's routes want the operator or a coordinator.
func TestBookingAccess(t *testing.T) {
	bf := newBookingFixture(t)
	s := booked(t, bf.book(t, bf.user, twiceMonthly(bf.accounts[0].ID)))

	su := goodSignUp()
	su["groupName"], su["adminEmail"], su["members"], su["pin"] = "Band", "bea@example.org", []string{"carl@example.org"}, "1357"
	tok := bf.signUp(t, su)
	bf.browser(t).call("POST", "/api/v1/activate", map[string]string{"token": tok}).want(t, 200, "")
	band := bf.groupUser(t, "Band", "1357")
	var list GroupBookingsResponse
	r := band.call("GET", "/api/v1/group/bookings", nil)
	r.decode(t, &list)
	if len(list.Bookings) != 0 {
		t.Errorf("Band sees Choir's bookings: %s", r.body)
	}
	band.call("POST", "/api/v1/group/bookings/"+s.ID+"/cancel", nil).want(t, 404, "booking-not-found")
	if x, _ := bf.db.Series(context.Background(), s.ID); x.State != bookings.Requested {
		t.Errorf("Band cancelled Choir's booking: %s", x.State)
	}
	bf.browser(t).call("GET", "/api/v1/group/bookings", nil).want(t, 401, "unauthorized")

	admin := bf.adminBrowser(t, "hunter2")
	admin.call("GET", "/api/v1/coordinator/me", nil).want(t, 403, "not-coordinator")
	admin.call("POST", "/api/v1/coordinator/bookings/"+s.ID+"/approve", nil).want(t, 403, "not-coordinator")
	bf.browser(t).call("GET", "/api/v1/coordinator/bookings", nil).want(t, 401, "unauthorized")
	bf.user.call("GET", "/api/v1/coordinator/bookings", nil).want(t, 401, "unauthorized")

	bf.op(t, "PUT", "/api/v1/coordinators/choir", nil).want(t, 200, "")
	var me CoordinatorMe
	r = admin.call("GET", "/api/v1/coordinator/me", nil)
	r.want(t, 200, "")
	r.decode(t, &me)
	if me.Name != "Ada Lovelace" || me.Group != "Choir" {
		t.Errorf("me: %+v", me)
	}
	cross, _ := http.NewRequest("POST", bf.srv.URL+"/api/v1/coordinator/bookings/"+s.ID+"/approve", nil)
	cross.Header.Set("Sec-Fetch-Site", "cross-site")
	do(t, admin.c, cross).want(t, 403, "cross-origin")
	if v := seriesOf(t, admin.call("POST", "/api/v1/coordinator/bookings/"+s.ID+"/approve", nil)); v.State != bookings.Approved {
		t.Errorf("approved by the coordinator: %+v", v)
	}
	var cs struct{ Coordinators []NamedRef }
	bf.op(t, "GET", "/api/v1/coordinators", nil).decode(t, &cs)
	if len(cs.Coordinators) != 1 || cs.Coordinators[0].Name != "Choir" {
		t.Errorf("coordinators: %+v", cs)
	}
	bf.op(t, "DELETE", "/api/v1/coordinators/Choir", nil).want(t, 200, "")
	admin.call("GET", "/api/v1/coordinator/bookings", nil).want(t, 403, "not-coordinator")
	bf.op(t, "PUT", "/api/v1/coordinators/nope", nil).want(t, 404, "group-not-found")

	req, _ := http.NewRequest("GET", bf.srv.URL+"/api/v1/coordinator/bookings", nil)
	req.Header.Set("Authorization", "Bearer wrong")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("a wrong operator token: %d", resp.StatusCode)
	}
}

// TestBookingValidation: 422 with each field's problem in plain words.
func TestBookingValidation(t *testing.T) {
	bf := newBookingFixture(t)
	for _, tc := range []struct {
		edit  func(map[string]any)
		field string
	}{
		{func(r map[string]any) { r["account"] = "a_nosuchaccountnosuchaccou" }, "account"},
		{func(r map[string]any) { r["firstDate"] = "1 Dec" }, "firstDate"},
		{func(r map[string]any) { r["durationMinutes"] = 241 }, "durationMinutes"},
		{func(r map[string]any) { r["leaderEmail"] = "ada" }, "leaderEmail"},
		{func(r map[string]any) { r["startTime"] = "7pm" }, "startTime"},
	} {
		req := twiceMonthly(bf.accounts[0].ID)
		tc.edit(req)
		for _, path := range []string{"/api/v1/group/bookings/check", "/api/v1/group/bookings"} {
			r := bf.user.call("POST", path, req)
			r.want(t, 422, "invalid")
			if r.fields[tc.field] == "" {
				t.Errorf("%s: no words for %s in %s", path, tc.field, r.body)
			}
		}
	}
	r := bf.user.call("POST", "/api/v1/group/bookings", map[string]any{"leaderName": "Ada", "colour": "red"})
	r.want(t, 400, "bad-request")
	if ss, _ := bf.db.SeriesList(context.Background(), bookings.Filter{}); len(ss) != 0 {
		t.Errorf("%d series stored", len(ss))
	}
}

// TestBookingGap30: the gap rule's edges through the API, on each
// pattern: meetings exactly 30 minutes apart (before and after) are
// accepted, 29 minutes apart refused.
func TestBookingGap30(t *testing.T) {
	bf := newBookingFixture(t)
	patterns := []map[string]any{
		{"frequency": "once"},
		{"frequency": "weekly", "weekday": "tuesday", "count": 6},
		{"frequency": "monthly", "weekday": "tuesday", "nth": []int{-1}, "count": 4},
		{"frequency": "twice-monthly", "weekday": "tuesday", "nth": []int{1, 3}, "count": 4},
	}
	at := func(p map[string]any, start string, minutes int) map[string]any {
		r := twiceMonthly(bf.accounts[0].ID)
		r["firstDate"], r["recurrence"], r["startTime"], r["durationMinutes"] = "2026-12-08", p, start, minutes
		return r
	}
	for i, p := range patterns {
		h := 9 + 4*i                                                               // each pattern on its own hours of the day
		booked(t, bf.book(t, bf.user, at(p, fmt.Sprintf("%02d:00", h+1), 60)))     // h+1:00-h+2:00
		conflictOf(t, bf.book(t, bf.user, at(p, fmt.Sprintf("%02d:01", h), 30)))   // ends h:31, 29 minutes before
		booked(t, bf.book(t, bf.user, at(p, fmt.Sprintf("%02d:01", h), 29)))       // ends h:30, 30 minutes before
		conflictOf(t, bf.book(t, bf.user, at(p, fmt.Sprintf("%02d:29", h+2), 15))) // starts 29 minutes after
		booked(t, bf.book(t, bf.user, at(p, fmt.Sprintf("%02d:30", h+2), 15)))     // starts 30 minutes after
	}
}

func TestBookingRoutesOff(t *testing.T) {
	f := newGroupFixture(t)
	f.browser(t).call("GET", "/api/v1/group/bookings", nil).want(t, 404, "not-found")
	resp, _ := f.do(t, "GET", "/api/v1/coordinator/bookings", "", map[string]string{"Authorization": "Bearer " + opToken})
	if resp.StatusCode != 404 {
		t.Errorf("coordinator routes without a booking store: %d", resp.StatusCode)
	}
}

// TestBookingNoAccounts: with every account removed, "any" is refused in
// plain words, check and booking alike.
func TestBookingNoAccounts(t *testing.T) {
	bf := newBookingFixture(t)
	for _, a := range bf.accounts {
		bf.op(t, "DELETE", "/api/v1/accounts/"+a.ID, nil).want(t, 204, "")
	}
	bf.bcall(t, bf.user, "POST", "/api/v1/group/bookings/check", twiceMonthly("any")).want(t, 409, "no-accounts")
	bf.book(t, bf.user, twiceMonthly("any")).want(t, 409, "no-accounts")
	r := bf.book(t, bf.user, twiceMonthly(bf.accounts[0].ID))
	r.want(t, 422, "invalid")
	if r.fields["account"] == "" {
		t.Errorf("no words for the removed account: %s", r.body)
	}
}

// TestAccountRoutes: the operator's meeting accounts, with the errors of
// a taken name, a bad one, an unknown ID and an account in use.
func TestAccountRoutes(t *testing.T) {
	bf := newBookingFixture(t)
	r := bf.op(t, "POST", "/api/v1/accounts", AccountRequest{Name: "  Evening Zoom "})
	r.want(t, 201, "")
	var a NamedRef
	r.decode(t, &a)
	if a.Name != "Evening Zoom" || !strings.HasPrefix(a.ID, "a_") {
		t.Fatalf("created %+v", a)
	}
	bf.op(t, "POST", "/api/v1/accounts", AccountRequest{Name: "evening zoom"}).want(t, 409, "account-exists")
	if r := bf.op(t, "POST", "/api/v1/accounts", AccountRequest{Name: " "}); r.status != 422 || r.fields["name"] == "" {
		t.Errorf("a blank name: %s", r.body)
	}
	bf.op(t, "PUT", "/api/v1/accounts/"+a.ID, AccountRequest{Name: "Zoom 3"}).want(t, 200, "")
	bf.op(t, "PUT", "/api/v1/accounts/a_nosuch", AccountRequest{Name: "Zoom 4"}).want(t, 404, "account-not-found")
	bf.op(t, "PUT", "/api/v1/accounts/"+a.ID, AccountRequest{Name: "Meeting account 1"}).want(t, 409, "account-exists")
	var list struct{ Accounts []NamedRef }
	bf.op(t, "GET", "/api/v1/accounts", nil).decode(t, &list)
	if len(list.Accounts) != 3 {
		t.Errorf("accounts: %+v", list.Accounts)
	}
	booked(t, bf.book(t, bf.user, twiceMonthly(a.ID)))
	bf.op(t, "DELETE", "/api/v1/accounts/"+a.ID, nil).want(t, 409, "account-in-use")
	bf.op(t, "DELETE", "/api/v1/accounts/a_nosuch", nil).want(t, 404, "account-not-found")
	bf.user.call("GET", "/api/v1/accounts", nil).want(t, 401, "unauthorized")
}
