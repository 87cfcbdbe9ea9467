package main

import (
	"math/bits"
	"sort"
	"sync"
	"time"
)

// Latency accounting.
//
// histogram is a log-linear histogram of durations in microseconds: exact
// below 64 µs, then 32 buckets per power of two, so any value is reported
// within about 3% (the bucket's upper bound). Recording does not allocate.
type histogram struct {
	counts [histBuckets]uint64
	n      uint64
	max    uint64 // exact largest value recorded, µs
}

const (
	histSub     = 32 // buckets per octave
	histBuckets = histSub * 60
)

// histIndex returns the bucket of v (µs).
func histIndex(v uint64) int {
	if v < 2*histSub {
		return int(v)
	}
	shift := bits.Len64(v) - 6 // v>>shift is in [32, 64)
	i := shift*histSub + int(v>>uint(shift))
	if i >= histBuckets {
		i = histBuckets - 1
	}
	return i
}

// histUpper returns the largest value that falls in bucket i.
func histUpper(i int) uint64 {
	if i < 2*histSub {
		return uint64(i)
	}
	shift := i/histSub - 1
	m := uint64(i%histSub + histSub)
	return (m+1)<<uint(shift) - 1
}

// record adds one duration.
func (h *histogram) record(d time.Duration) {
	us := uint64(0)
	if d > 0 {
		us = uint64(d / time.Microsecond)
	}
	h.counts[histIndex(us)]++
	h.n++
	if us > h.max {
		h.max = us
	}
}

// merge adds o's counts to h.
func (h *histogram) merge(o *histogram) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

func (h *histogram) reset() { *h = histogram{} }

// quantile returns the value (µs) at or below which a fraction q of the
// samples fall, as its bucket's upper bound (never above the exact max).
func (h *histogram) quantile(q float64) uint64 {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n) + 0.5)
	rank = max(rank, 1)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return min(histUpper(i), h.max)
		}
	}
	return h.max
}

// Loss accounting.
//
// streamKey names one published stream: a publisher (its index in this
// run) and a kind.
type streamKey struct {
	pub   uint32
	video bool
}

// stream tracks one stream's per-publisher counters as one receiver sees
// them. Loss is the gap between how far the counter advanced and how many
// packets arrived; the collector takes the difference each window from a
// baseline it moves forward, so packets still in flight at a window's end
// are counted in neither "expected" nor "received".
type stream struct {
	started  bool
	maxSeen  uint32 // highest counter received
	received uint64

	// moved by take
	baseMax  uint32
	baseRecv uint64
}

// add records the arrival of counter n.
func (s *stream) add(n uint32) {
	if !s.started {
		s.started = true
		s.maxSeen = n
		// The stream's first packet defines its start: what came before was
		// never meant for this receiver (video starts at a keyframe).
		s.baseMax = n - 1
	} else if n > s.maxSeen {
		s.maxSeen = n
	}
	s.received++
}

// take returns the packets expected and received since the last take.
func (s *stream) take() (expected, received uint64) {
	if !s.started {
		return 0, 0
	}
	expected = uint64(s.maxSeen - s.baseMax)
	received = s.received - s.baseRecv
	s.baseMax, s.baseRecv = s.maxSeen, s.received
	return expected, received
}

// receiver is one participant's view of the media it receives. Track
// reader goroutines call packet; the collector calls take once a window.
type receiver struct {
	mu       sync.Mutex // guards the fields below
	hist     histogram  // latency in the current window
	packets  uint64     // in the current window
	bytes    uint64     // RTP bytes (header and payload), current window
	streams  map[streamKey]*stream
	first    time.Duration // since the tool started; 0: no packet yet
	firstVid time.Duration
}

func newReceiver() *receiver {
	return &receiver{streams: make(map[streamKey]*stream)}
}

// packet records one received packet: its stamp, its size, and the time
// it arrived (since the tool started).
func (r *receiver) packet(st stamp, size int, now time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hist.record(now - st.sent)
	r.packets++
	r.bytes += uint64(size)
	k := streamKey{pub: st.pub, video: st.video}
	s := r.streams[k]
	if s == nil {
		s = &stream{}
		r.streams[k] = s
	}
	s.add(st.counter)
	if r.first == 0 {
		r.first = now
	}
	if st.video && r.firstVid == 0 {
		r.firstVid = now
	}
}

// window is what the receivers saw in one collection interval.
type window struct {
	hist     histogram
	packets  uint64
	bytes    uint64
	expected uint64
	received uint64
}

// lossPct is the percentage of expected packets that never arrived.
func (w *window) lossPct() float64 {
	if w.expected == 0 || w.received >= w.expected {
		return 0
	}
	return 100 * float64(w.expected-w.received) / float64(w.expected)
}

// add merges o into w.
func (w *window) add(o *window) {
	w.hist.merge(&o.hist)
	w.packets += o.packets
	w.bytes += o.bytes
	w.expected += o.expected
	w.received += o.received
}

// take moves r's current window into w and starts a new one.
func (r *receiver) take(w *window) {
	r.mu.Lock()
	defer r.mu.Unlock()
	w.hist.merge(&r.hist)
	r.hist.reset()
	w.packets += r.packets
	w.bytes += r.bytes
	r.packets, r.bytes = 0, 0
	for _, s := range r.streams {
		e, g := s.take()
		w.expected += e
		w.received += g
	}
}

// firstPackets returns when r received its first packet and its first
// video packet (0 when none yet).
func (r *receiver) firstPackets() (any, video time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.first, r.firstVid
}

// percentiles of a small sample of durations (join times).
type durationStats struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50Ms"`
	P99 float64 `json:"p99Ms"`
	Max float64 `json:"maxMs"`
}

// summarize returns the nearest-rank p50, p99 and max of ds in ms.
func summarize(ds []time.Duration) durationStats {
	if len(ds) == 0 {
		return durationStats{}
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	rank := func(q float64) time.Duration {
		i := int(q*float64(len(s))+0.999999) - 1
		return s[min(max(i, 0), len(s)-1)]
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return durationStats{N: len(s), P50: ms(rank(0.50)), P99: ms(rank(0.99)), Max: ms(s[len(s)-1])}
}
