package sfu

import (
	"bytes"
	"testing"

	"github.com/parley-dev/parley/sfu/packetcache"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
)

// vp8Pkt is a VP8 payload with a picture ID of picLen bytes (0, 1 or 2),
// TL0PICIDX if withTL0, and a keyframe's frame tag if key.
func vp8Pkt(picLen int, pic uint16, withTL0 bool, tl0 uint8, key bool) []byte {
	b := []byte{0x90, 0x00} // X, S
	if picLen > 0 {
		b[1] |= 0x80
	}
	if withTL0 {
		b[1] |= 0x40
	}
	switch picLen {
	case 2:
		b = append(b, 0x80|byte(pic>>8), byte(pic))
	case 1:
		b = append(b, byte(pic)&0x7f)
	}
	if withTL0 {
		b = append(b, tl0)
	}
	if key {
		b = append(b, 0x50, 0x01, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01)
	} else {
		b = append(b, 0x51, 0x01, 0x00, 0x11, 0x22)
	}
	return b
}

func TestParseVP8Desc(t *testing.T) {
	for _, c := range []struct {
		name    string
		payload []byte
		want    vp8Desc
	}{
		{"15-bit", vp8Pkt(2, 0x1234, true, 7, true), vp8Desc{picPos: 2, picLen: 2, tl0Pos: 4, picID: 0x1234, tl0: 7, keyframe: true}},
		{"7-bit", vp8Pkt(1, 0x55, false, 0, false), vp8Desc{picPos: 2, picLen: 1, picID: 0x55}},
		{"TL0PICIDX only", vp8Pkt(0, 0, true, 200, false), vp8Desc{tl0Pos: 2, tl0: 200}},
		{"no extension", []byte{0x10, 0x50, 0x01, 0x00, 0x9d, 0x01, 0x2a}, vp8Desc{keyframe: true}},
		{"truncated 15-bit", []byte{0x90, 0x80, 0x80}, vp8Desc{}},
		{"truncated TL0PICIDX", []byte{0x90, 0xc0, 0x05}, vp8Desc{}},
		{"empty", nil, vp8Desc{}},
	} {
		if got := parseVP8Desc(c.payload); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
}

// Across a switch the picture ID and TL0PICIDX go on from the last sent,
// whatever the new source's, wrapping at 2^15, 2^7 and 2^8 as the field's
// width has it; within a source they keep the source's steps.
func TestVP8MungerSwitch(t *testing.T) {
	for _, c := range []struct {
		name              string
		picLen            int
		oldPic, newPic    uint16
		oldTL0, newTL0    uint8
		wantPic, wantNext uint16
		wantTL0           uint8
	}{
		{"15-bit wrap", 2, 0x7fff, 500, 255, 3, 0, 1, 0},
		{"15-bit", 2, 1000, 20000, 9, 200, 1001, 1002, 10},
		{"7-bit wrap", 1, 0x7f, 3, 100, 50, 0, 1, 101},
		{"7-bit", 1, 10, 90, 0, 0, 11, 12, 1},
	} {
		var m vp8Munger
		old := parseVP8Desc(vp8Pkt(c.picLen, c.oldPic, true, c.oldTL0, true))
		if pic, tl0 := m.rewrite(&old); pic != c.oldPic || tl0 != c.oldTL0 {
			t.Errorf("%s: first packet rewritten to %d %d", c.name, pic, tl0)
		}
		m.switchSource()
		p := vp8Pkt(c.picLen, c.newPic, true, c.newTL0, true)
		d := parseVP8Desc(p)
		pic, tl0 := m.rewrite(&d)
		if pic != c.wantPic || tl0 != c.wantTL0 {
			t.Errorf("%s: after the switch %d %d, want %d %d", c.name, pic, tl0, c.wantPic, c.wantTL0)
		}
		writeVP8Desc(p, &d, pic, tl0)
		if got := parseVP8Desc(p); got.picID != pic || got.tl0 != tl0 || got.picLen != d.picLen || !got.keyframe {
			t.Errorf("%s: written descriptor reads back as %+v", c.name, got)
		}
		// The same picture again (a second packet of the frame), then the next.
		if again, _ := m.rewrite(&d); again != pic {
			t.Errorf("%s: second packet of the frame got %d, want %d", c.name, again, pic)
		}
		next := parseVP8Desc(vp8Pkt(c.picLen, (c.newPic+1)&picMask(uint8(c.picLen)), true, c.newTL0+1, false))
		if pic, tl0 := m.rewrite(&next); pic != c.wantNext || tl0 != c.wantTL0+1 {
			t.Errorf("%s: next frame %d %d, want %d %d", c.name, pic, tl0, c.wantNext, c.wantTL0+1)
		}
	}
}

// twoLayerFanOut is a fake video up-track with layers 0 and 1 and one
// bound down-track.
func twoLayerFanOut(t testing.TB) (*upTrack, *layer, *downTrack, *recordingWriter) {
	u, ws := newFakeFanOut(t, vp8Cap, 1)
	l1 := &layer{idx: 1, rid: "f", ssrc: 2, keyframe: make(chan struct{}, 1), cache: packetcache.New(64)}
	u.layer.rid = "q"
	u.layered = true
	u.layers.Store(&[]*layer{&u.layer, l1})
	d := (*u.down.Load())[0]
	return u, l1, d, ws[0]
}

// fakeLayerStream plays one layer's reader, with its own numbering.
type fakeLayerStream struct {
	l   *layer
	seq uint16
	ts  uint32
	pic uint16
	tl0 uint8
	pkt rtp.Packet
	buf [packetcache.BufSize]byte
}

// next sends the stream's next frame (one packet) to u, a keyframe if key.
func (s *fakeLayerStream) next(u *upTrack, key bool) {
	s.seq++
	s.ts += 3000
	s.pic = (s.pic + 1) & 0x7fff
	s.tl0++
	p := s.buf[:0]
	p = append(p, 0x90, 0xc0, 0x80|byte(s.pic>>8), byte(s.pic), s.tl0)
	if key {
		p = append(p, 0x50, 0x01, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01)
	} else {
		p = append(p, 0x51, 0x01, 0x00, 0x11, 0x22)
	}
	p = append(p, byte(s.l.idx))
	s.pkt = rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: s.seq, Timestamp: s.ts}, Payload: p}
	var raw [packetcache.BufSize]byte
	n, err := s.pkt.MarshalTo(raw[:])
	if err != nil {
		panic(err)
	}
	u.forwardLayer(s.l, &s.pkt, raw[:n])
}

// A down-track switched between layers goes on with the next sequence
// number, the timestamp a frame on, and the next picture ID and
// TL0PICIDX, at the target layer's first keyframe, allocating nothing per
// packet; a NACK after the switch is answered from the cache of the layer
// each packet was sent from, with its payload and the subscriber's
// picture ID.
func TestDownTrackLayerSwitch(t *testing.T) {
	u, l1, d, w := twoLayerFanOut(t)
	a := &fakeLayerStream{l: &u.layer, seq: 100, ts: 1000, pic: 0x7ff0, tl0: 250}
	b := &fakeLayerStream{l: l1, seq: 60000, ts: 99999, pic: 7, tl0: 3}
	<-u.keyframe // Bind's request
	a.next(u, true)
	b.next(u, true)
	if w.n != 1 || w.payload[len(w.payload)-1] != 0 {
		t.Fatalf("before any switch: %d written, last from layer %d", w.n, w.payload[len(w.payload)-1])
	}
	type out struct {
		seq uint16
		ts  uint32
		pic uint16
		tl0 uint8
		key bool
		lay byte
	}
	last := func() out {
		dd := parseVP8Desc(w.payload)
		return out{w.hdr.SequenceNumber, w.hdr.Timestamp, dd.picID, dd.tl0, dd.keyframe, w.payload[len(w.payload)-1]}
	}
	prev := last()
	d.setTarget(1)
	select {
	case <-l1.keyframe:
	default:
		t.Fatal("setTarget asked no keyframe of the target layer")
	}
	b.next(u, false) // not a keyframe: no switch yet
	a.next(u, false)
	if got := last(); got.lay != 0 || got.seq != prev.seq+1 {
		t.Fatalf("before the target's keyframe: %+v", got)
	}
	prev = last()
	b.next(u, true)
	got := last()
	want := out{prev.seq + 1, prev.ts + switchTSGap, (prev.pic + 1) & 0x7fff, prev.tl0 + 1, true, 1}
	if got != want {
		t.Fatalf("first packet after the switch %+v, want %+v", got, want)
	}
	a.next(u, true) // the old layer is no longer forwarded
	if last() != got {
		t.Fatalf("old layer still forwarded: %+v", last())
	}
	if rid, ok := d.currentLayer(); rid != 1 || !ok {
		t.Fatalf("currentLayer = %d, %v", rid, ok)
	}

	// A NACK of the switch's keyframe comes from layer 1's cache.
	n0 := w.n
	d.handleNACK(&rtcp.TransportLayerNack{MediaSSRC: 1000, Nacks: []rtcp.NackPair{{PacketID: got.seq}}})
	if w.n != n0+1 || last() != got {
		t.Fatalf("NACK answered with %+v (%d written), want %+v", last(), w.n-n0, got)
	}
	// One of the last packet before the switch, from layer 0's, with the
	// picture ID it was first sent with.
	n0 = w.n
	d.handleNACK(&rtcp.TransportLayerNack{MediaSSRC: 1000, Nacks: []rtcp.NackPair{{PacketID: prev.seq}}})
	if w.n != n0+1 || last() != prev {
		t.Fatalf("NACK of the packet before the switch answered with %+v (%d written), want %+v", last(), w.n-n0, prev)
	}

	// Forwarding one layer while a switch to the other waits for its
	// keyframe allocates nothing; a switch allocates exactly once: the
	// new mapping it publishes for the RTCP goroutine (seqMap).
	d.setTarget(0)
	allocs := testing.AllocsPerRun(100, func() {
		a.next(u, false)
		b.next(u, false)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per packet pair with a switch pending", allocs)
	}
	switches := d.up.sfu.stats.layerSwitches.Load()
	allocs = testing.AllocsPerRun(100, func() {
		for _, s := range [...]*fakeLayerStream{a, b} {
			d.setTarget(s.l.idx)
			s.next(u, false)
			s.next(u, true)
			a.next(u, false)
			b.next(u, false)
		}
	})
	if allocs != 2 {
		t.Errorf("%v allocations per two switches, want 2 (one seqMap each)", allocs)
	}
	if n := d.up.sfu.stats.layerSwitches.Load() - switches; n != 2*101 {
		t.Errorf("%d switches counted, want %d", n, 2*101)
	}
	checkLayerStream(t, w, u)
}

// checkLayerStream is a last check that the down-track's numbering is
// continuous: the packet just written is the newest.
func checkLayerStream(t *testing.T, w *recordingWriter, u *upTrack) {
	t.Helper()
	d := (*u.down.Load())[0]
	if d.rw.lastSeq != w.hdr.SequenceNumber {
		t.Errorf("rewriter's last %d, written %d", d.rw.lastSeq, w.hdr.SequenceNumber)
	}
}

// FuzzVP8Desc parses any VP8 payload a publisher can send, writes a
// picture ID and TL0PICIDX into it and parses it again. The payload is
// passed with its capacity cut to its length, so reading or writing past
// it panics.
//
// Properties: parseVP8Desc agrees with Pion's VP8 parser on the picture
// ID, its width and the TL0PICIDX when Pion parses the payload; writing
// changes no byte but those of the two fields, keeps the descriptor's
// layout and keyframe flag, and reads back as the values written (the
// picture ID to its width).
func FuzzVP8Desc(f *testing.F) {
	f.Fuzz(func(t *testing.T, payload []byte, pic uint16, tl0 uint8) {
		p := payload[:len(payload):len(payload)]
		d := parseVP8Desc(p)
		var vp8 codecs.VP8Packet
		if _, err := vp8.Unmarshal(p); err == nil && len(p) > 1 && p[0]&0x80 != 0 {
			if vp8.I == 1 && (d.picLen == 0 || d.picID != vp8.PictureID) {
				t.Fatalf("picture ID: ours %+v, pion %+v", d, vp8)
			}
			if vp8.L == 1 && (d.tl0Pos == 0 || d.tl0 != vp8.TL0PICIDX) {
				t.Fatalf("TL0PICIDX: ours %+v, pion %+v", d, vp8)
			}
		}
		orig := bytes.Clone(p)
		writeVP8Desc(p, &d, pic, tl0)
		for i := range p {
			if p[i] != orig[i] && !(d.picLen != 0 && (i == int(d.picPos) || i == int(d.picPos)+int(d.picLen)-1)) && !(d.tl0Pos != 0 && i == int(d.tl0Pos)) {
				t.Fatalf("byte %d changed: % x -> % x (%+v)", i, orig, p, d)
			}
		}
		got := parseVP8Desc(p)
		if got.picPos != d.picPos || got.picLen != d.picLen || got.tl0Pos != d.tl0Pos || got.keyframe != d.keyframe {
			t.Fatalf("layout changed: %+v -> %+v", d, got)
		}
		if d.picLen != 0 && got.picID != pic&picMask(d.picLen) {
			t.Fatalf("picture ID %d written, %d read", pic, got.picID)
		}
		if d.tl0Pos != 0 && got.tl0 != tl0 {
			t.Fatalf("TL0PICIDX %d written, %d read", tl0, got.tl0)
		}
	})
}
