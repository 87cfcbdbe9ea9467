package sfu

import (
	"errors"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/pion/rtcp"
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
