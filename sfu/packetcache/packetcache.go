// Package packetcache keeps the last packets of one RTP stream so they can
// be retransmitted when a receiver reports them lost with a generic NACK
// (RFC 4585 §6.2.1). An SFU keeps one Cache per incoming track, shared by
// every subscriber of that track, instead of one retransmission buffer per
// outgoing stream.
//
// A Cache is a ring of preallocated buffers indexed by RTP sequence number
// (RFC 3550 §5.1): storing and fetching copy bytes and never allocate.
package packetcache

import "sync"

// BufSize is the largest packet a Cache stores: an Ethernet MTU. Larger
// packets are not stored.
const BufSize = 1500

// Cache holds the last Size packets of one RTP stream. It is safe for
// concurrent use: typically one goroutine stores every packet it reads and
// others fetch packets to retransmit.
type Cache struct {
	mask    uint16 // size-1
	mu      sync.Mutex
	entries []entry // guarded by mu
}

type entry struct {
	valid bool
	seq   uint16
	n     uint16
	buf   [BufSize]byte
}

// New returns a cache of size packets; size is rounded up to a power of
// two between 1 and 32768.
func New(size int) *Cache {
	n := 1
	for n < size && n < 1<<15 {
		n <<= 1
	}
	return &Cache{mask: uint16(n - 1), entries: make([]entry, n)}
}

// Size returns the number of packets the cache holds.
func (c *Cache) Size() int { return len(c.entries) }

// Store copies the RTP packet pkt, whose sequence number is seq, into the
// cache, replacing the packet stored in its slot. It returns false, and
// stores nothing, if pkt is longer than BufSize.
func (c *Cache) Store(seq uint16, pkt []byte) bool {
	if len(pkt) > BufSize {
		return false
	}
	c.mu.Lock()
	e := &c.entries[seq&c.mask]
	e.valid = true
	e.seq = seq
	e.n = uint16(copy(e.buf[:], pkt))
	c.mu.Unlock()
	return true
}

// Get copies the packet with sequence number seq into dst and returns its
// length, or 0 if the packet is no longer (or was never) in the cache or
// dst is too short.
func (c *Cache) Get(seq uint16, dst []byte) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := &c.entries[seq&c.mask]
	if !e.valid || e.seq != seq || int(e.n) > len(dst) {
		return 0
	}
	return copy(dst, e.buf[:e.n])
}
