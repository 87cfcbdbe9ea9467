// Package clientaddr finds the address of the client behind an HTTP
// request: the socket's peer, or, when that peer is a trusted reverse
// proxy, the address the proxies recorded in X-Forwarded-For or Forwarded
// (RFC 7239). Throttles, logs and access guards use it, keyed with Key so
// that one IPv6 host (which owns a whole /64) counts once.
//
// Only the proxies the operator names are believed: a header from anyone
// else is ignored, so a client cannot claim to be someone else, or to be on
// loopback.
package clientaddr

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// MaxHops bounds how many forwarded hops Resolve reads. Deeper chains are
// cut at their rightmost (nearest) MaxHops entries.
const MaxHops = 32

// Resolver finds the client address of requests, believing forwarding
// headers only from trusted proxies. The zero Resolver (and a nil one)
// trusts nobody and returns the socket's peer.
type Resolver struct {
	// set at construction; read-only after
	trusted []netip.Prefix
}

// NewResolver returns a Resolver that believes forwarding headers from
// peers within trusted.
func NewResolver(trusted []netip.Prefix) *Resolver {
	r := &Resolver{}
	for _, p := range trusted {
		if p.IsValid() {
			r.trusted = append(r.trusted, unmapPrefix(p))
		}
	}
	return r
}

// ParsePrefixes reads a comma-separated list of CIDR networks and single
// addresses ("10.0.0.0/8, 127.0.0.1, ::1"), as --trusted-proxies takes it.
// An empty spec is an empty list.
func ParsePrefixes(spec string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(spec, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, unmapPrefix(p.Masked()))
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil || a.Zone() != "" {
			return nil, fmt.Errorf("%q is not a network (CIDR) or an IP address", f)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// unmapPrefix turns ::ffff:a.b.c.d/n (n ≥ 96) into a.b.c.d/(n-96), so that
// it matches the unmapped addresses the resolver compares.
func unmapPrefix(p netip.Prefix) netip.Prefix {
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p
}

// Trusted reports whether a is one of the resolver's trusted proxies.
func (r *Resolver) Trusted(a netip.Addr) bool {
	if r == nil || !a.IsValid() {
		return false
	}
	a = a.Unmap()
	for _, p := range r.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Resolve returns the client address of req. Without trusted proxies it is
// the socket's peer. When the peer is trusted, Resolve walks the forwarded
// hops from right (nearest) to left and returns the first that is not a
// trusted proxy, or the leftmost if all are. X-Forwarded-For is read if the
// request has one, Forwarded only if it has none. A hop that is not an IP
// address ("unknown", an obfuscated identifier, garbage) ends the walk with
// the invalid Addr: the client is unknown, and is never taken for loopback
// or for a trusted proxy. A trusted peer that sent neither header is itself
// the client. The result is unmapped (::ffff:a.b.c.d becomes a.b.c.d) and
// carries no zone.
func (r *Resolver) Resolve(req *http.Request) netip.Addr {
	peer := Peer(req.RemoteAddr)
	if !r.Trusted(peer) {
		return peer
	}
	var hops []netip.Addr
	if xff := req.Header.Values("X-Forwarded-For"); len(xff) > 0 {
		hops = ParseXForwardedFor(xff)
	} else if fwd := req.Header.Values("Forwarded"); len(fwd) > 0 {
		hops = ParseForwarded(fwd)
	}
	if len(hops) == 0 {
		return peer
	}
	if len(hops) > MaxHops {
		hops = hops[len(hops)-MaxHops:]
	}
	for i := len(hops) - 1; i >= 0; i-- {
		a := hops[i]
		if !a.IsValid() || !r.Trusted(a) || i == 0 {
			return a
		}
	}
	return netip.Addr{} // unreachable: the loop returns at i == 0
}

// Peer parses an http.Request's RemoteAddr ("host:port", or a bare host)
// into an unmapped address without zone; the invalid Addr if it is none.
func Peer(remoteAddr string) netip.Addr {
	if ap, err := netip.ParseAddrPort(remoteAddr); err == nil {
		return clean(ap.Addr())
	}
	a, err := netip.ParseAddr(strings.Trim(remoteAddr, "[]"))
	if err != nil {
		return netip.Addr{}
	}
	return clean(a)
}

func clean(a netip.Addr) netip.Addr { return a.Unmap().WithZone("") }

// Key is the unit a per-address limit counts: an IPv4 address as its /32,
// an IPv6 address as its /64 (one host or one home usually holds a whole
// /64, so counting single IPv6 addresses would let it multiply itself).
// IPv4-mapped IPv6 addresses count as their IPv4 address. The invalid Addr
// has the zero Prefix as its key: all unknown clients share it.
func Key(a netip.Addr) netip.Prefix {
	if !a.IsValid() {
		return netip.Prefix{}
	}
	a = clean(a)
	bits := 32
	if a.Is6() {
		bits = 64
	}
	p, _ := a.Prefix(bits)
	return p
}

type ctxKey struct{}

// NewContext returns ctx carrying a as the client address.
func NewContext(ctx context.Context, a netip.Addr) context.Context {
	return context.WithValue(ctx, ctxKey{}, a)
}

// FromContext returns the client address stored by NewContext or
// Middleware, if any.
func FromContext(ctx context.Context) (netip.Addr, bool) {
	a, ok := ctx.Value(ctxKey{}).(netip.Addr)
	return a, ok
}

// FromRequest returns req's client address as Middleware resolved it, or,
// for a request that did not pass through Middleware, the socket's peer
// (never a forwarding header).
func FromRequest(req *http.Request) netip.Addr {
	if a, ok := FromContext(req.Context()); ok {
		return a
	}
	return Peer(req.RemoteAddr)
}

// Middleware resolves each request's client address once and stores it in
// the request context, for FromRequest. A request that already carries one
// keeps it.
func (r *Resolver) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if _, ok := FromContext(req.Context()); !ok {
			req = req.WithContext(NewContext(req.Context(), r.Resolve(req)))
		}
		next.ServeHTTP(w, req)
	})
}
