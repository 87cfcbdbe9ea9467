package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/parley-dev/parley/api"
	"github.com/parley-dev/parley/internal/mailtest"
	"github.com/parley-dev/parley/livecall/fakeclock"
	"github.com/parley-dev/parley/rooms/store"
	"github.com/parley-dev/parley/signaling"
)

// TestBookingFlags: the booking flags' defaults, their PARLEY_* twins,
// and a plain error for each bad value (a link every 5 or 11 meetings
// among them).
func TestBookingFlags(t *testing.T) {
	none := func(string) (string, bool) { return "", false }
	cfg, err := parseServeFlags(nil, &bytes.Buffer{}, none)
	b := cfg.Bookings
	if err != nil || b.Accounts != 2 || b.Location.String() != "Europe/London" || b.MaxDuration != 4*time.Hour || b.LinkEvery != 8 || b.LinkLead != 72*time.Hour {
		t.Fatalf("defaults: %+v, %v", b, err)
	}
	env := map[string]string{"PARLEY_MEETING_ACCOUNTS": "3", "PARLEY_TIME_ZONE": "America/New_York", "PARLEY_BOOKING_LINK_EVERY": "6"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	cfg, err = parseServeFlags([]string{"--booking-max-duration", "90m", "--booking-link-lead", "48h", "--booking-link-every", "10"}, &bytes.Buffer{}, lookup)
	b = cfg.Bookings
	if err != nil || b.Accounts != 3 || b.Location.String() != "America/New_York" || b.MaxDuration != 90*time.Minute || b.LinkEvery != 10 || b.LinkLead != 48*time.Hour {
		t.Fatalf("set: %+v, %v", b, err)
	}
	for _, tc := range []struct {
		args  []string
		words string
	}{
		{[]string{"--booking-link-every", "5"}, "want a whole number from 6 to 10"},
		{[]string{"--booking-link-every", "11"}, "want a whole number from 6 to 10"},
		{[]string{"--booking-link-every", "eight"}, "want a whole number from 6 to 10"},
		{[]string{"--meeting-accounts", "0"}, "at least 1"},
		{[]string{"--time-zone", "Mars/Olympus"}, "time zone name such as Europe/London"},
		{[]string{"--time-zone", "Local"}, "time zone name"},
		{[]string{"--booking-max-duration", "4"}, "duration from 15m to 24h"},
		{[]string{"--booking-link-lead", "10m"}, "from 1h to 720h"},
	} {
		_, err := parseServeFlags(tc.args, &bytes.Buffer{}, none)
		if err == nil || !strings.Contains(err.Error(), tc.words) || !strings.Contains(err.Error(), tc.args[0]) {
			t.Errorf("%v: %v, want an error naming the flag and saying %q", tc.args, err, tc.words)
		}
	}
}

// bookOnce has Choir's group user book a one-off meeting at 19:00 a week
// from now (on the real clock) and returns its ID.
func bookOnce(t *testing.T, m *Main, days int) string {
	t.Helper()
	user := newWebUser(t, m)
	user.call("POST", "/api/v1/group/login", map[string]string{"groupName": "Choir", "pin": "2468"}, 200, nil)
	var out struct{ Booking api.SeriesView }
	user.call("POST", "/api/v1/group/bookings", map[string]any{
		"leaderName": "Ada", "leaderEmail": "ada@example.org", "account": "any",
		"firstDate": time.Now().AddDate(0, 0, days).Format("2006-01-02"), "startTime": "19:00", "durationMinutes": 60,
		"recurrence": map[string]any{"frequency": "once"},
	}, 201, &out)
	return out.Booking.ID
}

// TestBookingCLI runs parley account, coordinator and booking through the
// running server (the approval's mail delivered to a real SMTP server,
// with the link and the host key), then on the database with the server
// stopped.
func TestBookingCLI(t *testing.T) {
	smtp := mailtest.Start(t, mailtest.Options{Username: "parley", Password: "smtp secret"})
	dir := t.TempDir()
	m := runUntilClosed(t, Config{DataDir: dir, SMTP: smtpConfig(smtp)})
	setUpGroup(t, m)

	out, err := cli(t, "account", "list", "--data", dir)
	if err != nil || !strings.Contains(out, "Meeting account 1") || !strings.Contains(out, "Meeting account 2") {
		t.Fatalf("account list online = %q, %v", out, err)
	}
	out, err = cli(t, "account", "create", "Evening Zoom", "--json", "--data", dir)
	var evening api.NamedRef
	if err != nil || json.Unmarshal([]byte(out), &evening) != nil || evening.Name != "Evening Zoom" {
		t.Fatalf("account create = %q, %v", out, err)
	}
	if _, err := cli(t, "account", "create", "evening zoom", "--data", dir); err == nil || !strings.Contains(err.Error(), "another meeting account has that name") {
		t.Errorf("a duplicate account name: %v", err)
	}
	if out, err = cli(t, "account", "rename", evening.ID, "Late Zoom", "--data", dir); err != nil || !strings.Contains(out, "Late Zoom") {
		t.Errorf("account rename = %q, %v", out, err)
	}
	if out, err = cli(t, "account", "delete", evening.ID, "--data", dir); err != nil || !strings.Contains(out, "deleted") {
		t.Errorf("account delete = %q, %v", out, err)
	}
	if _, err = cli(t, "account", "delete", evening.ID, "--data", dir); err == nil || !strings.Contains(err.Error(), "there is no meeting account "+evening.ID) {
		t.Errorf("deleting it again: %v", err)
	}

	id := bookOnce(t, m, 7)
	out, err = cli(t, "booking", "list", "--state", "requested", "--data", dir)
	if err != nil || !strings.Contains(out, id) || !strings.Contains(out, "Choir") || !strings.Contains(out, "requested") {
		t.Fatalf("booking list online = %q, %v", out, err)
	}
	if out, err = cli(t, "booking", "approve", id, "--data", dir); err != nil || !strings.Contains(out, "approved "+id) {
		t.Fatalf("booking approve = %q, %v", out, err)
	}
	confirmed := waitMessage(t, smtp, "Booking confirmed")
	link := regexp.MustCompile(regexp.QuoteMeta(m.URL()) + `/m/[A-Za-z0-9_-]{22}`).FindString(confirmed.Text)
	key := regexp.MustCompile(`Your host key \(for you alone\):\s+(\d{8})\s`).FindStringSubmatch(confirmed.Text)
	if confirmed.To[0] != "ada@example.org" || link == "" || key == nil {
		t.Fatalf("the confirmation as delivered lacks the link and the key:\n%s", confirmed.Text)
	}
	out, err = cli(t, "booking", "show", id, "--data", dir)
	if err != nil || !strings.Contains(out, link) || !strings.Contains(out, "approved") || !strings.Contains(out, "19:00-20:00") {
		t.Errorf("booking show online = %q, %v", out, err)
	}
	if _, err := cli(t, "booking", "approve", id, "--data", dir); err == nil || !strings.Contains(err.Error(), "only a requested booking can be approved") {
		t.Errorf("approving twice: %v", err)
	}
	if _, err := cli(t, "account", "delete", mustAccount(t, out), "--data", dir); err == nil || !strings.Contains(err.Error(), "decline or cancel them first") {
		t.Errorf("deleting a booked account: %v", err)
	}
	if out, err = cli(t, "coordinator", "grant", "choir", "--data", dir); err != nil || !strings.Contains(out, "is now a coordinator") {
		t.Fatalf("coordinator grant = %q, %v", out, err)
	}
	if out, err = cli(t, "coordinator", "list", "--data", dir); err != nil || !strings.Contains(out, "Choir") {
		t.Errorf("coordinator list online = %q, %v", out, err)
	}
	if _, err := cli(t, "coordinator", "grant", "nope", "--data", dir); err == nil || !strings.Contains(err.Error(), `there is no group named "nope"`) {
		t.Errorf("grant to an unknown group: %v", err)
	}
	second := bookOnce(t, m, 8)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}

	// Offline: the same commands on the database.
	if out, err = cli(t, "coordinator", "revoke", "Choir", "--data", dir); err != nil || !strings.Contains(out, "no longer") {
		t.Errorf("coordinator revoke offline = %q, %v", out, err)
	}
	if out, err = cli(t, "coordinator", "list", "--data", dir); err != nil || strings.Contains(out, "Choir") {
		t.Errorf("coordinator list offline = %q, %v", out, err)
	}
	var vs []api.SeriesView
	out, err = cli(t, "booking", "list", "--json", "--data", dir)
	if err := json.Unmarshal([]byte(out), &vs); err != nil || len(vs) != 2 {
		t.Fatalf("booking list offline = %q, %v", out, err)
	}
	if out, err = cli(t, "booking", "decline", second, "--reason", "The hall is closed", "--data", dir); err != nil || !strings.Contains(out, "declined "+second) {
		t.Errorf("booking decline offline = %q, %v", out, err)
	}
	if out, err = cli(t, "booking", "cancel", id, "--data", dir); err != nil || !strings.Contains(out, "cancelled "+id) {
		t.Errorf("booking cancel offline = %q, %v", out, err)
	}
	if _, err := cli(t, "booking", "cancel", id, "--data", dir); err == nil || !strings.Contains(err.Error(), "the booking is cancelled") {
		t.Errorf("cancelling twice: %v", err)
	}
	if _, err := cli(t, "booking", "show", "b_nosuchbooking", "--data", dir); err == nil || !strings.Contains(err.Error(), "there is no booking b_nosuchbooking") {
		t.Errorf("show unknown offline: %v", err)
	}
	if out, err = cli(t, "account", "create", "Morning", "--data", dir); err != nil || !strings.Contains(out, "Morning") {
		t.Errorf("account create offline = %q, %v", out, err)
	}
	for _, bad := range [][]string{
		{"booking", "list", "--state", "maybe"},
		{"booking", "approve"},
		{"booking", "frobnicate", "x"},
		{"account", "rename", "a_x"},
		{"coordinator", "grant"},
	} {
		var stdout, stderr bytes.Buffer
		if code := runMain(context.Background(), append(bad, "--data", dir), &stdout, &stderr); code != exitUsage {
			t.Errorf("%v: exit %d, want %d (usage): %s", bad, code, exitUsage, stderr.String())
		}
	}

	// What was done offline waits in the outbox for the next start.
	db, err := store.Open(filepath.Join(dir, "parley.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	kinds := map[string]int{}
	ms, _ := db.MailsTo(context.Background(), "ada@example.org")
	for _, ml := range ms {
		kinds[ml.Kind]++
	}
	if kinds["booking-requested"] != 2 || kinds["booking-confirmed"] != 1 || kinds["booking-declined"] != 1 || kinds["booking-cancelled"] != 1 {
		t.Errorf("mails to the leader by kind: %v", kinds)
	}
}

// mustAccount is the account ID in booking show's output.
func mustAccount(t *testing.T, show string) string {
	t.Helper()
	return accountID.FindString(show)
}

var accountID = regexp.MustCompile(`a_[a-z2-7]{26}`)

// waitMessage waits for a delivered message whose subject starts with prefix.
func waitMessage(t *testing.T, smtp *mailtest.Server, prefix string) mailtest.Message {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		for _, msg := range smtp.Messages() {
			if strings.HasPrefix(msg.Subject(), prefix) {
				return msg
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no message %q arrived", prefix)
	return mailtest.Message{}
}

// TestBookingsOnMeetingClock: parley serve creates --meeting-accounts
// accounts at start and runs bookings on the meeting clock (the live
// calls' clock, here a fake one): the request is made at the fake
// clock's time, and the link refresher mails the second link 72 hours
// before the first meeting that needs it.
func TestBookingsOnMeetingClock(t *testing.T) {
	c := fakeclock.New(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC))
	m := startServerConfig(t, Config{Signaling: signaling.Config{Clock: c}, Bookings: BookingSettings{Accounts: 3}})
	as, err := m.DB().Accounts(context.Background())
	if err != nil || len(as) != 3 {
		t.Fatalf("accounts at start: %d, %v", len(as), err)
	}
	setUpGroup(t, m)
	user := newWebUser(t, m)
	user.call("POST", "/api/v1/group/login", map[string]string{"groupName": "Choir", "pin": "2468"}, 200, nil)
	var out struct{ Booking api.SeriesView }
	user.call("POST", "/api/v1/group/bookings", map[string]any{
		"leaderName": "Ada", "leaderEmail": "ada@example.org", "account": "any",
		"firstDate": "2026-12-01", "startTime": "19:00", "durationMinutes": 90,
		"recurrence": map[string]any{"frequency": "twice-monthly", "weekday": "tuesday", "nth": []int{1, 3}, "count": 10},
	}, 201, &out)
	if !out.Booking.CreatedAt.Equal(c.Now()) {
		t.Errorf("booked at %s, want the meeting clock's %s", out.Booking.CreatedAt, c.Now())
	}
	if _, err := cli(t, "booking", "approve", out.Booking.ID, "--data", m.cfg.DataDir); err != nil {
		t.Fatal(err)
	}
	first := mailText(t, m, "ada@example.org", "booking-confirmed")
	// Tue 6 Apr 2027, the 9th meeting, opens 18:45 BST (17:45 UTC).
	c.Advance(time.Date(2027, 4, 3, 17, 30, 0, 0, time.UTC).Sub(c.Now()))
	ms, _ := m.DB().MailsTo(context.Background(), "ada@example.org")
	for _, ml := range ms {
		if ml.Kind == "booking-link" {
			t.Fatalf("the new link was mailed early, at %s", ml.CreatedAt)
		}
	}
	c.Advance(15 * time.Minute)
	text := mailText(t, m, "ada@example.org", "booking-link")
	link := regexp.MustCompile(regexp.QuoteMeta(m.URL()) + `/m/[A-Za-z0-9_-]{22}`)
	if l := link.FindString(text); l == "" || l == link.FindString(first) || !strings.Contains(text, "from Tue 6 Apr 2027 on") {
		t.Errorf("the refreshed link's mail:\n%s", text)
	}
}

// TestBookingCLIMeetings moves and cancels single meetings with parley
// booking move and cancel-meeting, through the running server and on the
// database: a move into another booking's 30 minutes is refused in the
// same words both ways, naming the meeting in the way and what would fit.
func TestBookingCLIMeetings(t *testing.T) {
	dir := t.TempDir()
	m := runUntilClosed(t, Config{DataDir: dir})
	setUpGroup(t, m)
	id := bookOnce(t, m, 7)    // 19:00-20:00 in a week, on Meeting account 1
	other := bookOnce(t, m, 8) // 19:00-20:00 the day after, on Meeting account 1 too
	if _, err := cli(t, "booking", "approve", id, "--data", dir); err != nil {
		t.Fatal(err)
	}
	day7, day8 := time.Now().AddDate(0, 0, 7).Format("2006-01-02"), time.Now().AddDate(0, 0, 8).Format("2006-01-02")

	out, err := cli(t, "booking", "move", id, "0", day7, "18:00", "--data", dir)
	if err != nil || !strings.Contains(out, "moved meeting 0 of "+id) || !strings.Contains(out, "18:00-19:00") {
		t.Fatalf("booking move online = %q, %v", out, err)
	}
	_, online := cli(t, "booking", "move", id, "0", day8, "19:30", "--data", dir)
	if online == nil || !strings.Contains(online.Error(), "too close") || !strings.Contains(online.Error(), "Choir's meeting") || !strings.Contains(online.Error(), "would fit") {
		t.Errorf("a move into another booking's time online: %v", online)
	}
	if _, err := cli(t, "booking", "cancel-meeting", id, "9", "--data", dir); err == nil || !strings.Contains(err.Error(), "no meeting number 9") {
		t.Errorf("cancelling a meeting the booking lacks: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}

	_, offline := cli(t, "booking", "move", id, "0", day8, "19:30", "--data", dir)
	if offline == nil || online == nil || offline.Error() != online.Error() {
		t.Errorf("the refused move offline says %v; online it said %v", offline, online)
	}
	if out, err = cli(t, "booking", "cancel-meeting", id, "0", "--reason", "The hall is closed", "--data", dir); err != nil || !strings.Contains(out, "cancelled meeting 0 of "+id) || !strings.Contains(out, "cancelled") {
		t.Errorf("booking cancel-meeting offline = %q, %v", out, err)
	}
	if _, err := cli(t, "booking", "cancel-meeting", id, "0", "--data", dir); err == nil {
		t.Error("cancelling a cancelled meeting again worked")
	}
	for _, bad := range [][]string{
		{"booking", "move", id, "first", day8, "10:00"},
		{"booking", "move", id, "0", day8},
		{"booking", "cancel-meeting", other},
	} {
		var stdout, stderr bytes.Buffer
		if code := runMain(context.Background(), append(bad, "--data", dir), &stdout, &stderr); code != exitUsage {
			t.Errorf("%v: exit %d, want %d (usage): %s", bad, code, exitUsage, stderr.String())
		}
	}

	db, err := store.Open(filepath.Join(dir, "parley.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	kinds := map[string]int{}
	ms, _ := db.MailsTo(context.Background(), "ada@example.org")
	for _, ml := range ms {
		kinds[ml.Kind]++
	}
	if kinds["occurrence-moved"] != 1 || kinds["occurrence-cancelled"] != 1 {
		t.Errorf("mails to the leader by kind: %v", kinds)
	}
}
