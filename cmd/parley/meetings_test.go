package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/parley-dev/parley/api"
	"github.com/parley-dev/parley/auth"
	"github.com/parley-dev/parley/bookings"
	"github.com/parley-dev/parley/client"
	"github.com/parley-dev/parley/livecall/fakeclock"
	"github.com/parley-dev/parley/rooms"
	"github.com/parley-dev/parley/signaling"
	"github.com/parley-dev/parley/signaling/protocol"
)

// meetingHostKey is the test series' host key.
const meetingHostKey = "24681357"

// bookMeeting stores an approved weekly series in m's store: Tuesdays
// 19:00-20:30 UK time from 1 Dec 2026, count meetings, one link (and
// host key) for them all. It returns the series and the link's token.
func bookMeeting(t *testing.T, m *Main, now time.Time, count int) (*bookings.Series, string) {
	t.Helper()
	ctx := context.Background()
	var store rooms.BookingStore = m.DB()
	if _, err := store.EnsureAccounts(ctx, 1, now); err != nil {
		t.Fatal(err)
	}
	s, errs := bookings.NewSeries(bookings.Request{LeaderName: "Lee Leader", LeaderEmail: "lee@example.org", Account: "any",
		Title: "Choir practice", FirstDate: "2026-12-01", StartTime: "19:00", DurationMinutes: 90,
		Recurrence: bookings.Recurrence{Frequency: bookings.Weekly, Count: count}}, "g_1", "Choir", bookings.Limits{LinkEvery: bookings.MaxLinkEvery}, now)
	if errs != nil {
		t.Fatalf("new series: %v", errs)
	}
	if err := store.Book(ctx, s, nil); err != nil {
		t.Fatal(err)
	}
	hash, err := auth.HashSecret(meetingHostKey)
	if err != nil {
		t.Fatal(err)
	}
	link := bookings.Link{Token: bookings.NewLinkToken(), HostKeyHash: hash, CreatedAt: now}
	s, err = store.UpdateSeries(ctx, s.ID, func(s *bookings.Series) ([]*rooms.Mail, error) {
		s.Approve(now, link)
		return nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return s, link.Token
}

// meetingJoin asks the meeting link for a join token: the status, and the
// answer (a JoinResponse) or the error body.
func meetingJoin(t *testing.T, m *Main, token, name string) (int, api.JoinResponse, []byte) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"name": name})
	resp, err := http.Post(m.LocalURL()+"/api/v1/meetings/"+token+"/join", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var jr api.JoinResponse
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(data, &jr); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode, jr, data
}

// joinMeeting joins the meeting's call as name, from client address addr
// (behind the test's trusted proxy, 127.0.0.1).
func joinMeeting(t *testing.T, ctx context.Context, m *Main, token, name, addr string) *client.Client {
	t.Helper()
	status, jr, data := meetingJoin(t, m, token, name)
	if status != http.StatusOK {
		t.Fatalf("%s: meeting join %d %s", name, status, data)
	}
	c, err := client.Join(ctx, client.Config{BaseURL: m.LocalURL(), Token: jr.Token, Name: jr.Name, PublishAudio: true,
		Header: http.Header{"X-Forwarded-For": {addr}}, Logger: testLogger()})
	if err != nil {
		t.Fatalf("%s joins: %v", name, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// claimErrors are c's errors answering claim-host.
func claimErrors(s client.State) []protocol.Error {
	var out []protocol.Error
	for _, e := range s.Errors {
		if e.Ref == protocol.TypeClaimHost {
			out = append(out, e)
		}
	}
	return out
}

// claim sends claim-host with key and waits for its answer: the error,
// or nil once c is a host.
func claim(t *testing.T, ctx context.Context, c *client.Client, key string) *protocol.Error {
	t.Helper()
	before := len(claimErrors(c.State()))
	if err := c.Send(protocol.ClaimHost{Type: protocol.TypeClaimHost, Key: key}); err != nil {
		t.Fatal(err)
	}
	var got *protocol.Error
	err := c.Wait(ctx, func(s client.State) bool {
		if es := claimErrors(s); len(es) > before {
			got = &es[before]
			return true
		}
		return s.Self.Role == protocol.RoleHost
	})
	if err != nil {
		t.Fatalf("no answer to claim-host: %v", err)
	}
	return got
}

// A booked meeting through a real server, on a fake clock: the join
// window (20 minutes early refused, 15 admitted, by the link and by the
// call), claiming host with the host key (wrong keys throttled per
// address while another address's right key works at once), the host
// ending the meeting for everyone, the deadline at the end plus 15
// minutes with warnings at 5 and 1 minute and bye meeting-over, and the
// link expired after its last meeting.
func TestBookedMeetingCall(t *testing.T) {
	clock := fakeclock.New(time.Date(2026, 12, 1, 18, 0, 0, 0, time.UTC))
	m := startServerConfig(t, Config{Signaling: signaling.Config{Clock: clock},
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	series, token := bookMeeting(t, m, clock.Now(), 2)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	// 18:40, twenty minutes early: the link refuses, and so does the call
	// (a token issued another way).
	clock.Advance(40 * time.Minute)
	status, _, data := meetingJoin(t, m, token, "Ann")
	if status != http.StatusForbidden || !strings.Contains(string(data), `"meeting-not-open"`) || !strings.Contains(string(data), `"opensAt":"2026-12-01T18:45:00Z"`) {
		t.Fatalf("link 20 minutes early: %d %s", status, data)
	}
	key, err := m.DB().SigningKey()
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := auth.NewTokens(auth.TokenConfig{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	early, _, err := tokens.IssueJoin(series.ID, "member")
	if err != nil {
		t.Fatal(err)
	}
	_, err = client.Join(ctx, client.Config{BaseURL: m.LocalURL(), Token: early, Name: "Early", Logger: testLogger()})
	if err == nil || !strings.Contains(err.Error(), "meeting-not-open") || !strings.Contains(err.Error(), "18:45 on Tue 1 Dec 2026 (UK time)") {
		t.Fatalf("call 20 minutes early: %v, want meeting-not-open at 18:45 UK time", err)
	}

	// 18:45: both in, as members; the call shows the booking and its
	// deadline, the end plus 15 minutes.
	clock.Advance(5 * time.Minute)
	ann := joinMeeting(t, ctx, m, token, "Ann", "203.0.113.1")
	lee := joinMeeting(t, ctx, m, token, "Lee", "203.0.113.2")
	wantBooking := protocol.Booking{Start: "2026-12-01T19:00:00Z", End: "2026-12-01T20:30:00Z", ClosesAt: "2026-12-01T20:45:00Z"}
	for _, c := range []*client.Client{ann, lee} {
		if err := c.Wait(ctx, func(s client.State) bool {
			return s.Call.EndsAt == wantBooking.ClosesAt && s.Call.EndReason == "meeting-over" && s.Call.HostKey &&
				s.Call.Booking != nil && *s.Call.Booking == wantBooking && s.Self.Role == protocol.RoleMember
		}); err != nil {
			t.Fatalf("call state %+v (booking %+v), self %+v", c.State().Call, c.State().Call.Booking, c.State().Self)
		}
	}

	// Guessers: Ann and four more, each from its own address, try three
	// wrong keys each within one fake minute: all checked (wrong-host-key)
	// — the first of each address is exempt from the meeting's allowance,
	// the other two spend it, 10 in all. Ann's fourth, even the right key,
	// is refused unchecked (her address's allowance); a sixth guesser's
	// second try too (the meeting's, though its address has allowance
	// left). Lee's right key, from an address that has not failed here,
	// works at once.
	guessers := []*client.Client{ann}
	for i := range 5 {
		guessers = append(guessers, joinMeeting(t, ctx, m, token, fmt.Sprintf("Guesser %d", i), fmt.Sprintf("203.0.113.%d", 10+i)))
	}
	n := 0
	for _, g := range guessers[:5] {
		for range 3 {
			n++
			if e := claim(t, ctx, g, fmt.Sprintf("%08d", n)); e == nil || e.Code != protocol.CodeWrongHostKey {
				t.Fatalf("guess %d: %+v, want wrong-host-key", n, e)
			}
		}
	}
	e := claim(t, ctx, ann, meetingHostKey)
	if e == nil || e.Code != protocol.CodeRateLimited || e.RetryAfter < 1 || e.RetryAfter > 60 {
		t.Fatalf("Ann's 4th try in a minute: %+v, want rate-limited with retryAfter", e)
	}
	sixth := guessers[5]
	if e := claim(t, ctx, sixth, "99999999"); e == nil || e.Code != protocol.CodeWrongHostKey {
		t.Fatalf("a fresh guesser's first try: %+v, want wrong-host-key (exempt)", e)
	}
	if e := claim(t, ctx, sixth, "99999998"); e == nil || e.Code != protocol.CodeRateLimited || e.RetryAfter < 1 || e.RetryAfter > 30 {
		t.Fatalf("its second, with the meeting's allowance spent: %+v, want rate-limited within 30 s", e)
	}
	if e := claim(t, ctx, lee, "not-a-key"); e == nil || e.Code != protocol.CodeWrongHostKey {
		t.Fatalf("a malformed key: %+v", e)
	}
	if e := claim(t, ctx, lee, meetingHostKey); e != nil {
		t.Fatalf("the leader's right key while others guessed: %+v", e)
	}
	for _, g := range guessers[1:] {
		g.Close()
	}
	if err := ann.Wait(ctx, func(s client.State) bool { return s.Participants[lee.ID].Role == protocol.RoleHost }); err != nil {
		t.Fatalf("Ann does not see Lee as host: %+v", ann.State().Participants[lee.ID])
	}
	if ann.State().Self.Role != protocol.RoleMember {
		t.Errorf("Ann became %s", ann.State().Self.Role)
	}
	// The host ends the meeting for everyone.
	if err := lee.Send(protocol.EndCall{Type: protocol.TypeEndCall}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*client.Client{ann, lee} {
		if err := c.Wait(ctx, func(s client.State) bool { return s.Closed }); err != nil {
			t.Fatal(err)
		}
		if b := c.State().Bye; b != protocol.ReasonEndedByHost {
			t.Errorf("bye %q, want ended-by-host", b)
		}
	}

	// They come back (a new call, still in the window); at 20:40 and
	// 20:44 they are warned, at 20:45 the call ends with meeting-over.
	clock.Advance(5 * time.Minute) // 18:50
	bob := joinMeeting(t, ctx, m, token, "Bob", "203.0.113.3")
	cat := joinMeeting(t, ctx, m, token, "Cat", "203.0.113.4")
	if err := cat.Wait(ctx, func(s client.State) bool { return s.Call.EndsAt == wantBooking.ClosesAt }); err != nil {
		t.Fatalf("the new call's state %+v", cat.State().Call)
	}
	clock.Advance(110 * time.Minute) // 20:40
	warned := func(n int) func(client.State) bool {
		return func(s client.State) bool {
			return len(s.Warnings) == n && s.Warnings[n-1].EndsAt == wantBooking.ClosesAt && s.Warnings[n-1].Reason == "meeting-over"
		}
	}
	for _, c := range []*client.Client{bob, cat} {
		if err := c.Wait(ctx, warned(1)); err != nil {
			t.Fatalf("at 20:40 warnings %+v", c.State().Warnings)
		}
	}
	clock.Advance(4 * time.Minute) // 20:44
	for _, c := range []*client.Client{bob, cat} {
		if err := c.Wait(ctx, warned(2)); err != nil {
			t.Fatalf("at 20:44 warnings %+v", c.State().Warnings)
		}
	}
	clock.Advance(time.Minute - time.Second)
	if err := bob.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	if s := bob.State(); s.Closed || s.Bye != "" {
		t.Fatalf("at 20:44:59 the call ended: %+v", s)
	}
	clock.Advance(time.Second) // 20:45
	for _, c := range []*client.Client{bob, cat} {
		if err := c.Wait(ctx, func(s client.State) bool { return s.Closed }); err != nil {
			t.Fatal(err)
		}
		if b := c.State().Bye; b != "meeting-over" {
			t.Errorf("bye %q, want meeting-over", b)
		}
	}
	if status, _, data := meetingJoin(t, m, token, "Late"); status != http.StatusForbidden || !strings.Contains(string(data), "2026-12-08T18:45:00Z") {
		t.Errorf("after the close the link waits for 8 Dec: %d %s", status, data)
	}

	// After the series' last meeting (8 Dec) the link has expired.
	clock.Advance(7 * 24 * time.Hour)
	resp, err := http.Get(m.LocalURL() + "/api/v1/meetings/" + token)
	if err != nil {
		t.Fatal(err)
	}
	data, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusGone || !strings.Contains(string(data), `"link-expired"`) {
		t.Errorf("the link after its last meeting: %d %s", resp.StatusCode, data)
	}
}

// A meeting room's call has no host key: claim-host is no-host-key.
func TestClaimHostInRoomCall(t *testing.T) {
	m := startServer(t, t.TempDir())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.Join(ctx, client.Config{BaseURL: m.LocalURL(), Link: createRoom(t, m, "Weekly"), Name: "Max", Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.State().Call.HostKey || c.State().Call.Booking != nil {
		t.Errorf("a room's call shows %+v", c.State().Call)
	}
	if e := claim(t, ctx, c, meetingHostKey); e == nil || e.Code != protocol.CodeNoHostKey {
		t.Errorf("claim-host in a room's call: %+v, want no-host-key", e)
	}
}

// The coordinator changes a meeting while its call runs (through the
// operator API): moving it 15 minutes later carries the call on to the
// new closing time; cancelling it ends the call for everyone with bye
// meeting-cancelled.
func TestBookedMeetingChangedWhileRunning(t *testing.T) {
	clock := fakeclock.New(time.Date(2026, 12, 1, 18, 50, 0, 0, time.UTC))
	m := startServerConfig(t, Config{Signaling: signaling.Config{Clock: clock},
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	series, token := bookMeeting(t, m, clock.Now(), 2)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ann := joinMeeting(t, ctx, m, token, "Ann", "203.0.113.1")

	coordinator := func(path string, body any) {
		t.Helper()
		data, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", m.LocalURL()+"/api/v1/coordinator/bookings/"+series.ID+path, bytes.NewReader(data))
		req.Header.Set("Authorization", "Bearer "+operatorToken(t, m.cfg.DataDir))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			out, _ := io.ReadAll(resp.Body)
			t.Fatalf("POST %s: %d %s", path, resp.StatusCode, out)
		}
	}
	coordinator("/occurrences/0/move", map[string]string{"date": "2026-12-01", "startTime": "19:15"})
	if err := ann.Wait(ctx, func(s client.State) bool {
		return s.Call.EndsAt == "2026-12-01T21:00:00Z" && s.Call.Booking != nil && s.Call.Booking.Start == "2026-12-01T19:15:00Z"
	}); err != nil {
		t.Fatalf("after the move the call is %+v (booking %+v), want it to close at 21:00", ann.State().Call, ann.State().Call.Booking)
	}
	coordinator("/occurrences/0/cancel", map[string]string{"reason": "The hall is closed"})
	if err := ann.Wait(ctx, func(s client.State) bool { return s.Closed }); err != nil {
		t.Fatal(err)
	}
	if b := ann.State().Bye; b != "meeting-cancelled" {
		t.Errorf("bye %q, want meeting-cancelled", b)
	}
}
