package sfu

import (
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
)

// maxBatch is how many packets one batch holds before it must be sent.
const maxBatch = 64

// maxQueued is the largest packet a batch holds; larger ones (none: the
// mux's MTU is lower) go straight to the socket.
const maxQueued = 1500

// batch is one sendmmsg(2)'s worth of queued packets, with the system
// call's arguments (sys) built once beside the buffers. A batch is owned by
// batchConn.mu while it is being filled (batchConn.cur) or idle, and by the
// one goroutine sending it in between.
type batch struct {
	n    int // packets queued
	lens [maxBatch]int
	dsts [maxBatch]netip.AddrPort
	bufs [maxBatch][maxQueued]byte
	sys  batchSys // batchconn_linux.go, batchconn_other.go
}

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
// No lock is held across a system call. mu guards only the batch being
// filled: a writer holds it to copy one packet in, and whoever sends a
// batch (the writer that filled it, or a fan-out's end) takes it out from
// under mu and sends it without the lock, so several batches can be in
// the kernel at once, from different rooms' fan-outs, on different cores.
// (Go's own net.UDPConn.WriteTo and RawConn.Write serialize every write
// on a socket with the descriptor's write lock; the system calls here are
// made inside RawConn.Control, which only holds a shared reference that
// keeps the descriptor open, and RawConn.Write is used only to wait in the
// runtime poller when the socket's send buffer is full.)
//
// A queued packet is sent, at the latest, when the fan-out that queued
// it ends: each end sends the batch being filled. A queued write reports
// success; a packet the kernel then refuses is skipped and counted
// (refused), and the rest of its batch is still sent. Packets of one
// stream can leave out of order only when two batches are in the kernel
// at once, which needs two cores; RTP receivers reorder.
//
// Writes to the socket can wait only when the host's own send buffer is
// full; that holds back every subscriber alike, never one slow one
// (there is no per-subscriber buffer on UDP: a slow subscriber's network
// drops packets, it does not push back).
type batchConn struct {
	*net.UDPConn // reads, Close, LocalAddr, deadlines

	// Set at construction.
	sock       sockSys // the socket's system calls (batchconn_linux.go, batchconn_other.go)
	maxBatches int     // at most this many batches exist; more writers at once go straight to the socket

	active  atomic.Int32  // fan-outs in progress
	refused atomic.Uint64 // queued packets the kernel refused

	mu   sync.Mutex // guards the fields below; never held across a system call
	cur  *batch     // the batch being filled, or nil
	idle []*batch   // batches sent and ready for reuse
	made int        // batches allocated
}

func newBatchConn(c *net.UDPConn) *batchConn {
	b := &batchConn{UDPConn: c, maxBatches: max(4, 2*runtime.GOMAXPROCS(0))}
	b.initSock()
	return b
}

// begin marks the start of a fan-out: media writes are queued until end.
// A nil batchConn (tests without sockets) does nothing.
func (b *batchConn) begin() {
	if b != nil {
		b.active.Add(1)
	}
}

// end marks the end of a fan-out and sends the batch being filled, which
// holds the packets this fan-out queued that no one has sent yet.
func (b *batchConn) end() {
	if b == nil {
		return
	}
	b.active.Add(-1)
	b.mu.Lock()
	q := b.cur
	b.cur = nil
	b.mu.Unlock()
	if q != nil {
		b.send(q)
	}
}

// ReadFromAddrPort implements ice.AddrPortReaderWriter, so the mux reads
// without allocating. Addresses of IPv4 peers on a dual-stack socket are
// returned as IPv4, not IPv4-mapped IPv6.
func (b *batchConn) ReadFromAddrPort(p []byte) (int, netip.AddrPort, error) {
	return b.readFrom(p)
}

// WriteToAddrPort implements ice.AddrPortReaderWriter; it is how the ICE
// mux writes.
func (b *batchConn) WriteToAddrPort(p []byte, addr netip.AddrPort) (int, error) {
	if len(p) == 0 || p[0] < 128 || p[0] > 191 || len(p) > maxQueued ||
		b.active.Load() == 0 || !b.sock.canBatch(addr) {
		return b.writeTo(p, addr)
	}
	b.mu.Lock()
	q := b.cur
	if q == nil {
		if q = b.takeLocked(); q == nil {
			b.mu.Unlock()
			return b.writeTo(p, addr)
		}
		b.cur = q
	}
	i := q.n
	q.n++
	q.lens[i] = copy(q.bufs[i][:], p)
	q.dsts[i] = addr
	// active is re-checked under mu: if the last fan-out ended since the
	// check above, its end may have run before this packet was queued.
	full := q.n == maxBatch || b.active.Load() == 0
	if full {
		b.cur = nil
	}
	b.mu.Unlock()
	if full {
		b.send(q)
	}
	return len(p), nil
}

// WriteTo implements net.PacketConn.
func (b *batchConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	if ua, ok := addr.(*net.UDPAddr); ok {
		return b.WriteToAddrPort(p, ua.AddrPort())
	}
	return b.UDPConn.WriteTo(p, addr)
}

// takeLocked returns an empty batch, or nil if maxBatches are all in use.
func (b *batchConn) takeLocked() *batch {
	if n := len(b.idle); n > 0 {
		q := b.idle[n-1]
		b.idle = b.idle[:n-1]
		return q
	}
	if b.made == b.maxBatches {
		return nil
	}
	b.made++
	q := new(batch)
	b.initBatch(q)
	return q
}

// send sends q's packets, skipping and counting those the kernel refuses,
// and returns q to the idle list. It is called without mu, by the
// goroutine that took q out of cur.
func (b *batchConn) send(q *batch) {
	if q.n > 0 {
		refused, _ := b.sendBatch(q)
		if refused > 0 {
			b.refused.Add(uint64(refused))
		}
	}
	q.n = 0
	b.mu.Lock()
	b.idle = append(b.idle, q)
	b.mu.Unlock()
}
