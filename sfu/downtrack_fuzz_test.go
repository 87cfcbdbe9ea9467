package sfu

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/parley-dev/parley/sfu/packetcache"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// captureWriter is a webrtc.TrackLocalWriter that marshals what it is
// given, as Pion's does before encrypting it.
type captureWriter struct {
	pkts [][]byte
}

func (w *captureWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	b, err := (&rtp.Packet{Header: *h, Payload: payload}).Marshal()
	if err != nil {
		return 0, err
	}
	w.pkts = append(w.pkts, b)
	return len(b), nil
}

func (w *captureWriter) Write(b []byte) (int, error) {
	w.pkts = append(w.pkts, bytes.Clone(b))
	return len(b), nil
}

// FuzzDownTrackWriteRTP reads packets as an up-track's reader does (Pion's
// rtp.Packet.Unmarshal into one reused packet, then the packet cache) and
// writes them to a down-track, whose header rewrite it checks. The input is
// a video flag (VP8, so the down-track waits for a keyframe) and a list of
// packets, each prefixed by its length as 2 bytes big-endian. The seeds
// (testdata/fuzz/FuzzDownTrackWriteRTP) are packets the tests' publishers
// send, with and without header extensions, CSRCs and padding.
//
// Properties: the cache returns each packet byte for byte; video sends
// nothing before the first VP8 keyframe, and asks for one meanwhile; from
// then on (and for audio, always) every packet is sent, with version 2,
// the subscriber's SSRC and payload type, no CSRC and no extension, the
// source's marker and padding, its sequence number and timestamp (one
// source: no offset) and its payload byte for byte; and the packet put on
// the wire parses back to exactly that.
func FuzzDownTrackWriteRTP(f *testing.F) {
	f.Fuzz(func(t *testing.T, video bool, stream []byte) {
		w := &captureWriter{}
		u := &upTrack{kind: webrtc.RTPCodecTypeAudio, layer: layer{cache: packetcache.New(audioCacheSize)}}
		if video {
			u.kind, u.keyframe = webrtc.RTPCodecTypeVideo, make(chan struct{}, 1)
		}
		d := &downTrack{up: u, waitKeyframe: video}
		b := &binding{ssrc: 0xc0ffee01, payloadType: 101, writer: w}
		d.bound.Store(b)
		var pkt rtp.Packet // reused, as by readLoop
		got := make([]byte, packetcache.BufSize)
		waiting := video
		for len(stream) >= 2 {
			n := min(int(binary.BigEndian.Uint16(stream)), len(stream)-2)
			raw := stream[2 : 2+n : 2+n]
			stream = stream[2+n:]
			if pkt.Unmarshal(raw) != nil {
				continue
			}
			if u.cache.Store(pkt.SequenceNumber, raw) {
				if m := u.cache.Get(pkt.SequenceNumber, got); !bytes.Equal(got[:m], raw) {
					t.Fatalf("cache returned % x for % x", got[:m], raw)
				}
			}
			src := pkt.Header
			payload := bytes.Clone(pkt.Payload)
			before := len(w.pkts)
			res := d.writeRTP(&pkt)
			if waiting && isVP8Keyframe(payload) {
				waiting = false
			}
			if waiting {
				if res != writeSkipped || len(w.pkts) != before || len(u.keyframe) != 1 {
					t.Fatalf("packet before a keyframe: result %v, %d sent, keyframe asked %v", res, len(w.pkts)-before, len(u.keyframe) == 1)
				}
				<-u.keyframe
				continue
			}
			if res != writeSent || len(w.pkts) != before+1 {
				t.Fatalf("packet % x: result %v, %d sent", raw, res, len(w.pkts)-before)
			}
			checkSent(t, w.pkts[before], &src, payload, b)
		}
	})
}

// checkSent checks one packet a down-track put on the wire against the
// source header and payload it was made from.
func checkSent(t *testing.T, wire []byte, src *rtp.Header, payload []byte, b *binding) {
	t.Helper()
	var out rtp.Packet
	if err := out.Unmarshal(wire); err != nil {
		t.Fatalf("sent packet % x does not parse: %v (source %+v)", wire, err, src)
	}
	h := out.Header
	switch {
	case h.Version != 2 || h.SSRC != b.ssrc || h.PayloadType != b.payloadType:
		t.Fatalf("sent header %+v: want version 2, SSRC %x, payload type %d", h, b.ssrc, b.payloadType)
	case len(h.CSRC) != 0 || h.Extension || len(h.Extensions) != 0:
		t.Fatalf("sent header %+v keeps CSRCs or extensions of %+v", h, src)
	case h.Marker != src.Marker || h.Padding != src.Padding || h.PaddingSize != src.PaddingSize:
		t.Fatalf("sent header %+v: marker or padding differ from %+v", h, src)
	case h.SequenceNumber != src.SequenceNumber || h.Timestamp != src.Timestamp:
		t.Fatalf("sent (%d, %d) for (%d, %d)", h.SequenceNumber, h.Timestamp, src.SequenceNumber, src.Timestamp)
	case !bytes.Equal(out.Payload, payload):
		t.Fatalf("sent payload % x for % x", out.Payload, payload)
	}
}
