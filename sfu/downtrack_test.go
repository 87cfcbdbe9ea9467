package sfu

import (
	"fmt"
	"testing"

	"github.com/parley-dev/parley/sfu/packetcache"
	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// fakeBinding is a webrtc.TrackLocalContext whose writer records the last
// packet written, for driving down-tracks without a PeerConnection.
type fakeBinding struct {
	ssrc   webrtc.SSRC
	codecs []webrtc.RTPCodecParameters
	w      *recordingWriter
}

func (f *fakeBinding) CodecParameters() []webrtc.RTPCodecParameters { return f.codecs }
func (f *fakeBinding) HeaderExtensions() []webrtc.RTPHeaderExtensionParameter {
	return nil
}
func (f *fakeBinding) SSRC() webrtc.SSRC                       { return f.ssrc }
func (f *fakeBinding) SSRCRetransmission() webrtc.SSRC         { return 0 }
func (f *fakeBinding) SSRCForwardErrorCorrection() webrtc.SSRC { return 0 }
func (f *fakeBinding) WriteStream() webrtc.TrackLocalWriter    { return f.w }
func (f *fakeBinding) ID() string                              { return "fake" }
func (f *fakeBinding) RTCPReader() interceptor.RTCPReader      { return nil }

type recordingWriter struct {
	n       int
	hdr     rtp.Header
	payload []byte
}

func (w *recordingWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	w.n++
	w.hdr = *h
	w.payload = payload
	return len(payload), nil
}

func (w *recordingWriter) Write(b []byte) (int, error) { return len(b), nil }

// newFakeFanOut builds an up-track for codec with n bound down-tracks, with
// no Peer or PeerConnection behind them.
func newFakeFanOut(t testing.TB, codec webrtc.RTPCodecCapability, n int) (*upTrack, []*recordingWriter) {
	t.Helper()
	kind := webrtc.RTPCodecTypeAudio
	if codec.MimeType == webrtc.MimeTypeVP8 {
		kind = webrtc.RTPCodecTypeVideo
	}
	u := &upTrack{id: "pub-" + kind.String(), kind: kind, codec: codec, done: make(chan struct{})}
	u.sfu = &SFU{liveTracks: make(map[*upTrack]struct{})}
	u.peer = &Peer{id: "pub"}
	u.cache = packetcache.New(64)
	if kind == webrtc.RTPCodecTypeVideo {
		u.keyframe = make(chan struct{}, 1)
	}
	u.down.Store(&[]*downTrack{})
	var writers []*recordingWriter
	for i := range n {
		d := newDownTrack(u, nil)
		w := &recordingWriter{}
		ctx := &fakeBinding{
			ssrc:   webrtc.SSRC(1000 + i),
			codecs: []webrtc.RTPCodecParameters{{RTPCodecCapability: codec, PayloadType: 100}},
			w:      w,
		}
		if _, err := d.Bind(ctx); err != nil {
			t.Fatalf("Bind: %v", err)
		}
		if !u.addDownTrack(d) {
			t.Fatal("addDownTrack refused")
		}
		writers = append(writers, w)
	}
	return u, writers
}

// fanOut does what upTrack.readLoop does with a packet it has read.
func fanOut(u *upTrack, pkt *rtp.Packet) {
	var buf [packetcache.BufSize]byte
	n, err := pkt.MarshalTo(buf[:])
	if err != nil {
		panic(err)
	}
	u.forward(pkt, buf[:n])
}

var opusCap = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}
var vp8Cap = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}

func TestDownTrackRewritesHeader(t *testing.T) {
	u, ws := newFakeFanOut(t, opusCap, 2)
	ext := rtp.Header{}
	if err := ext.SetExtension(1, []byte{0xAA}); err != nil {
		t.Fatal(err)
	}
	pkt := &rtp.Packet{
		Header: rtp.Header{
			Version: 2, PayloadType: 111, SequenceNumber: 500, Timestamp: 9000,
			SSRC: 42, Marker: true, Extension: ext.Extension,
			ExtensionProfile: ext.ExtensionProfile, Extensions: ext.Extensions,
		},
		Payload: []byte("hello"),
	}
	fanOut(u, pkt)
	for i, w := range ws {
		h := w.hdr
		if w.n != 1 || string(w.payload) != "hello" {
			t.Fatalf("writer %d: n=%d payload=%q", i, w.n, w.payload)
		}
		if h.SSRC != uint32(1000+i) || h.PayloadType != 100 || !h.Marker ||
			h.SequenceNumber != 500 || h.Timestamp != 9000 || h.Extension || len(h.Extensions) != 0 {
			t.Errorf("writer %d: header %+v", i, h)
		}
	}
}

func TestDownTrackVideoWaitsForKeyframe(t *testing.T) {
	u, ws := newFakeFanOut(t, vp8Cap, 1)
	delta := &rtp.Packet{Header: rtp.Header{SequenceNumber: 1}, Payload: []byte{0x10, 0x01, 0, 0, 0, 0, 0}}
	key := &rtp.Packet{Header: rtp.Header{SequenceNumber: 2}, Payload: []byte{0x10, 0x00, 0, 0, 0x9d, 0x01, 0x2a, 0, 0}}
	cont := &rtp.Packet{Header: rtp.Header{SequenceNumber: 3}, Payload: []byte{0x00, 0xFF}}

	// Bind already asked for a keyframe; drain it.
	<-u.keyframe
	fanOut(u, delta)
	if ws[0].n != 0 {
		t.Fatal("interframe forwarded before a keyframe")
	}
	select {
	case <-u.keyframe:
	default:
		t.Fatal("no keyframe requested while waiting")
	}
	fanOut(u, key)
	fanOut(u, cont)
	fanOut(u, delta)
	if ws[0].n != 3 {
		t.Fatalf("forwarded %d packets after keyframe, want 3", ws[0].n)
	}
}

func TestFanOutDoesNotAllocate(t *testing.T) {
	u, _ := newFakeFanOut(t, opusCap, 8)
	pkt := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: 1}, Payload: make([]byte, 100)}
	allocs := testing.AllocsPerRun(1000, func() {
		pkt.SequenceNumber++
		pkt.Timestamp += 960
		fanOut(u, pkt)
	})
	if allocs != 0 {
		t.Errorf("fan-out allocates %v times per packet, want 0", allocs)
	}
}

// BenchmarkFanOut measures forwarding one packet to N down-tracks: the
// header rewrite and the write call, with a writer that does nothing.
func BenchmarkFanOut(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("down=%d", n), func(b *testing.B) {
			u, _ := newFakeFanOut(b, vp8Cap, n)
			key := &rtp.Packet{Payload: []byte{0x10, 0x00, 0, 0, 0x9d, 0x01, 0x2a, 0, 0}}
			fanOut(u, key)
			pkt := &rtp.Packet{Header: rtp.Header{Version: 2}, Payload: make([]byte, 1200)}
			b.ReportAllocs()
			for b.Loop() {
				pkt.SequenceNumber++
				pkt.Timestamp += 3000
				fanOut(u, pkt)
			}
		})
	}
}
