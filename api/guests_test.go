package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-dev/parley/auth"
	"github.com/parley-dev/parley/rooms"
	"github.com/parley-dev/parley/rooms/store"
)

// guestFixture is a group fixture with guest links on, an active group
// "Choir" and its room Weekly (and Other), and a group user signed in.
type guestFixture struct {
	*groupFixture
	user          *browser
	weekly, other RoomView
	callSize      atomic.Int32 // what CallSize reports for every room
	key           []byte
}

func newGuestFixture(t *testing.T, opts ...func(*Config)) *guestFixture {
	t.Helper()
	g := &guestFixture{}
	g.groupFixture = newGroupFixture(t, append([]func(*Config){func(cfg *Config) {
		db := cfg.Rooms.(*store.DB)
		key, err := db.SigningKey()
		if err != nil {
			t.Fatal(err)
		}
		g.key = key
		cfg.Guests = GuestConfig{
			Store:     db,
			Key:       key,
			Tokens:    cfg.Tokens.(*auth.Tokens),
			RoomLimit: func(context.Context, *rooms.Room) int { return 3 },
			CallSize:  func(string) int { return int(g.callSize.Load()) },
		}
	}}, opts...)...)
	g.activeGroup(t)
	g.user = g.browser(t)
	g.user.call("POST", "/api/v1/group/login", map[string]string{"groupName": "choir", "pin": "2468"}).want(t, 200, "")
	for name, v := range map[string]*RoomView{"Weekly": &g.weekly, "Other": &g.other} {
		r := g.user.call("POST", "/api/v1/group/rooms", map[string]string{"name": name})
		r.want(t, 201, "")
		r.decode(t, v)
	}
	return g
}

// standing copies the room's meeting room link as a group user does and
// returns its token.
func (g *guestFixture) standing(t *testing.T, roomID string) (GuestLinkView, string) {
	t.Helper()
	var v GuestLinkView
	r := g.user.call("POST", "/api/v1/group/rooms/"+roomID+"/guest-link", nil)
	r.want(t, 200, "")
	r.decode(t, &v)
	token, ok := strings.CutPrefix(v.URL, "https://meet.example.org/g/")
	if !ok || len(token) != rooms.GuestTokenLen || v.Kind != rooms.GuestLinkStanding || v.State != "active" {
		t.Fatalf("guest link %+v", v)
	}
	return v, token
}

// guestJoin joins by the link as name and returns the join token's claims.
func (g *guestFixture) guestJoin(t *testing.T, token, name string) *auth.JoinClaims {
	t.Helper()
	r := g.browser(t).call("POST", "/api/v1/guest/join", map[string]string{"token": token, "name": name})
	r.want(t, 200, "")
	var jr JoinResponse
	r.decode(t, &jr)
	c, err := g.tokens.VerifyJoin(jr.Token)
	if err != nil {
		t.Fatal(err)
	}
	if jr.WSPath != "/ws" || jr.Room.ID != c.RoomID || jr.Name != c.Name {
		t.Errorf("join response %+v for claims %+v", jr, c)
	}
	return c
}

func decodeBody(t *testing.T, resp *http.Response, v any) {
	t.Helper()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("decode: %v", err)
	}
}

func TestGuestLinkJoin(t *testing.T) {
	g := newGuestFixture(t)
	v, token := g.standing(t, g.weekly.ID)
	// Copying again gives the same link: what was pasted keeps working.
	if again, _ := g.standing(t, g.weekly.ID); again.URL != v.URL || again.ID != v.ID {
		t.Errorf("second copy %+v, want the same link %+v", again, v)
	}
	grouped := strings.ToUpper(token[:5] + "-" + token[5:15] + "-" + token[15:])
	for _, tok := range []string{token, grouped} {
		var info GuestLinkInfo
		r := g.browser(t).call("GET", "/api/v1/guest/"+tok, nil)
		r.want(t, 200, "")
		r.decode(t, &info)
		if info.Room.Name != "Weekly" || info.Kind != rooms.GuestLinkStanding || info.ExpiresAt != nil || strings.Contains(string(r.body), g.weekly.ID) {
			t.Errorf("guest link info %s", r.body)
		}
	}
	// The page itself.
	resp, err := http.Get(g.srv.URL + "/g/" + token)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Errorf("GET /g/{token}: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}

	// The name is required; the join token is a guest's of this room.
	for _, name := range []string{"", "   ", strings.Repeat("x", 65), "a\x07b"} {
		r := g.browser(t).call("POST", "/api/v1/guest/join", map[string]string{"token": token, "name": name})
		r.want(t, 422, "invalid")
		if r.fields["name"] == "" {
			t.Errorf("name %q: no words beside the field: %s", name, r.body)
		}
	}
	c := g.guestJoin(t, grouped, "  Gil  Guest ")
	if c.Role != auth.RoleGuest || c.RoomID != g.weekly.ID || c.Name != "Gil Guest" || c.Invitation != "" || c.Endpoint != "" {
		t.Errorf("guest claims %+v", c)
	}

	// A link of room A never opens room B: B's link is another, and A's
	// token is no member link either.
	_, otherToken := g.standing(t, g.other.ID)
	if otherToken == token {
		t.Fatal("two rooms share a guest link")
	}
	if c := g.guestJoin(t, otherToken, "Gil"); c.RoomID != g.other.ID {
		t.Errorf("room B's link admits to %s", c.RoomID)
	}
	g.browser(t).call("POST", "/api/v1/join", map[string]string{"link": token}).want(t, 404, "room-not-found")

	// Revoked: a clear refusal that says who to ask, and no join token.
	g.user.call("DELETE", "/api/v1/group/rooms/"+g.weekly.ID+"/guest-link", nil).want(t, 204, "")
	r := g.browser(t).call("GET", "/api/v1/guest/"+token, nil)
	r.want(t, 410, "link-revoked")
	if !strings.Contains(r.msg, "Ask the person who invited you for a new link") {
		t.Errorf("revoked message %q", r.msg)
	}
	g.browser(t).call("POST", "/api/v1/guest/join", map[string]string{"token": token, "name": "Gil"}).want(t, 410, "link-revoked")
	// A new copy is a new link; the old stays revoked; room B's still works.
	if nv, _ := g.standing(t, g.weekly.ID); nv.URL == v.URL {
		t.Error("the revoked link came back")
	}
	g.browser(t).call("GET", "/api/v1/guest/"+token, nil).want(t, 410, "link-revoked")
	g.browser(t).call("GET", "/api/v1/guest/"+otherToken, nil).want(t, 200, "")
}

func TestGuestLinkExpiry(t *testing.T) {
	g := newGuestFixture(t)
	l, token, err := rooms.NewGuestLink(g.key, g.weekly.ID, rooms.GuestLinkInvitation, "endpoint:e_x", g.clock.Now(), 0)
	if err != nil {
		t.Fatal(err)
	}
	l.InvitationID = "inv_1"
	if err := g.db.CreateGuestLink(context.Background(), l); err != nil {
		t.Fatal(err)
	}
	var info GuestLinkInfo
	r := g.browser(t).call("GET", "/api/v1/guest/"+token, nil)
	r.want(t, 200, "")
	r.decode(t, &info)
	if info.Kind != rooms.GuestLinkInvitation || info.ExpiresAt == nil || !info.ExpiresAt.Equal(g.clock.Now().Add(24*time.Hour)) {
		t.Errorf("invitation link info %s", r.body)
	}
	g.clock.Advance(24*time.Hour - time.Second)
	if c := g.guestJoin(t, token, "Ines"); c.Invitation != "inv_1" || c.Role != auth.RoleGuest {
		t.Errorf("invitation guest's claims %+v", c)
	}
	g.clock.Advance(time.Second)
	r = g.browser(t).call("GET", "/api/v1/guest/"+token, nil)
	r.want(t, 410, "link-expired")
	if !strings.Contains(r.msg, "Ask the person who invited you for a new link") {
		t.Errorf("expired message %q", r.msg)
	}
	g.browser(t).call("POST", "/api/v1/guest/join", map[string]string{"token": token, "name": "Ines"}).want(t, 410, "link-expired")
}

// Misses are throttled like join links; the right link is never refused.
func TestGuestLinkGuessing(t *testing.T) {
	g := newGuestFixture(t, func(cfg *Config) { cfg.JoinBurst = 3 })
	_, token := g.standing(t, g.weekly.ID)
	wrong := []string{"nope", strings.Repeat("a", 26), "g_" + token[2:], token[:25] + "b"}
	b := g.browser(t)
	for _, w := range wrong[:3] {
		b.call("GET", "/api/v1/guest/"+w, nil).want(t, 404, "link-not-found")
	}
	b.call("POST", "/api/v1/guest/join", map[string]string{"token": wrong[3], "name": "Eve"}).want(t, 429, "rate-limited")
	b.call("GET", "/api/v1/guest/"+token, nil).want(t, 200, "")
	b.call("POST", "/api/v1/guest/join", map[string]string{"token": token, "name": "Gil"}).want(t, 200, "")
}

// A guest's join token is refused by the members' in-call route with
// not-a-member; a member's gets the room's guest link.
func TestGuestsAreNotMembers(t *testing.T) {
	g := newGuestFixture(t)
	v, token := g.standing(t, g.weekly.ID)
	r := g.browser(t).call("POST", "/api/v1/guest/join", map[string]string{"token": token, "name": "Gil"})
	var guest JoinResponse
	r.decode(t, &guest)
	member, _, err := g.tokens.IssueJoin(g.weekly.ID, auth.RoleMember)
	if err != nil {
		t.Fatal(err)
	}
	call := func(tok string) (int, string, GuestLinkView) {
		req, _ := http.NewRequest("GET", g.srv.URL+"/api/v1/rooms/guest-link", nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct {
			GuestLinkView
			Error struct{ Code string } `json:"error"`
		}
		decodeBody(t, resp, &body)
		return resp.StatusCode, body.Error.Code, body.GuestLinkView
	}
	if st, code, _ := call(guest.Token); st != 403 || code != "not-a-member" {
		t.Errorf("a guest's token: %d %s, want 403 not-a-member", st, code)
	}
	if st, code, _ := call(""); st != 401 || code != "unauthorized" {
		t.Errorf("no token: %d %s", st, code)
	}
	if st, code, _ := call(member[:len(member)-2] + "xx"); st != 401 || code != "unauthorized" {
		t.Errorf("a forged token: %d %s", st, code)
	}
	if st, _, got := call(member); st != 200 || got.URL != v.URL {
		t.Errorf("a member's token: %d %+v, want the standing link %s", st, got, v.URL)
	}
	// The guest has no session for the group users', administrator's or
	// endpoints' routes either.
	gb := g.browser(t)
	gb.call("POST", "/api/v1/group/rooms/"+g.weekly.ID+"/guest-link", nil).want(t, 401, "unauthorized")
	gb.call("DELETE", "/api/v1/admin/rooms/"+g.weekly.ID+"/guest-link", nil).want(t, 401, "unauthorized")
	gb.call("POST", "/api/v1/endpoint/rooms/"+g.weekly.ID+"/guest-link", nil).want(t, 401, "unauthorized")
}

func TestGuestRoomFull(t *testing.T) {
	g := newGuestFixture(t)
	_, token := g.standing(t, g.weekly.ID)
	g.callSize.Store(2)
	g.guestJoin(t, token, "Gil")
	g.callSize.Store(3)
	r := g.browser(t).call("POST", "/api/v1/guest/join", map[string]string{"token": token, "name": "Gil"})
	r.want(t, 409, "room-full")
	if !strings.Contains(r.msg, "full") {
		t.Errorf("room-full message %q", r.msg)
	}
}

func TestRoomMembers(t *testing.T) {
	g := newGuestFixture(t)
	var eps struct{ Endpoints []EndpointView }
	r := g.user.call("GET", "/api/v1/group/endpoints", nil)
	r.want(t, 200, "")
	r.decode(t, &eps)
	if len(eps.Endpoints) != 2 {
		t.Fatalf("group endpoints %s", r.body)
	}
	alice, bob := eps.Endpoints[0], eps.Endpoints[1]
	g.user.call("PUT", "/api/v1/group/rooms/"+g.weekly.ID+"/members", map[string][]string{"members": {alice.ID, "e_nope"}}).want(t, 422, "invalid")
	g.user.call("PUT", "/api/v1/group/rooms/"+g.weekly.ID+"/members", map[string]any{}).want(t, 422, "invalid")
	g.user.call("PUT", "/api/v1/group/rooms/r_nope/members", map[string][]string{"members": {}}).want(t, 404, "room-not-found")
	var rv RoomView
	r = g.user.call("PUT", "/api/v1/group/rooms/"+g.weekly.ID+"/members", map[string][]string{"members": {alice.ID}})
	r.want(t, 200, "")
	r.decode(t, &rv)
	if len(rv.Members) != 1 || rv.Members[0] != alice.ID || rv.Link != g.weekly.Link {
		t.Errorf("room after members set: %+v", rv)
	}

	signIn := func(email string) *browser {
		addr, secret := g.credentials(t, email)
		b := g.browser(t)
		b.call("POST", "/api/v1/endpoint/login", map[string]string{"address": addr, "secret": secret}).want(t, 200, "")
		return b
	}
	ab, bb := signIn("alice@example.org"), signIn("bob@example.org")
	roomsOf := func(b *browser) []string {
		var me EndpointMe
		r := b.call("GET", "/api/v1/endpoint/me", nil)
		r.want(t, 200, "")
		r.decode(t, &me)
		var names []string
		for _, rm := range me.Rooms {
			names = append(names, rm.Name)
		}
		return names
	}
	if len(g.other.Members) != 0 {
		t.Errorf("a new room's members %v, want none (every endpoint)", g.other.Members)
	}
	if got := strings.Join(roomsOf(ab), ","); got != "Other,Weekly" {
		t.Errorf("alice sees %s", got)
	}
	if got := strings.Join(roomsOf(bb), ","); got != "Other" {
		t.Errorf("bob, not a member of Weekly, sees %s", got)
	}
	// Joining by ID stays open to every endpoint of the group (issue #12).
	bb.call("POST", "/api/v1/join", map[string]string{"room": g.weekly.ID}).want(t, 200, "")
	bb.call("POST", "/api/v1/endpoint/rooms/"+g.weekly.ID+"/guest-link", nil).want(t, 404, "room-not-found")
	var av GuestLinkView
	r = ab.call("POST", "/api/v1/endpoint/rooms/"+g.weekly.ID+"/guest-link", nil)
	r.want(t, 200, "")
	r.decode(t, &av)
	if gv, _ := g.standing(t, g.weekly.ID); gv.URL != av.URL {
		t.Errorf("the member's copy %s differs from the group user's %s", av.URL, gv.URL)
	}
	ab.call("DELETE", "/api/v1/endpoint/rooms/"+g.weekly.ID+"/guest-link", nil).want(t, 204, "")
	g.browser(t).call("GET", "/api/v1/guest/"+av.URL[len("https://meet.example.org/g/"):], nil).want(t, 410, "link-revoked")

	// The administrator's console: the same rooms and member lists.
	admin := g.adminBrowser(t, "hunter2")
	var list struct{ Rooms []RoomView }
	r = admin.call("GET", "/api/v1/admin/rooms", nil)
	r.want(t, 200, "")
	r.decode(t, &list)
	if len(list.Rooms) != 2 || list.Rooms[1].Name != "Weekly" || len(list.Rooms[1].Members) != 1 {
		t.Errorf("admin rooms %s", r.body)
	}
	admin.call("PUT", "/api/v1/admin/rooms/"+g.weekly.ID+"/members", map[string][]string{"members": {bob.ID}}).want(t, 200, "")
	if got := strings.Join(roomsOf(bb), ","); got != "Other,Weekly" {
		t.Errorf("made a member, bob sees %s", got)
	}
	admin.call("PUT", "/api/v1/admin/rooms/"+g.weekly.ID+"/members", map[string][]string{"members": {alice.ID}}).want(t, 200, "")
	if got := strings.Join(roomsOf(bb), ","); got != "Other" {
		t.Errorf("no longer a member, bob sees %s", got)
	}
	admin.call("PUT", "/api/v1/admin/rooms/"+g.weekly.ID+"/members", map[string][]string{"members": {}}).want(t, 200, "")
	if got := strings.Join(append(roomsOf(ab), roomsOf(bb)...), ","); got != "Other,Weekly,Other,Weekly" {
		t.Errorf("with an empty list (every endpoint), alice and bob see %s", got)
	}
	admin.call("POST", "/api/v1/admin/rooms/"+g.other.ID+"/guest-link", nil).want(t, 200, "")
	if bob.ID == alice.ID {
		t.Error("one endpoint twice")
	}
}

// TestRoutesBesideGuestRoutes: the guest routes, registered like every
// other API route, hide nothing: a room named "guest-link" is the
// operator's to create, fetch and delete; the call members' GET
// /api/v1/rooms/guest-link still answers a join token; a known path with
// a wrong method gets 405 with Allow (literal and wildcard patterns at
// one path), an unknown one 404.
func TestRoutesBesideGuestRoutes(t *testing.T) {
	g := newGuestFixture(t)
	op := map[string]string{"Authorization": "Bearer " + opToken}
	resp, data := g.do(t, "POST", "/api/v1/rooms", `{"name":"guest-link"}`, op)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create the room guest-link: %d %s", resp.StatusCode, data)
	}
	var created RoomView
	if err := json.Unmarshal(data, &created); err != nil {
		t.Fatal(err)
	}
	resp, data = g.do(t, "GET", "/api/v1/rooms/guest-link", "", op)
	var got RoomView
	if resp.StatusCode != http.StatusOK || json.Unmarshal(data, &got) != nil || got.ID != created.ID || got.Name != "guest-link" {
		t.Fatalf("GET /api/v1/rooms/guest-link as the operator: %d %s, want the room %s", resp.StatusCode, data, created.ID)
	}
	// The members' route at the same path, with a member's join token.
	member, _, err := g.tokens.IssueJoin(g.weekly.ID, auth.RoleMember)
	if err != nil {
		t.Fatal(err)
	}
	resp, data = g.do(t, "GET", "/api/v1/rooms/guest-link", "", map[string]string{"Authorization": "Bearer " + member})
	var link GuestLinkView
	if resp.StatusCode != http.StatusOK || json.Unmarshal(data, &link) != nil || link.Kind != rooms.GuestLinkStanding {
		t.Fatalf("GET /api/v1/rooms/guest-link with a member's token: %d %s, want the standing link", resp.StatusCode, data)
	}
	if resp, data := g.do(t, "DELETE", "/api/v1/rooms/guest-link", "", op); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete the room guest-link: %d %s", resp.StatusCode, data)
	}
	if resp, data := g.do(t, "GET", "/api/v1/rooms/guest-link", "", op); resp.StatusCode != http.StatusNotFound || errorCode(t, data) != "room-not-found" {
		t.Fatalf("GET the deleted room guest-link: %d %s, want 404 room-not-found", resp.StatusCode, data)
	}

	for _, c := range []struct{ method, path, allow string }{
		{"GET", "/api/v1/join", "POST"},
		{"PUT", "/api/v1/rooms/guest-link", "GET, DELETE"},
		{"POST", "/api/v1/rooms/weekly", "GET, DELETE"},
		{"DELETE", "/api/v1/rooms", "GET, POST"},
		{"GET", "/api/v1/guest/join", ""}, // GET /api/v1/guest/{token}: a link not found
		{"PUT", "/api/v1/guest/join", "GET, POST"},
		{"DELETE", "/api/v1/guest/k3abc", "GET"},
		{"GET", "/api/v1/group/rooms/r_x/guest-link", "POST, DELETE"},
	} {
		resp, data := g.do(t, c.method, c.path, "", nil)
		if c.allow == "" {
			if resp.StatusCode == http.StatusMethodNotAllowed {
				t.Errorf("%s %s: 405 %s, want the route's own answer", c.method, c.path, data)
			}
			continue
		}
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != c.allow || errorCode(t, data) != "method-not-allowed" {
			t.Errorf("%s %s: %d Allow %q %s, want 405 Allow %q", c.method, c.path, resp.StatusCode, resp.Header.Get("Allow"), data, c.allow)
		}
	}
	for _, path := range []string{"/api/v1/nothing", "/api/v1/rooms/a/b", "/api/v2/rooms"} {
		if resp, data := g.do(t, "GET", path, "", nil); resp.StatusCode != http.StatusNotFound || errorCode(t, data) != "not-found" {
			t.Errorf("GET %s: %d %s, want 404 not-found", path, resp.StatusCode, data)
		}
	}
}
