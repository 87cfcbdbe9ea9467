package signaling

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/webrtc/v4"

	"github.com/parley-dev/parley/client"
	"github.com/parley-dev/parley/livecall/fakeclock"
	"github.com/parley-dev/parley/signaling/protocol"
)

// testDirectory is a Directory over a fixed table of endpoints, each
// signed in by the session token "token-<id>". cmd/parley tests the one
// built on the store.
type testDirectory struct {
	endpoints []Endpoint

	mu      sync.Mutex
	revoked map[string]bool // endpoint ids whose sessions no longer pass
}

func (d *testDirectory) revoke(id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.revoked == nil {
		d.revoked = map[string]bool{}
	}
	d.revoked[id] = true
}

func (d *testDirectory) Authenticate(_ context.Context, token string) (Endpoint, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, e := range d.endpoints {
		if token == "token-"+e.ID && !d.revoked[e.ID] {
			return e, nil
		}
	}
	if token == "expired" {
		return Endpoint{}, fmt.Errorf("check session: %w", ErrSessionExpired)
	}
	return Endpoint{}, fmt.Errorf("check session: %w", ErrBadSession)
}

func (d *testDirectory) Endpoint(_ context.Context, id string) (Endpoint, error) {
	for _, e := range d.endpoints {
		if e.ID == id {
			return e, nil
		}
	}
	return Endpoint{}, fmt.Errorf("endpoint %s: not found", id)
}

func (d *testDirectory) Endpoints(_ context.Context, groupID string) ([]Endpoint, error) {
	var out []Endpoint
	for _, e := range d.endpoints {
		if e.GroupID == groupID {
			out = append(out, e)
		}
	}
	return out, nil
}

// choir has four endpoints; orchestra, another group, one.
var choir = &testDirectory{endpoints: []Endpoint{
	{ID: "ep_alice", GroupID: "g_choir", Name: "Alice Archer", Address: "alice@choir", Kind: protocol.KindMember},
	{ID: "ep_bob", GroupID: "g_choir", Name: "Bob Baker", Address: "bob@choir", Kind: protocol.KindMember},
	{ID: "ep_carol", GroupID: "g_choir", Name: "Carol Cook", Address: "carol@choir", Kind: protocol.KindMember},
	{ID: "ep_hall", GroupID: "g_choir", Name: "Rehearsal hall", Address: "rehearsal-hall@choir", Kind: protocol.KindRoomSystem},
	{ID: "ep_olga", GroupID: "g_orchestra", Name: "Olga", Address: "olga@orchestra", Kind: protocol.KindMember},
}}

// endpointConn is a presence connection: a raw WebSocket that keeps
// every message it reads, for the test to await in order.
type endpointConn struct {
	t    *testing.T
	name string
	conn *websocket.Conn
	wmu  sync.Mutex

	mu   sync.Mutex
	msgs []any
	used []bool
	done chan struct{}
}

// register opens a presence connection with the session token and
// awaits registered.
func (ts *testServer) register(token string) (*endpointConn, *protocol.Registered) {
	ts.t.Helper()
	c := ts.openEndpoint(token, nil)
	c.send(protocol.Register{Type: protocol.TypeRegister, Version: protocol.Version, Token: token})
	return c, c.await(protocol.TypeRegistered, nil).(*protocol.Registered)
}

func (ts *testServer) openEndpoint(name string, header http.Header) *endpointConn {
	ts.t.Helper()
	conn, _, err := websocket.DefaultDialer.Dial(strings.Replace(ts.url, "http://", "ws://", 1)+"/ws", header)
	if err != nil {
		ts.t.Fatal(err)
	}
	c := &endpointConn{t: ts.t, name: name, conn: conn, done: make(chan struct{})}
	go c.loop()
	ts.t.Cleanup(c.close)
	return c
}

func (c *endpointConn) close() {
	c.conn.Close()
	<-c.done
}

func (c *endpointConn) loop() {
	defer close(c.done)
	for {
		_, data, err := c.conn.ReadMessage()
		if err != nil {
			return
		}
		msg, perr := protocol.Decode(data)
		if perr != nil {
			continue
		}
		c.mu.Lock()
		c.msgs = append(c.msgs, msg)
		c.used = append(c.used, false)
		c.mu.Unlock()
	}
}

func (c *endpointConn) send(msg any) {
	c.t.Helper()
	data, _ := json.Marshal(msg)
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.conn.WriteMessage(websocket.TextMessage, data); err != nil {
		c.t.Fatalf("%s: send: %v", c.name, err)
	}
}

// await returns the first message not awaited yet whose type is typ and
// that ok accepts (nil: any), waiting up to 10 s.
func (c *endpointConn) await(typ string, ok func(any) bool) any {
	c.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c.mu.Lock()
		for i, m := range c.msgs {
			if !c.used[i] && msgType(m) == typ && (ok == nil || ok(m)) {
				c.used[i] = true
				c.mu.Unlock()
				return m
			}
		}
		c.mu.Unlock()
		if time.Now().After(deadline) {
			c.t.Fatalf("%s: no %s message came; got %s", c.name, typ, c.summary())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// none checks that no message of type typ has come.
func (c *endpointConn) none(typ string) {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, m := range c.msgs {
		if !c.used[i] && msgType(m) == typ {
			c.t.Errorf("%s: unexpected %s: %+v", c.name, typ, m)
		}
	}
}

func (c *endpointConn) summary() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var parts []string
	for _, m := range c.msgs {
		data, _ := json.Marshal(m)
		parts = append(parts, string(data))
	}
	return strings.Join(parts, "\n  ")
}

// expectError awaits an error with code, answering ref.
func (c *endpointConn) expectError(code, ref string) {
	c.t.Helper()
	e := c.await(protocol.TypeError, nil).(*protocol.Error)
	if e.Code != code || e.Ref != ref || e.Message == "" {
		c.t.Fatalf("%s: error %+v, want code %s ref %s with a message", c.name, e, code, ref)
	}
}

// presenceOf awaits a presence message about endpoint id with online and inCall.
func (c *endpointConn) presenceOf(id string, online, inCall bool) {
	c.t.Helper()
	c.await(protocol.TypePresence, func(m any) bool {
		e := m.(*protocol.Presence).Endpoint
		return e.ID == id && e.Online == online && e.InCall == inCall
	})
}

// ring awaits a ring message of type typ in callID ("" any).
func (c *endpointConn) ring(typ, callID string) *protocol.Ring {
	c.t.Helper()
	return c.await(typ, func(m any) bool { return callID == "" || m.(*protocol.Ring).CallID == callID }).(*protocol.Ring)
}

func startDirectoryServer(t *testing.T, cfg Config) *testServer {
	t.Helper()
	cfg.Directory = choir
	return startTestServer(t, cfg, 0)
}

func TestRegisterAndPresence(t *testing.T) {
	ts := startDirectoryServer(t, Config{})
	alice, reg := ts.register("token-ep_alice")
	if reg.Version != protocol.Version || reg.Endpoint != (protocol.Endpoint{ID: "ep_alice", Name: "Alice Archer", Address: "alice@choir", Kind: "member"}) {
		t.Fatalf("registered %+v", reg)
	}
	var names []string
	for _, e := range reg.Endpoints {
		names = append(names, e.Name)
		if e.Online || e.InCall {
			t.Errorf("%s shown online before anyone else registered", e.Name)
		}
	}
	if got := strings.Join(names, ","); got != "Bob Baker,Carol Cook,Rehearsal hall" {
		t.Errorf("endpoints %s: want the group's others, by name, and nobody of another group", got)
	}
	bob, reg := ts.register("token-ep_bob")
	if e := reg.Endpoints[0]; e.ID != "ep_alice" || !e.Online {
		t.Errorf("bob sees %+v first, want alice online", e)
	}
	alice.presenceOf("ep_bob", true, false)
	// A second connection of bob's changes nothing; only the last to go
	// takes him offline.
	bob2, _ := ts.register("token-ep_bob")
	olga, _ := ts.register("token-ep_olga")
	if got := ts.srv.OnlineEndpoints("g_choir"); !reflect.DeepEqual(got, []string{"ep_alice", "ep_bob"}) {
		t.Errorf("OnlineEndpoints(choir) = %v", got)
	}
	if got := ts.srv.OnlineEndpoints("g_orchestra"); !reflect.DeepEqual(got, []string{"ep_olga"}) {
		t.Errorf("OnlineEndpoints(orchestra) = %v", got)
	}
	bob.close()
	time.Sleep(100 * time.Millisecond)
	alice.none(protocol.TypePresence)
	bob2.close()
	alice.presenceOf("ep_bob", false, false)
	waitFor(t, 5*time.Second, "bob offline", func() bool { return len(ts.srv.OnlineEndpoints("g_choir")) == 1 })
	olga.none(protocol.TypePresence) // another group's changes are not shown
}

func TestRegisterRefused(t *testing.T) {
	ts := startDirectoryServer(t, Config{})
	cases := []struct {
		msg  protocol.Register
		code string
	}{
		{protocol.Register{Type: protocol.TypeRegister, Version: 1, Token: "forged"}, protocol.CodeBadToken},
		{protocol.Register{Type: protocol.TypeRegister, Version: 1}, protocol.CodeBadToken},
		{protocol.Register{Type: protocol.TypeRegister, Version: 1, Token: "expired"}, protocol.CodeTokenExpired},
		{protocol.Register{Type: protocol.TypeRegister, Version: 2, Token: "token-ep_alice"}, protocol.CodeBadVersion},
	}
	for _, c := range cases {
		raw := ts.dial(0)
		raw.send(c.msg)
		raw.expectError(c.code)
		raw.expectClose(websocket.ClosePolicyViolation, c.code)
	}
	// Direct-call messages need register first; a registered connection
	// cannot join or register again.
	raw := ts.dial(0)
	raw.send(protocol.CallEndpoint{Type: protocol.TypeCallEndpoint, EndpointID: "ep_bob"})
	raw.expectError(protocol.CodeNotRegistered)
	alice, _ := ts.register("token-ep_alice")
	alice.send(protocol.Join{Type: protocol.TypeJoin, Version: 1, Token: ts.token(), Name: "Alice"})
	alice.expectError(protocol.CodeAlreadyJoined, protocol.TypeJoin)
	alice.send(protocol.Register{Type: protocol.TypeRegister, Version: 1, Token: "token-ep_alice"})
	alice.expectError(protocol.CodeAlreadyJoined, protocol.TypeRegister)
	alice.send(protocol.Mute{Type: protocol.TypeMute})
	alice.expectError(protocol.CodeNotJoined, protocol.TypeMute)
}

// A browser's register carries no token: the server reads the endpoint
// session cookie of the upgrade request.
func TestRegisterWithCookie(t *testing.T) {
	ts := startDirectoryServer(t, Config{})
	c := ts.openEndpoint("alice (cookie)", http.Header{"Cookie": {DefaultEndpointCookie + "=token-ep_alice"}})
	c.send(protocol.Register{Type: protocol.TypeRegister, Version: protocol.Version})
	if reg := c.await(protocol.TypeRegistered, nil).(*protocol.Registered); reg.Endpoint.ID != "ep_alice" {
		t.Fatalf("registered as %+v", reg.Endpoint)
	}
}

// mediaCounter counts, per publisher, the RTP packets a client receives.
type mediaCounter struct {
	mu sync.Mutex
	n  map[string]int // participant id → packets
}

func (m *mediaCounter) onTrack(id string, track *webrtc.TrackRemote) {
	go func() {
		for {
			if _, _, err := track.ReadRTP(); err != nil {
				return
			}
			m.mu.Lock()
			m.n[id]++
			m.mu.Unlock()
		}
	}()
}

func (m *mediaCounter) from(id string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.n[id]
}

// joinDirect joins a direct call with its token, publishing audio.
func (ts *testServer) joinDirect(t *testing.T, token string, counter *mediaCounter) *client.Client {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c := ts.joinWith(client.Config{Token: token, Name: "ignored", PublishAudio: true, OnTrack: counter.onTrack})
	done := make(chan struct{})
	go func() { defer close(done); sendAudio(ctx, c) }()
	t.Cleanup(func() { cancel(); <-done })
	return c
}

// The whole path: alice calls bob, bob's presence connection rings with
// her name, he accepts, both join the call with their tokens and hear
// each other; then alice rings carol into the same call, which makes it a
// conference of three.
func TestDirectCallAcceptAndConference(t *testing.T) {
	ts := startDirectoryServer(t, Config{})
	alice, _ := ts.register("token-ep_alice")
	bob, _ := ts.register("token-ep_bob")
	carol, _ := ts.register("token-ep_carol")

	alice.send(protocol.CallEndpoint{Type: protocol.TypeCallEndpoint, EndpointID: "ep_bob"})
	ringing := alice.ring(protocol.TypeRinging, "")
	in := bob.ring(protocol.TypeIncomingCall, ringing.CallID)
	if in.From.Name != "Alice Archer" || in.From.Address != "alice@choir" || in.To.ID != "ep_bob" || in.Conference || in.Token != "" {
		t.Fatalf("incoming-call %+v", in)
	}
	carol.none(protocol.TypeIncomingCall)
	bob.send(protocol.AcceptCall{Type: protocol.TypeAcceptCall, CallID: in.CallID})
	aAcc := alice.ring(protocol.TypeCallAccepted, in.CallID)
	bAcc := bob.ring(protocol.TypeCallAccepted, in.CallID)
	if aAcc.Token == "" || bAcc.Token == "" || aAcc.Token == bAcc.Token {
		t.Fatalf("call-accepted tokens %q and %q: want one each", aAcc.Token, bAcc.Token)
	}
	// Accepting twice is refused.
	bob.send(protocol.AcceptCall{Type: protocol.TypeAcceptCall, CallID: in.CallID})
	bob.expectError(protocol.CodeUnknownCall, protocol.TypeAcceptCall)

	ca, cb := &mediaCounter{n: map[string]int{}}, &mediaCounter{n: map[string]int{}}
	aliceCall := ts.joinDirect(t, aAcc.Token, ca)
	bobCall := ts.joinDirect(t, bAcc.Token, cb)
	waitFor(t, 10*time.Second, "alice and bob to hear each other", func() bool {
		return ca.from(bobCall.ID) > 20 && cb.from(aliceCall.ID) > 20
	})
	if p := aliceCall.State().Participants[bobCall.ID]; p.Name != "Bob Baker" || p.Role != protocol.RoleMember {
		t.Errorf("alice sees bob as %+v: want his endpoint name, a member", p)
	}
	carol.presenceOf("ep_alice", true, true)
	carol.presenceOf("ep_bob", true, true)

	// Carol is rung into the same call.
	alice.send(protocol.CallEndpoint{Type: protocol.TypeCallEndpoint, EndpointID: "ep_carol", CallID: in.CallID})
	cin := carol.ring(protocol.TypeIncomingCall, in.CallID)
	if !cin.Conference || cin.From.ID != "ep_alice" {
		t.Fatalf("carol's incoming-call %+v", cin)
	}
	carol.send(protocol.AcceptCall{Type: protocol.TypeAcceptCall, CallID: in.CallID})
	cAcc := carol.ring(protocol.TypeCallAccepted, in.CallID)
	if acc := alice.ring(protocol.TypeCallAccepted, in.CallID); acc.Token != "" || acc.To.ID != "ep_carol" {
		t.Errorf("alice, in the call already, got %+v: want no token", acc)
	}
	cc := &mediaCounter{n: map[string]int{}}
	carolCall := ts.joinDirect(t, cAcc.Token, cc)
	waitFor(t, 10*time.Second, "three in the call, each hearing the two others", func() bool {
		return cc.from(aliceCall.ID) > 20 && cc.from(bobCall.ID) > 20 && ca.from(carolCall.ID) > 20 && cb.from(carolCall.ID) > 20
	})
	if n := len(carolCall.State().Participants); n != 2 {
		t.Errorf("carol sees %d others", n)
	}

	// Everyone leaves: the call ends, and its tokens stop working.
	for _, c := range []*client.Client{aliceCall, bobCall, carolCall} {
		c.Leave()
	}
	waitFor(t, 10*time.Second, "the call to end", func() bool { return ts.srv.Stats().Calls == 0 })
	alice.presenceOf("ep_bob", true, false)
	raw := ts.dial(0)
	raw.send(protocol.Join{Type: protocol.TypeJoin, Version: 1, Token: aAcc.Token, Name: "Alice"})
	raw.expectError(protocol.CodeBadToken)
}

func TestDirectCallDeclineCancelMissed(t *testing.T) {
	clock := fakeclock.New(time.Date(2026, 12, 1, 13, 0, 0, 0, time.UTC))
	ts := startDirectoryServer(t, Config{Clock: clock})
	alice, _ := ts.register("token-ep_alice")
	bob, _ := ts.register("token-ep_bob")
	bob2, _ := ts.register("token-ep_bob") // bob's second device rings too

	// Declined: alice is told, and both of bob's devices stop ringing.
	alice.send(protocol.CallEndpoint{Type: protocol.TypeCallEndpoint, EndpointID: "ep_bob"})
	r := bob.ring(protocol.TypeIncomingCall, "")
	bob2.ring(protocol.TypeIncomingCall, r.CallID)
	bob.send(protocol.DeclineCall{Type: protocol.TypeDeclineCall, CallID: r.CallID})
	if d := alice.ring(protocol.TypeCallDeclined, r.CallID); d.To.Name != "Bob Baker" {
		t.Errorf("call-declined %+v", d)
	}
	bob2.ring(protocol.TypeCallDeclined, r.CallID)

	// Cancelled by alice.
	alice.send(protocol.CallEndpoint{Type: protocol.TypeCallEndpoint, EndpointID: "ep_bob"})
	r = bob.ring(protocol.TypeIncomingCall, "")
	alice.send(protocol.CancelCall{Type: protocol.TypeCancelCall, CallID: r.CallID})
	bob.ring(protocol.TypeCallCancelled, r.CallID)
	bob2.ring(protocol.TypeCallCancelled, r.CallID)
	bob.send(protocol.AcceptCall{Type: protocol.TypeAcceptCall, CallID: r.CallID})
	bob.expectError(protocol.CodeUnknownCall, protocol.TypeAcceptCall)

	// Missed: 30 s on the server's clock, and no real wait.
	alice.send(protocol.CallEndpoint{Type: protocol.TypeCallEndpoint, EndpointID: "ep_bob"})
	r = bob.ring(protocol.TypeIncomingCall, "")
	alice.ring(protocol.TypeRinging, r.CallID)
	clock.Advance(29 * time.Second)
	time.Sleep(50 * time.Millisecond)
	alice.none(protocol.TypeCallMissed)
	clock.Advance(time.Second)
	alice.ring(protocol.TypeCallMissed, r.CallID)
	bob.ring(protocol.TypeCallMissed, r.CallID)
	bob.send(protocol.AcceptCall{Type: protocol.TypeAcceptCall, CallID: r.CallID})
	bob.expectError(protocol.CodeUnknownCall, protocol.TypeAcceptCall)

	// A callee who goes offline while rung: the caller is told missed;
	// a caller who goes offline: the callee is told cancelled.
	alice.send(protocol.CallEndpoint{Type: protocol.TypeCallEndpoint, EndpointID: "ep_bob"})
	r = bob.ring(protocol.TypeIncomingCall, "")
	bob.close()
	bob2.close()
	alice.ring(protocol.TypeCallMissed, r.CallID)
	carol, _ := ts.register("token-ep_carol")
	alice.send(protocol.CallEndpoint{Type: protocol.TypeCallEndpoint, EndpointID: "ep_carol"})
	r = carol.ring(protocol.TypeIncomingCall, "")
	alice.close()
	carol.ring(protocol.TypeCallCancelled, r.CallID)
}

// Every refusal of call-endpoint, accept-call, decline-call and
// cancel-call, each with its code; none closes the connection.
func TestDirectCallRefusals(t *testing.T) {
	ts := startDirectoryServer(t, Config{MaxRings: 2, CallBurst: 14})
	alice, _ := ts.register("token-ep_alice")
	bob, _ := ts.register("token-ep_bob")
	carol, _ := ts.register("token-ep_carol")
	ts.register("token-ep_hall")
	ts.register("token-ep_olga")
	call := func(id, callID string) {
		alice.send(protocol.CallEndpoint{Type: protocol.TypeCallEndpoint, EndpointID: id, CallID: callID})
	}
	call("ep_olga", "") // another group's endpoint
	alice.expectError(protocol.CodeUnknownEndpoint, protocol.TypeCallEndpoint)
	call("ep_nobody", "")
	alice.expectError(protocol.CodeUnknownEndpoint, protocol.TypeCallEndpoint)
	call("ep_alice", "")
	alice.expectError(protocol.CodeBadRequest, protocol.TypeCallEndpoint)
	call("", "")
	alice.expectError(protocol.CodeBadRequest, protocol.TypeCallEndpoint)
	bob.close()
	alice.presenceOf("ep_bob", false, false)
	call("ep_bob", "")
	alice.expectError(protocol.CodeEndpointOffline, protocol.TypeCallEndpoint)
	call("ep_carol", "c_unknown")
	alice.expectError(protocol.CodeUnknownCall, protocol.TypeCallEndpoint)

	call("ep_carol", "")
	r := carol.ring(protocol.TypeIncomingCall, "")
	// Into a call alice is not in (it has not started).
	call("ep_hall", r.CallID)
	alice.expectError(protocol.CodeUnknownCall, protocol.TypeCallEndpoint)
	hall, _ := ts.register("token-ep_hall")
	hall.send(protocol.CallEndpoint{Type: protocol.TypeCallEndpoint, EndpointID: "ep_carol"})
	hall.expectError(protocol.CodeEndpointBusy, protocol.TypeCallEndpoint)
	call("ep_hall", "")
	call("ep_hall", "") // busy: alice's own ring
	alice.expectError(protocol.CodeEndpointBusy, protocol.TypeCallEndpoint)
	bob2, _ := ts.register("token-ep_bob")
	call("ep_bob", "")
	alice.expectError(protocol.CodeTooManyRings, protocol.TypeCallEndpoint)

	// Answering: an unknown call id, someone else's ring, the caller
	// accepting her own ring.
	for _, c := range []struct {
		who  *endpointConn
		msg  any
		code string
		ref  string
	}{
		{carol, protocol.AcceptCall{Type: protocol.TypeAcceptCall, CallID: "c_nope"}, protocol.CodeUnknownCall, protocol.TypeAcceptCall},
		{bob2, protocol.AcceptCall{Type: protocol.TypeAcceptCall, CallID: r.CallID}, protocol.CodeUnknownCall, protocol.TypeAcceptCall},
		{alice, protocol.AcceptCall{Type: protocol.TypeAcceptCall, CallID: r.CallID}, protocol.CodeUnknownCall, protocol.TypeAcceptCall},
		{bob2, protocol.DeclineCall{Type: protocol.TypeDeclineCall, CallID: r.CallID}, protocol.CodeUnknownCall, protocol.TypeDeclineCall},
		{carol, protocol.CancelCall{Type: protocol.TypeCancelCall, CallID: r.CallID}, protocol.CodeUnknownCall, protocol.TypeCancelCall},
	} {
		c.who.send(c.msg)
		c.who.expectError(c.code, c.ref)
	}

	// Into a started call by someone not in it.
	carol.send(protocol.AcceptCall{Type: protocol.TypeAcceptCall, CallID: r.CallID})
	acc := carol.ring(protocol.TypeCallAccepted, r.CallID)
	ts.joinDirect(t, acc.Token, &mediaCounter{n: map[string]int{}})
	bob2.send(protocol.CallEndpoint{Type: protocol.TypeCallEndpoint, EndpointID: "ep_carol", CallID: r.CallID})
	bob2.expectError(protocol.CodeNotInCall, protocol.TypeCallEndpoint)
	carol.send(protocol.CallEndpoint{Type: protocol.TypeCallEndpoint, EndpointID: "ep_alice", CallID: r.CallID})
	carol.ring(protocol.TypeRinging, r.CallID) // carol, in it, may: alice has not joined yet

	// Past the allowance of call-endpoint messages: rate-limited.
	for i := 0; i < 20; i++ {
		call("ep_nobody", "")
	}
	alice.await(protocol.TypeError, func(m any) bool {
		e := m.(*protocol.Error)
		return e.Code == protocol.CodeRateLimited && e.Ref == protocol.TypeCallEndpoint && strings.Contains(e.Message, "try again in")
	})
	alice.send(protocol.Ping{Type: protocol.TypePing, ID: "alive"})
	alice.await(protocol.TypePong, nil)
}

// An endpoint over its presence connections loses the oldest; one signed
// out loses them all.
func TestPresenceReplacedAndSignedOut(t *testing.T) {
	ts := startDirectoryServer(t, Config{MaxPresence: 2})
	first, _ := ts.register("token-ep_alice")
	ts.register("token-ep_alice")
	ts.register("token-ep_alice")
	if b := first.await(protocol.TypeBye, nil).(*protocol.Bye); b.Reason != protocol.ReasonReplaced {
		t.Errorf("bye %q", b.Reason)
	}
	bob, _ := ts.register("token-ep_bob")
	ts.srv.SignOutEndpoint("ep_bob")
	if b := bob.await(protocol.TypeBye, nil).(*protocol.Bye); b.Reason != protocol.ReasonSignedOut {
		t.Errorf("bye %q", b.Reason)
	}
	waitFor(t, 5*time.Second, "bob offline", func() bool { return len(ts.srv.OnlineEndpoints("g_choir")) == 1 })
}

// An endpoint that joins a room's call with a token naming it (the groups
// API's endpoint join) is shown in a call to its group.
func TestPresenceInRoomCall(t *testing.T) {
	ts := startDirectoryServer(t, Config{})
	alice, _ := ts.register("token-ep_alice")
	tok, _, err := ts.tokens.IssueEndpointJoin(ts.room.ID, "member", "ep_hall", "Rehearsal hall")
	if err != nil {
		t.Fatal(err)
	}
	hall := ts.joinWith(client.Config{Token: tok, Name: "ignored"})
	alice.presenceOf("ep_hall", true, true)
	if got := ts.srv.ConnectedEndpoints(); !got["ep_hall"] || !got["ep_alice"] || len(got) != 2 {
		t.Errorf("ConnectedEndpoints = %v: want alice (presence) and the hall (in a call)", got)
	}
	hall.Leave()
	alice.presenceOf("ep_hall", false, false)
}

// A presence connection whose session stops passing (its endpoint
// re-issued, disabled or removed) is signed out at the next check, on
// the server's clock.
func TestRecheckSignsOut(t *testing.T) {
	clock := fakeclock.New(time.Date(2026, 12, 1, 13, 0, 0, 0, time.UTC))
	d := &testDirectory{endpoints: choir.endpoints[:2]}
	ts := startTestServer(t, Config{Directory: d, Clock: clock}, 0)
	alice, _ := ts.register("token-ep_alice")
	bob, _ := ts.register("token-ep_bob")
	clock.Advance(DefaultRecheckInterval)
	time.Sleep(50 * time.Millisecond)
	bob.none(protocol.TypeBye)
	d.revoke("ep_bob")
	clock.Advance(DefaultRecheckInterval)
	if b := bob.await(protocol.TypeBye, nil).(*protocol.Bye); b.Reason != protocol.ReasonSignedOut {
		t.Errorf("bye %q", b.Reason)
	}
	alice.presenceOf("ep_bob", false, false)
	alice.none(protocol.TypeBye)
	// A resume on a presence connection is refused like a second register.
	alice.send(protocol.Resume{Type: protocol.TypeResume, Version: 1, ParticipantID: "p_x", Token: "x"})
	alice.expectError(protocol.CodeAlreadyJoined, protocol.TypeResume)
}
