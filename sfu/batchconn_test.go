package sfu

import (
	"bytes"
	"net"
	"testing"
	"time"
)

// TestBatchConn sends through a batchConn both ways it writes (straight
// to the socket, and queued during a fan-out then sent as a batch) and
// reads through it, checking contents and addresses.
func TestBatchConn(t *testing.T) {
	lo := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}
	sc, err := net.ListenUDP("udp4", lo)
	if err != nil {
		t.Fatal(err)
	}
	b := newBatchConn(sc)
	defer b.Close()
	peer, err := net.ListenUDP("udp4", lo)
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	to := peer.LocalAddr().(*net.UDPAddr).AddrPort()
	from := b.LocalAddr().(*net.UDPAddr).AddrPort()
	_ = peer.SetReadDeadline(time.Now().Add(5 * time.Second))

	pkt := func(i int) []byte {
		p := bytes.Repeat([]byte{byte(i)}, 100+i)
		p[0] = 0x80 // RTP/RTCP: queued during a fan-out
		return p
	}
	recv := func(i int) {
		t.Helper()
		buf := make([]byte, 1500)
		n, addr, err := peer.ReadFromUDPAddrPort(buf)
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		if addr != from || !bytes.Equal(buf[:n], pkt(i)) {
			t.Fatalf("packet %d: got %d bytes from %v, want %d from %v", i, n, addr, len(pkt(i)), from)
		}
	}

	// Straight to the socket.
	if n, err := b.WriteToAddrPort(pkt(1), to); err != nil || n != len(pkt(1)) {
		t.Fatalf("write: %d, %v", n, err)
	}
	recv(1)

	// Queued, more than one batch's worth.
	b.begin()
	for i := range maxBatch + 10 {
		if _, err := b.WriteToAddrPort(pkt(i), to); err != nil {
			t.Fatal(err)
		}
	}
	b.end()
	for i := range maxBatch + 10 {
		recv(i)
	}

	// Reads.
	_ = b.SetReadDeadline(time.Now().Add(5 * time.Second))
	for i := range 3 {
		if _, err := peer.WriteToUDPAddrPort(pkt(i), from); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 1500)
		n, addr, err := b.ReadFromAddrPort(buf)
		if err != nil {
			t.Fatal(err)
		}
		if addr != to || !bytes.Equal(buf[:n], pkt(i)) {
			t.Fatalf("read %d: got %d bytes from %v, want %d from %v", i, n, addr, len(pkt(i)), to)
		}
	}
	// A read deadline is honoured.
	_ = b.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
	if _, _, err := b.ReadFromAddrPort(make([]byte, 1500)); err == nil {
		t.Fatal("read past deadline: no error")
	}
}
