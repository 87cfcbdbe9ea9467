package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-dev/parley/auth"
	"github.com/parley-dev/parley/clientaddr"
	"github.com/parley-dev/parley/rooms"
	"github.com/parley-dev/parley/rooms/store"
	"github.com/parley-dev/parley/webclient"
)

const opToken = "operator-secret-token"

type fixture struct {
	srv     *httptest.Server
	api     *Server
	db      *store.DB
	tokens  *auth.Tokens
	deleted []string
	now     time.Time
}

// newFixture serves an api.Server; opts adjust its Config.
func newFixture(t *testing.T, opts ...func(*Config)) *fixture {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "parley.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	key, err := db.SigningKey()
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := auth.NewTokens(auth.TokenConfig{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	web, err := webclient.Files("")
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{db: db, tokens: tokens, now: time.Now()}
	cfg := Config{
		Rooms:         db,
		Backup:        db,
		Tokens:        tokens,
		WebSocket:     http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "websocket") }),
		Web:           web,
		OperatorToken: opToken,
		PublicURL:     "https://meet.example.org",
		OnRoomDeleted: func(id string) { f.deleted = append(f.deleted, id) },
		Now:           func() time.Time { return f.now },
		Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	for _, o := range opts {
		o(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.api = s
	f.srv = httptest.NewServer(s)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fixture) do(t *testing.T, method, path, body string, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, data
}

func errorCode(t *testing.T, data []byte) string {
	t.Helper()
	var eb ErrorBody
	if err := json.Unmarshal(data, &eb); err != nil {
		t.Fatalf("error body %q: %v", data, err)
	}
	if eb.Error.Message == "" {
		t.Errorf("error %q has no message", eb.Error.Code)
	}
	return eb.Error.Code
}

func TestJoin(t *testing.T) {
	f := newFixture(t)
	rm, err := rooms.New("Choir", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := f.db.CreateRoom(context.Background(), rm); err != nil {
		t.Fatal(err)
	}
	resp, data := f.do(t, "POST", "/api/v1/join", `{"link":"`+rm.Link+`"}`, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("join: %d %s", resp.StatusCode, data)
	}
	var jr JoinResponse
	if err := json.Unmarshal(data, &jr); err != nil {
		t.Fatal(err)
	}
	claims, err := f.tokens.VerifyJoin(jr.Token)
	if err != nil || claims.RoomID != rm.ID {
		t.Fatalf("token: %+v, %v", claims, err)
	}
	if jr.Room.Name != "Choir" || jr.WSPath != "/ws" || !jr.ExpiresAt.After(time.Now()) {
		t.Errorf("join response %+v", jr)
	}

	cases := []struct {
		name, body string
		ctype      string
		status     int
		code       string
	}{
		{"unknown link", `{"link":"nope"}`, "", 404, "room-not-found"},
		{"empty link", `{"link":" "}`, "", 400, "bad-request"},
		{"malformed", `{"link":`, "", 400, "bad-request"},
		{"unknown field", `{"link":"x","admin":true}`, "", 400, "bad-request"},
		{"trailing data", `{"link":"x"} {}`, "", 400, "bad-request"},
		{"too large", `{"link":"` + strings.Repeat("a", 70<<10) + `"}`, "", 413, "too-large"},
		{"not JSON", `link=x`, "application/x-www-form-urlencoded", 415, "unsupported-media-type"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hdr := map[string]string{}
			if c.ctype != "" {
				hdr["Content-Type"] = c.ctype
			}
			resp, data := f.do(t, "POST", "/api/v1/join", c.body, hdr)
			if resp.StatusCode != c.status || errorCode(t, data) != c.code {
				t.Fatalf("got %d %s, want %d %s", resp.StatusCode, data, c.status, c.code)
			}
		})
	}
}

func TestJoinThrottled(t *testing.T) {
	f := newFixture(t)
	rm, _ := rooms.New("Assembly", time.Now())
	if err := f.db.CreateRoom(context.Background(), rm); err != nil {
		t.Fatal(err)
	}
	// A class behind one address joins at once: nobody is refused.
	for i := range 40 {
		if resp, data := f.do(t, "POST", "/api/v1/join", `{"link":"`+rm.Link+`"}`, nil); resp.StatusCode != 200 {
			t.Fatalf("join %d from one address: %d %s", i, resp.StatusCode, data)
		}
	}
	// Guessing is throttled.
	limited := 0
	for range 40 {
		resp, data := f.do(t, "POST", "/api/v1/join", `{"link":"guess"}`, nil)
		if resp.StatusCode == http.StatusTooManyRequests {
			limited++
			if errorCode(t, data) != "rate-limited" || resp.Header.Get("Retry-After") == "" {
				t.Fatalf("throttle answer: %s %v", data, resp.Header)
			}
		}
	}
	if limited != 20 {
		t.Fatalf("%d of 40 rapid guesses throttled, want 20 (burst 20, clock frozen)", limited)
	}
	// The guesses never lock out the right link from the same address, and
	// the wait announced is the real one: a miss is regained each second.
	if resp, data := f.do(t, "POST", "/api/v1/join", `{"link":"`+rm.Link+`"}`, nil); resp.StatusCode != 200 {
		t.Fatalf("right link after the guesses: %d %s, want 200", resp.StatusCode, data)
	}
	if resp, _ := f.do(t, "POST", "/api/v1/join", `{"link":"guess"}`, nil); resp.Header.Get("Retry-After") != "1" {
		t.Fatalf("Retry-After %q, want 1", resp.Header.Get("Retry-After"))
	}
	// A minute later the address may try again.
	f.now = f.now.Add(time.Minute)
	if resp, _ := f.do(t, "POST", "/api/v1/join", `{"link":"guess"}`, nil); resp.StatusCode != 404 {
		t.Fatalf("after a minute: %d, want 404", resp.StatusCode)
	}
}

func TestOperatorAPI(t *testing.T) {
	f := newFixture(t)
	auth := map[string]string{"Authorization": "Bearer " + opToken}
	if resp, data := f.do(t, "GET", "/api/v1/rooms", "", nil); resp.StatusCode != 401 || errorCode(t, data) != "unauthorized" {
		t.Fatalf("no token: %d %s", resp.StatusCode, data)
	}
	if resp, _ := f.do(t, "GET", "/api/v1/rooms", "", map[string]string{"Authorization": "Bearer wrong"}); resp.StatusCode != 401 {
		t.Fatalf("wrong token: %d", resp.StatusCode)
	}
	resp, data := f.do(t, "POST", "/api/v1/rooms", `{"name":"  Book   Club "}`, auth)
	if resp.StatusCode != 201 {
		t.Fatalf("create: %d %s", resp.StatusCode, data)
	}
	var v RoomView
	json.Unmarshal(data, &v)
	if v.Name != "Book Club" || v.URL != "https://meet.example.org/r/"+v.Link || len(v.Link) < 22 {
		t.Errorf("created %+v", v)
	}
	if resp, data := f.do(t, "POST", "/api/v1/rooms", `{"name":"book club"}`, auth); resp.StatusCode != 409 || errorCode(t, data) != "room-exists" {
		t.Fatalf("duplicate: %d %s", resp.StatusCode, data)
	}
	if resp, data := f.do(t, "POST", "/api/v1/rooms", `{"name":"a/b"}`, auth); resp.StatusCode != 400 || errorCode(t, data) != "bad-request" {
		t.Fatalf("bad name: %d %s", resp.StatusCode, data)
	}
	resp, data = f.do(t, "GET", "/api/v1/rooms", "", auth)
	if resp.StatusCode != 200 || !strings.Contains(string(data), "Book Club") {
		t.Fatalf("list: %d %s", resp.StatusCode, data)
	}
	if resp, _ := f.do(t, "GET", "/api/v1/rooms/BOOK%20CLUB", "", auth); resp.StatusCode != 200 {
		t.Fatalf("get by name: %d", resp.StatusCode)
	}
	if resp, _ := f.do(t, "DELETE", "/api/v1/rooms/Book%20Club", "", auth); resp.StatusCode != 204 {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	if len(f.deleted) != 1 || f.deleted[0] != v.ID {
		t.Errorf("OnRoomDeleted got %v, want [%s]", f.deleted, v.ID)
	}
	if resp, data := f.do(t, "DELETE", "/api/v1/rooms/Book%20Club", "", auth); resp.StatusCode != 404 || errorCode(t, data) != "room-not-found" {
		t.Fatalf("delete again: %d %s", resp.StatusCode, data)
	}
}

func TestPagesAndHeaders(t *testing.T) {
	f := newFixture(t)
	for _, path := range []string{"/", "/r/some-link"} {
		resp, data := f.do(t, "GET", path, "", nil)
		if resp.StatusCode != 200 || !strings.Contains(string(data), "<html") {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
		for _, h := range []string{"Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy"} {
			if resp.Header.Get(h) == "" {
				t.Errorf("%s: no %s header", path, h)
			}
		}
	}
	if resp, _ := f.do(t, "GET", "/assets/app.js", "", nil); resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), "javascript") {
		t.Fatalf("app.js: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if resp, _ := f.do(t, "GET", "/assets/nope.js", "", nil); resp.StatusCode != 404 {
		t.Fatalf("missing asset: %d", resp.StatusCode)
	}
	if resp, data := f.do(t, "GET", "/api/v1/nothing", "", nil); resp.StatusCode != 404 || errorCode(t, data) != "not-found" {
		t.Fatalf("unknown API path: %d %s", resp.StatusCode, data)
	}
	if resp, data := f.do(t, "GET", "/api/v1/join", "", nil); resp.StatusCode != 405 || resp.Header.Get("Allow") != "POST" || errorCode(t, data) != "method-not-allowed" {
		t.Fatalf("GET join: %d %s, want 405", resp.StatusCode, data)
	}
	if resp, data := f.do(t, "GET", "/api/v1/health", "", nil); resp.StatusCode != 200 || !strings.Contains(string(data), "ok") {
		t.Fatalf("health: %d %s", resp.StatusCode, data)
	}
}

// TestThrottleNeverRefusesTheRightLink: a burst of bad links from one
// client is refused with 429 and a Retry-After that is the real wait,
// while the right link from that same client, and misses from other
// clients, still get their answers. Clients are told apart behind a
// trusted proxy (127.0.0.1) by X-Forwarded-For; IPv6 clients count per /64.
func TestThrottleNeverRefusesTheRightLink(t *testing.T) {
	proxies, err := clientaddr.ParsePrefixes("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, func(c *Config) {
		c.ClientAddrs = clientaddr.NewResolver(proxies)
		c.JoinRate = 0.1 // one miss regained every 10 s
		c.JoinBurst = 5
	})
	rm, _ := rooms.New("Assembly", time.Now())
	if err := f.db.CreateRoom(context.Background(), rm); err != nil {
		t.Fatal(err)
	}
	join := func(from, link string) (int, string) {
		t.Helper()
		resp, data := f.do(t, "POST", "/api/v1/join", `{"link":"`+link+`"}`, map[string]string{"X-Forwarded-For": from})
		if resp.StatusCode == http.StatusTooManyRequests && errorCode(t, data) != "rate-limited" {
			t.Fatalf("429 with body %s", data)
		}
		return resp.StatusCode, resp.Header.Get("Retry-After")
	}
	for i := range 5 {
		if status, _ := join("198.51.100.7", "guess"); status != 404 {
			t.Fatalf("miss %d within the burst: %d, want 404", i, status)
		}
	}
	if status, ra := join("198.51.100.7", "guess"); status != 429 || ra != "10" {
		t.Fatalf("miss over the burst: %d Retry-After %q, want 429 and 10", status, ra)
	}
	f.now = f.now.Add(3500 * time.Millisecond)
	if status, ra := join("198.51.100.7", "guess"); status != 429 || ra != "7" {
		t.Fatalf("3.5 s later: %d Retry-After %q, want 429 and 7 (6.5 s rounded up)", status, ra)
	}
	for i := range 3 {
		if status, _ := join("198.51.100.7", rm.Link); status != 200 {
			t.Fatalf("right link %d from the throttled address: %d, want 200", i, status)
		}
	}
	if status, _ := join("198.51.100.8", "guess"); status != 404 {
		t.Fatalf("miss from another address: %d, want 404", status)
	}
	f.now = f.now.Add(6500 * time.Millisecond)
	if status, _ := join("198.51.100.7", "guess"); status != 404 {
		t.Fatalf("after Retry-After: %d, want 404", status)
	}

	// IPv6: one /64 is one client, whatever the interface id.
	for i := range 5 {
		join(fmt.Sprintf("2001:db8:1:2::%x", i+1), "guess")
	}
	if status, _ := join("2001:db8:1:2:ffff:ffff:ffff:ffff", "guess"); status != 429 {
		t.Fatalf("sixth miss from the same /64: %d, want 429", status)
	}
	if status, _ := join("2001:db8:1:2::99", rm.Link); status != 200 {
		t.Fatalf("right link from the throttled /64: %d, want 200", status)
	}
	if status, _ := join("2001:db8:1:3::1", "guess"); status != 404 {
		t.Fatalf("miss from the next /64: %d, want 404", status)
	}
}

// TestThrottleIgnoresForwardedHeadersFromStrangers: without trusted
// proxies, X-Forwarded-For cannot buy a guesser fresh allowance.
func TestThrottleIgnoresForwardedHeadersFromStrangers(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.JoinBurst = 3 })
	for i := range 5 {
		resp, _ := f.do(t, "POST", "/api/v1/join", `{"link":"guess"}`, map[string]string{"X-Forwarded-For": fmt.Sprintf("203.0.113.%d", i)})
		if want := map[bool]int{true: 404, false: 429}[i < 3]; resp.StatusCode != want {
			t.Fatalf("miss %d with a made-up X-Forwarded-For: %d, want %d", i, resp.StatusCode, want)
		}
	}
}

// TestOperatorThrottle: wrong operator tokens are throttled, the right one
// from the same address is not.
func TestOperatorThrottle(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.JoinBurst = 2 })
	wrong := map[string]string{"Authorization": "Bearer wrong"}
	for i, want := range []int{401, 401, 429} {
		resp, _ := f.do(t, "GET", "/api/v1/rooms", "", wrong)
		if resp.StatusCode != want {
			t.Fatalf("wrong token %d: %d, want %d", i, resp.StatusCode, want)
		}
		if want == 429 && resp.Header.Get("Retry-After") != "1" {
			t.Fatalf("Retry-After %q, want 1 (rate 1/s, clock frozen)", resp.Header.Get("Retry-After"))
		}
	}
	if resp, _ := f.do(t, "GET", "/api/v1/rooms", "", map[string]string{"Authorization": "Bearer " + opToken}); resp.StatusCode != 200 {
		t.Fatalf("right token from the throttled address: %d, want 200", resp.StatusCode)
	}
}
