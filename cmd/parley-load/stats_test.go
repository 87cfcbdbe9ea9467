package main

import (
	"math"
	"os"
	"testing"
	"time"
)

func TestHistogramBuckets(t *testing.T) {
	// Every value falls in a bucket whose bounds contain it, within 1/32.
	prevUpper := uint64(0)
	for i := 0; i < histBuckets-1; i++ {
		up := histUpper(i)
		if i > 0 && up <= prevUpper {
			t.Fatalf("bucket %d upper %d not above bucket %d's %d", i, up, i-1, prevUpper)
		}
		if got := histIndex(up); got != i {
			t.Fatalf("histIndex(histUpper(%d)=%d) = %d", i, up, got)
		}
		if got := histIndex(prevUpper + 1); i > 0 && got != i {
			t.Fatalf("histIndex(%d) = %d, want %d", prevUpper+1, got, i)
		}
		prevUpper = up
	}
	for _, v := range []uint64{0, 1, 63, 64, 65, 1000, 12345, 60e6} {
		up := histUpper(histIndex(v))
		if up < v || float64(up-v) > float64(v)/32+1 {
			t.Errorf("value %d reported as %d", v, up)
		}
	}
}

func TestHistogramQuantiles(t *testing.T) {
	tests := []struct {
		name          string
		values        []time.Duration
		p50, p99, max float64 // ms
	}{
		{"empty", nil, 0, 0, 0},
		{"one", []time.Duration{3 * time.Millisecond}, 3, 3, 3},
		{"uniform 1..100 ms", func() []time.Duration {
			var v []time.Duration
			for i := 1; i <= 100; i++ {
				v = append(v, time.Duration(i)*time.Millisecond)
			}
			return v
		}(), 50, 99, 100},
		{"one outlier in 1000", func() []time.Duration {
			v := make([]time.Duration, 999)
			for i := range v {
				v[i] = 500 * time.Microsecond
			}
			return append(v, time.Second)
		}(), 0.5, 0.5, 1000},
		{"negative clock skew counts as 0", []time.Duration{-time.Millisecond}, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h histogram
			for _, v := range tt.values {
				h.record(v)
			}
			// merging into an empty histogram changes nothing
			var m histogram
			m.merge(&h)
			for _, c := range []struct {
				what      string
				got, want float64
			}{
				{"p50", ms(m.quantile(0.5)), tt.p50},
				{"p99", ms(m.quantile(0.99)), tt.p99},
				{"max", float64(m.max) / 1000, tt.max},
			} {
				if math.Abs(c.got-c.want) > c.want/32+0.001 {
					t.Errorf("%s = %.3f ms, want %.3f ms (±3%%)", c.what, c.got, c.want)
				}
			}
		})
	}
}

func TestLossAccounting(t *testing.T) {
	key := func(c uint32) stamp { return stamp{pub: 7, counter: c, video: true} }
	r := newReceiver()
	var w window
	// The stream starts at 100 (what came before was not for us): no loss.
	for c := uint32(100); c < 110; c++ {
		r.packet(key(c), 1000, time.Millisecond)
	}
	r.take(&w)
	if w.expected != 10 || w.received != 10 || w.lossPct() != 0 {
		t.Fatalf("window 1: expected %d received %d loss %.1f, want 10 10 0", w.expected, w.received, w.lossPct())
	}
	// 110..119 with 112 and 115 lost, and 118 before 117 (reordered).
	w = window{}
	for _, c := range []uint32{110, 111, 113, 114, 116, 118, 117, 119} {
		r.packet(key(c), 1000, time.Millisecond)
	}
	r.take(&w)
	if w.expected != 10 || w.received != 8 || w.lossPct() != 20 {
		t.Fatalf("window 2: expected %d received %d loss %.1f, want 10 8 20", w.expected, w.received, w.lossPct())
	}
	// A packet of window 2 arriving late does not make loss negative, and
	// a second stream (audio) is counted on its own.
	w = window{}
	r.packet(key(112), 1000, time.Millisecond)
	r.packet(stamp{pub: 7, counter: 5}, 100, time.Millisecond)
	r.packet(stamp{pub: 7, counter: 6}, 100, time.Millisecond)
	r.take(&w)
	if w.expected != 2 || w.received != 3 || w.lossPct() != 0 || w.packets != 3 || w.bytes != 1200 {
		t.Fatalf("window 3: %+v", w)
	}
	// Nothing new: an empty window.
	w = window{}
	r.take(&w)
	if w.expected != 0 || w.received != 0 || w.hist.n != 0 {
		t.Fatalf("window 4 not empty: expected %d received %d samples %d", w.expected, w.received, w.hist.n)
	}
}

func TestLatencyFromStamps(t *testing.T) {
	r := newReceiver()
	for i := range 100 {
		sent := time.Duration(i) * 20 * time.Millisecond
		r.packet(stamp{sent: sent, pub: 1, counter: uint32(i)}, 100, sent+time.Duration(i+1)*100*time.Microsecond)
	}
	var w window
	r.take(&w)
	if got := ms(w.hist.quantile(0.5)); math.Abs(got-5) > 0.2 {
		t.Errorf("p50 = %.2f ms, want 5", got)
	}
	if got := float64(w.hist.max) / 1000; got != 10 {
		t.Errorf("max = %.2f ms, want 10", got)
	}
	first, firstVid := r.firstPackets()
	if first != 100*time.Microsecond || firstVid != 0 {
		t.Errorf("first packets %v, %v; want 100µs, 0", first, firstVid)
	}
}

func TestSummarize(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	got := summarize(ds)
	want := durationStats{N: 100, P50: 50, P99: 99, Max: 100}
	if got != want {
		t.Errorf("summarize = %+v, want %+v", got, want)
	}
	if got := summarize(nil); got != (durationStats{}) {
		t.Errorf("summarize(nil) = %+v", got)
	}
	if got := summarize([]time.Duration{7 * time.Millisecond}); got.P50 != 7 || got.P99 != 7 {
		t.Errorf("summarize(one) = %+v", got)
	}
}

func TestStampRoundTrip(t *testing.T) {
	st := stamp{sent: 123456789 * time.Nanosecond, pub: 3, counter: 42}
	for _, tt := range []struct {
		name    string
		payload []byte
		video   bool
	}{
		{"opus", appendOpus(nil, st, 120), false},
		{"vp8 keyframe first packet", appendVP8(nil, true, true, st, 1100), true},
		{"vp8 interframe first packet", appendVP8(nil, true, false, st, 1100), true},
		{"vp8 continuation", appendVP8(nil, false, false, st, 900), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			want := st
			want.video = tt.video
			got, ok := parseStamp(tt.payload, tt.video)
			if !ok || got != want {
				t.Errorf("parseStamp = %+v, %v; want %+v", got, ok, want)
			}
		})
	}
	if _, ok := parseStamp([]byte{0x10, 0x01}, true); ok {
		t.Error("a short payload parsed")
	}
}

func TestVP8Packets(t *testing.T) {
	st := stamp{pub: 1, counter: 1, video: true}
	key := appendVP8(nil, true, true, st, 1100)
	// What the SFU's keyframe test (sfu/vp8.go) looks for.
	if key[0]&0x10 == 0 || key[0]&0x07 != 0 || key[1]&0x01 != 0 || key[4] != 0x9d || key[5] != 0x01 || key[6] != 0x2a {
		t.Errorf("keyframe packet starts % x", key[:8])
	}
	if inter := appendVP8(nil, true, false, st, 1100); inter[1]&0x01 != 1 {
		t.Error("interframe's P bit clear")
	}
	if cont := appendVP8(nil, false, true, st, 1100); cont[0]&0x10 != 0 {
		t.Error("continuation packet has S set")
	}
	m := videoModel{bps: 1_500_000, fps: 30, keyEvery: 60, keyMult: 5}
	n, size := packetSizes(m.frameSize(true))
	ni, sizei := packetSizes(m.frameSize(false))
	if size > maxVideoPayload || sizei > maxVideoPayload || n < 4*ni {
		t.Errorf("keyframe %d×%d B, interframe %d×%d B", n, size, ni, sizei)
	}
	// Two seconds of frames average the bitrate asked, within 5%.
	bytes := 0
	for f := range 60 {
		bytes += m.frameSize(f == 0)
	}
	if got := float64(bytes) * 8 / 2; math.Abs(got-1.5e6) > 0.05*1.5e6 {
		t.Errorf("bitrate %.0f bit/s, want 1.5M", got)
	}
}

func TestRTPPayload(t *testing.T) {
	hdr := []byte{0x90, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, // V=2, X=1
		0xbe, 0xde, 0, 1, 0x10, 0xaa, 0, 0} // one-byte extension, 1 word
	pkt := append(hdr, 1, 2, 3)
	p, ok := rtpPayload(pkt)
	if !ok || len(p) != 3 || p[0] != 1 {
		t.Errorf("payload % x, %v", p, ok)
	}
	padded := append([]byte{0xa0, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2}, 9, 9, 0, 2)
	if p, ok := rtpPayload(padded); !ok || len(p) != 2 {
		t.Errorf("padded payload % x, %v", p, ok)
	}
	if _, ok := rtpPayload([]byte{0x80, 1}); ok {
		t.Error("short packet accepted")
	}
}

func TestReadBenchAllocs(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, out string
		n         int
		worst     int64
		failed    int
	}{
		{"all zero", "BenchmarkA-2 \t 100 \t 16.8 ns/op \t 0 B/op \t 0 allocs/op\nBenchmarkB/x=1-2 \t 5 \t 1 ns/op \t 0 B/op \t 0 allocs/op\nPASS\n", 2, 0, 0},
		{"memory benchmarks are not the hot path", "BenchmarkA-2 \t 100 \t 16.8 ns/op \t 0 B/op \t 0 allocs/op\nBenchmarkSubscriberMemory-2 \t 1 \t 2 ns/op \t 9 B/op \t 466575 allocs/op\n", 1, 0, 0},
		{"one allocates", "BenchmarkA-2 \t 100 \t 16.8 ns/op \t 0 B/op \t 0 allocs/op\nBenchmarkB-2 \t 5 \t 1 ns/op \t 48 B/op \t 2 allocs/op\n", 2, 2, 0},
		{"build failed", "# pkg\nx.go:1: undefined\nFAIL\tgithub.com/p/sfu [build failed]\nBenchmarkA-2 \t 100 \t 16.8 ns/op \t 0 B/op \t 0 allocs/op\nFAIL\n", 1, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := dir + "/" + tt.name
			if err := os.WriteFile(path, []byte(tt.out), 0o600); err != nil {
				t.Fatal(err)
			}
			b, err := readBenchAllocs(path)
			if err != nil || b.n != tt.n || b.worst != tt.worst || len(b.failed) != tt.failed {
				t.Errorf("readBenchAllocs = %+v, %v", b, err)
			}
		})
	}
}
