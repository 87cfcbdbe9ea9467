package api

import (
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parley-dev/parley/auth"
	"github.com/parley-dev/parley/clientaddr"
	"github.com/parley-dev/parley/rooms"
)

// trustLoopback makes the fixture take client addresses from
// X-Forwarded-For, as behind a reverse proxy on the same machine.
func trustLoopback(cfg *Config) {
	cfg.ClientAddrs = clientaddr.NewResolver([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")})
}

func (gf *groupFixture) from(t *testing.T, addr string) *browser {
	b := gf.browser(t)
	b.addr = addr
	return b
}

// async runs a call on its own goroutine.
func async(b *browser, method, path string, body any) <-chan reply {
	ch := make(chan reply, 1)
	go func() { ch <- b.call(method, path, body) }()
	return ch
}

// waitHeld waits until n throttled attempts are held on the fake clock.
func (gf *groupFixture) waitHeld(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for gf.clock.Pending() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d attempts held, want %d", gf.clock.Pending(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func notYet(t *testing.T, ch <-chan reply, what string) {
	t.Helper()
	select {
	case r := <-ch:
		t.Fatalf("%s answered at once (%d %s): a throttled attempt must wait for its turn", what, r.status, r.body)
	case <-time.After(50 * time.Millisecond):
	}
}

func recv(t *testing.T, ch <-chan reply) reply {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no answer")
		return reply{}
	}
}

// TestPINThrottle: a burst of wrong PINs from one address is slowed (a
// throttled attempt is held until its turn, right or wrong) and refused
// (one more while one waits), while the right PIN still works from
// another address at once and from the same address after its wait.
func TestPINThrottle(t *testing.T) {
	gf := newGroupFixture(t, trustLoopback)
	gf.activeGroup(t)
	attacker := gf.from(t, "203.0.113.7")
	wrong := map[string]string{"groupName": "Choir", "pin": "0000"}
	right := map[string]string{"groupName": "choir", "pin": "2468"}
	for i := range 5 { // the address's burst, answered at once
		if r := attacker.call("POST", "/api/v1/group/login", wrong); r.status != 401 {
			t.Fatalf("wrong PIN %d: %d %s", i, r.status, r.body)
		}
	}
	held := async(attacker, "POST", "/api/v1/group/login", wrong)
	gf.waitHeld(t, 1)
	notYet(t, held, "the 6th wrong PIN")
	r := attacker.call("POST", "/api/v1/group/login", wrong)
	r.want(t, 429, "rate-limited")
	if r.hdr.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	// The owner's right PIN from another address: at once.
	gf.from(t, "198.51.100.9").call("POST", "/api/v1/group/login", right).want(t, 200, "")
	gf.clock.Advance(5 * time.Second)
	recv(t, held).want(t, 401, "unauthorized")

	// From the attacker's address, the right PIN waits its turn, then works.
	owner := async(gf.from(t, "203.0.113.7"), "POST", "/api/v1/group/login", right)
	gf.waitHeld(t, 1)
	notYet(t, owner, "the right PIN from a throttled address")
	gf.clock.Advance(5 * time.Second)
	recv(t, owner).want(t, 200, "")
}

// TestThrottlePerGroup: wrong PINs from many addresses throttle the group;
// the owner's right PIN from a fresh address then waits at most one turn.
func TestThrottlePerGroup(t *testing.T) {
	gf := newGroupFixture(t, trustLoopback)
	gf.activeGroup(t)
	wrong := map[string]string{"groupName": "Choir", "pin": "0000"}
	for i := range 10 {
		gf.from(t, netip.AddrFrom4([4]byte{203, 0, 113, byte(i + 1)}).String()).call("POST", "/api/v1/group/login", wrong).want(t, 401, "unauthorized")
	}
	owner := async(gf.from(t, "198.51.100.9"), "POST", "/api/v1/group/login", map[string]string{"groupName": "choir", "pin": "2468"})
	gf.waitHeld(t, 1)
	notYet(t, owner, "the right PIN of a throttled group")
	gf.clock.Advance(2 * time.Second)
	recv(t, owner).want(t, 200, "")
	// Another group is not throttled by it.
	if gf.clock.Pending() != 0 {
		t.Errorf("%d attempts still held", gf.clock.Pending())
	}
}

func TestEndpointJoin(t *testing.T) {
	gf := newGroupFixture(t)
	gf.activeGroup(t)
	user := gf.browser(t)
	user.call("POST", "/api/v1/group/login", map[string]string{"groupName": "choir", "pin": "2468"}).want(t, 200, "")
	var weekly RoomView
	r := user.call("POST", "/api/v1/group/rooms", map[string]string{"name": "Weekly"})
	r.want(t, 201, "")
	r.decode(t, &weekly)

	addr, secret := gf.credentials(t, "alice@example.org")
	alice := gf.browser(t)
	alice.call("POST", "/api/v1/join", map[string]string{"room": weekly.ID}).want(t, 401, "unauthorized")
	alice.call("POST", "/api/v1/endpoint/login", map[string]string{"address": addr, "secret": "nope"}).want(t, 401, "unauthorized")
	alice.call("POST", "/api/v1/endpoint/login", map[string]string{"address": addr, "secret": secret}).want(t, 200, "")
	var me EndpointMe
	r = alice.call("GET", "/api/v1/endpoint/me", nil)
	r.want(t, 200, "")
	r.decode(t, &me)
	if me.Address != "alice@choir" || me.Name != "alice@example.org" || me.Group.Name != "Choir" || len(me.Rooms) != 1 || me.Rooms[0].ID != weekly.ID ||
		me.Rooms[0].URL != "https://meet.example.org/r/"+weekly.Link || me.Rooms[0].URL != weekly.URL {
		t.Errorf("me = %+v", me)
	}

	check := func(r reply, endpoint string) {
		t.Helper()
		r.want(t, 200, "")
		var jr JoinResponse
		r.decode(t, &jr)
		c, err := gf.tokens.VerifyJoin(jr.Token)
		if err != nil {
			t.Fatal(err)
		}
		wantName := ""
		if endpoint != "" {
			wantName = "alice@example.org"
		}
		if c.RoomID != weekly.ID || c.Role != auth.RoleMember || c.Endpoint != endpoint || c.Name != wantName || jr.Name != wantName {
			t.Errorf("join token claims %+v, response %s; want endpoint %q", c, r.body, endpoint)
		}
	}
	check(alice.call("POST", "/api/v1/join", map[string]string{"room": weekly.ID}), me.ID)
	check(alice.call("POST", "/api/v1/join", map[string]string{"link": weekly.Link}), me.ID)
	check(gf.browser(t).call("POST", "/api/v1/join", map[string]string{"link": weekly.Link}), "")
	alice.call("POST", "/api/v1/join", map[string]string{"room": "r_nope"}).want(t, 404, "room-not-found")
	// A cross-site request carrying the endpoint's cookie is refused.
	req, _ := http.NewRequest("POST", gf.srv.URL+"/api/v1/join", strings.NewReader(`{"room":"`+weekly.ID+`"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if resp, err := alice.c.Do(req); err != nil || resp.StatusCode != 403 {
		t.Errorf("cross-site join with the endpoint cookie: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	// An operator's room is not the endpoint's to join by ID.
	op, err := rooms.New("Lobby", gf.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := gf.db.CreateRoom(t.Context(), op); err != nil {
		t.Fatal(err)
	}
	alice.call("POST", "/api/v1/join", map[string]string{"room": op.ID}).want(t, 404, "room-not-found")
	check2 := alice.call("POST", "/api/v1/join", map[string]string{"link": op.Link})
	check2.want(t, 200, "")
	alice.call("POST", "/api/v1/endpoint/logout", nil).want(t, 204, "")
	alice.call("GET", "/api/v1/endpoint/me", nil).want(t, 401, "unauthorized")
}

func TestGroupRooms(t *testing.T) {
	gf := newGroupFixture(t)
	gf.activeGroup(t)
	user := gf.browser(t)
	user.call("GET", "/api/v1/group/rooms", nil).want(t, 401, "unauthorized")
	user.call("POST", "/api/v1/group/login", map[string]string{"groupName": "choir", "pin": "1111"}).want(t, 401, "unauthorized")
	user.call("POST", "/api/v1/group/login", map[string]string{"groupName": "choir", "pin": "2468"}).want(t, 200, "")
	var weekly RoomView
	r := user.call("POST", "/api/v1/group/rooms", map[string]string{"name": " Weekly  Sync "})
	r.want(t, 201, "")
	r.decode(t, &weekly)
	if weekly.Name != "Weekly Sync" || weekly.URL != "https://meet.example.org/r/"+weekly.Link {
		t.Errorf("room = %+v", weekly)
	}
	user.call("POST", "/api/v1/group/rooms", map[string]string{"name": "WEEKLY SYNC"}).want(t, 409, "room-exists")
	user.call("POST", "/api/v1/group/rooms", map[string]string{"name": "bad/name"}).want(t, 400, "bad-request")
	// The operator may have a room of the same name.
	op, _ := rooms.New("Weekly Sync", gf.clock.Now())
	if err := gf.db.CreateRoom(t.Context(), op); err != nil {
		t.Fatalf("operator room of a group room's name: %v", err)
	}
	user.call("POST", "/api/v1/group/rooms", map[string]string{"name": "Alpha"}).want(t, 201, "")
	var list struct {
		Rooms []RoomView
	}
	r = user.call("GET", "/api/v1/group/rooms", nil)
	r.want(t, 200, "")
	r.decode(t, &list)
	var names []string
	for _, rm := range list.Rooms {
		names = append(names, rm.Name)
	}
	if !slices.Equal(names, []string{"Alpha", "Weekly Sync"}) {
		t.Errorf("rooms = %q", names)
	}
	user.call("DELETE", "/api/v1/group/rooms/"+op.ID, nil).want(t, 404, "room-not-found")
	user.call("DELETE", "/api/v1/group/rooms/"+weekly.ID, nil).want(t, 204, "")
	if !slices.Equal(gf.deleted, []string{weekly.ID}) {
		t.Errorf("calls ended: %v", gf.deleted)
	}
	user.call("DELETE", "/api/v1/group/rooms/"+weekly.ID, nil).want(t, 404, "room-not-found")
	user.call("POST", "/api/v1/group/logout", nil).want(t, 204, "")
	user.call("GET", "/api/v1/group/rooms", nil).want(t, 401, "unauthorized")
}

// TestVerificationCap: a burst of sign-ins beyond what the Verifier runs
// and queues is answered 503 busy with Retry-After, never an error or a
// wrong answer, and the right password still works after it.
func TestVerificationCap(t *testing.T) {
	gf := newGroupFixture(t, trustLoopback, func(cfg *Config) {
		// The real argon2id cost, one at a time, one more queued.
		cfg.Groups.Verifier = auth.NewVerifier(auth.VerifierConfig{Concurrent: 1, Queue: 1, MaxWait: time.Minute})
	})
	gf.activeGroup(t)
	const n = 8 // under the group's burst of 10: none is held for its turn
	replies := make(chan reply, n)
	for i := range n {
		b := gf.from(t, netip.AddrFrom4([4]byte{203, 0, 113, byte(i + 1)}).String())
		go func() {
			replies <- b.call("POST", "/api/v1/admin/login", map[string]string{"groupName": "choir", "password": "wrong-password"})
		}()
	}
	busy := 0
	for range n {
		r := recv(t, replies)
		switch {
		case r.status == 503 && r.code == "busy" && r.hdr.Get("Retry-After") != "":
			busy++
		case r.status == 401:
		default:
			t.Errorf("burst answer %d %s", r.status, r.body)
		}
	}
	if busy == 0 {
		t.Errorf("none of %d simultaneous sign-ins was refused busy with a cap of 1 running and 1 queued", n)
	}
	gf.adminBrowser(t, "hunter2")
}
