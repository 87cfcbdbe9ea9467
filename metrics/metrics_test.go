package metrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/parley-dev/parley/clientaddr"
)

func TestParseAccess(t *testing.T) {
	cases := []struct {
		spec    string
		remote  string
		token   string
		bearer  string
		allowed bool
	}{
		{"", "127.0.0.1:5000", "", "", true},
		{"", "[::1]:5000", "", "", true},
		{"", "192.0.2.9:5000", "", "", false},
		{"loopback", "192.0.2.9:5000", "s3cret", "s3cret", true},
		{"loopback", "192.0.2.9:5000", "s3cret", "wrong", false},
		{"off", "127.0.0.1:5000", "s3cret", "s3cret", false},
		{"any", "198.51.100.1:5000", "", "", true},
		{"10.0.0.0/8, 192.0.2.7", "10.1.2.3:1", "", "", true},
		{"10.0.0.0/8, 192.0.2.7", "192.0.2.7:1", "", "", true},
		{"10.0.0.0/8, 192.0.2.7", "192.0.2.8:1", "", "", false},
		{"10.0.0.0/8", "[::ffff:10.0.0.1]:1", "", "", true},
	}
	for _, c := range cases {
		a, err := ParseAccess(c.spec, c.token)
		if err != nil {
			t.Fatalf("%q: %v", c.spec, err)
		}
		r := httptest.NewRequest("GET", "/metrics", nil)
		r.RemoteAddr = c.remote
		if c.bearer != "" {
			r.Header.Set("Authorization", "Bearer "+c.bearer)
		}
		if got := a.Allowed(r); got != c.allowed {
			t.Errorf("spec %q from %s (bearer %q): allowed=%v, want %v", c.spec, c.remote, c.bearer, got, c.allowed)
		}
	}
	for _, bad := range []string{"nowhere", "10.0.0.0/33", ","} {
		if _, err := ParseAccess(bad, ""); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestHandlerServesCounters(t *testing.T) {
	m := New(Sources{
		Media: func() MediaStats { return MediaStats{PacketsOut: 1234, PublishedTracks: 2, SendErrors: 7} },
		Calls: func() CallStats { return CallStats{Calls: 1, Participants: 3, Sessions: 3} },
	})
	m.ObserveJoin(150 * time.Millisecond)
	a, _ := ParseAccess("", "")
	srv := httptest.NewServer(Guard(a, m.Handler()))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, want := range []string{"parley_rtp_packets_out_total 1234", "parley_tracks_published 2", "parley_participants 3", "parley_media_send_errors_total 7", "parley_join_seconds_count 1", "go_goroutines"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	off, _ := ParseAccess("off", "")
	rec := httptest.NewRecorder()
	Guard(off, m.Handler()).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("off: %d, want 404", rec.Code)
	}
}

// TestGuardBehindProxy: a same-host reverse proxy (trusted) forwarding a
// request from the internet does not make it loopback; the proxy's own
// requests, and loopback clients it forwards, still are.
func TestGuardBehindProxy(t *testing.T) {
	a, _ := ParseAccess("loopback", "")
	proxies, _ := clientaddr.ParsePrefixes("127.0.0.1, ::1")
	h := clientaddr.NewResolver(proxies).Middleware(Guard(a, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
	cases := []struct {
		remote, xff string
		want        int
	}{
		{"127.0.0.1:5000", "198.51.100.7", http.StatusForbidden},
		{"[::1]:5000", "2001:db8::1", http.StatusForbidden},
		{"127.0.0.1:5000", "127.0.0.1, 198.51.100.7", http.StatusForbidden},
		{"127.0.0.1:5000", "198.51.100.7, not-an-address", http.StatusForbidden},
		{"127.0.0.1:5000", "", http.StatusOK},
		{"127.0.0.1:5000", "::1", http.StatusOK},
		{"192.0.2.9:5000", "127.0.0.1", http.StatusForbidden},
	}
	for _, c := range cases {
		r := httptest.NewRequest("GET", "/metrics", nil)
		r.RemoteAddr = c.remote
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != c.want {
			t.Errorf("from %s forwarding %q: %d, want %d", c.remote, c.xff, rec.Code, c.want)
		}
	}
}
