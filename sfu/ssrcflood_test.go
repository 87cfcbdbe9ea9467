package sfu

import (
	"errors"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// heapAfterGC returns the live heap after a full collection.
func heapAfterGC() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestSSRCFloodClosesPeer has a subscriber send SRTCP receiver reports
// whose report blocks name thousands of random SSRCs, each several times
// over. Pion makes a read stream, with its own buffer, for every SSRC
// named and keeps it, filling, until the PeerConnection closes; the peer
// must instead be closed, with OnMisbehaving given ErrTooManyStreams, once
// past its bound, the server's heap must not grow with the flood, and a
// bystander must keep receiving.
func TestSSRCFloodClosesPeer(t *testing.T) {
	s := newTestSFU(t)
	r := s.NewRouter("ssrc")
	newTestClient(t, r, "pub", true)
	bystander := newTestClient(t, r, "bystander", false)
	misbehaved := make(chan error, 1)
	flooder := newTestClientCfg(t, r, "flooder", false, clientAPI(t), func(cfg *PeerConfig) {
		cfg.OnMisbehaving = func(err error) { misbehaved <- err }
	})
	for _, c := range []*testClient{bystander, flooder} {
		waitFor(t, 10*time.Second, c.id+" to receive pub", func() bool { return c.receiving("pub", 50) })
	}
	before := heapAfterGC()

	// 4,096 SSRCs, 31 to a receiver report (the most one carries), each
	// named 8 times: about 1,060 packets of 260 bytes.
	const ssrcs, rounds = 4096, 8
	rng := rand.New(rand.NewPCG(1, 2))
	named := make([]uint32, ssrcs)
	for i := range named {
		named[i] = rng.Uint32() | 1<<31 // clear of the small SSRCs a test peer might use
	}
	sent := 0
	for range rounds {
		for i := 0; i < ssrcs; i += 31 {
			rr := &rtcp.ReceiverReport{SSRC: 1}
			for _, ssrc := range named[i:min(i+31, ssrcs)] {
				rr.Reports = append(rr.Reports, rtcp.ReceptionReport{SSRC: ssrc})
			}
			if err := flooder.pc.WriteRTCP([]rtcp.Packet{rr}); err != nil {
				break // the server closed the peer: the client's transport is going
			}
			if sent++; sent%32 == 0 {
				time.Sleep(time.Millisecond) // do not overrun loopback's socket buffers
			}
		}
	}

	select {
	case err := <-misbehaved:
		if !errors.Is(err, ErrTooManyStreams) {
			t.Errorf("OnMisbehaving(%v), want an error wrapping ErrTooManyStreams", err)
		}
		t.Logf("flooder closed: %v", err)
		waitFor(t, 5*time.Second, "the flooder to leave the router", func() bool {
			r.mu.Lock()
			defer r.mu.Unlock()
			_, ok := r.peers["flooder"]
			return !ok
		})
	case <-time.After(10 * time.Second):
		t.Errorf("after %d receiver reports naming %d SSRCs, OnMisbehaving was not called", sent, ssrcs)
	}

	after := heapAfterGC()
	grew := int64(after) - int64(before)
	t.Logf("heap after GC: %d kB before the flood, %d kB after (%+d kB)", before>>10, after>>10, grew>>10)
	// The flood named 4,096 SSRCs; unbounded, their streams hold several
	// MB. Bounded, the flooder's peer is gone and its buffers with it.
	if grew > 2<<20 {
		t.Errorf("heap grew by %d kB during the flood, want at most 2048 kB", grew>>10)
	}

	got := received(bystander, "pub")
	waitFor(t, 5*time.Second, "the bystander to keep receiving", func() bool {
		return received(bystander, "pub") >= got+50
	})
}

// floodTrack is a video TrackLocal that writes whatever RTP headers its
// owner gives it, SSRC included, as no browser track does.
type floodTrack struct {
	mu sync.Mutex
	w  webrtc.TrackLocalWriter // set by Bind
}

func (f *floodTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	f.mu.Lock()
	f.w = ctx.WriteStream()
	f.mu.Unlock()
	return ctx.CodecParameters()[0], nil
}

func (f *floodTrack) Unbind(webrtc.TrackLocalContext) error { return nil }
func (f *floodTrack) ID() string                            { return "cam" }
func (f *floodTrack) RID() string                           { return "" }
func (f *floodTrack) StreamID() string                      { return "local" }
func (f *floodTrack) Kind() webrtc.RTPCodecType             { return webrtc.RTPCodecTypeVideo }

func (f *floodTrack) writer() webrtc.TrackLocalWriter {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.w
}

// TestRTPSSRCFloodClosesPeer has a publisher send RTP under thousands of
// SSRCs nothing negotiated. Pion makes an RTP read stream (1 MB buffer)
// and an RTCP one for each and keeps them, even when it fails to match
// them to a transceiver, until the PeerConnection closes; the peer must
// be closed past its bound instead, and another publisher's subscriber
// must keep receiving.
func TestRTPSSRCFloodClosesPeer(t *testing.T) {
	s := newTestSFU(t)
	r := s.NewRouter("rtp-ssrc")
	newTestClient(t, r, "pub", true)
	misbehaved := make(chan error, 1)
	flooder := newTestClientCfg(t, r, "flooder", true, clientAPI(t), func(cfg *PeerConfig) {
		cfg.OnMisbehaving = func(err error) { misbehaved <- err }
	})
	sub := newTestClient(t, r, "sub", false)
	waitFor(t, 10*time.Second, "sub to receive both publishers", func() bool {
		return sub.receiving("pub", 50) && sub.receiving("flooder", 50)
	})
	ft := &floodTrack{}
	for _, tr := range flooder.pc.GetTransceivers() {
		if snd := tr.Sender(); snd != nil && snd.Track() != nil && snd.Track().Kind() == webrtc.RTPCodecTypeVideo {
			if err := snd.ReplaceTrack(ft); err != nil {
				t.Fatalf("ReplaceTrack: %v", err)
			}
		}
	}
	w := ft.writer()
	if w == nil {
		t.Fatal("the flood track was not bound")
	}
	before := heapAfterGC()

	payload := make([]byte, 1000)
	const ssrcs, rounds = 1024, 4
	sent := 0
	for round := range rounds {
		for i := range ssrcs {
			h := &rtp.Header{Version: 2, PayloadType: 96, SSRC: 1<<31 | uint32(i), SequenceNumber: uint16(round), Timestamp: uint32(round)}
			if _, err := w.WriteRTP(h, payload); err != nil {
				break
			}
			if sent++; sent%32 == 0 {
				time.Sleep(time.Millisecond) // do not overrun loopback's socket buffers
			}
		}
	}

	select {
	case err := <-misbehaved:
		if !errors.Is(err, ErrTooManyStreams) {
			t.Errorf("OnMisbehaving(%v), want an error wrapping ErrTooManyStreams", err)
		}
		t.Logf("flooder closed: %v", err)
		waitFor(t, 5*time.Second, "the flooder to leave the router", func() bool {
			r.mu.Lock()
			defer r.mu.Unlock()
			_, ok := r.peers["flooder"]
			return !ok
		})
	case <-time.After(10 * time.Second):
		t.Errorf("after %d RTP packets under %d SSRCs, OnMisbehaving was not called", sent, ssrcs)
	}
	after := heapAfterGC()
	grew := int64(after) - int64(before)
	t.Logf("heap after GC: %d kB before the flood, %d kB after (%+d kB)", before>>10, after>>10, grew>>10)
	if grew > 2<<20 {
		t.Errorf("heap grew by %d kB during the flood, want at most 2048 kB", grew>>10)
	}

	got := received(sub, "pub")
	waitFor(t, 5*time.Second, "sub to keep receiving pub", func() bool {
		return received(sub, "pub") >= got+50
	})
}
