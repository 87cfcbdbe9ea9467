package packetcache

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
)

func pkt(seq uint16, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(int(seq) + i)
	}
	return b
}

func TestCache(t *testing.T) {
	tests := []struct {
		name   string
		size   int
		stored []uint16 // in order
		get    uint16
		want   bool
	}{
		{"hit", 8, []uint16{1, 2, 3}, 2, true},
		{"never stored", 8, []uint16{1, 2, 3}, 4, false},
		{"evicted by a newer packet", 8, []uint16{1, 2, 9}, 1, false},
		{"newest after eviction", 8, []uint16{1, 2, 9}, 9, true},
		{"wraparound", 8, []uint16{65534, 65535, 0, 1}, 65535, true},
		{"size rounded up", 5, []uint16{0, 7}, 0, true},
		{"empty", 4, nil, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New(tt.size)
			for _, s := range tt.stored {
				if !c.Store(s, pkt(s, 100)) {
					t.Fatalf("Store(%d) refused", s)
				}
			}
			buf := make([]byte, BufSize)
			n := c.Get(tt.get, buf)
			if got := n > 0; got != tt.want {
				t.Fatalf("Get(%d) found=%v, want %v", tt.get, got, tt.want)
			}
			if tt.want && !bytes.Equal(buf[:n], pkt(tt.get, 100)) {
				t.Errorf("Get(%d) returned other bytes", tt.get)
			}
		})
	}
}

func TestCacheLimits(t *testing.T) {
	c := New(4)
	if c.Size() != 4 {
		t.Errorf("Size = %d, want 4", c.Size())
	}
	if c.Store(1, make([]byte, BufSize+1)) {
		t.Error("stored a packet longer than BufSize")
	}
	c.Store(2, pkt(2, 200))
	if n := c.Get(2, make([]byte, 100)); n != 0 {
		t.Errorf("Get into a short buffer = %d, want 0", n)
	}
	if New(1<<20).Size() != 1<<15 {
		t.Error("size not capped at 32768")
	}
}

func TestCacheConcurrent(t *testing.T) {
	c := New(64)
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 10000 {
			c.Store(uint16(i), pkt(uint16(i), 64))
		}
	})
	wg.Go(func() {
		buf := make([]byte, BufSize)
		for i := range 10000 {
			if n := c.Get(uint16(i), buf); n > 0 && !bytes.Equal(buf[:n], pkt(uint16(i), 64)) {
				t.Errorf("Get(%d): torn packet", i)
				return
			}
		}
	})
	wg.Wait()
}

func TestCacheDoesNotAllocate(t *testing.T) {
	c := New(512)
	p := pkt(0, 1200)
	buf := make([]byte, BufSize)
	seq := uint16(0)
	if a := testing.AllocsPerRun(1000, func() {
		seq++
		c.Store(seq, p)
		c.Get(seq-10, buf)
	}); a != 0 {
		t.Errorf("Store+Get allocate %v times, want 0", a)
	}
}

func BenchmarkStore(b *testing.B) {
	for _, size := range []int{100, 1200} {
		b.Run(fmt.Sprintf("bytes=%d", size), func(b *testing.B) {
			c := New(512)
			p := pkt(0, size)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			seq := uint16(0)
			for b.Loop() {
				seq++
				c.Store(seq, p)
			}
		})
	}
}

func BenchmarkGet(b *testing.B) {
	c := New(512)
	for i := range 512 {
		c.Store(uint16(i), pkt(uint16(i), 1200))
	}
	buf := make([]byte, BufSize)
	b.ReportAllocs()
	seq := uint16(0)
	for b.Loop() {
		seq++
		c.Get(seq&511, buf)
	}
}
