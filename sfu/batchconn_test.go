package sfu

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
	"time"
)

// newTestBatchConn returns a batchConn on a socket listening on addr
// ("127.0.0.1:0" for an IPv4 socket, "[::]:0" for a dual-stack one).
func newTestBatchConn(t *testing.T, addr string) *batchConn {
	t.Helper()
	network := "udp4"
	if addr[0] == '[' {
		network = "udp"
	}
	ua, err := net.ResolveUDPAddr(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.ListenUDP(network, ua)
	if err != nil {
		t.Fatal(err)
	}
	b := newBatchConn(c)
	t.Cleanup(func() { b.Close() })
	return b
}

// testPeer is a UDP socket that receives what a batchConn sends.
type testPeer struct {
	t    *testing.T
	c    *net.UDPConn
	addr netip.AddrPort
}

func newTestPeer(t *testing.T, ip string) *testPeer {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(ip)})
	if err != nil {
		t.Skipf("no %s: %v", ip, err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	a := c.LocalAddr().(*net.UDPAddr).AddrPort()
	return &testPeer{t: t, c: c, addr: netip.AddrPortFrom(a.Addr().Unmap(), a.Port())}
}

// testPacket is packet i: RTP-like (first byte 0x80, so queued during a
// fan-out), 100+i bytes of i.
func testPacket(i int) []byte {
	p := bytes.Repeat([]byte{byte(i)}, 100+i%1000)
	p[0] = 0x80
	return p
}

// recv reads packet i from from.
func (p *testPeer) recv(i int, from netip.AddrPort) {
	p.t.Helper()
	buf := make([]byte, 1500)
	n, addr, err := p.c.ReadFromUDPAddrPort(buf)
	if err != nil {
		p.t.Fatalf("packet %d: %v", i, err)
	}
	addr = netip.AddrPortFrom(addr.Addr().Unmap(), addr.Port())
	if addr != from || !bytes.Equal(buf[:n], testPacket(i)) {
		p.t.Fatalf("packet %d: got %d bytes (first %d) from %v, want %d from %v", i, n, buf[1], addr, len(testPacket(i)), from)
	}
}

// TestBatchConn sends through a batchConn both ways it writes (straight
// to the socket, and queued during a fan-out then sent as a batch) and
// reads through it, checking contents and addresses, for an IPv4 socket
// and for a dual-stack one talking to IPv4 and IPv6 peers.
func TestBatchConn(t *testing.T) {
	for _, tc := range []struct{ name, listen, peer string }{
		{"ipv4 socket", "127.0.0.1:0", "127.0.0.1"},
		{"dual-stack socket, ipv4 peer", "[::]:0", "127.0.0.1"},
		{"dual-stack socket, ipv6 peer", "[::]:0", "::1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newTestBatchConn(t, tc.listen)
			peer := newTestPeer(t, tc.peer)
			port := b.LocalAddr().(*net.UDPAddr).AddrPort().Port()
			from := netip.AddrPortFrom(peer.addr.Addr(), port) // loopback: we send from the peer's address

			// Straight to the socket.
			if n, err := b.WriteToAddrPort(testPacket(1), peer.addr); err != nil || n != len(testPacket(1)) {
				t.Fatalf("write: %d, %v", n, err)
			}
			peer.recv(1, from)

			// Queued, more than one batch's worth.
			b.begin()
			for i := range maxBatch + 10 {
				if _, err := b.WriteToAddrPort(testPacket(i), peer.addr); err != nil {
					t.Fatal(err)
				}
			}
			b.end()
			for i := range maxBatch + 10 {
				peer.recv(i, from)
			}

			// Reads.
			_ = b.SetReadDeadline(time.Now().Add(5 * time.Second))
			for i := range 3 {
				if _, err := peer.c.WriteToUDPAddrPort(testPacket(i), from); err != nil {
					t.Fatal(err)
				}
				buf := make([]byte, 1500)
				n, addr, err := b.ReadFromAddrPort(buf)
				if err != nil {
					t.Fatal(err)
				}
				if addr != peer.addr || !bytes.Equal(buf[:n], testPacket(i)) {
					t.Fatalf("read %d: got %d bytes from %v, want %d from %v", i, n, addr, len(testPacket(i)), peer.addr)
				}
			}
			// A read deadline is honoured.
			_ = b.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
			if _, _, err := b.ReadFromAddrPort(make([]byte, 1500)); err == nil {
				t.Fatal("read past deadline: no error")
			}
		})
	}
}

// TestBatchConnDoesNotAllocate checks the real write and read paths,
// queued and direct, allocate nothing per packet.
func TestBatchConnDoesNotAllocate(t *testing.T) {
	b := newTestBatchConn(t, "[::]:0")
	peer4, peer6 := newTestPeer(t, "127.0.0.1"), newTestPeer(t, "::1")
	go drain(peer4.c)
	go drain(peer6.c)
	pkt := testPacket(1200)
	fanOut := func() {
		b.begin()
		for range 10 {
			_, _ = b.WriteToAddrPort(pkt, peer4.addr)
			_, _ = b.WriteToAddrPort(pkt, peer6.addr)
		}
		b.end()
	}
	direct := func() {
		_, _ = b.WriteToAddrPort(pkt, peer4.addr)
		_, _ = b.WriteToAddrPort(pkt, peer6.addr)
	}
	fanOut() // makes the batch and the direct-write records
	direct()
	if n := testing.AllocsPerRun(100, fanOut); n != 0 {
		t.Errorf("a fan-out of 20 queued packets allocates %v times", n)
	}
	if n := testing.AllocsPerRun(100, direct); n != 0 {
		t.Errorf("2 direct writes allocate %v times", n)
	}

	from := b.LocalAddr().(*net.UDPAddr).AddrPort().Port()
	buf := make([]byte, 1500)
	read := func() {
		_, _ = peer6.c.WriteToUDPAddrPort(pkt, netip.AddrPortFrom(netip.IPv6Loopback(), from))
		if _, _, err := b.ReadFromAddrPort(buf); err != nil {
			t.Fatal(err)
		}
	}
	read()
	// The peer's own WriteToUDPAddrPort allocates nothing either.
	if n := testing.AllocsPerRun(100, read); n != 0 {
		t.Errorf("a read allocates %v times", n)
	}
}

// drain reads c until it is closed.
func drain(c *net.UDPConn) {
	_ = c.SetReadDeadline(time.Time{})
	buf := make([]byte, 1500)
	for {
		if _, _, err := c.ReadFromUDPAddrPort(buf); err != nil {
			return
		}
	}
}

// BenchmarkBatchConn measures one fan-out of 64 1.2 kB packets through the
// real socket, per packet, for an IPv4 socket and for a dual-stack one
// sending to IPv4 (IPv4-mapped) and to IPv6 peers.
func BenchmarkBatchConn(b *testing.B) {
	for _, tc := range []struct{ name, listen, peer string }{
		{"udp4-socket/ipv4-peer", "127.0.0.1:0", "127.0.0.1"},
		{"dual-stack/ipv4-peer", "[::]:0", "127.0.0.1"},
		{"dual-stack/ipv6-peer", "[::]:0", "::1"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			bc := newBenchBatchConn(b, tc.listen)
			peer, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(tc.peer)})
			if err != nil {
				b.Skip(err)
			}
			defer peer.Close()
			go drain(peer)
			a := peer.LocalAddr().(*net.UDPAddr).AddrPort()
			dst := netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
			pkt := testPacket(1100)
			b.SetBytes(int64(len(pkt)) * maxBatch)
			b.ReportAllocs()
			for b.Loop() {
				bc.begin()
				for range maxBatch {
					_, _ = bc.WriteToAddrPort(pkt, dst)
				}
				bc.end()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*maxBatch), "ns/packet")
		})
	}
}

func newBenchBatchConn(b *testing.B, addr string) *batchConn {
	network := "udp4"
	if addr[0] == '[' {
		network = "udp"
	}
	ua, _ := net.ResolveUDPAddr(network, addr)
	c, err := net.ListenUDP(network, ua)
	if err != nil {
		b.Fatal(err)
	}
	bc := newBatchConn(c)
	b.Cleanup(func() { bc.Close() })
	return bc
}
