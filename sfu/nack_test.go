package sfu

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// TestNACKResendsFromCache drives two down-tracks with different sequence
// mappings and checks a NACK for an output sequence number gets the right
// source packet back, byte for byte, with the subscriber's own numbering.
func TestNACKResendsFromCache(t *testing.T) {
	u, ws := newFakeFanOut(t, opusCap, 2)
	downs := *u.down.Load()
	// Down-track 1 continues an earlier stream: its numbering is shifted.
	downs[1].rw.rewrite(40000, 7777)
	downs[1].rw.switchSource(960)

	payload := func(i int) []byte { return bytes.Repeat([]byte{byte(i)}, 50+i) }
	for i := range 20 {
		fanOut(u, &rtp.Packet{
			Header:  rtp.Header{Version: 2, SequenceNumber: uint16(65530 + i), Timestamp: uint32(i * 960), Marker: i == 5},
			Payload: payload(i),
		})
	}
	tests := []struct {
		name    string
		down    int
		seq     uint16 // the subscriber's sequence number
		want    int    // source packet index, -1 for no resend
		wantSeq uint16
		wantTS  uint32
	}{
		{"same numbering", 0, 65535, 5, 65535, 5 * 960},
		{"after wraparound", 0, 3, 9, 3, 9 * 960},
		{"shifted numbering", 1, 40001 + 5, 5, 40001 + 5, 7777 + 960 + 5*960},
		{"before the mapping began", 1, 40000, -1, 0, 0},
		{"never sent", 0, 100, -1, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := ws[tt.down]
			before := w.n
			nack := &rtcp.TransportLayerNack{
				MediaSSRC: uint32(1000 + tt.down),
				Nacks:     rtcp.NackPairsFromSequenceNumbers([]uint16{tt.seq}),
			}
			got, _ := downs[tt.down].handleNACK(nack)
			if tt.want < 0 {
				if got != 0 || w.n != before {
					t.Fatalf("resent %d packets, want none", got)
				}
				return
			}
			if got != 1 || w.n != before+1 {
				t.Fatalf("resent %d packets, want 1", got)
			}
			h := w.hdr
			if h.SequenceNumber != tt.wantSeq || h.Timestamp != tt.wantTS || h.SSRC != uint32(1000+tt.down) || h.PayloadType != 100 {
				t.Errorf("header %+v, want seq %d ts %d ssrc %d", h, tt.wantSeq, tt.wantTS, 1000+tt.down)
			}
			if h.Marker != (tt.want == 5) {
				t.Errorf("marker %v", h.Marker)
			}
			if !bytes.Equal(w.payload, payload(tt.want)) {
				t.Errorf("payload differs from source packet %d", tt.want)
			}
		})
	}
}

// TestSubscriberNACKGetsRetransmission has a real subscriber NACK a video
// packet it has received (with SRTP replay protection off, so it can see
// the copy) and checks it gets it again, byte for byte, under the same
// sequence number on its own SSRC, and that Stats count it.
func TestSubscriberNACKGetsRetransmission(t *testing.T) {
	s := newTestSFU(t)
	r := s.NewRouter("nack")
	newTestClient(t, r, "pub", true)
	// A receive-only peer must join once there is something to receive:
	// an offer without media sections has no ICE credentials.
	waitFor(t, 10*time.Second, "both tracks published", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return len(r.tracks) == 2
	})
	viewer := newTestClientWith(t, r, "viewer", false, noReplayClientAPI(t))
	waitFor(t, 10*time.Second, "viewer to receive pub", func() bool { return viewer.receiving("pub", 5) })

	st, _ := viewer.stats("pub-video")
	seq := st.lastSeq
	if err := viewer.pc.WriteRTCP([]rtcp.Packet{&rtcp.TransportLayerNack{
		MediaSSRC: uint32(st.ssrc),
		Nacks:     rtcp.NackPairsFromSequenceNumbers([]uint16{seq}),
	}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the retransmission", func() bool {
		st, _ := viewer.stats("pub-video")
		return st.seqs[seq] >= 2
	})
	st, _ = viewer.stats("pub-video")
	if st.bad != 0 {
		t.Errorf("%d corrupted packets", st.bad)
	}
	waitFor(t, 5*time.Second, "stats", func() bool {
		ss := s.Stats()
		return ss.NACKsIn >= 1 && ss.Retransmits >= 1
	})
}

// noReplayClientAPI is clientAPI with SRTP replay protection disabled.
func noReplayClientAPI(t testing.TB) *webrtc.API {
	return newClientAPI(t, func(se *webrtc.SettingEngine) {
		se.DisableSRTPReplayProtection(true)
	}, true)
}

// TestSFUNACKsPublisherLoss: a video packet the publisher never sent is
// NACKed by the SFU (Pion's NACK generator, started lazily on the
// publisher's PeerConnection: see receiveOnly), while a receive-only peer
// in the same room runs no generator.
func TestSFUNACKsPublisherLoss(t *testing.T) {
	s := newTestSFU(t)
	r := s.NewRouter("nack-pub")
	const lost = 100 // sent 2 s after the publisher connects
	pub := newTestClient(t, r, "pub", true)
	pub.dropVideo.Store(lost + 1)
	waitFor(t, 15*time.Second, "a NACK for the lost packet", func() bool {
		pub.mu.Lock()
		defer pub.mu.Unlock()
		return slices.Contains(pub.nacked, lost)
	})
}
