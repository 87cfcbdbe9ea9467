package sfu

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/fnv"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// testClient plays a browser against an sfu Peer in the same process: it
// applies the server's offers, sends its microphone and camera on the mids
// the offer names, answers, and exchanges candidates directly with the Peer.
type testClient struct {
	t       testing.TB
	id      string
	publish bool
	pc      *webrtc.PeerConnection
	peer    *Peer         // set once AddPeer returns, then read-only
	ready   chan struct{} // closed once peer is set
	done    chan struct{} // closed by close; ends the client's goroutines
	wg      sync.WaitGroup
	wgMu    sync.Mutex // orders wg.Add after close's Wait has begun
	closing bool       // guarded by wgMu: no more goroutines

	// Events from the sfu callbacks, handled in order by loop.
	evMu   sync.Mutex
	events []func()
	evWake chan struct{}

	// dropVideo, if not 0, is 1 + the index of the one video packet
	// sendMedia does not send (its sequence number is the index).
	dropVideo atomic.Uint32
	// ignoreOffers makes the client stop answering, as a hung one does.
	ignoreOffers atomic.Bool

	// Owned by loop.
	audio, video *webrtc.TrackLocalStaticRTP
	sending      bool

	mu     sync.Mutex // guards the fields below
	offers []Offer
	recv   map[string]*recvStats // by track ID
	plis   int                   // PLIs received on the video sender
	nacked []uint16              // sequence numbers NACKed on the video sender
	states []webrtc.PeerConnectionState
}

type recvStats struct {
	streamID string
	ssrc     webrtc.SSRC
	good     int
	bad      int
	ended    bool
	lastSeq  uint16         // of the last good packet
	seqs     map[uint16]int // good packets received by sequence number
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func newTestSFU(t testing.TB) *SFU {
	t.Helper()
	s, err := New(Config{Loopback: true, PLIInterval: 100 * time.Millisecond, Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("SFU.Close: %v", err)
		}
	})
	return s
}

func clientAPI(t testing.TB) *webrtc.API {
	return newClientAPI(t, nil, true)
}

// newClientAPI builds a client's API; tweak, if not nil, adjusts its
// SettingEngine; withNACK adds Pion's NACK interceptors.
func newClientAPI(t testing.TB, tweak func(*webrtc.SettingEngine), withNACK bool) *webrtc.API {
	t.Helper()
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	ir := &interceptor.Registry{}
	if withNACK {
		if err := webrtc.ConfigureNack(me, ir); err != nil {
			t.Fatal(err)
		}
	}
	if err := webrtc.ConfigureRTCPReports(ir); err != nil {
		t.Fatal(err)
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	if tweak != nil {
		tweak(&se)
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
}

// newTestClient adds a peer id to r and starts its client. The client is
// closed by t.Cleanup (before the SFU, cleanups running last-in first-out).
func newTestClient(t testing.TB, r *Router, id string, publish bool) *testClient {
	return newTestClientWith(t, r, id, publish, clientAPI(t))
}

// newTestClientWith is newTestClient with the client's own webrtc.API.
func newTestClientWith(t testing.TB, r *Router, id string, publish bool, api *webrtc.API) *testClient {
	t.Helper()
	return newTestClientCfg(t, r, id, publish, api, nil)
}

// newTestClientCfg is newTestClientWith where adjust, if not nil, adjusts
// the peer's config before AddPeer.
func newTestClientCfg(t testing.TB, r *Router, id string, publish bool, api *webrtc.API, adjust func(*PeerConfig)) *testClient {
	t.Helper()
	c := &testClient{
		t: t, id: id, publish: publish,
		ready:  make(chan struct{}),
		done:   make(chan struct{}),
		evWake: make(chan struct{}, 1),
		recv:   make(map[string]*recvStats),
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	c.pc = pc
	pc.OnTrack(c.onTrack)
	pc.OnICECandidate(func(cand *webrtc.ICECandidate) {
		if cand == nil {
			return
		}
		<-c.ready
		if err := c.peer.AddCandidate(cand.ToJSON()); err != nil && !errors.Is(err, ErrClosed) {
			t.Errorf("%s: AddCandidate: %v", id, err)
		}
	})
	if publish {
		c.audio, _ = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}, "mic", "local")
		c.video, _ = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "cam", "local")
	}
	cfg := PeerConfig{
		ID:           id,
		PublishAudio: publish,
		PublishVideo: publish,
		OnOffer: func(o Offer) {
			c.mu.Lock()
			c.offers = append(c.offers, o)
			c.mu.Unlock()
			c.post(func() { c.handleOffer(o) })
		},
		OnCandidate: func(ci webrtc.ICECandidateInit) {
			c.post(func() {
				if err := c.pc.AddICECandidate(ci); err != nil {
					c.errorf("%s: client AddICECandidate: %v", id, err)
				}
			})
		},
		OnState: func(s webrtc.PeerConnectionState) {
			c.mu.Lock()
			c.states = append(c.states, s)
			c.mu.Unlock()
		},
	}
	if adjust != nil {
		adjust(&cfg)
	}
	p, err := r.AddPeer(cfg)
	if err != nil {
		_ = pc.Close()
		t.Fatalf("AddPeer(%s): %v", id, err)
	}
	c.peer = p
	close(c.ready)
	c.goroutine(c.loop)
	t.Cleanup(c.close)
	return c
}

func (c *testClient) goroutine(f func()) {
	c.wgMu.Lock()
	defer c.wgMu.Unlock()
	if c.closing {
		return // a Pion callback as the client closes
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		f()
	}()
}

// errorf fails the test, unless the client is closing: then Pion's
// "connection closed" errors are expected.
func (c *testClient) errorf(format string, args ...any) {
	select {
	case <-c.done:
		return
	default:
	}
	c.t.Helper()
	c.t.Errorf(format, args...)
}

func (c *testClient) close() {
	select {
	case <-c.done:
		return
	default:
	}
	close(c.done)
	_ = c.pc.GracefulClose()
	c.wgMu.Lock()
	c.closing = true
	c.wgMu.Unlock()
	c.wg.Wait()
}

func (c *testClient) post(f func()) {
	c.evMu.Lock()
	c.events = append(c.events, f)
	c.evMu.Unlock()
	select {
	case c.evWake <- struct{}{}:
	default:
	}
}

func (c *testClient) loop() {
	for {
		select {
		case <-c.done:
			return
		case <-c.evWake:
		}
		c.evMu.Lock()
		evs := c.events
		c.events = nil
		c.evMu.Unlock()
		for _, f := range evs {
			f()
		}
	}
}

// handleOffer does what a browser client does with a server offer.
func (c *testClient) handleOffer(o Offer) {
	if c.ignoreOffers.Load() {
		return
	}
	if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: o.SDP}); err != nil {
		c.errorf("%s: SetRemoteDescription: %v", c.id, err)
		return
	}
	if c.publish && !c.sending {
		c.sending = true
		c.attach(c.audio, o.AudioMid, false)
		c.attach(c.video, o.VideoMid, true)
		c.goroutine(c.sendMedia)
	}
	answer, err := c.pc.CreateAnswer(nil)
	if err != nil {
		c.errorf("%s: CreateAnswer: %v", c.id, err)
		return
	}
	if err := c.pc.SetLocalDescription(answer); err != nil {
		c.errorf("%s: SetLocalDescription: %v", c.id, err)
		return
	}
	if err := c.peer.SetAnswer(answer.SDP); err != nil && !errors.Is(err, ErrClosed) {
		c.errorf("%s: SetAnswer: %v", c.id, err)
	}
}

// attach adds a local track the way a Pion client does (AddTrack reuses the
// transceiver made for the server's recvonly m-line) and checks it landed
// on the mid the server asked for.
func (c *testClient) attach(track *webrtc.TrackLocalStaticRTP, mid string, video bool) {
	sender, err := c.pc.AddTrack(track)
	if err != nil {
		c.t.Errorf("%s: AddTrack: %v", c.id, err)
		return
	}
	for _, tr := range c.pc.GetTransceivers() {
		if tr.Sender() == sender && tr.Mid() != mid {
			c.t.Errorf("%s: %s sent on mid %q, server asked for %q", c.id, track.Kind(), tr.Mid(), mid)
		}
	}
	c.goroutine(func() {
		for {
			pkts, _, err := sender.ReadRTCP()
			if err != nil {
				return
			}
			for _, p := range pkts {
				if _, ok := p.(*rtcp.PictureLossIndication); ok && video {
					c.mu.Lock()
					c.plis++
					c.mu.Unlock()
				}
				if n, ok := p.(*rtcp.TransportLayerNack); ok && video {
					c.mu.Lock()
					for _, pair := range n.Nacks {
						c.nacked = append(c.nacked, pair.PacketList()...)
					}
					c.mu.Unlock()
				}
			}
		}
	})
}

// sendMedia sends synthetic Opus and VP8 every 20ms until the client
// closes; every 10th video packet is a keyframe.
func (c *testClient) sendMedia() {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for i := uint32(0); ; i++ {
		select {
		case <-c.done:
			return
		case <-tick.C:
		}
		a := &rtp.Packet{
			Header:  rtp.Header{Version: 2, SequenceNumber: uint16(i), Timestamp: i * 960, Marker: true},
			Payload: testPayload(webrtc.RTPCodecTypeAudio, c.id, i),
		}
		v := &rtp.Packet{
			Header:  rtp.Header{Version: 2, SequenceNumber: uint16(i), Timestamp: i * 1800, Marker: true},
			Payload: testPayload(webrtc.RTPCodecTypeVideo, c.id, i),
		}
		_ = c.audio.WriteRTP(a)
		if c.dropVideo.Load() != i+1 {
			_ = c.video.WriteRTP(v)
		}
	}
}

const payloadIndexOffset = 11

// testPayload is the deterministic payload of packet i of a publisher's
// track, so a receiver can check forwarded payloads byte for byte. Video
// payloads carry a VP8 payload descriptor with S=1, PID=0 and a frame tag
// that is a keyframe (P=0, start code) when i%10 == 0.
func testPayload(kind webrtc.RTPCodecType, pub string, i uint32) []byte {
	b := make([]byte, payloadIndexOffset, 200)
	if kind == webrtc.RTPCodecTypeVideo {
		b[0] = 0x10
		if i%10 == 0 {
			copy(b[1:], []byte{0x50, 0x01, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01})
		} else {
			copy(b[1:], []byte{0x51, 0x01, 0x00})
		}
	} else {
		b[0] = 0xFC
	}
	b = binary.BigEndian.AppendUint32(b, i)
	b = append(b, pub...)
	h := fnv.New64a()
	_, _ = h.Write(b)
	for len(b) < 200 {
		b = h.Sum(b)
	}
	return b[:200]
}

func (c *testClient) onTrack(track *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	st := &recvStats{streamID: track.StreamID(), ssrc: track.SSRC(), seqs: make(map[uint16]int)}
	c.mu.Lock()
	c.recv[track.ID()] = st
	c.mu.Unlock()
	c.goroutine(func() {
		for {
			pkt, _, err := track.ReadRTP()
			if err != nil {
				c.mu.Lock()
				st.ended = true
				c.mu.Unlock()
				return
			}
			ok := len(pkt.Payload) == 200
			if ok {
				i := binary.BigEndian.Uint32(pkt.Payload[payloadIndexOffset:])
				ok = bytes.Equal(pkt.Payload, testPayload(track.Kind(), st.streamID, i))
			}
			c.mu.Lock()
			if ok {
				st.good++
				st.lastSeq = pkt.SequenceNumber
				st.seqs[pkt.SequenceNumber]++
			} else {
				st.bad++
			}
			c.mu.Unlock()
		}
	})
}

// stats returns a copy of the receive statistics of track id.
func (c *testClient) stats(id string) (recvStats, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	st, ok := c.recv[id]
	if !ok {
		return recvStats{}, false
	}
	cp := *st
	cp.seqs = maps.Clone(st.seqs)
	return cp, true
}

// receiving reports whether c got at least n good packets of both tracks
// of publisher pub, with the publisher's ID as stream ID.
func (c *testClient) receiving(pub string, n int) bool {
	for _, kind := range []string{"audio", "video"} {
		st, ok := c.stats(pub + "-" + kind)
		if !ok || st.streamID != pub || st.good < n {
			return false
		}
	}
	return true
}

func (c *testClient) pliCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.plis
}

func (c *testClient) firstOffer() (Offer, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.offers) == 0 {
		return Offer{}, false
	}
	return c.offers[0], true
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func countMsid(sdp, stream string) int {
	return strings.Count(sdp, "a=msid:"+stream+" ")
}
