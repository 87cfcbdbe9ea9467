package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parley-dev/parley/auth"
	"github.com/parley-dev/parley/bookings"
	"github.com/parley-dev/parley/livecall/fakeclock"
	"github.com/parley-dev/parley/rooms"
)

// meetingFixture is an api.Server with bookings on a fake clock, and an
// approved weekly series (Tuesdays 19:00-20:30 UK time from 1 Dec 2026, 8
// meetings, a link every 6) with its two links.
type meetingFixture struct {
	*fixture
	clock  *fakeclock.Clock
	series *bookings.Series
	links  []string // the tokens: links[0] admits to 0-5, links[1] to 6-7
}

func newMeetingFixture(t *testing.T) *meetingFixture {
	t.Helper()
	clk := fakeclock.New(time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC))
	f := &meetingFixture{clock: clk}
	f.fixture = newFixture(t, func(c *Config) {
		c.JoinBurst = 3
		c.Bookings = BookingConfig{Store: c.Rooms.(rooms.BookingStore), Clock: clk}
	})
	f.series, f.links = bookWeekly(t, f.db, clk.Now(), 8, 6)
	return f
}

// bookWeekly books and approves a weekly series on store, with links
// for each block of linkEvery meetings, and returns it and their tokens.
func bookWeekly(t *testing.T, store rooms.BookingStore, now time.Time, count, linkEvery int) (*bookings.Series, []string) {
	t.Helper()
	ctx := context.Background()
	if _, err := store.EnsureAccounts(ctx, 1, now); err != nil {
		t.Fatal(err)
	}
	s, errs := bookings.NewSeries(bookings.Request{LeaderName: "Lee Leader", LeaderEmail: "lee@example.org", Account: "any",
		Title: "Choir practice", FirstDate: "2026-12-01", StartTime: "19:00", DurationMinutes: 90,
		Recurrence: bookings.Recurrence{Frequency: bookings.Weekly, Count: count}}, "g_1", "Choir", bookings.Limits{LinkEvery: linkEvery}, now)
	if errs != nil {
		t.Fatalf("new series: %v", errs)
	}
	if err := store.Book(ctx, s, nil); err != nil {
		t.Fatal(err)
	}
	hash, err := auth.HashSecret("12345678")
	if err != nil {
		t.Fatal(err)
	}
	var tokens []string
	s, err = store.UpdateSeries(ctx, s.ID, func(s *bookings.Series) ([]*rooms.Mail, error) {
		for first := 0; first < count; first += linkEvery {
			l := bookings.Link{First: first, Token: bookings.NewLinkToken(), HostKeyHash: hash, CreatedAt: now}
			tokens = append(tokens, l.Token)
			if first == 0 {
				s.Approve(now, l)
			} else {
				s.AddLink(l)
			}
		}
		return nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return s, tokens
}

func (f *meetingFixture) info(t *testing.T, token string) (int, MeetingInfo, []byte) {
	t.Helper()
	resp, data := f.do(t, "GET", "/api/v1/meetings/"+token, "", nil)
	var info MeetingInfo
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(data, &info); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode, info, data
}

func (f *meetingFixture) join(t *testing.T, token, name string) (*http.Response, []byte) {
	t.Helper()
	body, _ := json.Marshal(MeetingJoinRequest{Name: name})
	return f.do(t, "POST", "/api/v1/meetings/"+token+"/join", string(body), nil)
}

// Before the window the link's page waits, with the occurrence and the
// next; a join 20 minutes early is refused with opensAt; 15 minutes early
// it gives a member's join token for the series' call.
func TestMeetingLinkWindow(t *testing.T) {
	f := newMeetingFixture(t)
	status, info, data := f.info(t, f.links[0])
	if status != 200 || info.State != "waiting" || info.Title != "Choir practice" || info.Group != "Choir" || info.Account != "Meeting account 1" ||
		info.TimeZone != "Europe/London" || info.Occurrence == nil || info.Occurrence.Index != 0 ||
		info.Occurrence.Start != "2026-12-01T19:00:00Z" || info.Occurrence.OpensAt != "2026-12-01T18:45:00Z" ||
		info.Occurrence.ClosesAt != "2026-12-01T20:45:00Z" || info.Next == nil || info.Next.Index != 1 || info.Now != "2026-11-30T12:00:00Z" {
		t.Fatalf("GET: %d %s", status, data)
	}
	f.clock.Advance(30*time.Hour + 40*time.Minute) // 1 Dec 18:40
	resp, data := f.join(t, f.links[0], "Ann")
	var refused MeetingNotOpenBody
	json.Unmarshal(data, &refused)
	if resp.StatusCode != http.StatusForbidden || refused.Error.Code != "meeting-not-open" || refused.Error.OpensAt != "2026-12-01T18:45:00Z" ||
		!strings.Contains(refused.Error.Message, "18:45 on Tue 1 Dec 2026 (UK time)") || refused.Meeting.State != "waiting" {
		t.Fatalf("join at 18:40: %d %s", resp.StatusCode, data)
	}
	f.clock.Advance(5 * time.Minute)
	if status, info, data := f.info(t, f.links[0]); status != 200 || info.State != "open" || info.Occurrence.Index != 0 {
		t.Fatalf("GET at 18:45: %d %s", status, data)
	}
	resp, data = f.join(t, f.links[0], "  Ann  Other ")
	var jr JoinResponse
	json.Unmarshal(data, &jr)
	if resp.StatusCode != 200 || jr.Room.ID != f.series.ID || jr.Room.Name != "Choir practice" || jr.Name != "Ann Other" || jr.WSPath != "/ws" {
		t.Fatalf("join at 18:45: %d %s", resp.StatusCode, data)
	}
	claims, err := f.tokens.VerifyJoin(jr.Token)
	if err != nil || claims.RoomID != f.series.ID || claims.Role != "member" {
		t.Fatalf("join token %+v, %v", claims, err)
	}
	if resp, data := f.join(t, f.links[0], ""); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(data), `"name"`) {
		t.Errorf("join without a name: %d %s", resp.StatusCode, data)
	}
	// The grace: open until 20:45, then the next occurrence waits.
	f.clock.Advance(2*time.Hour - time.Second)
	if _, info, _ := f.info(t, f.links[0]); info.State != "open" || info.Occurrence.Index != 0 {
		t.Errorf("at 20:44:59: %+v", info)
	}
	f.clock.Advance(time.Second)
	if _, info, _ := f.info(t, f.links[0]); info.State != "waiting" || info.Occurrence.Index != 1 || info.Next.Index != 2 {
		t.Errorf("at 20:45: %+v", info)
	}
}

// A link after its last occurrence is 410 link-expired, naming the new
// link; the new link admits to the later ones; the last occurrence of a
// link has no next; cancelled occurrences are skipped; a cancelled series
// is 410 meeting-cancelled.
func TestMeetingLinkExpiredAndCancelled(t *testing.T) {
	f := newMeetingFixture(t)
	ctx := context.Background()
	if _, err := f.db.UpdateSeries(ctx, f.series.ID, func(s *bookings.Series) ([]*rooms.Mail, error) {
		return nil, s.Cancel(1, "the hall is closed")
	}); err != nil {
		t.Fatal(err)
	}
	if _, info, data := f.info(t, f.links[0]); info.Next == nil || info.Next.Index != 2 {
		t.Errorf("with 8 Dec cancelled: %s", data)
	}
	// The first link's last meeting (index 5, 5 Jan): after it closes
	// the first link has expired.
	f.clock.Advance(time.Date(2027, 1, 5, 20, 0, 0, 0, time.UTC).Sub(f.clock.Now()))
	if _, info, data := f.info(t, f.links[0]); info.State != "open" || info.Occurrence.Index != 5 || info.Next != nil {
		t.Errorf("at the first link's last meeting: %s", data)
	}
	if _, info, data := f.info(t, f.links[1]); info.State != "waiting" || info.Occurrence.Index != 6 {
		t.Errorf("the new link meanwhile: %s", data)
	}
	f.clock.Advance(45 * time.Minute)
	status, _, data := f.info(t, f.links[0])
	if status != http.StatusGone || errorCode(t, data) != "link-expired" || !strings.Contains(string(data), "new link") {
		t.Errorf("the old link after its last meeting: %d %s", status, data)
	}
	if resp, data := f.join(t, f.links[0], "Ann"); resp.StatusCode != http.StatusGone || errorCode(t, data) != "link-expired" {
		t.Errorf("join by the old link: %d %s", resp.StatusCode, data)
	}
	// After the series' last meeting the last link has expired too, with
	// no new link to speak of.
	f.clock.Advance(time.Date(2027, 1, 19, 20, 45, 0, 0, time.UTC).Sub(f.clock.Now()))
	status, _, data = f.info(t, f.links[1])
	if status != http.StatusGone || errorCode(t, data) != "link-expired" || strings.Contains(string(data), "new link") {
		t.Errorf("the last link after the last meeting: %d %s", status, data)
	}
	if _, err := f.db.UpdateSeries(ctx, f.series.ID, func(s *bookings.Series) ([]*rooms.Mail, error) {
		s.CancelSeries("the choir has disbanded")
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	if status, _, data := f.info(t, f.links[1]); status != http.StatusGone || errorCode(t, data) != "meeting-cancelled" {
		t.Errorf("a cancelled series: %d %s", status, data)
	}
}

// Tokens that match no link are misses, throttled per address like room
// links; the right link is never refused.
func TestMeetingLinkMissesThrottled(t *testing.T) {
	f := newMeetingFixture(t)
	for i := range 3 {
		if status, _, data := f.info(t, bookings.NewLinkToken()); status != http.StatusNotFound || errorCode(t, data) != "link-not-found" {
			t.Fatalf("miss %d: %d %s", i, status, data)
		}
	}
	if status, _, _ := f.info(t, bookings.NewLinkToken()); status != http.StatusTooManyRequests {
		t.Errorf("past the burst: %d, want 429", status)
	}
	if resp, _ := f.join(t, strings.Repeat("x", 100), "Ann"); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("join with a junk token past the burst: %d", resp.StatusCode)
	}
	if status, info, data := f.info(t, f.links[0]); status != 200 || info.State != "waiting" {
		t.Errorf("the right link after the misses: %d %s", status, data)
	}
}
