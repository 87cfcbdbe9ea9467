package clientaddr

import (
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

// FuzzForwarded feeds arbitrary header values to both parsers and to
// Resolve behind a trusted same-host proxy. Neither may panic, every hop is
// an unmapped, zone-free address or unknown, and the client is taken for
// the (trusted, loopback) proxy only if every hop says loopback.
func FuzzForwarded(f *testing.F) {
	for _, s := range []string{
		`for=192.0.2.43`,
		`for=192.0.2.43, for=198.51.100.17;proto=https;by=203.0.113.43`,
		`For="[2001:db8:cafe::17]:4711"`,
		`for="_gazonk", for=unknown`,
		`for="\"x\\", ;;, for=[::1]`,
		`192.0.2.1, [2001:db8::1]:80, fe80::1%eth0`,
	} {
		f.Add(s)
	}
	trusted := NewResolver([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")})
	f.Fuzz(func(t *testing.T, v string) {
		values := strings.Split(v, "\n")
		for _, parse := range []func([]string) []netip.Addr{ParseForwarded, ParseXForwardedFor} {
			hops := parse(values)
			if len(hops) > strings.Count(v, ",")+len(values) {
				t.Fatalf("%d hops from %d commas in %q", len(hops), strings.Count(v, ","), v)
			}
			for _, h := range hops {
				if h.IsValid() && (h.Is4In6() || h.Zone() != "") {
					t.Fatalf("hop %v from %q is not clean", h, v)
				}
			}
		}
		for _, name := range []string{"Forwarded", "X-Forwarded-For"} {
			req := httptest.NewRequest("GET", "/", nil)
			req.RemoteAddr = "127.0.0.1:1"
			for _, val := range values {
				req.Header.Add(name, val)
			}
			got := trusted.Resolve(req)
			if !trusted.Trusted(got) {
				continue
			}
			parse := ParseForwarded
			if name != "Forwarded" {
				parse = ParseXForwardedFor
			}
			for _, h := range parse(values) {
				if !trusted.Trusted(h) {
					t.Fatalf("%s %q resolved to trusted %v though hop %v is not", name, v, got, h)
				}
			}
		}
	})
}
