package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parley-dev/parley/api"
	"github.com/parley-dev/parley/client"
	"github.com/parley-dev/parley/internal/mailtest"
	"github.com/parley-dev/parley/rooms"
	"github.com/parley-dev/parley/sms"
	"github.com/parley-dev/parley/sms/smstest"
)

// apiCall sends a JSON request to m's API and decodes a JSON reply into out
// (if not nil); it returns the status.
func apiCall(t *testing.T, m *Main, method, path, token string, body, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, m.LocalURL()+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %d %s: %v", method, path, resp.StatusCode, data, err)
		}
	}
	return resp.StatusCode
}

// memberToken joins by the member link and returns the join token.
func memberToken(t *testing.T, m *Main, link string) string {
	t.Helper()
	var jr api.JoinResponse
	if st := apiCall(t, m, "POST", "/api/v1/join", "", map[string]string{"link": link}, &jr); st != 200 {
		t.Fatalf("join: %d", st)
	}
	return jr.Token
}

func waitInvitation(t *testing.T, m *Main, token, id string, want rooms.InvitationState) api.InvitationView {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var list struct{ Invitations []api.InvitationView }
		if st := apiCall(t, m, "GET", "/api/v1/invitations", token, nil, &list); st != 200 {
			t.Fatalf("GET invitations: %d", st)
		}
		for _, inv := range list.Invitations {
			if inv.ID == id && inv.State == want {
				return inv
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("invitation %s never became %s: %+v", id, want, list.Invitations)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestTextInvitationSurvivesRestart invites by text message while the SMS
// gateway fails, stops parley, starts it again with the gateway back, and
// checks the message reaches the gateway (headers and body as sent), the
// invitation shows sent, and the gateway's report makes it delivered.
func TestTextInvitationSurvivesRestart(t *testing.T) {
	gw := smstest.Start(t)
	gw.Fail(503)
	cfg := Config{DataDir: t.TempDir(), SMS: SMSConfig{
		Gateway: sms.GatewayConfig{
			URL: gw.URL() + "/messages", AuthHeader: "X-Api-Key: gateway-key", Client: gw.Client(),
			BodyTemplate: `{"recipient":"{{.To}}","body":"{{.Text}}","ref":"{{.ID}}"}`,
		},
		StatusSecret: "report-secret-0123456789",
	}}
	first := runUntilClosed(t, cfg)
	link := createRoom(t, first, "Surgery")
	token := memberToken(t, first, link)
	var created struct{ Invitation api.InvitationView }
	if st := apiCall(t, first, "POST", "/api/v1/invitations", token, map[string]string{"via": "sms", "to": "(07700) 900 123", "name": "Ada"}, &created); st != 201 {
		t.Fatalf("POST invitation: %d %+v", st, created)
	}
	inv := created.Invitation
	gw.Wait(t, 1, 15*time.Second) // refused
	waitText := func(m *Main, cond func(*rooms.TextMessage) bool) *rooms.TextMessage {
		deadline := time.Now().Add(15 * time.Second)
		for {
			texts, err := m.DB().Texts(context.Background(), rooms.TextFilter{})
			if err != nil || len(texts) != 1 {
				t.Fatalf("texts: %v, %v", texts, err)
			}
			if cond(texts[0]) {
				return texts[0]
			}
			if time.Now().After(deadline) {
				t.Fatalf("gave up waiting: %+v", texts[0])
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	failed := waitText(first, func(m *rooms.TextMessage) bool { return m.Attempts == 1 })
	if failed.State != rooms.TextQueued || !strings.Contains(failed.LastError, "503") {
		t.Fatalf("after the refusal: %+v", failed)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}

	gw.Accept()
	second := startServerConfig(t, cfg)
	reqs := gw.Wait(t, 2, 15*time.Second)
	got := reqs[1]
	var body map[string]string
	if err := json.Unmarshal([]byte(got.Body), &body); err != nil {
		t.Fatalf("gateway body %s: %v", got.Body, err)
	}
	if got.Path != "/messages" || got.Header.Get("X-Api-Key") != "gateway-key" || body["recipient"] != "+447700900123" ||
		!strings.Contains(body["body"], inv.URL) || !strings.HasPrefix(body["body"], "Ada invites you to a video call (Surgery)") || body["ref"] != failed.ID {
		t.Fatalf("the gateway received %s %s %v", got.Path, got.Body, got.Header)
	}
	token = memberToken(t, second, link)
	waitInvitation(t, second, token, inv.ID, rooms.InvitationSent)

	var ok map[string]bool
	req := map[string]string{"id": failed.ID, "status": "delivered"}
	if st := apiCall(t, second, "POST", "/api/v1/sms/status", "report-secret-0123456789", req, &ok); st != 200 {
		t.Fatalf("status report: %d", st)
	}
	waitInvitation(t, second, token, inv.ID, rooms.InvitationDelivered)
	if n := len(gw.Requests()); n != 2 {
		t.Errorf("the gateway received %d requests, want 2", n)
	}
}

// TestOutboxSMSCommand lists a queued text message (no gateway configured)
// through the running server and from the database after it stops.
func TestOutboxSMSCommand(t *testing.T) {
	dir := t.TempDir()
	m := runUntilClosed(t, Config{DataDir: dir})
	token := memberToken(t, m, createRoom(t, m, "Surgery"))
	var created struct{ Invitation api.InvitationView }
	if st := apiCall(t, m, "POST", "/api/v1/invitations", token, map[string]string{"via": "sms", "to": "+44 7700 900123"}, &created); st != 201 {
		t.Fatalf("POST invitation: %d", st)
	}
	for _, running := range []bool{true, false} {
		var out bytes.Buffer
		if err := runOutbox(context.Background(), []string{"sms", "--data", dir}, &out); err != nil {
			t.Fatalf("outbox sms (running %v): %v", running, err)
		}
		for _, want := range []string{"+447700900123", "queued", created.Invitation.URL} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("outbox sms (running %v) lacks %q:\n%s", running, want, out.String())
			}
		}
		if running && !strings.Contains(out.String(), "No SMS gateway is configured") {
			t.Errorf("outbox sms does not say no gateway is configured:\n%s", out.String())
		}
		if running {
			if err := m.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestEmailInvitationAdmitsGuest: a member in a call invites a guest by
// e-mail; the message arrives at the SMTP server with its link; the guest
// opens it (the guest page's look-up) and joins under their name, which
// both members in the call see; the inviter's list goes sent → opened →
// joined; the guest cannot invite anyone.
func TestEmailInvitationAdmitsGuest(t *testing.T) {
	smtp := mailtest.Start(t, mailtest.Options{Username: "parley", Password: "smtp secret"})
	m := startServerConfig(t, Config{SMTP: smtpConfig(smtp)})
	link := createRoom(t, m, "Surgery")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var members []*client.Client
	for _, name := range []string{"Ada", "Bob"} {
		c, err := client.Join(ctx, client.Config{BaseURL: m.LocalURL(), Link: link, Name: name, PublishAudio: true, PublishVideo: true, Logger: testLogger()})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		members = append(members, c)
	}
	token := memberToken(t, m, link)
	var created struct{ Invitation api.InvitationView }
	if st := apiCall(t, m, "POST", "/api/v1/invitations", token, map[string]string{"via": "email", "to": "grace@example.org", "name": "Ada"}, &created); st != 201 {
		t.Fatalf("POST invitation: %d", st)
	}
	inv := created.Invitation
	msgs, err := smtp.Wait(1, 15*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	got := msgs[0]
	if got.To[0] != "grace@example.org" || got.Subject() != "Ada invites you to a video call" {
		t.Errorf("the mail: to %v, subject %q", got.To, got.Subject())
	}
	links := got.Links()
	if len(links) != 1 || links[0] != inv.URL || !strings.HasPrefix(links[0], m.URL()+"/g/") {
		t.Fatalf("links in the mail %q; want the invitation's %s", links, inv.URL)
	}
	for _, want := range []string{"Ada invites you to join a video call in the meeting room \"Surgery\"", "you are admitted to the call",
		"always use the latest version of Google Chrome, Microsoft Edge or Apple Safari", "The link works until"} {
		if !strings.Contains(got.Text, want) {
			t.Errorf("the mail lacks %q:\n%s", want, got.Text)
		}
	}
	waitInvitation(t, m, token, inv.ID, rooms.InvitationSent)

	guestLinkToken := strings.TrimPrefix(links[0], m.URL()+"/g/")
	var info api.GuestLinkInfo
	if st := apiCall(t, m, "GET", "/api/v1/guest/"+guestLinkToken, "", nil, &info); st != 200 || info.Room.Name != "Surgery" {
		t.Fatalf("the guest page's look-up: %d %+v", st, info)
	}
	waitInvitation(t, m, token, inv.ID, rooms.InvitationOpened)

	gtoken := guestToken(t, m, guestLinkToken, "Grace")
	guest, err := client.Join(ctx, client.Config{BaseURL: m.LocalURL(), Token: gtoken, PublishAudio: true, PublishVideo: true, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer guest.Close()
	if err := guest.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	for i, c := range members {
		err := c.Wait(ctx, func(s client.State) bool {
			for _, p := range s.Participants {
				if p.Name == "Grace" && p.Role == "guest" {
					return true
				}
			}
			return false
		})
		if err != nil {
			t.Fatalf("member %d never saw the guest Grace: %+v", i, c.State().Participants)
		}
	}
	joined := waitInvitation(t, m, token, inv.ID, rooms.InvitationJoined)
	if joined.JoinedName != "Grace" {
		t.Errorf("joined as %q, want Grace", joined.JoinedName)
	}
	// A guest cannot invite.
	var eb api.ErrorBody
	if st := apiCall(t, m, "POST", "/api/v1/invitations", gtoken, map[string]string{"via": "email", "to": "eve@example.org"}, &eb); st != 403 || eb.Error.Code != "not-a-member" {
		t.Errorf("the guest's invitation: %d %+v", st, eb)
	}
	if n := len(smtp.Messages()); n != 1 {
		t.Errorf("%d mails arrived, want 1", n)
	}
}

func TestSMSFlags(t *testing.T) {
	none := func(string) (string, bool) { return "", false }
	env := map[string]string{"PARLEY_SMS_URL": "https://sms.example.org/send", "PARLEY_SMS_AUTH_HEADER": "Authorization: Bearer k",
		"PARLEY_SMS_STATUS_SECRET": "0123456789abcdef0123", "PARLEY_INVITATIONS_PER_ROOM": "5"}
	var help bytes.Buffer
	_, err := parseServeFlags([]string{"--sms-body-template", `{"n":"{{.To}}","m":"{{.Text}}"}`, "--invitations-per-member", "3", "-h"}, &help,
		func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err == nil || strings.Contains(help.String(), "Bearer k") || strings.Contains(help.String(), "0123456789abcdef0123") {
		t.Errorf("-h shows a secret from the environment:\n%s", help.String())
	}
	cfg, err := parseServeFlags([]string{"--sms-body-template", `{"n":"{{.To}}","m":"{{.Text}}"}`, "--invitations-per-member", "3"}, &bytes.Buffer{},
		func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	g := cfg.SMS.Gateway
	if g.URL != "https://sms.example.org/send" || g.AuthHeader != "Authorization: Bearer k" || g.BodyTemplate != `{"n":"{{.To}}","m":"{{.Text}}"}` ||
		cfg.SMS.StatusSecret != "0123456789abcdef0123" || cfg.Invitations.Limits.PerMember != 3 || cfg.Invitations.Limits.PerRoom != 5 {
		t.Errorf("parsed %+v, %+v", cfg.SMS, cfg.Invitations.Limits)
	}
	for _, tc := range []struct {
		args []string
		why  string
	}{
		{[]string{"--sms-url", "http://sms.example.org"}, "must be https"},
		{[]string{"--sms-auth-header", "Bearer x"}, "--sms-url is not"},
		{[]string{"--sms-url", "https://sms.example.org", "--sms-auth-header", "Bearer x"}, `"Name: value"`},
		{[]string{"--sms-url", "https://sms.example.org", "--sms-body-template", "{{.To}"}, "does not parse"},
		{[]string{"--sms-url", "https://sms.example.org", "--sms-status-secret", "short"}, "too short"},
		{[]string{"--invitations-per-room", "0"}, "--invitations-per-room"},
	} {
		if _, err := parseServeFlags(tc.args, &bytes.Buffer{}, none); err == nil || !strings.Contains(err.Error(), tc.why) {
			t.Errorf("parseServeFlags(%q) = %v; want an error saying %q", tc.args, err, tc.why)
		}
	}
}
