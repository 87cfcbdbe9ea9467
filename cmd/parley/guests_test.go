package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parley-dev/parley/client"
	"github.com/parley-dev/parley/livecall/fakeclock"
	"github.com/parley-dev/parley/rooms"
	"github.com/parley-dev/parley/signaling"
)

// guestLink makes a standing guest link for the room and returns its token.
func guestLink(t *testing.T, m *Main, roomID string) string {
	t.Helper()
	key, err := m.db.SigningKey()
	if err != nil {
		t.Fatal(err)
	}
	l, token, err := rooms.NewGuestLink(key, roomID, rooms.GuestLinkStanding, "test", time.Now(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.db.CreateGuestLink(context.Background(), l); err != nil {
		t.Fatal(err)
	}
	return token
}

// guestToken is what the guest page does: POST /api/v1/guest/join.
func guestToken(t *testing.T, m *Main, link, name string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"token": link, "name": name})
	resp, err := http.Post(m.LocalURL()+"/api/v1/guest/join", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var jr struct{ Token string }
	if err := json.NewDecoder(resp.Body).Decode(&jr); err != nil || resp.StatusCode != 200 || jr.Token == "" {
		t.Fatalf("guest join: %d %v", resp.StatusCode, err)
	}
	return jr.Token
}

// The 10-minute rule through the real server, with Pion clients: a guest
// who arrives first sees the deadline; a member joining at 9:59 lifts it;
// when the member leaves it starts again, and ten minutes later the call
// ends for the guest with bye no-member.
func TestGuestsWithoutMemberEnded(t *testing.T) {
	clock := fakeclock.New(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	m := startServerConfig(t, Config{Signaling: signaling.Config{Clock: clock}})
	rm, _, err := m.CreateRoom(context.Background(), "Weekly")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	guest, err := client.Join(ctx, client.Config{BaseURL: m.LocalURL(), Token: guestToken(t, m, guestLink(t, m, rm.ID), "Gil"),
		PublishAudio: true, PublishVideo: true, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer guest.Close()
	if s := guest.State().Self; s.Role != "guest" {
		t.Errorf("the guest joined as %+v", s)
	}
	endsIn := func(d time.Duration) func(client.State) bool {
		want := clock.Now().Add(d).UTC().Format(time.RFC3339)
		return func(s client.State) bool { return s.Call.EndsAt == want && s.Call.EndReason == "no-member" }
	}
	if err := guest.Wait(ctx, endsIn(10*time.Minute)); err != nil {
		t.Fatalf("the guest alone sees no deadline: %+v", guest.State().Call)
	}

	clock.Advance(10*time.Minute - time.Second)
	member, err := client.Join(ctx, client.Config{BaseURL: m.LocalURL(), Link: rm.Link, Name: "Max",
		PublishAudio: true, PublishVideo: true, Logger: testLogger()})
	if err != nil {
		t.Fatalf("a member at 9:59: %v", err)
	}
	defer member.Close()
	if err := guest.Wait(ctx, func(s client.State) bool { return s.Call.EndsAt == "" && len(s.Participants) == 1 }); err != nil {
		t.Fatalf("the member's arrival did not lift the deadline: %+v", guest.State().Call)
	}
	if p := member.State().Participants[guest.ID]; p.Name != "Gil" || p.Role != "guest" {
		t.Errorf("the member sees the guest as %+v", p)
	}
	clock.Advance(time.Hour)
	if err := member.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	if s := guest.State(); s.Closed || s.Bye != "" {
		t.Fatalf("with a member in it the call ended: %+v", s)
	}

	if err := member.Leave(); err != nil {
		t.Fatal(err)
	}
	if err := guest.Wait(ctx, endsIn(10*time.Minute)); err != nil {
		t.Fatalf("the last member left, no deadline: %+v", guest.State().Call)
	}
	clock.Advance(10*time.Minute - time.Second)
	if s := guest.State(); s.Closed {
		t.Fatalf("9:59 after the member left the call ended: %+v", s)
	}
	clock.Advance(time.Second)
	if err := guest.Wait(ctx, func(s client.State) bool { return s.Closed }); err != nil {
		t.Fatal(err)
	}
	if b := guest.State().Bye; b != "no-member" {
		t.Errorf("bye %q, want no-member", b)
	}
}

// A room's maximum of participants: the joiner past it is refused with
// room-full by the call (the policy) and early by the guest join.
func TestRoomFull(t *testing.T) {
	m := startServerConfig(t, Config{RoomMaxParticipants: 2})
	rm, _, err := m.CreateRoom(context.Background(), "Small")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	link := guestLink(t, m, rm.ID)
	late := guestToken(t, m, link, "Late") // fetched while there is room
	for _, name := range []string{"One", "Two"} {
		c, err := client.Join(ctx, client.Config{BaseURL: m.LocalURL(), Link: rm.Link, Name: name, Logger: testLogger()})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	_, err = client.Join(ctx, client.Config{BaseURL: m.LocalURL(), Token: late, Logger: testLogger()})
	if err == nil || !strings.Contains(err.Error(), "room-full") {
		t.Fatalf("third joiner: %v, want room-full", err)
	}
	body, _ := json.Marshal(map[string]string{"token": link, "name": "Later"})
	resp, err := http.Post(m.LocalURL()+"/api/v1/guest/join", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict {
		t.Errorf("guest join to a full room: %d, want 409", resp.StatusCode)
	}
}

func TestGuestFlags(t *testing.T) {
	none := func(string) (string, bool) { return "", false }
	cfg, err := parseServeFlags(nil, &bytes.Buffer{}, none)
	if err != nil || cfg.GuestLinkTTL != rooms.DefaultGuestLinkTTL || cfg.RoomMaxParticipants != defaultRoomMax {
		t.Errorf("defaults: ttl %v max %d, %v", cfg.GuestLinkTTL, cfg.RoomMaxParticipants, err)
	}
	env := func(k string) (string, bool) {
		return map[string]string{"PARLEY_GUEST_LINK_TTL": "90m"}[k], k == "PARLEY_GUEST_LINK_TTL"
	}
	cfg, err = parseServeFlags([]string{"--room-max-participants", "12"}, &bytes.Buffer{}, env)
	if err != nil || cfg.GuestLinkTTL != 90*time.Minute || cfg.RoomMaxParticipants != 12 {
		t.Errorf("ttl %v max %d, %v", cfg.GuestLinkTTL, cfg.RoomMaxParticipants, err)
	}
	for _, bad := range [][]string{{"--guest-link-ttl", "soon"}, {"--guest-link-ttl", "10s"}, {"--room-max-participants", "1"}, {"--room-max-participants", "x"}} {
		if _, err := parseServeFlags(bad, &bytes.Buffer{}, none); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
