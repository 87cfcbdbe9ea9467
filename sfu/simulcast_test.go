package sfu

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// simulcastRIDs are the test publisher's layers, lowest first, as a
// browser is asked to list them.
var simulcastRIDs = []string{"q", "h", "f"}

// scPublisher plays a browser publishing its camera as three simulcast
// encodings on the publisher connection (Peer.Publish): a Pion offerer
// with one sender of three RID tracks, as Pion's own simulcast tests
// have it. Each layer has its own sequence numbers, timestamps, VP8
// picture IDs (15-bit, starting near the wrap) and TL0PICIDX, and sends
// frames of two packets, a keyframe every 10 frames.
type scPublisher struct {
	pc     *webrtc.PeerConnection
	tracks []*webrtc.TrackLocalStaticRTP
	midExt uint8
	ridExt uint8
	mid    string
	done   chan struct{}
	wg     sync.WaitGroup
}

// simulcastAPI is a client API that can send simulcast: the default
// codecs, RTCP reports, and the MID and RID header extensions.
func simulcastAPI(t testing.TB) *webrtc.API {
	t.Helper()
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	if err := webrtc.ConfigureSimulcastExtensionHeaders(me); err != nil {
		t.Fatal(err)
	}
	ir := &interceptor.Registry{}
	if err := webrtc.ConfigureRTCPReports(ir); err != nil {
		t.Fatal(err)
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
}

// newSCPublisher publishes three layers through peer's Publish and starts
// sending. It is closed by t.Cleanup.
func newSCPublisher(t *testing.T, peer *Peer) *scPublisher {
	t.Helper()
	pc, err := simulcastAPI(t).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	c := &scPublisher{pc: pc, done: make(chan struct{})}
	t.Cleanup(c.close)
	var sender *webrtc.RTPSender
	for i, rid := range simulcastRIDs {
		tr, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "cam", "local", webrtc.WithRTPStreamID(rid))
		if err != nil {
			t.Fatal(err)
		}
		c.tracks = append(c.tracks, tr)
		if i == 0 {
			sender, err = pc.AddTrack(tr)
		} else {
			err = sender.AddEncoding(tr)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range sender.GetParameters().HeaderExtensions {
		switch e.URI {
		case sdp.SDESMidURI:
			c.midExt = uint8(e.ID)
		case sdp.SDESRTPStreamIDURI:
			c.ridExt = uint8(e.ID)
		}
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	answer, err := peer.Publish(pc.LocalDescription().SDP)
	if err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if !strings.Contains(answer, "a=simulcast:recv q;h;f") {
		t.Fatalf("the answer receives no simulcast:\n%s", answer)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		t.Fatal(err)
	}
	for _, tr := range pc.GetTransceivers() {
		if tr.Sender() == sender {
			c.mid = tr.Mid()
		}
	}
	c.wg.Add(2)
	go func() {
		defer c.wg.Done()
		c.send()
	}()
	go func() {
		defer c.wg.Done()
		for {
			if _, _, err := sender.ReadRTCP(); err != nil {
				return
			}
		}
	}()
	return c
}

func (c *scPublisher) close() {
	select {
	case <-c.done:
		return
	default:
	}
	close(c.done)
	_ = c.pc.Close()
	c.wg.Wait()
}

// Per-layer bases, so that the layers' numberings have nothing in common
// and the picture IDs and TL0PICIDX wrap during the test.
var (
	scSeqBase = []uint16{65500, 1000, 30000}
	scTSBase  = []uint32{4294000000, 7, 123456789}
	scPicBase = []uint16{32700, 100, 20000}
	scTL0Base = []uint8{240, 10, 77}
)

const scPacketsPerFrame = 2

// scPayload is packet k (0 or 1) of frame n of layer i: a VP8 payload
// descriptor with a 15-bit picture ID, TL0PICIDX and TID 0, then a frame
// tag (a keyframe's on the first packet of every 10th frame) and the
// layer, frame and packet numbers.
func scPayload(i int, n uint32, k int) []byte {
	b := make([]byte, 0, 64)
	first := byte(0x80) // X
	if k == 0 {
		first |= 0x10 // S
	}
	pic := (scPicBase[i] + uint16(n)) & 0x7fff
	b = append(b, first, 0xe0, 0x80|byte(pic>>8), byte(pic), scTL0Base[i]+uint8(n), 0x00)
	switch {
	case k != 0:
		b = append(b, 0xaa, 0xbb, 0xcc)
	case scKeyframe(i, n):
		b = append(b, 0x50, 0x01, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01)
	default:
		b = append(b, 0x51, 0x01, 0x00)
	}
	b = append(b, byte(i), byte(k))
	b = binary.BigEndian.AppendUint32(b, n)
	return append(b, bytes.Repeat([]byte{byte(i)}, 32)...)
}

func scKeyframe(i int, n uint32) bool { return (n+uint32(3*i))%10 == 0 }

// send sends a frame on every layer each 20 ms until close.
func (c *scPublisher) send() {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for n := uint32(0); ; n++ {
		select {
		case <-c.done:
			return
		case <-tick.C:
		}
		for i, tr := range c.tracks {
			for k := range scPacketsPerFrame {
				pkt := &rtp.Packet{
					Header: rtp.Header{
						Version:        2,
						SequenceNumber: scSeqBase[i] + uint16(n*scPacketsPerFrame) + uint16(k),
						Timestamp:      scTSBase[i] + n*1800,
						Marker:         k == scPacketsPerFrame-1,
					},
					Payload: scPayload(i, n, k),
				}
				_ = pkt.SetExtension(c.midExt, []byte(c.mid))
				_ = pkt.SetExtension(c.ridExt, []byte(tr.RID()))
				_ = tr.WriteRTP(pkt)
			}
		}
	}
}

// scRecv is one video packet as a subscriber got it.
type scRecv struct {
	seq   uint16
	ts    uint32
	desc  vp8Desc
	start bool
	layer int
	frame uint32
	part  int
	ok    bool // the payload, apart from picture ID and TL0PICIDX, is the one sent
}

// scRecorder records the publisher's video as a subscriber receives it.
type scRecorder struct {
	mu   sync.Mutex
	pkts []scRecv
}

func (r *scRecorder) onTrack(track *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	if track.Kind() != webrtc.RTPCodecTypeVideo {
		return
	}
	go func() {
		for {
			pkt, _, err := track.ReadRTP()
			if err != nil {
				return
			}
			r.record(pkt)
		}
	}()
}

func (r *scRecorder) record(pkt *rtp.Packet) {
	p := pkt.Payload
	rec := scRecv{seq: pkt.SequenceNumber, ts: pkt.Timestamp, desc: parseVP8Desc(p), start: len(p) > 0 && p[0]&0x10 != 0}
	if len(p) >= 6+2+4+32 {
		tail := p[len(p)-38:]
		rec.layer, rec.part = int(tail[0]), int(tail[1])
		rec.frame = binary.BigEndian.Uint32(tail[2:])
		if rec.layer < len(simulcastRIDs) {
			want := scPayload(rec.layer, rec.frame, rec.part)
			rec.ok = len(want) == len(p) && bytes.Equal(want[6:], p[6:]) && bytes.Equal(want[:2], p[:2]) && want[5] == p[5]
		}
	}
	r.mu.Lock()
	r.pkts = append(r.pkts, rec)
	r.mu.Unlock()
}

func (r *scRecorder) snapshot() []scRecv {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]scRecv(nil), r.pkts...)
}

// inOrder returns the packets received in sequence number order, once
// each: a packet lost on the way and resent on the subscriber's NACK
// arrives late, which is the network's doing, not the SFU's. It also
// returns how many arrived out of order or twice.
func inOrder(pkts []scRecv) (sorted []scRecv, late int) {
	type ext struct {
		n int64
		p scRecv
	}
	var xs []ext
	seen := map[int64]bool{}
	var high int64
	for i, p := range pkts {
		n := int64(p.seq)
		if i > 0 {
			n = high + int64(int16(p.seq-uint16(high)))
		}
		if i == 0 || n > high {
			high = n
		} else {
			late++
		}
		if !seen[n] {
			seen[n] = true
			xs = append(xs, ext{n, p})
		}
	}
	slices.SortFunc(xs, func(a, b ext) int { return cmp.Compare(a.n, b.n) })
	for _, x := range xs {
		sorted = append(sorted, x.p)
	}
	return sorted, late
}

// countLayer is how many packets of layer i were received from index from on.
func (r *scRecorder) countLayer(i, from int) int {
	n := 0
	for _, p := range r.snapshot()[from:] {
		if p.layer == i {
			n++
		}
	}
	return n
}

// A publisher offering three simulcast layers on its publisher connection
// is received as one video track with three layers; a subscriber asking
// for each layer in turn gets it from the layer's next keyframe on, with
// sequence numbers, timestamps, picture IDs and TL0PICIDX going on
// without a jump, and every payload intact.
func TestSimulcastLayerSwitch(t *testing.T) {
	s := newTestSFU(t)
	r := s.NewRouter("room")
	sub := newTestClient(t, r, "sub", false)
	rec := &scRecorder{}
	sub.pc.OnTrack(rec.onTrack)
	pubMain := newTestClient(t, r, "pub", false)
	newSCPublisher(t, pubMain.peer)

	waitFor(t, 10*time.Second, "three incoming layers", func() bool {
		st := s.Stats()
		return st.Layers == 3 && st.PublishedTracks == 1
	})
	waitFor(t, 10*time.Second, "the default layer", func() bool { return rec.countLayer(0, 0) >= 10 })
	if rid, ok := sub.peer.Layer("pub"); !ok || rid != "q" {
		t.Fatalf("Layer = %q, %v; want q", rid, ok)
	}
	for _, step := range []struct {
		rid   string
		layer int
	}{{"f", 2}, {"h", 1}, {"q", 0}, {"f", 2}} {
		from := len(rec.snapshot())
		if err := sub.peer.SetLayer("pub", step.rid); err != nil {
			t.Fatalf("SetLayer(%s): %v", step.rid, err)
		}
		waitFor(t, 10*time.Second, "layer "+step.rid, func() bool { return rec.countLayer(step.layer, from) >= 10 })
		if rid, _ := sub.peer.Layer("pub"); rid != step.rid {
			t.Fatalf("Layer = %q after the switch to %q", rid, step.rid)
		}
	}
	if err := sub.peer.SetLayer("pub", "x"); !errors.Is(err, ErrNoSuchLayer) {
		t.Errorf("SetLayer(x) = %v, want ErrNoSuchLayer", err)
	}
	if err := sub.peer.SetLayer("nobody", "q"); !errors.Is(err, ErrNoSuchLayer) {
		t.Errorf("SetLayer(nobody) = %v, want ErrNoSuchLayer", err)
	}
	waitFor(t, 5*time.Second, "the packets lost on the way to be resent", func() bool {
		pkts, _ := inOrder(rec.snapshot())
		for i := 1; i < len(pkts); i++ {
			if pkts[i].seq != pkts[i-1].seq+1 {
				return false
			}
		}
		return true
	})
	pkts, late := inOrder(rec.snapshot())
	switches := checkSimulcastStream(t, pkts)
	if switches != 4 {
		t.Errorf("%d layer changes seen, want 4", switches)
	}
	if st := s.Stats(); st.LayerSwitches != 4 {
		t.Errorf("Stats.LayerSwitches = %d, want 4", st.LayerSwitches)
	}
	t.Logf("%d packets received (%d late or repeated), %d layer switches", len(pkts), late, switches)
}

// checkSimulcastStream checks what a subscriber received across layer
// switches, and returns the number of switches.
func checkSimulcastStream(t *testing.T, pkts []scRecv) int {
	t.Helper()
	switches := 0
	for i, p := range pkts {
		if !p.ok {
			t.Fatalf("packet %d (seq %d): payload not as sent", i, p.seq)
		}
		if p.desc.picLen != 2 || p.desc.tl0Pos == 0 {
			t.Fatalf("packet %d: descriptor %+v", i, p.desc)
		}
		if i == 0 {
			if !p.desc.keyframe {
				t.Fatalf("first packet is not a keyframe")
			}
			continue
		}
		q := pkts[i-1]
		if p.seq != q.seq+1 {
			for j := max(0, i-14); j < min(len(pkts), i+4); j++ {
				t.Logf("%d: %+v", j, pkts[j])
			}
			t.Fatalf("packet %d: sequence number %d after %d", i, p.seq, q.seq)
		}
		newFrame := p.start
		if p.layer != q.layer {
			switches++
			if !p.desc.keyframe {
				t.Fatalf("packet %d: first of layer %d after layer %d is no keyframe", i, p.layer, q.layer)
			}
			if p.ts != q.ts+switchTSGap {
				t.Errorf("packet %d: timestamp %d after %d at a switch, want +%d", i, p.ts, q.ts, switchTSGap)
			}
		} else if d := p.ts - q.ts; (newFrame && d != 1800) || (!newFrame && d != 0) {
			t.Fatalf("packet %d: timestamp %d after %d", i, p.ts, q.ts)
		}
		wantPic, wantTL0 := q.desc.picID, q.desc.tl0
		if newFrame {
			wantPic, wantTL0 = (wantPic+1)&0x7fff, wantTL0+1
		}
		if p.desc.picID != wantPic || p.desc.tl0 != wantTL0 {
			t.Fatalf("packet %d (layer %d, frame %d): picture ID %d TL0PICIDX %d after %d %d",
				i, p.layer, p.frame, p.desc.picID, p.desc.tl0, q.desc.picID, q.desc.tl0)
		}
	}
	return switches
}

// Publish refuses an offer it cannot take, with ErrBadDescription.
func TestPublishRefusesBadOffers(t *testing.T) {
	s := newTestSFU(t)
	r := s.NewRouter("room")
	c := newTestClient(t, r, "pub", false)
	pub := newTestClient(t, r, "main", true)
	for _, x := range []*testClient{c, pub} {
		waitFor(t, 10*time.Second, x.id+" connected", func() bool {
			return x.pc.ConnectionState() == webrtc.PeerConnectionStateConnected
		})
	}
	rids := "a=rid:a send\r\na=rid:b send\r\na=rid:c send\r\na=rid:d send\r\na=simulcast:send a;b;c;d\r\n"
	for name, offer := range map[string]string{
		"garbage":     "hello",
		"no media":    "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n",
		"application": scOffer("application", ""),
		"two videos":  scOffer("video", "") + scOffer("video", "")[len("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"):],
		"four rids":   scOffer("video", rids),
	} {
		if _, err := c.peer.Publish(offer); !errors.Is(err, ErrBadDescription) {
			t.Errorf("%s: Publish = %v, want ErrBadDescription", name, err)
		}
	}
	if _, err := pub.peer.Publish(scOffer("video", "")); !errors.Is(err, ErrBadDescription) {
		t.Errorf("video of a peer publishing on its main connection: Publish = %v, want ErrBadDescription", err)
	}
}

// scOffer is a minimal offer with one m-line of kind and extra attributes.
func scOffer(kind, extra string) string {
	return fmt.Sprintf("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=%s 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendonly\r\n%s", kind, extra)
}

// PublishAsync hands the offer to the peer's run goroutine and returns
// without waiting for it: with run held busy it returns at once and
// answers nothing; once run goes on, a candidate the caller added after
// PublishAsync returned is applied after the offer (not ErrNoOfferPending),
// and answered gets the answer with the server's candidates.
func TestPublishAsyncDoesNotWait(t *testing.T) {
	s := newTestSFU(t)
	c := newTestClient(t, s.NewRouter("room"), "pub", false)
	waitFor(t, 10*time.Second, "connected", func() bool {
		return c.pc.ConnectionState() == webrtc.PeerConnectionStateConnected
	})
	pc, err := simulcastAPI(t).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
		t.Fatal(err)
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}

	release := make(chan struct{})
	if !c.peer.enqueue(func() { <-release }) {
		t.Fatal("peer closed")
	}
	type result struct {
		sdp string
		err error
	}
	answered := make(chan result, 1)
	returned := make(chan error, 1)
	go func() {
		returned <- c.peer.PublishAsync(offer.SDP, func(sdp string, err error) { answered <- result{sdp, err} })
	}()
	select {
	case err := <-returned:
		if err != nil {
			close(release)
			t.Fatalf("PublishAsync: %v", err)
		}
	case <-time.After(5 * time.Second):
		close(release)
		t.Fatal("PublishAsync waited for the peer's run goroutine")
	}
	select {
	case r := <-answered:
		close(release)
		t.Fatalf("answered %v while run was held", r.err)
	default:
	}
	mid := "0"
	added := make(chan error, 1)
	go func() {
		added <- c.peer.AddPublishCandidate(webrtc.ICECandidateInit{Candidate: "candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host", SDPMid: &mid})
	}()
	close(release)
	if err := <-added; err != nil {
		t.Errorf("AddPublishCandidate after PublishAsync: %v, want it applied after the offer", err)
	}
	select {
	case r := <-answered:
		if r.err != nil || !strings.Contains(r.sdp, "a=candidate:") {
			t.Fatalf("answered %v, sdp:\n%s", r.err, r.sdp)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no answer")
	}
	if err := c.peer.PublishAsync("hello", func(string, error) { t.Error("answered a malformed offer") }); !errors.Is(err, ErrBadDescription) {
		t.Errorf("PublishAsync(malformed) = %v, want ErrBadDescription at once", err)
	}
}
