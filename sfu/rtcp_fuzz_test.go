package sfu

import (
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// seqWriter is a webrtc.TrackLocalWriter that counts the packets written
// by sequence number.
type seqWriter struct {
	n     int
	bytes int
	seqs  map[uint16]int
	bad   int // packets with another SSRC or payload type
}

func (w *seqWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	w.n++
	w.bytes += rtpHeaderLen + len(payload) + int(h.PaddingSize)
	w.seqs[h.SequenceNumber]++
	if h.SSRC != 1000 || h.PayloadType != 100 {
		w.bad++
	}
	return len(payload), nil
}

func (w *seqWriter) Write(b []byte) (int, error) { return len(b), nil }

// FuzzHandleRTCP feeds arbitrary bytes, as a subscriber's compound RTCP
// packet, to a video down-track that has forwarded a keyframe and 63
// other packets (output sequence numbers 1000 to 1063, SSRC 1000), twice
// at the same instant. Whatever the input, handleRTCP must not panic,
// every packet it resends must carry the down-track's SSRC and payload
// type, no packet may be resent twice, and it may resend no more than its
// starting credit.
func FuzzHandleRTCP(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		u, _ := newFakeFanOut(t, vp8Cap, 1)
		d := (*u.down.Load())[0]
		clock := &fakeClock{t: time.Unix(1_800_000_000, 0)}
		d.now = clock.now
		key := []byte{0x10, 0x00, 0, 0, 0x9d, 0x01, 0x2a, 0, 0}
		for i := range 64 {
			payload := make([]byte, 100+i*20)
			copy(payload, key)
			fanOut(u, &rtp.Packet{
				Header:  rtp.Header{Version: 2, SequenceNumber: uint16(1000 + i), Timestamp: uint32(i) * 3000},
				Payload: payload,
			})
		}
		w := &seqWriter{seqs: make(map[uint16]int)}
		d.bound.Store(&binding{ssrc: 1000, payloadType: 100, writer: w})

		d.handleRTCP(data)
		d.handleRTCP(data)

		if w.bad != 0 {
			t.Errorf("%d packets resent with another SSRC or payload type", w.bad)
		}
		for seq, n := range w.seqs {
			if n > 1 {
				t.Errorf("packet %d resent %d times", seq, n)
			}
		}
		if w.bytes > rtxBurst {
			t.Errorf("resent %d bytes, more than the starting credit %d", w.bytes, rtxBurst)
		}
		st := u.sfu.Stats()
		if st.Retransmits != uint64(w.n) {
			t.Errorf("Stats.Retransmits = %d, wrote %d", st.Retransmits, w.n)
		}
	})
}

var _ webrtc.TrackLocalWriter = (*seqWriter)(nil)
