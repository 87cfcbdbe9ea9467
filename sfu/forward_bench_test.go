package sfu

import (
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-dev/parley/sfu/packetcache"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// mutableConn is a client's UDP socket that, once muted, is no longer
// read: what the SFU sends then fills the socket's receive buffer and is
// dropped by the kernel, so a benchmark's in-process subscribers spend no
// CPU reading and decrypting, much as if they were on another machine.
// The client's ICE agent keeps sending keepalives, so the SFU's side stays
// connected for the 25 s Pion waits before declaring the client failed.
type mutableConn struct {
	*net.UDPConn
	muted  atomic.Bool
	closed chan struct{} // closed by Close; releases a muted reader
	once   sync.Once
}

func (c *mutableConn) ReadFrom(p []byte) (int, net.Addr, error) {
	// ReadFromUDPAddrPort does not allocate, ReadFrom does: the
	// benchmark's allocs/op counts the whole process.
	n, ap, err := c.ReadFromUDPAddrPort(p)
	if err != nil {
		return n, nil, err
	}
	if c.muted.Load() {
		<-c.closed
		return 0, nil, net.ErrClosed
	}
	return n, net.UDPAddrFromAddrPort(ap), nil
}

func (c *mutableConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.UDPConn.Close()
}

// sinkClient is a subscriber for benchmarks: a Pion PeerConnection on its
// own UDP socket (through an ICE UDP mux) that can be muted.
type sinkClient struct {
	*testClient
	conn *mutableConn
}

func newSinkClient(tb testing.TB, r *Router, id string) *sinkClient {
	tb.Helper()
	udp, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		tb.Fatal(err)
	}
	conn := &mutableConn{UDPConn: udp, closed: make(chan struct{})}
	quiet := pionLoggerFactory{log: slog.New(slog.DiscardHandler)}
	mux := webrtc.NewICEUDPMux(quiet.NewLogger("sinkmux"), conn)
	tb.Cleanup(func() {
		_ = conn.Close()
		_ = mux.Close()
	})

	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		tb.Fatal(err)
	}
	se := webrtc.SettingEngine{LoggerFactory: quiet}
	se.SetICEUDPMux(mux)
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	api := webrtc.NewAPI(webrtc.WithMediaEngine(me),
		webrtc.WithInterceptorRegistry(&interceptor.Registry{}), webrtc.WithSettingEngine(se))
	return &sinkClient{testClient: newTestClientWith(tb, r, id, false, api), conn: conn}
}

// newBenchUpTrack registers in r a synthetic VP8 up-track of a publisher
// "pub" that has no PeerConnection: the caller plays its reader goroutine
// by calling fanOut. Peers added to r afterwards subscribe to it.
func newBenchUpTrack(s *SFU, r *Router) *upTrack {
	pub := &Peer{id: "pub", router: r, sfu: s, log: r.log.With("peer", "pub")}
	u := &upTrack{
		sfu: s, peer: pub, id: "pub-video", kind: webrtc.RTPCodecTypeVideo, codec: vp8Cap,
		layer: layer{cache: packetcache.New(videoCacheSize), ssrc: 1234, keyframe: make(chan struct{}, 1)},
		log:   pub.log, pliInterval: s.pliInterval, done: make(chan struct{}),
	}
	u.down.Store(&[]*downTrack{})
	r.mu.Lock()
	r.tracks = append(r.tracks, u)
	r.mu.Unlock()
	return u
}

// connectSinks adds n muted sink subscribers of u to r and waits until
// every down-track is bound on a connected PeerConnection.
func connectSinks(tb testing.TB, r *Router, u *upTrack, n int) []*sinkClient {
	tb.Helper()
	sinks := make([]*sinkClient, n)
	for i := range sinks {
		sinks[i] = newSinkClient(tb, r, fmt.Sprintf("sub%d", i))
	}
	waitFor(tb, 60*time.Second, "subscribers connected", func() bool {
		downs := *u.down.Load()
		if len(downs) != n {
			return false
		}
		for _, d := range downs {
			if d.bound.Load() == nil || d.sub.pc.ConnectionState() != webrtc.PeerConnectionStateConnected {
				return false
			}
		}
		for _, c := range sinks {
			if c.pc.ConnectionState() != webrtc.PeerConnectionStateConnected {
				return false
			}
		}
		return true
	})
	for _, c := range sinks {
		c.conn.muted.Store(true)
	}
	return sinks
}

// BenchmarkForward measures the whole send path of one incoming VP8 packet
// (1200 bytes of payload) fanned out to N subscribers on real connected
// PeerConnections: header rewrite, Pion's interceptor chain, SRTP
// encryption and the write on the shared UDP socket. ns/downtrack is the
// wall time of one forwarded packet; cpu-ns/downtrack is the CPU time
// (user and system) of the forwarding thread alone, which leaves out the
// in-process subscribers and the rest of the process; dropped is
// Stats.Dropped, which must stay 0.
func BenchmarkForward(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("down=%d", n), func(b *testing.B) {
			s := newTestSFU(b)
			r := s.NewRouter("bench")
			u := newBenchUpTrack(s, r)
			connectSinks(b, r, u, n)

			key := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: 1},
				Payload: []byte{0x10, 0x00, 0, 0, 0x9d, 0x01, 0x2a, 0, 0}}
			fanOut(u, key)
			pkt := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: 1, Marker: true}, Payload: make([]byte, 1200)}
			// Warm up: SRTP streams open on the first write, buffers grow.
			for range 200 {
				pkt.SequenceNumber++
				pkt.Timestamp += 3000
				fanOut(u, pkt)
			}
			runtime.GC()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			cpu0 := threadCPUTime()
			b.ReportAllocs()
			for b.Loop() {
				pkt.SequenceNumber++
				pkt.Timestamp += 3000
				fanOut(u, pkt)
			}
			cpu := threadCPUTime() - cpu0
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/downtrack")
			if cpu > 0 {
				b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N)/float64(n), "cpu-ns/downtrack")
			}
			b.ReportMetric(float64(s.Stats().Dropped), "dropped")
		})
	}
}
