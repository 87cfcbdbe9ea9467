package signaling

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzCheckOrigin gives the WebSocket origin check any Host and Origin
// header. The seeds (testdata/fuzz/FuzzCheckOrigin) are the cases of
// TestCheckOrigin and origins with user info, ports, other schemes and
// case changes.
//
// Properties: a request is allowed exactly when it has no Origin, or its
// Origin parses as a URL whose host is the request's Host (in any case),
// or its Origin is a configured one (in any case, without trailing '/');
// a browser's Origin for a page on the request's own host is allowed.
func FuzzCheckOrigin(f *testing.F) {
	allowed := "https://app.example.org/"
	s := &Server{cfg: Config{AllowedOrigins: []string{allowed}}}
	f.Fuzz(func(t *testing.T, host, origin string) {
		r := newRequest("meet.example.org", "")
		r.Host = host
		if origin != "" {
			r.Header["Origin"] = []string{origin}
		}
		got := s.checkOrigin(r)
		u, err := url.Parse(origin)
		want := origin == "" || (err == nil && strings.EqualFold(u.Host, host)) ||
			strings.EqualFold(strings.TrimRight(allowed, "/"), origin)
		if got != want {
			t.Fatalf("checkOrigin(Host %q, Origin %q) = %v, want %v", host, origin, got, want)
		}
		// What a browser sends from a page on this very host is allowed.
		if host != "" && strings.Trim(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") == "" {
			r.Header["Origin"] = []string{"https://" + host}
			if !s.checkOrigin(r) {
				t.Fatalf("checkOrigin refuses the server's own host %q", host)
			}
		}
	})
}
