package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/parley-dev/parley/api"
	"github.com/parley-dev/parley/client"
	"github.com/parley-dev/parley/rooms"
	"github.com/parley-dev/parley/signaling/protocol"
)

// webUser is one browser's worth of cookies against a test server.
type webUser struct {
	t    *testing.T
	base string
	hc   *http.Client
}

func newWebUser(t *testing.T, m *Main) *webUser {
	jar, _ := cookiejar.New(nil)
	return &webUser{t: t, base: m.LocalURL(), hc: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
}

// call sends body as JSON and decodes the answer into out (if not nil),
// failing the test unless the status is want.
func (u *webUser) call(method, path string, body any, want int, out any) {
	u.t.Helper()
	data, _ := json.Marshal(body)
	req, err := http.NewRequest(method, u.base+path, bytes.NewReader(data))
	if err != nil {
		u.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := u.hc.Do(req)
	if err != nil {
		u.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		u.t.Fatalf("%s %s = %d %s; want %d", method, path, resp.StatusCode, got, want)
	}
	if out != nil {
		if err := json.Unmarshal(got, out); err != nil {
			u.t.Fatalf("%s %s: %v in %s", method, path, err, got)
		}
	}
}

// mailText returns the newest outbox message of kind to addr.
func mailText(t *testing.T, m *Main, addr, kind string) string {
	t.Helper()
	ms, err := m.DB().MailsTo(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	for i := len(ms) - 1; i >= 0; i-- {
		if ms[i].Kind == kind {
			return ms[i].Text
		}
	}
	t.Fatalf("no %s mail to %s", kind, addr)
	return ""
}

var (
	activateRE = regexp.MustCompile(`/activate/([A-Za-z0-9_-]{22})\b`)
	addressRE  = regexp.MustCompile(`Address: (\S+)`)
	secretRE   = regexp.MustCompile(`Secret:  (\S+)`)
)

// setUpGroup signs up "Choir" with alice and bob, activates it from the
// mailed link, and returns the administrator's session.
func setUpGroup(t *testing.T, m *Main) *webUser {
	t.Helper()
	admin := newWebUser(t, m)
	admin.call("POST", "/api/v1/signup", map[string]any{
		"adminName": "Ada", "adminEmail": "ada@example.org", "groupName": "Choir",
		"password": "hunter2", "pin": "2468", "members": []string{"alice@example.org", "bob@example.org"},
	}, 201, nil)
	text := mailText(t, m, "ada@example.org", "activation")
	if !strings.Contains(text, m.URL()+"/activate/") {
		t.Fatalf("activation link not under the public URL %s: %q", m.URL(), text)
	}
	tok := activateRE.FindStringSubmatch(text)[1]
	admin.call("POST", "/api/v1/activate", map[string]string{"token": tok}, 200, nil)
	admin.call("POST", "/api/v1/admin/login", map[string]string{"groupName": "choir", "password": "hunter2"}, 200, nil)
	return admin
}

func credentialsOf(t *testing.T, m *Main, email string) (address, secret string) {
	t.Helper()
	text := mailText(t, m, email, "credentials")
	return addressRE.FindStringSubmatch(text)[1], secretRE.FindStringSubmatch(text)[1]
}

// TestEndpointJoinsGroupRoom: a member's Pion client registers with the
// credentials it was mailed, joins a group room under its name with the
// member role, and shows online in the console; a room system does the
// same with the secret shown to the administrator, until it is re-issued.
func TestEndpointJoinsGroupRoom(t *testing.T) {
	m := startServer(t, t.TempDir())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin := setUpGroup(t, m)

	user := newWebUser(t, m)
	user.call("POST", "/api/v1/group/login", map[string]string{"groupName": "CHOIR", "pin": "2468"}, 200, nil)
	var weekly api.RoomView
	user.call("POST", "/api/v1/group/rooms", map[string]string{"name": "Weekly"}, 201, &weekly)

	// Someone with the room's link is already there.
	guest, err := client.Join(ctx, client.Config{BaseURL: m.LocalURL(), Link: weekly.Link, Name: "Guest", Logger: testLogger()})
	if err != nil {
		t.Fatalf("join by link: %v", err)
	}
	defer guest.Close()

	addr, secret := credentialsOf(t, m, "alice@example.org")
	hc, err := client.Register(ctx, nil, m.LocalURL(), addr, secret)
	if err != nil {
		t.Fatalf("register alice: %v", err)
	}
	alice, err := client.Join(ctx, client.Config{BaseURL: m.LocalURL(), Room: weekly.ID, HTTPClient: hc, Name: "ignored", Logger: testLogger()})
	if err != nil {
		t.Fatalf("alice joins: %v", err)
	}
	defer alice.Close()
	if st := alice.State(); st.Self.Role != protocol.RoleMember || st.Self.Name != "alice@example.org" {
		t.Errorf("alice's own record: %+v", st.Self)
	}
	seen := func(c *client.Client, name string) func(client.State) bool {
		return func(s client.State) bool {
			for _, p := range s.Participants {
				if p.Name == name && p.Role == protocol.RoleMember {
					return true
				}
			}
			return false
		}
	}
	if err := guest.Wait(ctx, seen(guest, "alice@example.org")); err != nil {
		t.Fatalf("the guest does not see alice as a member under her name: %v (%+v)", err, guest.State().Participants)
	}

	var console api.GroupView
	admin.call("GET", "/api/v1/admin/group", nil, 200, &console)
	online := map[string]bool{}
	for _, ep := range console.Endpoints {
		online[ep.Address] = ep.Online
	}
	if !online["alice@choir"] || online["bob@choir"] || console.Usage.Participants != 2 || console.Usage.Rooms != 1 {
		t.Errorf("console: online %v, usage %+v", online, console.Usage)
	}

	// A room system, with the secret shown once.
	var rs api.EndpointResponse
	admin.call("POST", "/api/v1/admin/endpoints", map[string]string{"kind": "room-system", "name": "Board Room"}, 201, &rs)
	screen, err := client.Register(ctx, nil, m.LocalURL(), rs.Endpoint.Address, rs.Secret)
	if err != nil {
		t.Fatalf("register the room system: %v", err)
	}
	board, err := client.Join(ctx, client.Config{BaseURL: m.LocalURL(), Room: weekly.ID, HTTPClient: screen, Logger: testLogger()})
	if err != nil {
		t.Fatalf("room system joins: %v", err)
	}
	if err := guest.Wait(ctx, seen(guest, "Board Room")); err != nil {
		t.Fatalf("the guest does not see the room system: %v", err)
	}
	if err := board.Leave(); err != nil {
		t.Fatalf("room system leaves: %v", err)
	}
	board.Close()
	// Re-issued, its session is over: it cannot join again.
	admin.call("POST", "/api/v1/admin/endpoints/"+rs.Endpoint.ID+"/reissue", nil, 200, nil)
	if _, err := client.Join(ctx, client.Config{BaseURL: m.LocalURL(), Room: weekly.ID, HTTPClient: screen, Logger: testLogger()}); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("join after re-issue: %v, want 401", err)
	}

	// The participant limit: with 2 in the room and a limit of 2, bob is refused.
	if out, err := cli(t, "group", "limits", "choir", "--participants", "2", "--data", m.cfg.DataDir); err != nil {
		t.Fatalf("group limits: %v %s", err, out)
	}
	bAddr, bSecret := credentialsOf(t, m, "bob@example.org")
	bhc, err := client.Register(ctx, nil, m.LocalURL(), bAddr, bSecret)
	if err != nil {
		t.Fatal(err)
	}
	if err := guest.Wait(ctx, func(s client.State) bool { return len(s.Participants) == 1 }); err != nil {
		t.Fatalf("the room system did not leave: %v", err)
	}
	if _, err := client.Join(ctx, client.Config{BaseURL: m.LocalURL(), Room: weekly.ID, HTTPClient: bhc, Logger: testLogger()}); err == nil || !strings.Contains(err.Error(), "limit-reached") {
		t.Errorf("join over the participant limit: %v, want limit-reached", err)
	}
}

// TestGroupCLI runs parley group through the running server, then on the
// database with the server stopped.
func TestGroupCLI(t *testing.T) {
	dir := t.TempDir()
	m := NewMain(Config{Listen: "127.0.0.1:0", DataDir: dir, TCPPort: -1}, testLogger())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := m.Run(ctx); err != nil {
		t.Fatal(err)
	}
	setUpGroup(t, m)
	out, err := cli(t, "group", "list", "--data", dir)
	if err != nil || !strings.Contains(out, "Choir") || !strings.Contains(out, "active") || !strings.Contains(out, "2/50") {
		t.Fatalf("list online = %q, %v", out, err)
	}
	out, err = cli(t, "group", "show", "CHOIR", "--data", dir)
	if err != nil || !strings.Contains(out, "alice@choir") || !strings.Contains(out, "Ada <ada@example.org>") {
		t.Fatalf("show online = %q, %v", out, err)
	}
	out, err = cli(t, "group", "limits", "choir", "--rooms", "3", "--endpoints", "9", "--data", dir)
	if err != nil || !strings.Contains(out, "Rooms:") || !strings.Contains(out, "0 of 3") || !strings.Contains(out, "2 of 9") {
		t.Fatalf("limits online = %q, %v", out, err)
	}
	if _, err := cli(t, "group", "show", "nope", "--data", dir); err == nil || !strings.Contains(err.Error(), `there is no group named "nope"`) {
		t.Errorf("show unknown online: %v", err)
	}
	if out, err = cli(t, "group", "disable", "choir", "--data", dir); err != nil || !strings.Contains(out, "disabled") {
		t.Fatalf("disable online = %q, %v", out, err)
	}
	newWebUser(t, m).call("POST", "/api/v1/group/login", map[string]string{"groupName": "choir", "pin": "2468"}, 403, nil)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}

	// Offline: the same commands on the database.
	var got []api.GroupView
	out, err = cli(t, "group", "list", "--json", "--data", dir)
	if err := json.Unmarshal([]byte(out), &got); err != nil || len(got) != 1 || got[0].State != rooms.GroupDisabled || got[0].Limits.Rooms != 3 {
		t.Fatalf("list offline = %q, %v", out, err)
	}
	if out, err = cli(t, "group", "enable", "choir", "--data", dir); err != nil || !strings.Contains(out, "now active") {
		t.Fatalf("enable offline = %q, %v", out, err)
	}
	if _, err = cli(t, "group", "enable", "choir", "--data", dir); err == nil || !strings.Contains(err.Error(), "is not disabled") {
		t.Errorf("enable twice: %v", err)
	}
	if out, err = cli(t, "group", "limits", "Choir", "--participants", "7", "--data", dir); err != nil || !strings.Contains(out, "0 of 7") {
		t.Fatalf("limits offline = %q, %v", out, err)
	}
	if _, err := cli(t, "group", "show", "nope", "--data", dir); err == nil || !strings.Contains(err.Error(), `there is no group named "nope"`) {
		t.Errorf("show unknown offline: %v", err)
	}
	if _, err := cli(t, "group", "limits", "choir", "--data", dir); err == nil {
		t.Error("limits without a limit succeeded")
	}
	if _, err := cli(t, "group", "show", "--data", dir); err == nil {
		t.Error("show without a name succeeded")
	}
}
