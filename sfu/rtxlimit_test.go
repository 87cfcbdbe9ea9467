package sfu

import (
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// fakeClock is a time that tests move by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

// newRtxTrack returns an audio up-track with one down-track on a fake
// clock, having forwarded n packets (sequence numbers from 1000) of size
// bytes each, header included.
func newRtxTrack(t *testing.T, n, size int) (*upTrack, *downTrack, *recordingWriter, *fakeClock) {
	t.Helper()
	u, ws := newFakeFanOut(t, opusCap, 1)
	d := (*u.down.Load())[0]
	clock := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	d.now = clock.now
	forwardN(u, 1000, n, size)
	return u, d, ws[0], clock
}

// forwardN fans out n packets of size bytes from sequence number first.
func forwardN(u *upTrack, first uint16, n, size int) {
	for i := range n {
		seq := first + uint16(i)
		fanOut(u, &rtp.Packet{
			Header:  rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 960},
			Payload: make([]byte, size-rtpHeaderLen),
		})
	}
}

// nackOf is a NACK for the down-track's SSRC listing seqs, in that order.
func nackOf(pairs ...rtcp.NackPair) *rtcp.TransportLayerNack {
	return &rtcp.TransportLayerNack{MediaSSRC: 1000, Nacks: pairs}
}

// seqRange lists n sequence numbers from first.
func seqRange(first uint16, n int) []uint16 {
	s := make([]uint16, n)
	for i := range s {
		s[i] = first + uint16(i)
	}
	return s
}

func TestNACKDuplicatesResentOnce(t *testing.T) {
	_, d, w, _ := newRtxTrack(t, 40, 100)
	// 1005, 1006, 1007; then 1006 and 1007 again in an overlapping FCI
	// entry, and 1005 alone: three packets, three repeats.
	nack := nackOf(
		rtcp.NackPair{PacketID: 1005, LostPackets: 0b11},
		rtcp.NackPair{PacketID: 1006, LostPackets: 0b1},
		rtcp.NackPair{PacketID: 1005},
	)
	before := w.n
	resent, refused := d.handleNACK(nack)
	if resent != 3 || refused != 3 || w.n-before != 3 {
		t.Fatalf("resent %d (wrote %d), refused %d; want 3 resent, 3 refused", resent, w.n-before, refused)
	}
}

func TestNACKInterval(t *testing.T) {
	_, d, w, clock := newRtxTrack(t, 40, 100)
	nack := nackOf(rtcp.NackPair{PacketID: 1010})
	steps := []struct {
		after time.Duration // since the previous step
		want  int           // packets resent
	}{
		{0, 1},
		{rtxMinInterval - time.Millisecond, 0},
		{time.Millisecond, 1},
		{0, 0},
		{rtxMinInterval, 1},
	}
	for i, s := range steps {
		clock.advance(s.after)
		before := w.n
		resent, refused := d.handleNACK(nack)
		if resent != s.want || refused != 1-s.want || w.n-before != s.want {
			t.Errorf("step %d: resent %d, refused %d; want %d resent", i, resent, refused, s.want)
		}
	}
}

// receiverReport marshals a receiver report about ssrc whose round-trip
// time, as computed at now, is rtt.
func receiverReport(t *testing.T, now time.Time, ssrc uint32, rtt time.Duration) []byte {
	t.Helper()
	const dlsr = 1 << 14 // 250 ms
	lsr := ntpMiddle(now) - dlsr - uint32(rtt*65536/time.Second)
	b, err := rtcp.Marshal([]rtcp.Packet{&rtcp.ReceiverReport{
		SSRC:    1,
		Reports: []rtcp.ReceptionReport{{SSRC: ssrc, LastSenderReport: lsr, Delay: dlsr}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestNACKIntervalFollowsRTT(t *testing.T) {
	tests := []struct {
		name string
		ssrc uint32
		rtt  time.Duration
		want time.Duration // the interval between two resends of a packet
	}{
		{"long round trip", 1000, 300 * time.Millisecond, 300 * time.Millisecond},
		{"short round trip", 1000, 20 * time.Millisecond, rtxMinInterval},
		{"very long round trip", 1000, 5 * time.Second, rtxMaxInterval},
		{"report about another SSRC", 2000, 300 * time.Millisecond, rtxMinInterval},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, d, _, clock := newRtxTrack(t, 40, 100)
			d.handleRTCP(receiverReport(t, clock.now(), tt.ssrc, tt.rtt))
			nack := nackOf(rtcp.NackPair{PacketID: 1010})
			if r, _ := d.handleNACK(nack); r != 1 {
				t.Fatalf("first NACK resent %d", r)
			}
			clock.advance(tt.want - 2*time.Millisecond)
			if r, _ := d.handleNACK(nack); r != 0 {
				t.Errorf("resent again after %v", tt.want-2*time.Millisecond)
			}
			clock.advance(2 * time.Millisecond)
			if r, _ := d.handleNACK(nack); r != 1 {
				t.Errorf("not resent again after %v", tt.want)
			}
		})
	}
}

func TestReportRTT(t *testing.T) {
	now := time.Unix(1_800_000_000, 123_456_789)
	mid := ntpMiddle(now)
	tests := []struct {
		name      string
		lsr, dlsr uint32
		want      time.Duration
		ok        bool
	}{
		{"no sender report", 0, 0, 0, false},
		{"quarter second", mid - 1<<14 - 1<<13, 1 << 13, 250 * time.Millisecond, true},
		{"zero", mid - 100, 100, 0, true},
		{"in the future", mid + 1000, 0, 0, false},
		{"delay after arrival", mid - 10, 1000, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := reportRTT(now, tt.lsr, tt.dlsr)
			if ok != tt.ok || got != tt.want {
				t.Errorf("reportRTT = %v, %v; want %v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestNACKBudget(t *testing.T) {
	const size = 1000
	u, d, w, clock := newRtxTrack(t, 64, size) // the whole cache
	all := nackOf(rtcp.NackPairsFromSequenceNumbers(seqRange(1000, 64))...)

	// A fresh down-track has rtxBurst to spend.
	resent, refused := d.handleNACK(all)
	if want := rtxBurst / size; resent != want || refused != 64-want {
		t.Fatalf("fresh: resent %d, refused %d; want %d resent", resent, refused, want)
	}
	// Then it earns 1/rtxShare of what it forwards.
	forwardN(u, 1064, 40, size)
	clock.advance(time.Second)
	all = nackOf(rtcp.NackPairsFromSequenceNumbers(seqRange(1040, 64))...)
	before := w.n
	if resent, _ = d.handleNACK(all); resent != 40/rtxShare || w.n-before != resent {
		t.Fatalf("after forwarding 40 packets: resent %d, want %d", resent, 40/rtxShare)
	}
	// Up to rtxBurst, however much it forwards.
	forwardN(u, 1104, 1000, size)
	clock.advance(time.Second)
	all = nackOf(rtcp.NackPairsFromSequenceNumbers(seqRange(1104+1000-64, 64))...)
	if resent, _ = d.handleNACK(all); resent != rtxBurst/size {
		t.Fatalf("after forwarding 1000 packets: resent %d, want %d", resent, rtxBurst/size)
	}
}

// TestNACKStats checks handleRTCP counts NACKs, resends and refusals in
// Stats, and ignores a NACK about another SSRC.
func TestNACKStats(t *testing.T) {
	u, d, w, _ := newRtxTrack(t, 40, 100)
	b, err := rtcp.Marshal([]rtcp.Packet{
		nackOf(rtcp.NackPair{PacketID: 1001, LostPackets: 0b1}, rtcp.NackPair{PacketID: 1001}),
		&rtcp.TransportLayerNack{MediaSSRC: 2000, Nacks: rtcp.NackPairsFromSequenceNumbers([]uint16{1003})},
	})
	if err != nil {
		t.Fatal(err)
	}
	before := w.n
	d.handleRTCP(b)
	st := u.sfu.Stats()
	if st.NACKsIn != 2 || st.Retransmits != 2 || st.RetransmitsSuppressed != 1 || w.n-before != 2 {
		t.Errorf("NACKsIn %d, Retransmits %d, RetransmitsSuppressed %d, wrote %d; want 2, 2, 1, 2",
			st.NACKsIn, st.Retransmits, st.RetransmitsSuppressed, w.n-before)
	}
}

func TestHandleNACKDoesNotAllocate(t *testing.T) {
	_, d, w, clock := newRtxTrack(t, 64, 200)
	nack := nackOf(rtcp.NackPair{PacketID: 1030, LostPackets: 0xffff})
	d.handleNACK(nack) // the first NACK allocates the limiter
	before := w.n
	allocs := testing.AllocsPerRun(100, func() {
		d.forwarded.Add(5 * 200 * rtxShare) // credit for 5 packets
		clock.advance(rtxMinInterval)
		d.handleNACK(nack)
	})
	if allocs != 0 {
		t.Errorf("handleNACK allocates %v times per NACK, want 0", allocs)
	}
	if n := w.n - before; n < 100*5 {
		t.Errorf("resent %d packets, want at least %d", n, 100*5)
	}
}
