package clientaddr

import (
	"net/netip"
	"strings"
)

// ParseXForwardedFor reads the hops of X-Forwarded-For header values, in
// order: each comma-separated entry is an IPv4 or IPv6 address, optionally
// bracketed or with a port ("192.0.2.1:4711", "[2001:db8::1]:4711"). An
// entry that is not an address is the invalid Addr; empty entries are
// skipped.
func ParseXForwardedFor(values []string) []netip.Addr {
	var hops []netip.Addr
	for _, v := range values {
		for _, f := range strings.Split(v, ",") {
			f = strings.TrimSpace(f)
			if f == "" {
				continue
			}
			hops = append(hops, parseLoose(f))
		}
	}
	return hops
}

// parseLoose parses an address written with or without port or brackets.
func parseLoose(s string) netip.Addr {
	if a, err := netip.ParseAddr(s); err == nil {
		return clean(a)
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return clean(ap.Addr())
	}
	if len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']' {
		if a, err := netip.ParseAddr(s[1 : len(s)-1]); err == nil && a.Is6() {
			return clean(a)
		}
	}
	return netip.Addr{}
}

// ParseForwarded reads the hops of Forwarded header values (RFC 7239
// section 4), in order: one per forwarded-element, its for= node (section
// 6). A node that is "unknown", obfuscated ("_hidden"), malformed or
// missing is the invalid Addr. Quoted strings (section 4, with backslash
// escapes) may hold commas and semicolons; IPv6 nodes are "[addr]" with an
// optional port, quoted as the RFC requires (an unquoted or unbracketed
// IPv6 address is accepted too). Empty elements are skipped.
func ParseForwarded(values []string) []netip.Addr {
	var hops []netip.Addr
	for _, v := range values {
		for v != "" {
			var elem []pair
			var ok bool
			elem, v, ok = nextElement(v)
			if ok && len(elem) == 0 {
				continue // an empty list element
			}
			hops = append(hops, elementFor(elem, ok))
		}
	}
	return hops
}

// pair is one forwarded-pair, its value unquoted.
type pair struct{ key, value string }

// nextElement parses one forwarded-element from the front of s and returns
// its pairs and the rest of s after the element's comma. ok is false if the
// element is malformed; the rest then starts after the next comma outside
// quotes, or is empty.
func nextElement(s string) (elem []pair, rest string, ok bool) {
	ok = true
	for {
		s = strings.TrimLeft(s, " \t")
		if s == "" {
			return elem, "", ok
		}
		switch s[0] {
		case ',':
			return elem, s[1:], ok
		case ';':
			s = s[1:]
			continue
		}
		var p pair
		var good bool
		p, s, good = nextPair(s)
		if !good {
			return nil, skipElement(s), false
		}
		elem = append(elem, p)
	}
}

// nextPair parses token "=" (token / quoted-string) from the front of s.
func nextPair(s string) (p pair, rest string, ok bool) {
	i := 0
	for i < len(s) && isTchar(s[i]) {
		i++
	}
	if i == 0 || i >= len(s) || s[i] != '=' {
		return pair{}, s, false
	}
	p.key = strings.ToLower(s[:i])
	s = s[i+1:]
	if s != "" && s[0] == '"' {
		var b strings.Builder
		for j := 1; j < len(s); j++ {
			switch c := s[j]; c {
			case '\\':
				if j+1 == len(s) {
					return pair{}, "", false
				}
				j++
				b.WriteByte(s[j])
			case '"':
				p.value = b.String()
				return p, s[j+1:], true
			default:
				b.WriteByte(c)
			}
		}
		return pair{}, "", false // unterminated quote
	}
	j := 0
	for j < len(s) && isValueChar(s[j]) {
		j++
	}
	p.value = s[:j]
	rest = s[j:]
	if r := strings.TrimLeft(rest, " \t"); r != "" && r[0] != ';' && r[0] != ',' {
		return pair{}, rest, false
	}
	return p, rest, true
}

// skipElement returns s after the next comma outside quotes ("" if none).
func skipElement(s string) string {
	quoted := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if quoted {
				i++
			}
		case '"':
			quoted = !quoted
		case ',':
			if !quoted {
				return s[i+1:]
			}
		}
	}
	return ""
}

// elementFor returns the address of an element's single for= pair.
func elementFor(elem []pair, ok bool) netip.Addr {
	if !ok {
		return netip.Addr{}
	}
	var node string
	n := 0
	for _, p := range elem {
		if p.key == "for" {
			node = p.value
			n++
		}
	}
	if n != 1 {
		return netip.Addr{}
	}
	return parseNode(node)
}

// parseNode parses an RFC 7239 node: IPv4 or "[" IPv6 "]", each with an
// optional ":" port (digits or an obfuscated "_port"). "unknown" and
// obfuscated identifiers are the invalid Addr.
func parseNode(s string) netip.Addr {
	if s == "" || s[0] == '_' || strings.EqualFold(s, "unknown") {
		return netip.Addr{}
	}
	if s[0] == '[' {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return netip.Addr{}
		}
		a, err := netip.ParseAddr(s[1:end])
		if err != nil || !a.Is6() || !validPort(s[end+1:]) {
			return netip.Addr{}
		}
		return clean(a)
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return clean(a) // IPv4, or IPv6 written without brackets
	}
	host, port, found := strings.Cut(s, ":")
	a, err := netip.ParseAddr(host)
	if !found || err != nil || !a.Is4() || !validPort(":"+port) {
		return netip.Addr{}
	}
	return a
}

// validPort accepts "", or ":" followed by 1-5 digits or an obfuscated
// port ("_" then tchars); a numeric port is at most 65535.
func validPort(s string) bool {
	if s == "" {
		return true
	}
	if s[0] != ':' || len(s) < 2 {
		return false
	}
	s = s[1:]
	if s[0] == '_' {
		for i := 1; i < len(s); i++ {
			if !isTchar(s[i]) {
				return false
			}
		}
		return true
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' || i >= 5 {
			return false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n <= 65535
}

// isTchar reports whether c may appear in an RFC 7230 token.
func isTchar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// isValueChar is a tchar, or one of the characters proxies write unquoted
// in nodes against the RFC (":" of a port, the brackets of IPv6).
func isValueChar(c byte) bool { return isTchar(c) || c == ':' || c == '[' || c == ']' }
