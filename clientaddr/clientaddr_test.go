package clientaddr

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"testing"
)

func mustPrefixes(t *testing.T, spec string) []netip.Prefix {
	t.Helper()
	p, err := ParsePrefixes(spec)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestResolve(t *testing.T) {
	r := NewResolver(mustPrefixes(t, "127.0.0.1, 10.0.0.0/8, ::1, 2001:db8:ffff::/48"))
	cases := []struct {
		name   string
		remote string
		header http.Header
		want   string // "" is the invalid Addr: unknown client
	}{
		{"no headers", "192.0.2.1:5000", nil, "192.0.2.1"},
		{"spoofed XFF from an untrusted peer", "192.0.2.1:5000", http.Header{"X-Forwarded-For": {"127.0.0.1"}}, "192.0.2.1"},
		{"spoofed Forwarded from an untrusted peer", "192.0.2.1:5000", http.Header{"Forwarded": {"for=127.0.0.1"}}, "192.0.2.1"},
		{"spoofed headers from an untrusted IPv6 peer", "[2001:db8:1::5]:5000", http.Header{"X-Forwarded-For": {"::1"}, "Forwarded": {`for="[::1]"`}}, "2001:db8:1::5"},
		{"same-host proxy forwards an internet client", "127.0.0.1:40000", http.Header{"X-Forwarded-For": {"198.51.100.7"}}, "198.51.100.7"},
		{"trusted peer without headers is the client", "127.0.0.1:40000", nil, "127.0.0.1"},
		{"trusted peer with an empty XFF", "127.0.0.1:40000", http.Header{"X-Forwarded-For": {" , "}}, "127.0.0.1"},
		{"client-supplied XFF entries left of the proxy's are ignored", "127.0.0.1:1", http.Header{"X-Forwarded-For": {"127.0.0.1, 10.1.1.1, 198.51.100.7"}}, "198.51.100.7"},
		{"walks right to left through trusted hops", "127.0.0.1:1", http.Header{"X-Forwarded-For": {"203.0.113.9, 198.51.100.7, 10.0.0.2"}}, "198.51.100.7"},
		{"multiple XFF headers are one list", "127.0.0.1:1", http.Header{"X-Forwarded-For": {"203.0.113.9", "198.51.100.7, 10.0.0.2", "10.0.0.3"}}, "198.51.100.7"},
		{"all hops trusted: the leftmost", "127.0.0.1:1", http.Header{"X-Forwarded-For": {"10.0.0.9, 10.0.0.2"}}, "10.0.0.9"},
		{"XFF with ports and brackets", "127.0.0.1:1", http.Header{"X-Forwarded-For": {"[2001:db8::7]:443, 10.0.0.2:80"}}, "2001:db8::7"},
		{"IPv4-mapped hop is unmapped", "127.0.0.1:1", http.Header{"X-Forwarded-For": {"::ffff:198.51.100.7"}}, "198.51.100.7"},
		{"mapped trusted peer", "[::ffff:127.0.0.1]:1", http.Header{"X-Forwarded-For": {"198.51.100.7"}}, "198.51.100.7"},
		{"IPv6 trusted peer", "[::1]:1", http.Header{"X-Forwarded-For": {"2001:db8:2::1"}}, "2001:db8:2::1"},
		{"trusted IPv6 network", "[2001:db8:ffff:1::2]:1", http.Header{"X-Forwarded-For": {"2001:db8:2::1"}}, "2001:db8:2::1"},
		{"garbage nearest hop: unknown, not loopback", "127.0.0.1:1", http.Header{"X-Forwarded-For": {"198.51.100.7, nonsense"}}, ""},
		{"garbage beyond an untrusted hop is never reached", "127.0.0.1:1", http.Header{"X-Forwarded-For": {"nonsense, 198.51.100.7"}}, "198.51.100.7"},
		{"Forwarded", "127.0.0.1:1", http.Header{"Forwarded": {"for=198.51.100.7;proto=https;by=127.0.0.1"}}, "198.51.100.7"},
		{"Forwarded quoted IPv6 with port", "127.0.0.1:1", http.Header{"Forwarded": {`for="[2001:db8:cafe::17]:4711"`}}, "2001:db8:cafe::17"},
		{"Forwarded several elements and headers", "127.0.0.1:1", http.Header{"Forwarded": {"for=203.0.113.9, for=198.51.100.7", `for="10.0.0.2:80";proto=http`}}, "198.51.100.7"},
		{"Forwarded case-insensitive key", "127.0.0.1:1", http.Header{"Forwarded": {"For=198.51.100.7"}}, "198.51.100.7"},
		{"Forwarded obfuscated nearest node", "127.0.0.1:1", http.Header{"Forwarded": {"for=198.51.100.7, for=_hidden"}}, ""},
		{"Forwarded unknown node", "127.0.0.1:1", http.Header{"Forwarded": {"for=unknown"}}, ""},
		{"Forwarded element without for", "127.0.0.1:1", http.Header{"Forwarded": {"for=198.51.100.7, proto=https"}}, ""},
		{"Forwarded unterminated quote", "127.0.0.1:1", http.Header{"Forwarded": {`for="198.51.100.7`}}, ""},
		{"Forwarded quoted comma stays in its element", "127.0.0.1:1", http.Header{"Forwarded": {`for=198.51.100.7;ext="a,b;c", for=10.0.0.2`}}, "198.51.100.7"},
		{"XFF is preferred over Forwarded", "127.0.0.1:1", http.Header{"X-Forwarded-For": {"198.51.100.7"}, "Forwarded": {"for=203.0.113.9"}}, "198.51.100.7"},
		{"unparseable RemoteAddr", "@", nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/", nil)
			req.RemoteAddr = c.remote
			for k, vs := range c.header {
				for _, v := range vs {
					req.Header.Add(k, v)
				}
			}
			got := r.Resolve(req)
			if c.want == "" {
				if got.IsValid() {
					t.Fatalf("got %v, want the invalid (unknown) address", got)
				}
				return
			}
			if want := netip.MustParseAddr(c.want); got != want {
				t.Fatalf("got %v, want %v", got, want)
			}
		})
	}
}

func TestResolveWithoutTrustedProxies(t *testing.T) {
	for _, r := range []*Resolver{nil, {}, NewResolver(nil)} {
		req := httptest.NewRequest("GET", "/", nil)
		req.RemoteAddr = "127.0.0.1:1"
		req.Header.Set("X-Forwarded-For", "198.51.100.7")
		req.Header.Set("Forwarded", "for=198.51.100.7")
		if got := r.Resolve(req); got != netip.MustParseAddr("127.0.0.1") {
			t.Fatalf("%+v: got %v, want the socket address", r, got)
		}
	}
}

func TestParseForwarded(t *testing.T) {
	cases := []struct {
		in   []string
		want []string // "" is an unknown hop
	}{
		{[]string{`for=192.0.2.43`}, []string{"192.0.2.43"}},
		{[]string{`for=192.0.2.43, for=198.51.100.17`}, []string{"192.0.2.43", "198.51.100.17"}},
		{[]string{`for="_gazonk"`}, []string{""}},
		{[]string{`For="[2001:db8:cafe::17]:4711"`}, []string{"2001:db8:cafe::17"}},
		{[]string{`for=192.0.2.60;proto=http;by=203.0.113.43`}, []string{"192.0.2.60"}},
		{[]string{`for="192.0.2.60:_port"`}, []string{"192.0.2.60"}},
		{[]string{`for=[2001:db8::1]`}, []string{"2001:db8::1"}},
		{[]string{`for="[2001:db8::1"`}, []string{""}},
		{[]string{`for="[192.0.2.1]"`}, []string{""}},
		{[]string{`for=192.0.2.1:99999`}, []string{""}},
		{[]string{`for=192.0.2.1;for=192.0.2.2`}, []string{""}},
		{[]string{`for="192.0.2.1`, `for=192.0.2.2`}, []string{"", "192.0.2.2"}},
		{[]string{`for=192.0.2.1 junk, for=192.0.2.2`}, []string{"", "192.0.2.2"}},
		{[]string{`=x, for=192.0.2.2`}, []string{"", "192.0.2.2"}},
		{[]string{`for="\"quoted\"", for=192.0.2.2`}, []string{"", "192.0.2.2"}},
		{[]string{`, ,for=192.0.2.2,`}, []string{"192.0.2.2"}},
		{[]string{``}, nil},
	}
	for _, c := range cases {
		got := ParseForwarded(c.in)
		if !slices.Equal(hopStrings(got), c.want) {
			t.Errorf("ParseForwarded(%q) = %q, want %q", c.in, hopStrings(got), c.want)
		}
	}
}

func TestParseXForwardedFor(t *testing.T) {
	got := hopStrings(ParseXForwardedFor([]string{"192.0.2.1, [2001:db8::1]:80,  ", "2001:db8::2, fe80::1%eth0, bogus, 192.0.2.9:7"}))
	want := []string{"192.0.2.1", "2001:db8::1", "2001:db8::2", "fe80::1", "", "192.0.2.9"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func hopStrings(hops []netip.Addr) []string {
	var out []string
	for _, h := range hops {
		if h.IsValid() {
			out = append(out, h.String())
		} else {
			out = append(out, "")
		}
	}
	return out
}

func TestKey(t *testing.T) {
	cases := []struct{ addr, want string }{
		{"192.0.2.1", "192.0.2.1/32"},
		{"::ffff:192.0.2.1", "192.0.2.1/32"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"2001:db8:1:2::99", "2001:db8:1:2::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"::1", "::/64"},
	}
	for _, c := range cases {
		if got := Key(netip.MustParseAddr(c.addr)); got.String() != c.want {
			t.Errorf("Key(%s) = %s, want %s", c.addr, got, c.want)
		}
	}
	if Key(netip.MustParseAddr("2001:db8:1:2::1")) == Key(netip.MustParseAddr("2001:db8:1:3::1")) {
		t.Error("different /64s share a key")
	}
	if Key(netip.Addr{}) != (netip.Prefix{}) {
		t.Error("the invalid address has a non-zero key")
	}
}

func TestParsePrefixes(t *testing.T) {
	got, err := ParsePrefixes(" 10.0.0.0/8, 127.0.0.1 ,::1, ::ffff:192.0.2.0/120, 192.0.2.77/24,")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.0.0.0/8", "127.0.0.1/32", "::1/128", "192.0.2.0/24", "192.0.2.0/24"}
	var gs []string
	for _, p := range got {
		gs = append(gs, p.String())
	}
	if !slices.Equal(gs, want) {
		t.Fatalf("got %q, want %q", gs, want)
	}
	if p, err := ParsePrefixes(""); err != nil || len(p) != 0 {
		t.Fatalf("empty spec: %v, %v", p, err)
	}
	for _, bad := range []string{"proxy.example", "10.0.0.0/33", "fe80::1%eth0", "1.2.3"} {
		if _, err := ParsePrefixes(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestMiddleware(t *testing.T) {
	r := NewResolver(mustPrefixes(t, "127.0.0.1"))
	var got []netip.Addr
	h := r.Middleware(r.Middleware(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		got = append(got, FromRequest(req))
	})))
	req := httptest.NewRequest("GET", "/", nil)
	req.RemoteAddr = "127.0.0.1:9"
	req.Header.Set("X-Forwarded-For", "198.51.100.7")
	h.ServeHTTP(httptest.NewRecorder(), req)
	if len(got) != 1 || got[0] != netip.MustParseAddr("198.51.100.7") {
		t.Fatalf("through the middleware: %v", got)
	}
	// Without the middleware, FromRequest never reads the headers.
	if a := FromRequest(req); a != netip.MustParseAddr("127.0.0.1") {
		t.Fatalf("without the middleware: %v, want the socket address", a)
	}
	// A stored address is kept: the inner middleware did not re-resolve.
	stored := req.WithContext(NewContext(req.Context(), netip.MustParseAddr("203.0.113.1")))
	got = nil
	h.ServeHTTP(httptest.NewRecorder(), stored)
	if got[0] != netip.MustParseAddr("203.0.113.1") {
		t.Fatalf("stored address replaced: %v", got)
	}
}
