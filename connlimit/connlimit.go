// Package connlimit bounds the connections a server accepts: per client
// (IPv4 address, or IPv6 /64) and in all, so one address opening tens of
// thousands of idle sockets cannot exhaust the server's file descriptors
// or crowd out everyone else. Connections over a limit are closed as soon
// as they are accepted; the client sees the connection end without a
// response.
package connlimit

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/parley-dev/parley/clientaddr"
)

// Config configures a Listener. The zero value means the defaults below.
type Config struct {
	// PerClient bounds the open connections from one client key
	// (clientaddr.Key of the socket's peer); default 512, enough for an
	// office behind one NAT address.
	PerClient int
	// Total bounds all open connections; default DefaultTotal(), which
	// leaves headroom under the process's file-descriptor limit for media
	// sockets and the database.
	Total int
	// Exempt, if set, names peers not limited per client: trusted reverse
	// proxies, whose connections carry many clients. They still count
	// towards Total.
	Exempt func(netip.Addr) bool
}

// DefaultTotal is the default Total: half the file-descriptor limit less a
// reserve of 128, between 64 and 16384 (4096 where the limit is unknown).
func DefaultTotal() int {
	n, ok := fileLimit()
	switch {
	case !ok:
		return 4096
	case n < 256:
		return 64
	}
	return int(min(max((n-128)/2, 64), 16384))
}

// Listener is a net.Listener that enforces a Config.
type Listener struct {
	net.Listener

	// set at construction
	perClient int
	total     int
	exempt    func(netip.Addr) bool

	refused atomic.Uint64

	mu    sync.Mutex // guards the fields below
	open  int
	byKey map[netip.Prefix]int // open connections per client key, exempt ones not included
}

// NewListener wraps ln with cfg's limits.
func NewListener(ln net.Listener, cfg Config) *Listener {
	if cfg.PerClient <= 0 {
		cfg.PerClient = 512
	}
	if cfg.Total <= 0 {
		cfg.Total = DefaultTotal()
	}
	return &Listener{
		Listener:  ln,
		perClient: cfg.PerClient,
		total:     cfg.Total,
		exempt:    cfg.Exempt,
		byKey:     make(map[netip.Prefix]int),
	}
}

// Accept returns the next connection within the limits, closing those
// over them.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if lc, ok := l.admit(c); ok {
			return lc, nil
		}
		l.refused.Add(1)
		c.Close()
	}
}

// admit counts c in, or reports false if a limit is reached.
func (l *Listener) admit(c net.Conn) (*conn, bool) {
	peer := netip.Addr{}
	if ap, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil {
		peer = ap.Addr().Unmap()
	}
	counted := l.exempt == nil || !l.exempt(peer)
	key := clientaddr.Key(peer)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open >= l.total || (counted && l.byKey[key] >= l.perClient) {
		return nil, false
	}
	l.open++
	if counted {
		l.byKey[key]++
	}
	return &conn{Conn: c, l: l, key: key, counted: counted}, true
}

func (l *Listener) release(c *conn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if c.counted {
		if l.byKey[c.key]--; l.byKey[c.key] <= 0 {
			delete(l.byKey, c.key)
		}
	}
}

// Stats reports the connections open now and those refused so far.
func (l *Listener) Stats() (open int, refused uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open, l.refused.Load()
}

// conn is an admitted connection; closing it frees its place.
type conn struct {
	net.Conn

	// set at construction
	l       *Listener
	key     netip.Prefix
	counted bool // counted in l.byKey

	closed atomic.Bool
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	if c.closed.CompareAndSwap(false, true) {
		c.l.release(c)
	}
	return err
}
