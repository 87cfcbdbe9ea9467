package sfu

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
)

// maxBatch is how many packets batchConn queues before it must send them.
const maxBatch = 64

// batchConn is the shared media UDP socket under the ICE UDP mux. While
// at least one fan-out is in progress (between begin and end), it queues
// the SRTP and SRTCP packets written to it and sends them with one
// sendmmsg(2) per batch instead of one sendto(2) per packet: on the
// reference machine a sendto of a 1.2 kB packet costs about 5.4 µs, most
// of it entering and leaving the kernel, against 1.25 µs per packet in
// batches of ten (see PROFILE.md). STUN and DTLS (RFC 7983 §7 first bytes
// outside 128-191), and media written while no fan-out runs, go straight
// to the socket.
//
// A queued packet is sent, at the latest, when the last fan-out in
// progress ends, so a write that would have gone out during a fan-out is
// delayed by at most that fan-out. A queued write reports success; a
// send error is not seen by the writer (UDP loses packets anyway).
//
// Writes to the socket can block only when the host's own send buffer is
// full; that would hold back every subscriber alike, never one slow one
// (there is no per-subscriber buffer on UDP: a slow subscriber's network
// drops packets, it does not push back).
type batchConn struct {
	*net.UDPConn // reads, Close, LocalAddr, deadlines

	active atomic.Int32 // fan-outs in progress

	mu   sync.Mutex // guards the fields below
	n    int        // packets queued
	lens [maxBatch]int
	dsts [maxBatch]netip.AddrPort // IPv4 only
	bufs [maxBatch][1500]byte
	sys  batchSys // how the batch is sent (batchconn_linux.go, batchconn_other.go)
}

func newBatchConn(c *net.UDPConn) *batchConn {
	b := &batchConn{UDPConn: c}
	b.initSys()
	return b
}

// begin marks the start of a fan-out: media writes are queued until end.
// A nil batchConn (tests without sockets) does nothing.
func (b *batchConn) begin() {
	if b != nil {
		b.active.Add(1)
	}
}

// end marks the end of a fan-out; the last one to end sends the queue.
func (b *batchConn) end() {
	if b == nil || b.active.Add(-1) != 0 {
		return
	}
	b.mu.Lock()
	b.flushLocked()
	b.mu.Unlock()
}

// ReadFromAddrPort implements ice.AddrPortReaderWriter, so the mux reads
// without allocating.
func (b *batchConn) ReadFromAddrPort(p []byte) (int, netip.AddrPort, error) {
	return b.readFrom(p)
}

// WriteToAddrPort implements ice.AddrPortReaderWriter; it is how the ICE
// mux writes.
func (b *batchConn) WriteToAddrPort(p []byte, addr netip.AddrPort) (int, error) {
	if len(p) == 0 || p[0] < 128 || p[0] > 191 || len(p) > len(b.bufs[0]) || !addr.Addr().Is4() || b.active.Load() == 0 {
		return b.writeTo(p, addr)
	}
	b.mu.Lock()
	i := b.n
	b.n++
	b.lens[i] = copy(b.bufs[i][:], p)
	b.dsts[i] = addr
	// Re-checked under mu: if the last fan-out ended since the check
	// above, its flush may have missed this packet.
	if b.n == maxBatch || b.active.Load() == 0 {
		b.flushLocked()
	}
	b.mu.Unlock()
	return len(p), nil
}

// WriteTo implements net.PacketConn.
func (b *batchConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	if ua, ok := addr.(*net.UDPAddr); ok {
		return b.WriteToAddrPort(p, ua.AddrPort())
	}
	return b.UDPConn.WriteTo(p, addr)
}

// flushLocked sends the queued packets. A packet the kernel refuses is
// skipped.
func (b *batchConn) flushLocked() {
	for i := 0; i < b.n; {
		k, err := b.sendBatch(i, b.n)
		if err != nil || k <= 0 {
			k = max(k, 1)
		}
		i += k
	}
	b.n = 0
}
