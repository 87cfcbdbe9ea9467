package main

import (
	"errors"
	"net"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/parley-dev/parley/connlimit"
)

// TestMediaTCPConnectionCaps: the ICE-TCP media port takes connections
// before anyone has authenticated, so one address opening many idle
// sockets there is capped like on the HTTP port, while another address
// still gets in.
func TestMediaTCPConnectionCaps(t *testing.T) {
	m := startServerWith(t, nil, func(c *Config) {
		c.Conns = connlimit.Config{PerClient: 40, Total: 400}
	})
	limits := mediaTCPLimits(connlimit.Config{Total: 400})
	addr := m.sfu.TCPAddr()
	if addr == nil {
		t.Fatal("ICE-TCP is disabled")
	}
	target := net.JoinHostPort("127.0.0.1", strconv.Itoa(addr.Port))
	baseline := openFDs(t)

	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range 5 * limits.PerClient {
		c, err := from("127.0.0.1").Dial("tcp", target)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	held := 0
	for _, c := range conns {
		if stillOpen(c) {
			held++
		}
	}
	if held > limits.PerClient {
		t.Fatalf("one address holds %d idle media TCP connections; the cap is %d", held, limits.PerClient)
	}
	// The test's own ends of the sockets are in this process too.
	if n := openFDs(t) - len(conns); n > baseline+limits.PerClient+10 {
		t.Fatalf("server has %d open fds after the flood (without the test's own %d), %d before: the media TCP cap did not hold", n, len(conns), baseline)
	}
	other, err := from("127.0.0.2").Dial("tcp", target)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if !stillOpen(other) {
		t.Fatal("a connection from another address was refused while the first address was capped")
	}
}

// stillOpen reports whether the server keeps c open: a read times out
// rather than ending at once.
func stillOpen(c net.Conn) bool {
	c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	_, err := c.Read(make([]byte, 1))
	return errors.Is(err, os.ErrDeadlineExceeded)
}
