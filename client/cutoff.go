package client

import (
	"net"
	"sync"
	"sync/atomic"

	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/stdnet"
)

// The sockets NewAPI's ICE agents listen on, so that Vanish can cut off
// its client's media as a lost network would: the sockets stay open, but
// nothing goes out or comes in.
//
// Vanish must not stop the ICE transport (or close the sockets) under the
// PeerConnection instead: that ends Pion's SRTP and SRTCP sessions at
// once, in either order, and when the SRTCP one ends first Pion's
// undeclared-stream goroutine returns on its next new stream (it cannot
// open the stream's RTCP half); the SRTP read loop, still draining packets
// of two or more tracks whose streams PeerConnection.Close is removing,
// then blocks for ever handing the next one to that goroutine, and Close
// waits for the loop for ever (pion/webrtc v4.2.26, pion/srtp v3.1.3).
// Cut off, the PeerConnection closes in its own order: SRTP first, while
// the SRTCP session still serves the undeclared-stream goroutine.

// cutoffConns holds, by local UDP port, the open sockets of every ICE
// agent of an API built by NewAPI. Ports of open sockets are unique.
var cutoffConns sync.Map // int → *cutoffConn

// cutoffNet is the network of NewAPI's APIs: the standard one, with its
// UDP sockets registered in cutoffConns.
type cutoffNet struct {
	*stdnet.Net
}

func newCutoffNet() (*cutoffNet, error) {
	n, err := stdnet.NewNet()
	if err != nil {
		return nil, err
	}
	return &cutoffNet{Net: n}, nil
}

// ListenUDP is the only call pion/ice makes for host UDP candidates.
func (n *cutoffNet) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	conn, err := n.Net.ListenUDP(network, laddr)
	if err != nil {
		return nil, err
	}
	addr, ok := conn.LocalAddr().(*net.UDPAddr)
	if !ok {
		return conn, nil
	}
	c := &cutoffConn{UDPConn: conn, port: addr.Port}
	cutoffConns.Store(c.port, c)
	return c, nil
}

// cutoffConn is a UDP socket that can be cut off. pion/ice writes with
// WriteTo and reads with ReadFrom only.
type cutoffConn struct {
	transport.UDPConn
	port int         // set at construction
	off  atomic.Bool // set once, by cutOff
}

func (c *cutoffConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	if c.off.Load() {
		return len(b), nil // lost on the way
	}
	return c.UDPConn.WriteTo(b, addr)
}

func (c *cutoffConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.UDPConn.ReadFrom(b)
		if err != nil || !c.off.Load() {
			return n, addr, err
		}
	}
}

func (c *cutoffConn) Close() error {
	cutoffConns.CompareAndDelete(c.port, c)
	return c.UDPConn.Close()
}

// cutOff cuts off those of the sockets on ports that are open and
// reports whether there were any: none if the client's API was not built
// by NewAPI. (A socket on one of ports that has closed passes nothing
// already.)
func cutOff(ports []int) bool {
	found := false
	for _, p := range ports {
		if v, ok := cutoffConns.Load(p); ok {
			v.(*cutoffConn).off.Store(true)
			found = true
		}
	}
	return found
}
