package api

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parley-dev/parley/rooms"
)

func (gf *groupFixture) adminBrowser(t *testing.T, password string) *browser {
	t.Helper()
	b := gf.browser(t)
	b.call("POST", "/api/v1/admin/login", map[string]string{"groupName": "CHOIR", "password": password}).want(t, 200, "")
	return b
}

func (b *browser) console(t *testing.T) GroupView {
	t.Helper()
	var v GroupView
	r := b.call("GET", "/api/v1/admin/group", nil)
	r.want(t, 200, "")
	r.decode(t, &v)
	return v
}

func TestAdminConsole(t *testing.T) {
	gf := newGroupFixture(t)
	tok := gf.signUp(t, goodSignUp())
	b := gf.browser(t)
	b.call("GET", "/api/v1/admin/group", nil).want(t, 401, "unauthorized")
	b.call("POST", "/api/v1/admin/login", map[string]string{"groupName": "Choir", "password": "wrong!"}).want(t, 401, "unauthorized")
	b.call("POST", "/api/v1/admin/login", map[string]string{"groupName": "Nope", "password": "hunter2"}).want(t, 401, "unauthorized")

	// A pending group's administrator signs in; room systems wait.
	admin := gf.adminBrowser(t, "hunter2")
	v := admin.console(t)
	if v.State != rooms.GroupPending || v.Admin.Email != "ada@example.org" || len(v.Endpoints) != 2 || v.Limits != rooms.DefaultLimits ||
		v.Usage.Endpoints != 2 {
		t.Fatalf("console = %+v", v)
	}
	admin.call("POST", "/api/v1/admin/endpoints", map[string]string{"kind": "room-system", "name": "Board Room"}).want(t, 409, "not-active")
	// A member added while pending is mailed at activation.
	admin.call("POST", "/api/v1/admin/endpoints", map[string]string{"kind": "member", "name": "carol@example.org"}).want(t, 201, "")
	b.call("POST", "/api/v1/activate", map[string]string{"token": tok}).want(t, 200, "")
	gf.credentials(t, "carol@example.org")

	// Members need an e-mail address not in any group; room systems any name.
	r := admin.call("POST", "/api/v1/admin/endpoints", map[string]string{"kind": "member", "name": "Board Room"})
	r.want(t, 422, "invalid")
	if !strings.Contains(r.fields["name"], "is not an email address") {
		t.Errorf("member without an e-mail: %q", r.fields)
	}
	r = admin.call("POST", "/api/v1/admin/endpoints", map[string]string{"kind": "member", "name": "ALICE@example.org"})
	r.want(t, 422, "invalid")
	admin.call("POST", "/api/v1/admin/endpoints", map[string]string{"kind": "robot", "name": "x"}).want(t, 422, "invalid")
	var added EndpointResponse
	r = admin.call("POST", "/api/v1/admin/endpoints", map[string]string{"kind": "member", "name": "dan@example.org"})
	r.want(t, 201, "")
	r.decode(t, &added)
	if added.SentTo != "dan@example.org" || added.Secret != "" || added.Endpoint.Address != "dan@choir" {
		t.Errorf("member added: %s", r.body)
	}
	dAddr, dSecret := gf.credentials(t, "dan@example.org")
	r = admin.call("POST", "/api/v1/admin/endpoints", map[string]string{"kind": "room-system", "name": "Board Room"})
	r.want(t, 201, "")
	var rs EndpointResponse
	r.decode(t, &rs)
	if rs.Endpoint.Address != "board-room@choir" || len(rs.Secret) != 22 || rs.Endpoint.Kind != rooms.EndpointRoomSystem {
		t.Fatalf("room system added: %s", r.body)
	}

	// The room system registers; disabled, it cannot; enabled again, it can.
	screen := gf.browser(t)
	login := func(b *browser, addr, secret string) reply {
		return b.call("POST", "/api/v1/endpoint/login", map[string]string{"address": addr, "secret": secret})
	}
	login(screen, "Board-Room@Choir", rs.Secret).want(t, 200, "")
	screen.call("GET", "/api/v1/endpoint/me", nil).want(t, 200, "")
	admin.call("POST", "/api/v1/admin/endpoints/"+rs.Endpoint.ID+"/disable", nil).want(t, 200, "")
	screen.call("GET", "/api/v1/endpoint/me", nil).want(t, 403, "endpoint-disabled")
	login(gf.browser(t), "board-room@choir", rs.Secret).want(t, 403, "endpoint-disabled")
	admin.call("POST", "/api/v1/admin/endpoints/"+rs.Endpoint.ID+"/enable", nil).want(t, 200, "")
	screen.call("GET", "/api/v1/endpoint/me", nil).want(t, 200, "")

	// Re-issue: the old secret and the sessions made with it stop working.
	r = admin.call("POST", "/api/v1/admin/endpoints/"+rs.Endpoint.ID+"/reissue", nil)
	r.want(t, 200, "")
	var re EndpointResponse
	r.decode(t, &re)
	if re.Secret == "" || re.Secret == rs.Secret {
		t.Fatalf("reissue: %s", r.body)
	}
	screen.call("GET", "/api/v1/endpoint/me", nil).want(t, 401, "unauthorized")
	login(gf.browser(t), "board-room@choir", rs.Secret).want(t, 401, "unauthorized")
	login(screen, "board-room@choir", re.Secret).want(t, 200, "")
	// A member's re-issued secret is mailed (a second later: mails are
	// read newest first).
	gf.clock.Advance(time.Second)
	admin.call("POST", "/api/v1/admin/endpoints/"+added.Endpoint.ID+"/reissue", nil).want(t, 200, "")
	if _, s2 := gf.credentials(t, "dan@example.org"); s2 == dSecret {
		t.Error("the member's re-issued secret is the old one")
	}
	login(gf.browser(t), dAddr, dSecret).want(t, 401, "unauthorized")

	// Remove: the session ends, the e-mail is free.
	admin.call("DELETE", "/api/v1/admin/endpoints/"+rs.Endpoint.ID, nil).want(t, 204, "")
	screen.call("GET", "/api/v1/endpoint/me", nil).want(t, 401, "unauthorized")
	admin.call("DELETE", "/api/v1/admin/endpoints/"+rs.Endpoint.ID, nil).want(t, 404, "endpoint-not-found")
	admin.call("DELETE", "/api/v1/admin/endpoints/"+added.Endpoint.ID, nil).want(t, 204, "")
	admin.call("POST", "/api/v1/admin/endpoints", map[string]string{"kind": "member", "name": "dan@example.org"}).want(t, 201, "")

	// Contact details.
	r = admin.call("PUT", "/api/v1/admin/contact", map[string]string{"adminName": "", "adminEmail": "x"})
	r.want(t, 422, "invalid")
	if len(r.fields) != 2 {
		t.Errorf("contact fields: %q", r.fields)
	}
	admin.call("PUT", "/api/v1/admin/contact", map[string]string{"adminName": "Ada K", "adminEmail": "ak@example.org"}).want(t, 200, "")
	if v := admin.console(t); v.Admin != (Contact{"Ada K", "ak@example.org"}) || v.State != rooms.GroupActive || len(v.Endpoints) != 4 {
		t.Errorf("console after changes: %+v", v)
	}
}

// TestSessionsRevoked: a new password signs out the other administrator
// sessions (not the one that changed it); a new PIN signs out group users.
func TestSessionsRevoked(t *testing.T) {
	gf := newGroupFixture(t)
	gf.activeGroup(t)
	admin, other := gf.adminBrowser(t, "hunter2"), gf.adminBrowser(t, "hunter2")
	user := gf.browser(t)
	user.call("POST", "/api/v1/group/login", map[string]string{"groupName": "choir", "pin": "2468"}).want(t, 200, "")

	admin.call("PUT", "/api/v1/admin/password", map[string]string{"current": "wrong", "password": "newpass1"}).want(t, 401, "unauthorized")
	r := admin.call("PUT", "/api/v1/admin/password", map[string]string{"current": "hunter2", "password": "abc"})
	r.want(t, 422, "invalid")
	if !strings.Contains(r.fields["password"], "at least 5") {
		t.Errorf("short new password: %q", r.fields)
	}
	admin.call("PUT", "/api/v1/admin/password", map[string]string{"current": "hunter2", "password": "newpass1"}).want(t, 204, "")
	admin.console(t)
	other.call("GET", "/api/v1/admin/group", nil).want(t, 401, "unauthorized")
	gf.browser(t).call("POST", "/api/v1/admin/login", map[string]string{"groupName": "choir", "password": "hunter2"}).want(t, 401, "unauthorized")
	gf.adminBrowser(t, "newpass1")

	user.call("GET", "/api/v1/group/rooms", nil).want(t, 200, "")
	r = admin.call("PUT", "/api/v1/admin/pin", map[string]string{"password": "newpass1", "pin": "12a4"})
	r.want(t, 422, "invalid")
	admin.call("PUT", "/api/v1/admin/pin", map[string]string{"password": "newpass1", "pin": "97531"}).want(t, 204, "")
	user.call("GET", "/api/v1/group/rooms", nil).want(t, 401, "unauthorized")
	user.call("POST", "/api/v1/group/login", map[string]string{"groupName": "choir", "pin": "2468"}).want(t, 401, "unauthorized")
	user.call("POST", "/api/v1/group/login", map[string]string{"groupName": "choir", "pin": "97531"}).want(t, 200, "")

	// Logout clears the cookie.
	admin.call("POST", "/api/v1/admin/logout", nil).want(t, 204, "")
	admin.call("GET", "/api/v1/admin/group", nil).want(t, 401, "unauthorized")
}

func TestSessionCookies(t *testing.T) {
	gf := newGroupFixture(t)
	gf.activeGroup(t)
	addr, secret := gf.credentials(t, "alice@example.org")
	cookie := func(r reply, name string) *http.Cookie {
		t.Helper()
		for _, c := range (&http.Response{Header: r.hdr}).Cookies() {
			if c.Name == name {
				return c
			}
		}
		t.Fatalf("no %s cookie in %v", name, r.hdr)
		return nil
	}
	b := gf.browser(t)
	adm := cookie(b.call("POST", "/api/v1/admin/login", map[string]string{"groupName": "Choir", "password": "hunter2"}), "parley_admin")
	grp := cookie(b.call("POST", "/api/v1/group/login", map[string]string{"groupName": "Choir", "pin": "2468"}), "parley_group")
	ep := cookie(b.call("POST", "/api/v1/endpoint/login", map[string]string{"address": addr, "secret": secret}), "parley_endpoint")
	for _, c := range []*http.Cookie{adm, grp, ep} {
		// The fixture's public URL is https: Secure even on plain HTTP.
		if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/" {
			t.Errorf("cookie %s: %+v", c.Name, c)
		}
	}
	if adm.MaxAge != 0 || grp.MaxAge != 0 || ep.MaxAge < 300*24*3600 {
		t.Errorf("persistence: admin %d, group %d, endpoint %d", adm.MaxAge, grp.MaxAge, ep.MaxAge)
	}
	// A session of one kind is no session of another.
	c := gf.browser(t)
	u, _ := http.NewRequest("GET", gf.srv.URL, nil)
	c.c.Jar.SetCookies(u.URL, []*http.Cookie{{Name: "parley_admin", Value: grp.Value}, {Name: "parley_group", Value: ep.Value}, {Name: "parley_endpoint", Value: adm.Value}})
	c.call("GET", "/api/v1/admin/group", nil).want(t, 401, "unauthorized")
	c.call("GET", "/api/v1/group/rooms", nil).want(t, 401, "unauthorized")
	c.call("GET", "/api/v1/endpoint/me", nil).want(t, 401, "unauthorized")
}

func TestOperatorGroups(t *testing.T) {
	gf := newGroupFixture(t)
	gf.activeGroup(t)
	op := map[string]string{"Authorization": "Bearer " + opToken}
	resp, data := gf.do(t, "GET", "/api/v1/groups", "", op)
	if resp.StatusCode != 200 || !strings.Contains(string(data), `"name":"Choir"`) {
		t.Fatalf("list: %d %s", resp.StatusCode, data)
	}
	resp, data = gf.do(t, "GET", "/api/v1/groups", "", nil)
	if resp.StatusCode != 401 {
		t.Errorf("list without the token: %d", resp.StatusCode)
	}
	resp, data = gf.do(t, "PUT", "/api/v1/groups/choir/limits", `{"endpoints": 3, "rooms": 1}`, op)
	if resp.StatusCode != 200 || !strings.Contains(string(data), `"limits":{"endpoints":3,"rooms":1,"participants":50}`) {
		t.Fatalf("limits: %d %s", resp.StatusCode, data)
	}
	resp, _ = gf.do(t, "PUT", "/api/v1/groups/choir/limits", `{"rooms": -1}`, op)
	if resp.StatusCode != 400 {
		t.Errorf("negative limit: %d", resp.StatusCode)
	}
	resp, _ = gf.do(t, "GET", "/api/v1/groups/nope", "", op)
	if resp.StatusCode != 404 {
		t.Errorf("unknown group: %d", resp.StatusCode)
	}

	// Limits are enforced: endpoints and rooms.
	admin := gf.adminBrowser(t, "hunter2")
	admin.call("POST", "/api/v1/admin/endpoints", map[string]string{"kind": "room-system", "name": "Screen"}).want(t, 201, "")
	admin.call("POST", "/api/v1/admin/endpoints", map[string]string{"kind": "room-system", "name": "Screen 2"}).want(t, 409, "limit-reached")
	user := gf.browser(t)
	user.call("POST", "/api/v1/group/login", map[string]string{"groupName": "choir", "pin": "2468"}).want(t, 200, "")
	user.call("POST", "/api/v1/group/rooms", map[string]string{"name": "Weekly"}).want(t, 201, "")
	user.call("POST", "/api/v1/group/rooms", map[string]string{"name": "Other"}).want(t, 409, "limit-reached")

	// Disabled: nobody of the group gets in, existing sessions stop.
	resp, data = gf.do(t, "POST", "/api/v1/groups/choir/disable", "", op)
	if resp.StatusCode != 200 || !strings.Contains(string(data), `"state":"disabled"`) {
		t.Fatalf("disable: %d %s", resp.StatusCode, data)
	}
	user.call("GET", "/api/v1/group/rooms", nil).want(t, 403, "group-disabled")
	admin.call("GET", "/api/v1/admin/group", nil).want(t, 403, "group-disabled")
	gf.browser(t).call("POST", "/api/v1/admin/login", map[string]string{"groupName": "choir", "password": "hunter2"}).want(t, 403, "group-disabled")
	addr, secret := gf.credentials(t, "alice@example.org")
	gf.browser(t).call("POST", "/api/v1/endpoint/login", map[string]string{"address": addr, "secret": secret}).want(t, 403, "group-disabled")
	rms, _ := gf.db.GroupRooms(context.Background(), gf.group(t).ID)
	gf.browser(t).call("POST", "/api/v1/join", map[string]string{"link": rms[0].Link}).want(t, 403, "group-disabled")
	resp, _ = gf.do(t, "POST", "/api/v1/groups/choir/enable", "", op)
	if resp.StatusCode != 200 {
		t.Errorf("enable: %d", resp.StatusCode)
	}
	user.call("GET", "/api/v1/group/rooms", nil).want(t, 200, "")
}

func (gf *groupFixture) group(t *testing.T) *rooms.Group {
	t.Helper()
	g, err := gf.db.GroupByName(context.Background(), "choir")
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// TestConsoleNoEndpoints: a group with no endpoints left shows an empty
// list, not none.
func TestConsoleNoEndpoints(t *testing.T) {
	gf := newGroupFixture(t)
	gf.activeGroup(t)
	admin := gf.adminBrowser(t, "hunter2")
	for _, ep := range admin.console(t).Endpoints {
		admin.call("DELETE", "/api/v1/admin/endpoints/"+ep.ID, nil).want(t, 204, "")
	}
	r := admin.call("GET", "/api/v1/admin/group", nil)
	if !strings.Contains(string(r.body), `"endpoints":[]`) || !strings.Contains(string(r.body), `"usage":{"endpoints":0,`) {
		t.Errorf("console with no endpoints: %s", r.body)
	}
}
