package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parley-dev/parley/auth"
	"github.com/parley-dev/parley/rooms"
)

const smsSecret = "sms-status-secret"

// newInviteFixture serves the API with invitations on, and one room.
func newInviteFixture(t *testing.T, limits rooms.InvitationLimits) (*fixture, *rooms.Room) {
	t.Helper()
	var f *fixture
	f = newFixture(t, func(cfg *Config) {
		db := cfg.Rooms.(interface{ SigningKey() ([]byte, error) })
		key, err := db.SigningKey()
		if err != nil {
			t.Fatal(err)
		}
		cfg.Invitations = InvitationConfig{Store: cfg.Backup.(InvitationStore), Verifier: cfg.Tokens.(*auth.Tokens),
			Key: key, Limits: limits, SMSStatusSecret: smsSecret}
		cfg.Guests = GuestConfig{Store: cfg.Backup.(InvitationStore), Key: key, Tokens: cfg.Tokens.(*auth.Tokens)}
	})
	room, err := rooms.New("Surgery", f.now)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.db.CreateRoom(context.Background(), room); err != nil {
		t.Fatal(err)
	}
	return f, room
}

func (f *fixture) joinToken(t *testing.T, roomID, role string) map[string]string {
	t.Helper()
	token, _, err := f.tokens.IssueJoin(roomID, role)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{"Authorization": "Bearer " + token}
}

func decodeInvitation(t *testing.T, data []byte) InvitationView {
	t.Helper()
	var body struct{ Invitation InvitationView }
	if err := json.Unmarshal(data, &body); err != nil {
		t.Fatalf("%s: %v", data, err)
	}
	return body.Invitation
}

func TestInvitationsAPI(t *testing.T) {
	f, room := newInviteFixture(t, rooms.InvitationLimits{})
	member := f.joinToken(t, room.ID, auth.RoleMember)

	resp, data := f.do(t, "POST", "/api/v1/invitations", `{"via":"email","to":"grace@example.org","name":"Ada"}`, member)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST email invitation: %d %s", resp.StatusCode, data)
	}
	byMail := decodeInvitation(t, data)
	if byMail.State != rooms.InvitationQueued || byMail.To != "grace@example.org" || !strings.HasPrefix(byMail.URL, "https://meet.example.org/g/") ||
		!byMail.ExpiresAt.Equal(byMail.CreatedAt.Add(24*time.Hour)) {
		t.Errorf("email invitation: %+v", byMail)
	}
	mails, _ := f.db.Mails(context.Background(), rooms.MailFilter{})
	if len(mails) != 1 {
		t.Fatalf("%d mails queued, want 1", len(mails))
	}
	for _, want := range []string{"Ada invites you", `meeting room "Surgery"`, byMail.URL, "you are admitted to the call",
		"Remember, always use the latest version of Google Chrome, Microsoft Edge or Apple Safari.", "The link works until", "ask Ada for a new one"} {
		if !strings.Contains(mails[0].Subject+"\n"+mails[0].Text, want) {
			t.Errorf("the mail lacks %q:\n%s", want, mails[0].Text)
		}
	}

	f.now = f.now.Add(time.Second)
	resp, data = f.do(t, "POST", "/api/v1/invitations", `{"via":"sms","to":"07700 900123"}`, member)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST sms invitation: %d %s", resp.StatusCode, data)
	}
	byText := decodeInvitation(t, data)
	if byText.To != "+44 77•• •••123" || byText.Via != "sms" {
		t.Errorf("sms invitation: %+v", byText)
	}
	texts, _ := f.db.Texts(context.Background(), rooms.TextFilter{})
	if len(texts) != 1 || texts[0].To != "+447700900123" || !strings.Contains(texts[0].Text, byText.URL) || len(texts[0].Text) > rooms.MaxTextLen {
		t.Fatalf("queued texts: %+v", texts)
	}

	// Refusals in plain words, beside the field.
	for _, tc := range []struct{ body, field, words string }{
		{`{"via":"sms","to":"020 7946 0000"}`, "to", "is a landline number, not a mobile"},
		{`{"via":"sms","to":"+1 202 555 0100"}`, "to", "is not a UK number"},
		{`{"via":"email","to":"grace"}`, "to", "is not an email address"},
		{`{"via":"pigeon","to":"x"}`, "via", `"email" or "sms"`},
		{`{"via":"email","to":"g@example.org","name":"Ada\u0007"}`, "name", "control character"},
	} {
		resp, data := f.do(t, "POST", "/api/v1/invitations", tc.body, member)
		var eb ErrorBody
		_ = json.Unmarshal(data, &eb)
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(eb.Error.Fields[tc.field], tc.words) || eb.Error.Message != eb.Error.Fields[tc.field] {
			t.Errorf("POST %s: %d %s; want 422 with %s saying %q", tc.body, resp.StatusCode, data, tc.field, tc.words)
		}
	}

	// The list, newest first; the gateway reports the text delivered.
	resp, data = f.do(t, "POST", "/api/v1/sms/status", fmt.Sprintf(`{"id":%q,"status":"delivered"}`, texts[0].ID),
		map[string]string{"Authorization": "Bearer " + smsSecret})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("sms status: %d %s", resp.StatusCode, data)
	}
	if err := f.db.MarkMailSent(context.Background(), mails[0].ID, f.now); err != nil {
		t.Fatal(err)
	}
	list := f.listInvitations(t, member)
	if len(list) != 2 || list[0].ID != byText.ID || list[0].State != rooms.InvitationDelivered || list[1].State != rooms.InvitationSent {
		t.Fatalf("list: %+v; want the text delivered, then the mail sent", list)
	}
	// Opened, when the guest page looks the link up; the guest's join
	// token carries the invitation.
	guestToken := strings.TrimPrefix(byMail.URL, "https://meet.example.org/g/")
	if resp, data := f.do(t, "GET", "/api/v1/guest/"+guestToken, "", nil); resp.StatusCode != 200 {
		t.Fatalf("the guest page's look-up: %d %s", resp.StatusCode, data)
	}
	if list := f.listInvitations(t, member); list[1].State != rooms.InvitationOpened {
		t.Errorf("after the guest page opened it: %s", list[1].State)
	}
	resp, data = f.do(t, "POST", "/api/v1/guest/join", fmt.Sprintf(`{"token":%q,"name":"Grace"}`, guestToken), nil)
	var jr JoinResponse
	if err := json.Unmarshal(data, &jr); err != nil || resp.StatusCode != 200 {
		t.Fatalf("guest join: %d %s", resp.StatusCode, data)
	}
	if c, err := f.tokens.VerifyJoin(jr.Token); err != nil || c.Invitation != byMail.ID || c.Role != auth.RoleGuest {
		t.Errorf("the guest's join token: %+v, %v; want the invitation %s", c, err, byMail.ID)
	}
	l, err := f.db.GuestLinkByHash(context.Background(), rooms.TokenHash(guestToken))
	if err != nil {
		t.Fatal(err)
	}

	// Revoking.
	resp, data = f.do(t, "DELETE", "/api/v1/invitations/"+byMail.ID, "", member)
	if resp.StatusCode != http.StatusOK || decodeInvitation(t, data).State != rooms.InvitationRevoked {
		t.Fatalf("DELETE: %d %s", resp.StatusCode, data)
	}
	if l, _ := f.db.GuestLink(context.Background(), l.ID); l.Check(f.now) == nil {
		t.Error("the revoked invitation's link still admits")
	}
	if resp, data := f.do(t, "DELETE", "/api/v1/invitations/inv_nope", "", member); resp.StatusCode != 404 || errorCode(t, data) != "invitation-not-found" {
		t.Errorf("DELETE unknown: %d %s", resp.StatusCode, data)
	}
	// Another room's member cannot see or revoke this room's.
	other, _ := rooms.New("Other", f.now)
	if err := f.db.CreateRoom(context.Background(), other); err != nil {
		t.Fatal(err)
	}
	stranger := f.joinToken(t, other.ID, auth.RoleMember)
	if list := f.listInvitations(t, stranger); len(list) != 0 {
		t.Errorf("another room's member sees %d invitations", len(list))
	}
	if resp, _ := f.do(t, "DELETE", "/api/v1/invitations/"+byText.ID, "", stranger); resp.StatusCode != 404 {
		t.Errorf("another room's member revoking: %d, want 404", resp.StatusCode)
	}
}

func (f *fixture) listInvitations(t *testing.T, hdr map[string]string) []InvitationView {
	t.Helper()
	resp, data := f.do(t, "GET", "/api/v1/invitations", "", hdr)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET invitations: %d %s", resp.StatusCode, data)
	}
	var body struct{ Invitations []InvitationView }
	if err := json.Unmarshal(data, &body); err != nil {
		t.Fatal(err)
	}
	return body.Invitations
}

func TestInvitationsRefuseGuests(t *testing.T) {
	f, room := newInviteFixture(t, rooms.InvitationLimits{})
	guest := f.joinToken(t, room.ID, auth.RoleGuest)
	for _, r := range []struct{ method, path, body string }{
		{"POST", "/api/v1/invitations", `{"via":"email","to":"eve@example.org"}`},
		{"GET", "/api/v1/invitations", ""},
		{"DELETE", "/api/v1/invitations/inv_x", ""},
	} {
		resp, data := f.do(t, r.method, r.path, r.body, guest)
		if resp.StatusCode != http.StatusForbidden || errorCode(t, data) != "not-a-member" {
			t.Errorf("guest %s %s: %d %s; want 403 not-a-member", r.method, r.path, resp.StatusCode, data)
		}
	}
	if mails, _ := f.db.Mails(context.Background(), rooms.MailFilter{}); len(mails) != 0 {
		t.Errorf("a guest's invitation queued %d mails", len(mails))
	}
	for _, hdr := range []map[string]string{nil, {"Authorization": "Bearer not-a-token"}} {
		if resp, data := f.do(t, "GET", "/api/v1/invitations", "", hdr); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET invitations with %v: %d %s; want 401", hdr, resp.StatusCode, data)
		}
	}
}

func TestInvitationRateLimits(t *testing.T) {
	f, room := newInviteFixture(t, rooms.InvitationLimits{PerMember: 2, PerRoom: 3, Window: time.Hour})
	ada, _, _ := f.tokens.IssueEndpointJoin(room.ID, auth.RoleMember, "ep_ada", "Ada")
	grace, _, _ := f.tokens.IssueEndpointJoin(room.ID, auth.RoleMember, "ep_grace", "Grace")
	send := func(token string) (*http.Response, []byte) {
		return f.do(t, "POST", "/api/v1/invitations", `{"via":"email","to":"guest@example.org"}`, map[string]string{"Authorization": "Bearer " + token})
	}
	for range 2 {
		if resp, data := send(ada); resp.StatusCode != 201 {
			t.Fatalf("ada: %d %s", resp.StatusCode, data)
		}
		f.now = f.now.Add(10 * time.Minute)
	}
	resp, data := send(ada)
	var eb ErrorBody
	_ = json.Unmarshal(data, &eb)
	if resp.StatusCode != http.StatusTooManyRequests || eb.Error.Code != "too-many-invitations" || resp.Header.Get("Retry-After") != "2400" ||
		eb.Error.Message != "you have sent 2 invitations in the last hour, the most allowed; you can send another in 40 minutes" {
		t.Fatalf("ada's third: %d %s (Retry-After %q)", resp.StatusCode, data, resp.Header.Get("Retry-After"))
	}
	if resp, data := send(grace); resp.StatusCode != 201 {
		t.Fatalf("grace: %d %s", resp.StatusCode, data)
	}
	resp, data = send(grace)
	_ = json.Unmarshal(data, &eb)
	if resp.StatusCode != http.StatusTooManyRequests || !strings.HasPrefix(eb.Error.Message, "this room has sent 3 invitations in the last hour") {
		t.Fatalf("the room's fourth: %d %s", resp.StatusCode, data)
	}
	if mails, _ := f.db.Mails(context.Background(), rooms.MailFilter{}); len(mails) != 3 {
		t.Errorf("%d mails queued, want 3", len(mails))
	}
	f.now = f.now.Add(41 * time.Minute)
	if resp, data := send(ada); resp.StatusCode != 201 {
		t.Fatalf("ada an hour after her first: %d %s", resp.StatusCode, data)
	}
}

func TestSMSStatusAuth(t *testing.T) {
	f, _ := newInviteFixture(t, rooms.InvitationLimits{})
	m, _ := rooms.NewTextMessage("test", "+447700900123", "hi", f.now)
	if err := f.db.EnqueueText(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	body := fmt.Sprintf(`{"id":%q,"status":"failed","error":"unknown subscriber"}`, m.ID)
	if resp, data := f.do(t, "POST", "/api/v1/sms/status", body, map[string]string{"Authorization": "Bearer wrong"}); resp.StatusCode != 401 {
		t.Errorf("wrong secret: %d %s", resp.StatusCode, data)
	}
	if got, _ := f.db.Text(context.Background(), m.ID); got.State != rooms.TextQueued {
		t.Errorf("a report with the wrong secret changed the message: %s", got.State)
	}
	if resp, data := f.do(t, "POST", "/api/v1/sms/status?secret="+smsSecret, body, nil); resp.StatusCode != 200 {
		t.Errorf("secret in the query: %d %s", resp.StatusCode, data)
	}
	if got, _ := f.db.Text(context.Background(), m.ID); got.State != rooms.TextFailed || got.LastError != "unknown subscriber" {
		t.Errorf("after the failure report: %+v", got)
	}
	if resp, data := f.do(t, "POST", "/api/v1/sms/status", `{"id":"s_nope","status":"delivered"}`, map[string]string{"Authorization": "Bearer " + smsSecret}); resp.StatusCode != 404 || errorCode(t, data) != "text-not-found" {
		t.Errorf("unknown id: %d %s", resp.StatusCode, data)
	}
}

func TestInvitationTextFits(t *testing.T) {
	long := strings.Repeat("Ŵ", 64)
	for _, tc := range []struct{ name, room string }{{"Ada", "Surgery"}, {long, long}, {"", long}} {
		text := invitationText(tc.name, tc.room, "https://meet.example.org/g/abcdefghijklmnopqrstuvwxyz", time.Date(2026, 12, 2, 14, 30, 0, 0, time.UTC))
		if len(text) > rooms.MaxTextLen || !strings.Contains(text, "/g/abcdefghijklmnopqrstuvwxyz") || !strings.Contains(text, "2 Dec 14:30 UTC") {
			t.Errorf("text for %q in %q (%d bytes): %s", tc.name, tc.room, len(text), text)
		}
	}
}
