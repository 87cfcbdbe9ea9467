package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/webrtc/v4"

	"github.com/parley-dev/parley/api"
	"github.com/parley-dev/parley/client"
	"github.com/parley-dev/parley/signaling"
	"github.com/parley-dev/parley/signaling/protocol"
)

// endpointCred is a room system of a test group, signed in: its address,
// secret and endpoint session cookie.
type endpointCred struct {
	name, address, secret string
	id                    string
	session               string // the parley_endpoint cookie's value
}

// apiCaller calls the JSON API with a cookie jar, as one browser would.
type apiCaller struct {
	t    *testing.T
	base string
	hc   *http.Client
}

func newAPICaller(t *testing.T, m *Main) *apiCaller {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &apiCaller{t: t, base: m.LocalURL(), hc: &http.Client{Jar: jar, Timeout: 20 * time.Second}}
}

// call sends body as JSON and decodes a 2xx answer into out; anything
// else fails the test.
func (a *apiCaller) call(method, path string, body, out any) {
	a.t.Helper()
	data, _ := json.Marshal(body)
	req, err := http.NewRequest(method, a.base+path, bytes.NewReader(data))
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.hc.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		a.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			a.t.Fatalf("%s %s: %v in %s", method, path, err, raw)
		}
	}
}

// cookie returns the value of the named cookie the jar holds.
func (a *apiCaller) cookie(name string) string {
	u, _ := url.Parse(a.base)
	for _, c := range a.hc.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// activeGroup signs a group up through the API, activates it from the
// activation mail in the outbox, adds a room system per name in the
// console, and signs each in at /api/v1/endpoint/login.
func activeGroup(t *testing.T, m *Main, group string, names ...string) []endpointCred {
	t.Helper()
	admin := newAPICaller(t, m)
	adminEmail := "admin@" + strings.ToLower(strings.ReplaceAll(group, " ", "")) + ".example.org"
	admin.call("POST", "/api/v1/signup", map[string]any{"adminName": "Ada Admin", "adminEmail": adminEmail,
		"groupName": group, "password": "harmonies", "pin": "2468", "members": []string{"member@" + strings.ToLower(strings.ReplaceAll(group, " ", "")) + ".example.org"}}, nil)
	mails, err := m.db.MailsTo(context.Background(), adminEmail)
	if err != nil || len(mails) == 0 {
		t.Fatalf("activation mail: %v, %d mails", err, len(mails))
	}
	link := regexp.MustCompile(`/activate/(\S+)`).FindStringSubmatch(mails[0].Text)
	if link == nil {
		t.Fatalf("no activation link in %q", mails[0].Text)
	}
	admin.call("POST", "/api/v1/activate", map[string]string{"token": link[1]}, nil)
	admin.call("POST", "/api/v1/admin/login", map[string]string{"groupName": group, "password": "harmonies"}, nil)
	var out []endpointCred
	for _, name := range names {
		var added struct {
			Endpoint api.EndpointView `json:"endpoint"`
			Secret   string           `json:"secret"`
		}
		admin.call("POST", "/api/v1/admin/endpoints", map[string]string{"kind": "room-system", "name": name}, &added)
		ep := newAPICaller(t, m)
		ep.call("POST", "/api/v1/endpoint/login", map[string]string{"address": added.Endpoint.Address, "secret": added.Secret}, nil)
		session := ep.cookie("parley_endpoint")
		if session == "" {
			t.Fatalf("%s: no parley_endpoint cookie after login", name)
		}
		out = append(out, endpointCred{name: name, address: added.Endpoint.Address, secret: added.Secret, id: added.Endpoint.ID, session: session})
	}
	return out
}

// presenceConn is a Go presence connection: register with the endpoint
// session cookie, as a browser's page does.
type presenceConn struct {
	t    *testing.T
	conn *websocket.Conn
	mu   sync.Mutex
	msgs []any
	done chan struct{}
}

func registerEndpoint(t *testing.T, m *Main, ep endpointCred) (*presenceConn, *protocol.Registered) {
	t.Helper()
	u := strings.Replace(m.LocalURL(), "http://", "ws://", 1) + "/ws"
	conn, _, err := websocket.DefaultDialer.Dial(u, http.Header{"Cookie": {"parley_endpoint=" + ep.session}})
	if err != nil {
		t.Fatal(err)
	}
	p := &presenceConn{t: t, conn: conn, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		for {
			_, data, err := conn.ReadMessage()
			if err != nil {
				return
			}
			if msg, perr := protocol.Decode(data); perr == nil {
				p.mu.Lock()
				p.msgs = append(p.msgs, msg)
				p.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() { conn.Close(); <-p.done })
	p.send(protocol.Register{Type: protocol.TypeRegister, Version: protocol.Version})
	reg, ok := p.await(protocol.TypeRegistered).(*protocol.Registered)
	if !ok {
		t.Fatalf("%s: register answered %+v", ep.name, reg)
	}
	return p, reg
}

func (p *presenceConn) send(msg any) {
	data, _ := json.Marshal(msg)
	if err := p.conn.WriteMessage(websocket.TextMessage, data); err != nil {
		p.t.Fatalf("send: %v", err)
	}
}

// await returns the first message of type typ, or an error message
// (which then is what it returns), and drops those before it.
func (p *presenceConn) await(typ string) any {
	p.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		p.mu.Lock()
		for i, m := range p.msgs {
			t := typeOf(m)
			if t == typ || t == protocol.TypeError {
				p.msgs = p.msgs[i+1:]
				p.mu.Unlock()
				return m
			}
		}
		p.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	p.t.Fatalf("no %s came", typ)
	return nil
}

func typeOf(msg any) string {
	data, _ := json.Marshal(msg)
	var env protocol.Envelope
	json.Unmarshal(data, &env)
	return env.Type
}

// packetsFrom counts the RTP packets a client receives, per publisher.
type packetsFrom struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *packetsFrom) onTrack(id string, track *webrtc.TrackRemote) {
	go func() {
		for {
			if _, _, err := track.ReadRTP(); err != nil {
				return
			}
			c.mu.Lock()
			c.n[id]++
			c.mu.Unlock()
		}
	}()
}

func (c *packetsFrom) count(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[id]
}

// TestDirectCallEndpoints: two room systems of a group signed up and
// activated through the API register with their session cookies, see
// each other online, and one calls the other: it rings, is accepted, and
// both join the direct call with their tokens, under their names, and
// receive each other's media. A re-issued endpoint's session no longer
// registers.
func TestDirectCallEndpoints(t *testing.T) {
	m := startServerConfig(t, Config{Signaling: signaling.Config{RecheckInterval: time.Hour}})
	eps := activeGroup(t, m, "Choir", "Board Room", "Rehearsal Hall")
	other := activeGroup(t, m, "Brass Band", "Band Room")
	hall, _ := registerEndpoint(t, m, eps[1])
	board, reg := registerEndpoint(t, m, eps[0])
	// The others: the member of the sign-up (offline) and the hall.
	if reg.Endpoint.Address != eps[0].address || len(reg.Endpoints) != 2 || reg.Endpoints[1].Name != "Rehearsal Hall" || !reg.Endpoints[1].Online || reg.Endpoints[0].Online {
		t.Fatalf("registered %+v", reg)
	}
	registerEndpoint(t, m, other[0])
	// The console shows the two with a presence connection online.
	admin := newAPICaller(t, m)
	admin.call("POST", "/api/v1/admin/login", map[string]string{"groupName": "Choir", "password": "harmonies"}, nil)
	var console api.GroupView
	admin.call("GET", "/api/v1/admin/group", nil, &console)
	online := map[string]bool{}
	for _, e := range console.Endpoints {
		online[e.Name] = e.Online
	}
	if !online["Board Room"] || !online["Rehearsal Hall"] || online["member@choir.example.org"] {
		t.Errorf("the console shows online: %v", online)
	}
	if got := m.sig.OnlineEndpoints(mustGroupOf(t, m, eps[0].id)); len(got) != 2 {
		t.Errorf("online in Choir: %v", got)
	}

	board.send(protocol.CallEndpoint{Type: protocol.TypeCallEndpoint, EndpointID: other[0].id})
	if e, ok := board.await(protocol.TypeRinging).(*protocol.Error); !ok || e.Code != protocol.CodeUnknownEndpoint {
		t.Fatalf("calling another group's endpoint: %+v", e)
	}
	board.send(protocol.CallEndpoint{Type: protocol.TypeCallEndpoint, EndpointID: eps[1].id})
	in, ok := hall.await(protocol.TypeIncomingCall).(*protocol.Ring)
	if !ok || in.From.Name != "Board Room" {
		t.Fatalf("incoming-call %+v", in)
	}
	hall.send(protocol.AcceptCall{Type: protocol.TypeAcceptCall, CallID: in.CallID})
	bAcc, _ := board.await(protocol.TypeCallAccepted).(*protocol.Ring)
	hAcc, _ := hall.await(protocol.TypeCallAccepted).(*protocol.Ring)
	if bAcc == nil || hAcc == nil || bAcc.Token == "" || hAcc.Token == "" {
		t.Fatalf("call-accepted %+v %+v", bAcc, hAcc)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	recv := map[string]*packetsFrom{"board": {n: map[string]int{}}, "hall": {n: map[string]int{}}}
	join := func(who, token string) *client.Client {
		c, err := client.Join(ctx, client.Config{BaseURL: m.LocalURL(), Token: token, PublishAudio: true, PublishVideo: true,
			OnTrack: recv[who].onTrack, Logger: testLogger()})
		if err != nil {
			t.Fatalf("%s joins the direct call: %v", who, err)
		}
		t.Cleanup(func() { c.Close() })
		go publish(ctx, c, len(who))
		return c
	}
	bc := join("board", bAcc.Token)
	hc := join("hall", hAcc.Token)
	waitFor(t, ctx, "each to receive the other's audio and video", func() bool {
		return recv["board"].count(hc.ID) > 50 && recv["hall"].count(bc.ID) > 50
	})
	if p := bc.State().Participants[hc.ID]; p.Name != "Rehearsal Hall" {
		t.Errorf("the board room sees %q, want the hall's endpoint name", p.Name)
	}

	// Re-issuing the hall's secret signs its session out: its presence
	// connection at once (the console tells signaling; the hourly re-check
	// of this test's server would be too late), and a new register too.
	bc.Leave()
	hc.Leave()
	reissue(t, m, "Choir", eps[1].id)
	if b, ok := hall.await(protocol.TypeBye).(*protocol.Bye); !ok || b.Reason != protocol.ReasonSignedOut {
		t.Errorf("the re-issued hall's presence connection got %+v, want bye signed-out", b)
	}
	u := strings.Replace(m.LocalURL(), "http://", "ws://", 1) + "/ws"
	conn, _, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.WriteJSON(protocol.Register{Type: protocol.TypeRegister, Version: 1, Token: eps[1].session})
	var e protocol.Error
	if err := conn.ReadJSON(&e); err != nil || e.Code != protocol.CodeBadToken {
		t.Errorf("register with a re-issued endpoint's session: %+v, %v", e, err)
	}
}

func mustGroupOf(t *testing.T, m *Main, endpointID string) string {
	t.Helper()
	ep, err := m.db.Endpoint(context.Background(), endpointID)
	if err != nil {
		t.Fatal(err)
	}
	return ep.GroupID
}

// reissue re-issues an endpoint's secret in the console.
func reissue(t *testing.T, m *Main, group, id string) {
	t.Helper()
	admin := newAPICaller(t, m)
	admin.call("POST", "/api/v1/admin/login", map[string]string{"groupName": group, "password": "harmonies"}, nil)
	admin.call("POST", fmt.Sprintf("/api/v1/admin/endpoints/%s/reissue", id), nil, nil)
}
