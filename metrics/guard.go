package metrics

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"

	"github.com/parley-dev/parley/clientaddr"
)

// Access says who may reach an operator-only endpoint (/metrics,
// /debug/pprof/).
type Access struct {
	// Off turns the endpoint off entirely (404).
	Off bool
	// Networks are the client addresses allowed without a token. None
	// (the zero Access) means loopback only.
	Networks []netip.Prefix
	// Token, if set, also admits any client that sends
	// "Authorization: Bearer <Token>".
	Token string
}

// ParseAccess reads the --metrics flag: "" or "loopback" (the default),
// "off", "any", or a comma-separated list of CIDR networks and addresses.
func ParseAccess(spec, token string) (Access, error) {
	a := Access{Token: token}
	switch strings.TrimSpace(spec) {
	case "", "loopback":
		a.Networks = loopback()
		return a, nil
	case "off":
		a.Off = true
		return a, nil
	case "any":
		a.Networks = []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")}
		return a, nil
	}
	for _, f := range strings.Split(spec, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			a.Networks = append(a.Networks, p.Masked())
			continue
		}
		addr, err := netip.ParseAddr(f)
		if err != nil {
			return Access{}, fmt.Errorf("%q is not loopback, off, any, a network (CIDR) or an address", f)
		}
		a.Networks = append(a.Networks, netip.PrefixFrom(addr, addr.BitLen()))
	}
	if len(a.Networks) == 0 {
		return Access{}, errors.New("no networks given")
	}
	return a, nil
}

func loopback() []netip.Prefix {
	return []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
}

// Allowed reports whether r may reach the endpoint. The client address is
// the one clientaddr.Middleware resolved (behind a trusted proxy, the
// forwarded client's, so a same-host proxy does not make the internet
// loopback), or the socket's; an unknown client is allowed only by token.
func (a Access) Allowed(r *http.Request) bool {
	if a.Off {
		return false
	}
	if a.Token != "" {
		if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok &&
			subtle.ConstantTimeCompare([]byte(tok), []byte(a.Token)) == 1 {
			return true
		}
	}
	addr := clientaddr.FromRequest(r)
	if !addr.IsValid() {
		return false
	}
	nets := a.Networks
	if len(nets) == 0 {
		nets = loopback()
	}
	for _, p := range nets {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// Guard serves h only to requests a allows; others get 404 when the
// endpoint is off and 403 otherwise.
func Guard(a Access, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case a.Off:
			http.NotFound(w, r)
		case !a.Allowed(r):
			http.Error(w, "forbidden: this endpoint is for the operator (see --metrics and --metrics-token)", http.StatusForbidden)
		default:
			h.ServeHTTP(w, r)
		}
	})
}
