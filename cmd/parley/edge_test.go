package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-dev/parley/connlimit"
	"github.com/parley-dev/parley/signaling"
	"github.com/parley-dev/parley/signaling/protocol"
)

// startServerWith runs a Main like startServer, with cfg adjusted by
// adjust, logging to log (nil: testLogger()).
func startServerWith(t *testing.T, log *slog.Logger, adjust func(*Config)) *Main {
	t.Helper()
	cfg := Config{DataDir: t.TempDir()}
	adjust(&cfg)
	cfg.Listen, cfg.UDPPort, cfg.TCPPort = "127.0.0.1:0", 0, 0
	if log == nil {
		log = testLogger()
	}
	m := NewMain(cfg, log)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := m.Run(ctx); err != nil {
		t.Fatalf("start server: %v", err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("close server: %v", err)
		}
	})
	return m
}

// syncBuffer is a bytes.Buffer safe for a logger's concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// from returns a dialer whose connections come from the loopback address
// src (127.0.0.2, …), as a different user's would.
func from(src string) *net.Dialer {
	return &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
}

// httpFrom is an HTTP client whose connections come from src.
func httpFrom(src string) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: from(src).DialContext}}
}

// dialWS opens a WebSocket to m from src; on a refused upgrade it returns
// the HTTP status and the JSON error code.
func dialWS(t *testing.T, m *Main, src string, header http.Header) (*rawConn, int, string) {
	t.Helper()
	d := websocket.Dialer{NetDialContext: from(src).DialContext, HandshakeTimeout: 5 * time.Second}
	url := strings.Replace(m.LocalURL(), "http://", "ws://", 1) + "/ws"
	conn, resp, err := d.Dial(url, header)
	if err != nil {
		if resp == nil {
			t.Fatalf("dial from %s: %v", src, err)
		}
		var body struct{ Error struct{ Code string } }
		json.NewDecoder(resp.Body).Decode(&body)
		return nil, resp.StatusCode, body.Error.Code
	}
	t.Cleanup(func() { conn.Close() })
	return &rawConn{t: t, conn: conn}, http.StatusSwitchingProtocols, ""
}

// joinFrom gets a join token from src and joins over a WebSocket from src.
func joinFrom(t *testing.T, m *Main, src, link string) *rawConn {
	t.Helper()
	resp, err := httpFrom(src).Post(m.LocalURL()+"/api/v1/join", "application/json", strings.NewReader(`{"link":"`+link+`"}`))
	if err != nil {
		t.Fatalf("join request from %s: %v", src, err)
	}
	defer resp.Body.Close()
	var jr struct{ Token string }
	if err := json.NewDecoder(resp.Body).Decode(&jr); err != nil || jr.Token == "" {
		t.Fatalf("join request from %s: status %d, %v", src, resp.StatusCode, err)
	}
	c, status, code := dialWS(t, m, src, nil)
	if c == nil {
		t.Fatalf("WebSocket from %s refused: %d %s", src, status, code)
	}
	c.send(joinMsg(jr.Token))
	for {
		switch msg := c.next().(type) {
		case *protocol.Joined:
			return c
		case *protocol.Error:
			t.Fatalf("join from %s: %s %s", src, msg.Code, msg.Message)
		}
	}
}

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(ents)
}

// TestConnectionCaps: one address opening many idle sockets and unjoined
// WebSockets holds only its share of file descriptors, and a user from
// another address still joins; the global cap on unjoined WebSockets
// refuses with 503 but never counts joined participants.
func TestConnectionCaps(t *testing.T) {
	m := startServerWith(t, nil, func(c *Config) {
		c.Conns = connlimit.Config{PerClient: 40, Total: 400}
		c.Signaling = signaling.Config{MaxUnjoinedPerClient: 10, MaxUnjoined: 30}
	})
	link := createRoom(t, m, "caps")
	baseline := openFDs(t)

	// One address: 10 unjoined WebSockets, then 429 with a JSON error.
	for i := range 10 {
		if c, status, code := dialWS(t, m, "127.0.0.1", nil); c == nil {
			t.Fatalf("unjoined WebSocket %d refused: %d %s", i, status, code)
		}
	}
	if c, status, code := dialWS(t, m, "127.0.0.1", nil); c != nil || status != http.StatusTooManyRequests || code != "too-many-connections" {
		t.Fatalf("11th unjoined WebSocket from one address: %d %q, want 429 too-many-connections", status, code)
	}
	// The same address opens 200 idle TCP sockets: the listener keeps 40
	// connections of it in all, closing the rest.
	var idle []net.Conn
	for range 200 {
		c, err := from("127.0.0.1").Dial("tcp", m.ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		idle = append(idle, c)
	}
	defer func() {
		for _, c := range idle {
			c.Close()
		}
	}()
	lim := m.ln.(*connlimit.Listener)
	deadline := time.Now().Add(5 * time.Second)
	for open, refused := lim.Stats(); open+int(refused) < 211 && time.Now().Before(deadline); open, refused = lim.Stats() {
		time.Sleep(5 * time.Millisecond)
	}
	// 10 WebSockets and 200 idle sockets on our side; the server's side
	// holds at most its 40 of this address, plus a little slack.
	if extra := openFDs(t) - baseline - 210; extra > 40+10 {
		t.Errorf("server holds %d descriptors for one address's 210 sockets, want at most its cap of 40 (+10 slack)", extra)
	}

	// Another user still joins, over both HTTP and the WebSocket.
	alice := joinFrom(t, m, "127.0.0.2", link)

	// Three more addresses fill the global cap of 30 unjoined WebSockets;
	// alice, joined, does not count.
	var unjoined []*rawConn
	for _, src := range []string{"127.0.0.3", "127.0.0.4"} {
		for range 10 {
			c, status, code := dialWS(t, m, src, nil)
			if c == nil {
				t.Fatalf("unjoined WebSocket from %s refused: %d %s", src, status, code)
			}
			unjoined = append(unjoined, c)
		}
	}
	if c, status, code := dialWS(t, m, "127.0.0.5", nil); c != nil || status != http.StatusServiceUnavailable || code != "server-busy" {
		t.Fatalf("WebSocket over the global cap: %d %q, want 503 server-busy", status, code)
	}
	alice.expectAlive()
	// When one unjoined connection goes, a newcomer gets its place.
	unjoined[0].conn.Close()
	deadline = time.Now().Add(5 * time.Second)
	for m.sig.Stats().Unjoined >= 30 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	bob := joinFrom(t, m, "127.0.0.5", link)
	bob.expectAlive()
}

// TestJoinTimeout: a connection that has not joined in time gets a
// join-timeout error and a close 1008 "join-timeout", not a bare 1006.
func TestJoinTimeout(t *testing.T) {
	m := startServerWith(t, nil, func(c *Config) { c.Signaling.JoinTimeout = 300 * time.Millisecond })
	c := dialRaw(t, m, nil)
	c.expectAlive() // messages other than join do not extend the deadline
	start := time.Now()
	c.expectError(protocol.CodeJoinTimeout)
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, _, err := c.conn.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.ClosePolicyViolation || ce.Text != protocol.CodeJoinTimeout {
		t.Fatalf("after join-timeout: %v, want close 1008 %q", err, protocol.CodeJoinTimeout)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("join-timeout took %v after the first message", d)
	}
	// A connection that joins in time is not touched by the timer.
	link := createRoom(t, m, "in time")
	j := dialRaw(t, m, nil)
	j.send(joinMsg(joinToken(t, m, link)))
	for {
		if _, ok := j.next().(*protocol.Joined); ok {
			break
		}
	}
	time.Sleep(500 * time.Millisecond) // past the join deadline
	j.expectAlive()
}

// TestTooLargeOverOneMiB: a message over 1 MiB gets the same too-large
// error and close 1009 "too-large" as one just over the limit.
func TestTooLargeOverOneMiB(t *testing.T) {
	m := startServer(t, "")
	url := strings.Replace(m.LocalURL(), "http://", "ws://", 1) + "/ws"
	for _, size := range []int{protocol.MaxMessageBytes + 1, 1<<20 + 1, 4 << 20} {
		// A write buffer larger than the message sends it as one frame,
		// whose header announces the whole size at once.
		d := websocket.Dialer{WriteBufferSize: size + 1024}
		conn, _, err := d.Dial(url, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		c := &rawConn{t: t, conn: conn}
		var wg sync.WaitGroup
		wg.Go(func() {
			// The server reads the rest and discards it; write in the
			// background in case it closes first.
			c.conn.WriteMessage(websocket.TextMessage, bytes.Repeat([]byte("x"), size))
		})
		c.expectError(protocol.CodeTooLarge)
		c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, _, err = c.conn.ReadMessage()
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.CloseMessageTooBig || ce.Text != protocol.CodeTooLarge {
			t.Fatalf("%d bytes: %v, want close 1009 %q", size, err, protocol.CodeTooLarge)
		}
		wg.Wait()
	}
}

// TestTrustedProxies: behind a trusted same-host proxy the client address
// is the forwarded one, for the metrics and pprof guard and the logs;
// without --trusted-proxies, X-Forwarded-For is ignored.
func TestTrustedProxies(t *testing.T) {
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	proxied := startServerWith(t, log, func(c *Config) {
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
		c.PProf = true
	})
	direct := startServer(t, "")
	get := func(m *Main, xff string) int { return getFrom(t, m, "/metrics", xff) }
	if s := getFrom(t, proxied, "/debug/pprof/", "198.51.100.7"); s != http.StatusForbidden {
		t.Errorf("internet client through the trusted proxy reads /debug/pprof/: %d, want 403", s)
	}
	if s := getFrom(t, proxied, "/debug/pprof/", ""); s != http.StatusOK {
		t.Errorf("/debug/pprof/ from the proxy host itself: %d, want 200", s)
	}
	if s := get(proxied, "198.51.100.7"); s != http.StatusForbidden {
		t.Errorf("internet client through the trusted proxy reads /metrics: %d, want 403", s)
	}
	if s := get(proxied, ""); s != http.StatusOK {
		t.Errorf("the proxy host itself: %d, want 200", s)
	}
	if s := get(direct, "198.51.100.7"); s != http.StatusOK {
		t.Errorf("without --trusted-proxies X-Forwarded-For was believed: %d, want 200 (loopback socket)", s)
	}
	// The session's log lines name the forwarded client.
	c, status, code := dialWS(t, proxied, "127.0.0.1", http.Header{"X-Forwarded-For": {"2001:db8::7"}})
	if c == nil {
		t.Fatalf("WebSocket refused: %d %s", status, code)
	}
	c.send(joinMsg("not-a-jwt"))
	c.expectError(protocol.CodeBadToken)
	c.expectClose(websocket.ClosePolicyViolation)
	c.conn.Close()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), "remote=2001:db8::7") && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), "remote=2001:db8::7") {
		t.Errorf("session logs lack the forwarded client address:\n%s", logs.String())
	}
}

// getFrom GETs path on m as forwarded for xff (none if ""), and returns
// the status.
func getFrom(t *testing.T, m *Main, path, xff string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", m.LocalURL()+path, nil)
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestTrustedProxiesFlag(t *testing.T) {
	none := func(string) (string, bool) { return "", false }
	cfg, err := parseServeFlags([]string{"--trusted-proxies", "127.0.0.1, 10.0.0.0/8,::1"}, &bytes.Buffer{}, none)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(cfg.TrustedProxies); got != "[127.0.0.1/32 10.0.0.0/8 ::1/128]" {
		t.Errorf("--trusted-proxies: %s", got)
	}
	env := func(k string) (string, bool) { return "192.0.2.0/24", k == "PARLEY_TRUSTED_PROXIES" }
	if cfg, err := parseServeFlags(nil, &bytes.Buffer{}, env); err != nil || fmt.Sprint(cfg.TrustedProxies) != "[192.0.2.0/24]" {
		t.Errorf("PARLEY_TRUSTED_PROXIES: %v, %v", cfg.TrustedProxies, err)
	}
	if cfg, err := parseServeFlags(nil, &bytes.Buffer{}, none); err != nil || len(cfg.TrustedProxies) != 0 {
		t.Errorf("default: %v, %v; want none", cfg.TrustedProxies, err)
	}
	if _, err := parseServeFlags([]string{"--trusted-proxies", "proxy.local"}, &bytes.Buffer{}, none); err == nil || !strings.Contains(err.Error(), "--trusted-proxies") {
		t.Errorf("a host name accepted: %v", err)
	}
}
