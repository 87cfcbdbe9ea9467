package signaling

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestValidDisplayName(t *testing.T) {
	cases := []struct {
		in, want string
		ok       bool
	}{
		{"Alice", "Alice", true},
		{"  Bob Baker  ", "Bob Baker", true},
		{"Zoë 會議", "Zoë 會議", true},
		{strings.Repeat("x", 64), strings.Repeat("x", 64), true},
		{strings.Repeat("é", 64), strings.Repeat("é", 64), true},
		{strings.Repeat("x", 65), "", false},
		{"", "", false},
		{"   ", "", false},
		{"bell\a", "", false},
		{"new\nline", "", false},
		{"bad \xff utf8", "", false},
	}
	for _, c := range cases {
		got, err := validDisplayName(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("validDisplayName(%q) = %q, %v; want %q, ok=%v", c.in, got, err, c.want, c.ok)
		}
	}
}

func TestCheckOrigin(t *testing.T) {
	s := &Server{cfg: Config{AllowedOrigins: []string{"https://app.example.org/"}}}
	cases := []struct {
		host, origin string
		ok           bool
	}{
		{"meet.example.org", "", true},
		{"meet.example.org", "https://meet.example.org", true},
		{"localhost:8080", "http://localhost:8080", true},
		{"meet.example.org", "https://evil.example", false},
		{"meet.example.org", "https://app.example.org", true},
		{"meet.example.org", "::not a url", false},
	}
	for _, c := range cases {
		r := newRequest(c.host, c.origin)
		if got := s.checkOrigin(r); got != c.ok {
			t.Errorf("host %s origin %q: %v, want %v", c.host, c.origin, got, c.ok)
		}
	}
}

func newRequest(host, origin string) *http.Request {
	r := httptest.NewRequest("GET", "http://"+host+"/ws", nil)
	if origin != "" {
		r.Header.Set("Origin", origin)
	}
	return r
}
