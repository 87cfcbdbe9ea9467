package signaling

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/webrtc/v4"

	"github.com/parley-dev/parley/auth"
	"github.com/parley-dev/parley/client"
	"github.com/parley-dev/parley/rooms"
	"github.com/parley-dev/parley/sfu"
	"github.com/parley-dev/parley/signaling/protocol"
)

// A real signaling Server on 127.0.0.1:0 with a real sfu, real join
// tokens and one room, serving /ws and a minimal POST /api/v1/join so
// that client.Join works against it.

type testServer struct {
	t      *testing.T
	srv    *Server
	sfu    *sfu.SFU
	url    string // http://127.0.0.1:port
	tokens *auth.Tokens
	room   *rooms.Room
}

type oneRoom struct{ room *rooms.Room }

func (o oneRoom) Room(_ context.Context, id string) (*rooms.Room, error) {
	if id != o.room.ID {
		return nil, rooms.ErrRoomNotFound
	}
	return o.room, nil
}

func testLog(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// startTestServer runs a Server with cfg (SFU, Tokens, Rooms and Logger
// are filled in). sndbuf, if not 0, is the kernel send buffer of every
// accepted connection, so that a client that does not read makes the
// server's writes block soon.
func startTestServer(t *testing.T, cfg Config, sndbuf int) *testServer {
	t.Helper()
	media, err := sfu.New(sfu.Config{Loopback: true, TCPPort: -1, Logger: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := auth.NewTokens(auth.TokenConfig{Key: bytes.Repeat([]byte{3}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	room := &rooms.Room{ID: "rm_test", Name: "test room", Link: "testlink"}
	cfg.SFU, cfg.Tokens, cfg.Rooms, cfg.Logger = media, tokens, oneRoom{room}, testLog(t)
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{t: t, srv: srv, sfu: media, tokens: tokens, room: room}
	mux := http.NewServeMux()
	mux.Handle("GET /ws", srv)
	// The link chooses the token's role: "testlink" a member, and
	// "host:testlink" or "guest:testlink" those (the real API issues
	// member tokens only).
	mux.HandleFunc("POST /api/v1/join", func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Link string }
		json.NewDecoder(r.Body).Decode(&body)
		role, _, ok := strings.Cut(body.Link, ":")
		if !ok {
			role = auth.RoleMember
		}
		json.NewEncoder(w).Encode(map[string]string{"token": ts.tokenFor(role), "wsPath": "/ws"})
	})
	hs := httptest.NewUnstartedServer(mux)
	if sndbuf > 0 {
		hs.Listener = sndbufListener{hs.Listener, sndbuf}
	}
	hs.Start()
	ts.url = hs.URL
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("signaling shutdown: %v", err)
		}
		hs.Close()
		if err := media.Close(); err != nil {
			t.Errorf("sfu close: %v", err)
		}
	})
	return ts
}

type sndbufListener struct {
	net.Listener
	size int
}

func (l sndbufListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(l.size)
	}
	return c, err
}

func (ts *testServer) token() string { return ts.tokenFor(auth.RoleMember) }

// tokenFor issues a join token with role.
func (ts *testServer) tokenFor(role string) string {
	tok, _, err := ts.tokens.IssueJoin(ts.room.ID, role)
	if err != nil {
		ts.t.Fatal(err)
	}
	return tok
}

// join starts a full client (client.Join: real media, answers offers).
func (ts *testServer) join(name string, publish bool) *client.Client {
	ts.t.Helper()
	return ts.joinWith(client.Config{Link: "testlink", Name: name, PublishAudio: publish, PublishVideo: publish})
}

// joinWith starts a full client with cfg (BaseURL and Logger are filled
// in; Link "host:testlink" joins as a host) and waits for its media.
func (ts *testServer) joinWith(cfg client.Config) *client.Client {
	ts.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg.BaseURL, cfg.Logger = ts.url, slog.New(slog.NewTextHandler(io.Discard, nil))
	name := cfg.Name
	c, err := client.Join(ctx, cfg)
	if err != nil {
		ts.t.Fatalf("join %s: %v", name, err)
	}
	ts.t.Cleanup(func() { c.Close() })
	if err := c.WaitConnected(ctx); err != nil {
		ts.t.Fatalf("%s: %v", name, err)
	}
	return c
}

// undisturbed checks that c saw no error and no bye and is still served.
func undisturbed(t *testing.T, c *client.Client) {
	t.Helper()
	st := c.State()
	if len(st.Errors) > 0 || st.Bye != "" || st.Closed || st.PeerState != webrtc.PeerConnectionStateConnected {
		t.Errorf("bystander %s was disturbed: %+v", c.ID, st)
	}
	if err := c.Send(protocol.Ping{Type: protocol.TypePing}); err != nil {
		t.Errorf("bystander %s ping: %v", c.ID, err)
	}
}

// rawConn is a WebSocket to the server with no client logic.
type rawConn struct {
	t    *testing.T
	conn *websocket.Conn
}

// dial opens a raw WebSocket; rcvbuf, if not 0, is its kernel receive
// buffer.
func (ts *testServer) dial(rcvbuf int) *rawConn {
	ts.t.Helper()
	d := websocket.Dialer{NetDial: func(network, addr string) (net.Conn, error) {
		c, err := net.Dial(network, addr)
		if tc, ok := c.(*net.TCPConn); ok && rcvbuf > 0 {
			tc.SetReadBuffer(rcvbuf)
		}
		return c, err
	}}
	conn, _, err := d.Dial(strings.Replace(ts.url, "http://", "ws://", 1)+"/ws", nil)
	if err != nil {
		ts.t.Fatal(err)
	}
	ts.t.Cleanup(func() { conn.Close() })
	return &rawConn{t: ts.t, conn: conn}
}

func (c *rawConn) send(msg any) {
	c.t.Helper()
	data, err := json.Marshal(msg)
	if err != nil {
		c.t.Fatal(err)
	}
	if err := c.conn.WriteMessage(websocket.TextMessage, data); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

func (c *rawConn) next() any {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, data, err := c.conn.ReadMessage()
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	msg, perr := protocol.Decode(data)
	if perr != nil {
		c.t.Fatalf("undecodable %s: %s", data, perr.Message)
	}
	return msg
}

// joinCall sends join (publishing nothing) and reads up to the first
// offer. It returns the participant id.
func (c *rawConn) joinCall(ts *testServer, name string) string {
	c.t.Helper()
	c.send(protocol.Join{Type: protocol.TypeJoin, Version: protocol.Version, Token: ts.token(), Name: name})
	id := ""
	for {
		switch m := c.next().(type) {
		case *protocol.Error:
			c.t.Fatalf("join: error %s: %s", m.Code, m.Message)
		case *protocol.Joined:
			id = m.ParticipantID
		case *protocol.Offer:
			return id
		}
	}
}

func (c *rawConn) expectError(code string) *protocol.Error {
	c.t.Helper()
	for {
		if e, ok := c.next().(*protocol.Error); ok {
			if e.Code != code {
				c.t.Fatalf("error %q (%s), want %q", e.Code, e.Message, code)
			}
			if e.Message == "" {
				c.t.Errorf("error %q has no message", code)
			}
			return e
		}
	}
}

func (c *rawConn) expectClose(code int, text string) {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, _, err := c.conn.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) {
			c.t.Fatalf("connection ended with %v, want close %d", err, code)
		}
		if ce.Code != code || ce.Text != text {
			c.t.Fatalf("close %d %q, want %d %q", ce.Code, ce.Text, code, text)
		}
		return
	}
}

func (c *rawConn) expectAlive() {
	c.t.Helper()
	c.send(protocol.Ping{Type: protocol.TypePing, ID: "alive"})
	for {
		if p, ok := c.next().(*protocol.Pong); ok && p.ID == "alive" {
			return
		}
	}
}

// watcher is a participant that answers offers (so it stays in the call)
// and records every participant-left it sees.
type watcher struct {
	*rawConn
	pc      *webrtc.PeerConnection
	wmu     sync.Mutex // serializes writes
	mu      sync.Mutex
	left    map[string]string // participant id → reason
	joined  map[string]bool
	updated map[string]int // participant id → participant-updated seen
	errs    []protocol.Error
	done    chan struct{}
}

func (ts *testServer) watch() *watcher {
	ts.t.Helper()
	api, err := client.DefaultAPI()
	if err != nil {
		ts.t.Fatal(err)
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		ts.t.Fatal(err)
	}
	w := &watcher{rawConn: ts.dial(0), pc: pc, left: map[string]string{}, joined: map[string]bool{}, updated: map[string]int{}, done: make(chan struct{})}
	ts.t.Cleanup(func() {
		w.conn.Close()
		<-w.done
		pc.Close()
	})
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil {
			j := c.ToJSON()
			w.write(protocol.Candidate{Type: protocol.TypeCandidate, Candidate: protocol.ICECandidate{Candidate: j.Candidate, SDPMid: j.SDPMid, SDPMLineIndex: j.SDPMLineIndex}})
		}
	})
	w.write(protocol.Join{Type: protocol.TypeJoin, Version: protocol.Version, Token: ts.token(), Name: "watcher"})
	go w.loop()
	return w
}

func (w *watcher) write(msg any) {
	data, _ := json.Marshal(msg)
	w.wmu.Lock()
	defer w.wmu.Unlock()
	w.conn.WriteMessage(websocket.TextMessage, data)
}

func (w *watcher) loop() {
	defer close(w.done)
	for {
		_, data, err := w.conn.ReadMessage()
		if err != nil {
			return
		}
		msg, perr := protocol.Decode(data)
		if perr != nil {
			continue
		}
		switch m := msg.(type) {
		case *protocol.Offer:
			w.answer(m)
		case *protocol.Candidate:
			w.pc.AddICECandidate(webrtc.ICECandidateInit{Candidate: m.Candidate.Candidate, SDPMid: m.Candidate.SDPMid, SDPMLineIndex: m.Candidate.SDPMLineIndex})
		case *protocol.ParticipantJoined:
			w.mu.Lock()
			w.joined[m.Participant.ID] = true
			w.mu.Unlock()
		case *protocol.ParticipantUpdated:
			w.mu.Lock()
			w.updated[m.Participant.ID]++
			w.mu.Unlock()
		case *protocol.ParticipantLeft:
			w.mu.Lock()
			w.left[m.ParticipantID] = m.Reason
			w.mu.Unlock()
		case *protocol.Error:
			w.mu.Lock()
			w.errs = append(w.errs, *m)
			w.mu.Unlock()
		}
	}
}

func (w *watcher) answer(o *protocol.Offer) {
	if err := w.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: o.SDP}); err != nil {
		return
	}
	a, err := w.pc.CreateAnswer(nil)
	if err != nil {
		return
	}
	if err := w.pc.SetLocalDescription(a); err != nil {
		return
	}
	w.write(protocol.Answer{Type: protocol.TypeAnswer, SDP: a.SDP})
}

// waitLeft waits until the watcher has seen participant-left for id and
// returns its reason.
func (w *watcher) waitLeft(t *testing.T, id string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		w.mu.Lock()
		reason, ok := w.left[id]
		w.mu.Unlock()
		if ok {
			return reason
		}
		if time.Now().After(deadline) {
			t.Fatalf("watcher never saw %s leave", id)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
