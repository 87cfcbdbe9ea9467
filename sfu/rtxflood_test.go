package sfu

import (
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtcp"
)

// nackFlood has a subscriber send, every period, a NACK on each track
// of publisher pub listing the last cacheSize sequence numbers it has
// received (or, if miss, as many numbers that were never sent).
type nackFlood struct {
	done chan struct{}
	wg   sync.WaitGroup
}

// startNACKFlood starts c flooding; stop it with stop (also run by
// t.Cleanup).
func startNACKFlood(t testing.TB, c *testClient, pub string, period time.Duration, miss bool) *nackFlood {
	f := &nackFlood{done: make(chan struct{})}
	f.wg.Go(func() {
		tick := time.NewTicker(period)
		defer tick.Stop()
		var seqs []uint16
		for {
			select {
			case <-f.done:
				return
			case <-tick.C:
			}
			var pkts []rtcp.Packet
			for kind, n := range map[string]int{"video": videoCacheSize, "audio": audioCacheSize} {
				ssrc, last, ok := c.lastSeq(pub + "-" + kind)
				if !ok {
					continue
				}
				first := last - uint16(n) + 1
				if miss {
					first += 0x4000 // far ahead: never sent during the test
				}
				seqs = seqs[:0]
				for i := range n {
					seqs = append(seqs, first+uint16(i))
				}
				pkts = append(pkts, &rtcp.TransportLayerNack{
					MediaSSRC: ssrc,
					Nacks:     rtcp.NackPairsFromSequenceNumbers(seqs),
				})
			}
			if len(pkts) > 0 {
				_ = c.pc.WriteRTCP(pkts)
			}
		}
	})
	t.Cleanup(f.stop)
	return f
}

// lastSeq returns the SSRC and the last sequence number received of
// track id (without copying its statistics, as stats does).
func (c *testClient) lastSeq(id string) (ssrc uint32, seq uint16, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	st, ok := c.recv[id]
	if !ok {
		return 0, 0, false
	}
	return uint32(st.ssrc), st.lastSeq, true
}

func (f *nackFlood) stop() {
	select {
	case <-f.done:
	default:
		close(f.done)
	}
	f.wg.Wait()
}

// received returns how many good packets c has received of pub's two
// tracks, counting duplicates.
func received(c *testClient, pub string) int {
	n := 0
	for _, kind := range []string{"audio", "video"} {
		st, _ := c.stats(pub + "-" + kind)
		n += st.good
	}
	return n
}

// floodCall is a publisher and two receive-only subscribers, with SRTP
// replay protection off so that each sees every copy of a packet.
func floodCall(t *testing.T) (s *SFU, quiet, flooder *testClient) {
	s = newTestSFU(t)
	r := s.NewRouter("flood")
	newTestClient(t, r, "pub", true)
	waitFor(t, 10*time.Second, "both tracks published", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return len(r.tracks) == 2
	})
	quiet = newTestClientWith(t, r, "quiet", false, noReplayClientAPI(t))
	flooder = newTestClientWith(t, r, "flooder", false, noReplayClientAPI(t))
	for _, c := range []*testClient{quiet, flooder} {
		waitFor(t, 10*time.Second, c.id+" to receive pub", func() bool { return c.receiving("pub", 50) })
	}
	return s, quiet, flooder
}

// TestNACKFloodDoesNotAmplify has a subscriber NACK every cached packet
// of both tracks 66 times a second (about 12 kB/s of RTCP). Once its
// starting credit is spent, what it receives beyond what a quiet
// subscriber receives must be at most 1/rtxShare of that, the server must
// count no more retransmissions than that, and the quiet subscriber must
// lose nothing. The process's CPU time (server and clients: they share
// it) per packet published is compared with the same call's before the
// flood, and while the subscriber sends as many NACKs for numbers never
// sent, which cost the server only their reception: the resends must add
// at most a small margin to that.
func TestNACKFloodDoesNotAmplify(t *testing.T) {
	s, quiet, flooder := floodCall(t)
	const period = 15 * time.Millisecond
	cpuQuiet := cpuPerPacket(s, 2*time.Second)
	misses := startNACKFlood(t, flooder, "pub", period, true)
	cpuMisses := cpuPerPacket(s, 2*time.Second)
	misses.stop()

	flood := startNACKFlood(t, flooder, "pub", period, false)
	// Let the flood spend the starting credit (rtxBurst per track, a few
	// NACKs' worth).
	time.Sleep(300 * time.Millisecond)
	q0, f0 := received(quiet, "pub"), received(flooder, "pub")
	r0 := s.Stats().Retransmits
	qs0 := map[string]recvStats{}
	for _, kind := range []string{"audio", "video"} {
		qs0[kind], _ = quiet.stats("pub-" + kind)
	}
	cpuFlood := cpuPerPacket(s, 3*time.Second)
	q, f := received(quiet, "pub")-q0, received(flooder, "pub")-f0
	resent := s.Stats().Retransmits - r0
	flood.stop()

	// Every packet is 212 bytes, so counts stand for bytes; 20 packets of
	// slack for those in flight when counting.
	limit := q/rtxShare + 20
	t.Logf("in 3 s: quiet subscriber received %d packets, flooder %d, server resent %d (limit %d)", q, f, resent, limit)
	if f-q > limit {
		t.Errorf("flooder received %d packets more than the quiet subscriber's %d, want at most %d", f-q, q, limit)
	}
	if resent > uint64(limit) {
		t.Errorf("server resent %d packets, want at most %d", resent, limit)
	}
	if q < 50 {
		t.Errorf("quiet subscriber received only %d packets in 3 s", q)
	}
	for _, kind := range []string{"audio", "video"} {
		st, _ := quiet.stats("pub-" + kind)
		if st.bad != 0 {
			t.Errorf("quiet %s: %d corrupted packets", kind, st.bad)
		}
		for seq := qs0[kind].lastSeq; seq != st.lastSeq; seq++ {
			if st.seqs[seq] == 0 {
				t.Errorf("quiet %s: packet %d lost", kind, seq)
			}
		}
	}

	t.Logf("CPU per packet published: quiet call %v, flood of never-sent numbers %v, flood of cached packets %v", cpuQuiet, cpuMisses, cpuFlood)
	if runtime.GOOS == "linux" && cpuFlood > cpuMisses*3/2+20*time.Microsecond {
		t.Errorf("CPU per packet published: %v under the NACK flood, %v under as many NACKs that resend nothing, want at most 50%% + 20µs more", cpuFlood, cpuMisses)
	}
}

// cpuPerPacket returns the process's CPU time over the next d divided by
// the number of packets published meanwhile (the publisher's rate falls
// when the machine is busy).
func cpuPerPacket(s *SFU, d time.Duration) time.Duration {
	n0, cpu0 := s.Stats().PacketsIn, processCPUTime()
	time.Sleep(d)
	n, cpu := s.Stats().PacketsIn-n0, processCPUTime()-cpu0
	return cpu / time.Duration(max(n, 1))
}
