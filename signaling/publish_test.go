package signaling

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/parley-dev/parley/client"
	"github.com/parley-dev/parley/signaling/protocol"
)

// pubRIDs are the v2 test publisher's camera layers, lowest first.
var pubRIDs = []string{"q", "h", "f"}

// v2Publisher is a protocol-version-2 client through the real WebSocket:
// a main PeerConnection that answers the server's offers (and carries
// nothing of its own), and a publisher PeerConnection on which it offers
// a microphone and a camera of three simulcast layers, as a browser does
// with sendEncodings. Its video payloads say which layer they are from.
type v2Publisher struct {
	t    *testing.T
	conn *rawConn
	main *webrtc.PeerConnection
	pub  *webrtc.PeerConnection

	audio  *webrtc.TrackLocalStaticRTP
	layers []*webrtc.TrackLocalStaticRTP
	midExt uint8
	ridExt uint8
	mid    string

	wmu sync.Mutex // serializes writes

	mu      sync.Mutex
	id      string
	joined  *protocol.Joined
	resumed *protocol.Resumed
	offers  []*protocol.Offer
	errs    []protocol.Error
	answers chan *protocol.PublishAnswer
	order   []string // "pong <id>" and "publish-answer", as they arrived

	afterOffer []any // written with publish's publish-offer, in the same TCP write

	done chan struct{} // closed when the read loop ends
	stop chan struct{} // ends the sender
	wg   sync.WaitGroup
}

// simulcastClientAPI is a Pion API that can send simulcast: the default
// codecs and interceptors plus the MID and RID header extensions.
func simulcastClientAPI(t *testing.T) *webrtc.API {
	t.Helper()
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	if err := webrtc.ConfigureSimulcastExtensionHeaders(me); err != nil {
		t.Fatal(err)
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(me, ir); err != nil {
		t.Fatal(err)
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
}

// joinV2 joins as a version-2 client declaring audio and video, and waits
// for joined. Nothing is published until publish. prepare, if not nil,
// is given the main connection before anything is negotiated on it.
func (ts *testServer) joinV2(name string, prepare ...func(main *webrtc.PeerConnection)) *v2Publisher {
	ts.t.Helper()
	api := simulcastClientAPI(ts.t)
	mainPC, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		ts.t.Fatal(err)
	}
	pubPC, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		ts.t.Fatal(err)
	}
	for _, f := range prepare {
		f(mainPC)
	}
	c := &v2Publisher{t: ts.t, conn: ts.dial(0), main: mainPC, pub: pubPC,
		answers: make(chan *protocol.PublishAnswer, 4), done: make(chan struct{}), stop: make(chan struct{})}
	ts.t.Cleanup(c.close)
	mainPC.OnICECandidate(func(cand *webrtc.ICECandidate) {
		if cand != nil {
			c.write(protocol.Candidate{Type: protocol.TypeCandidate, Candidate: fromICECandidateInit(cand.ToJSON())})
		}
	})
	// The publisher connection's candidates are trickled, tagged with
	// their target.
	pubPC.OnICECandidate(func(cand *webrtc.ICECandidate) {
		if cand != nil {
			c.write(protocol.Candidate{Type: protocol.TypeCandidate, Candidate: fromICECandidateInit(cand.ToJSON()), Target: protocol.TargetPublisher})
		}
	})
	c.write(protocol.Join{Type: protocol.TypeJoin, Version: 2, Token: ts.token(), Name: name, Publish: protocol.Publish{Audio: true, Video: true}})
	go c.loop()
	waitFor(ts.t, 10*time.Second, name+" joined", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.joined != nil
	})
	return c
}

func (c *v2Publisher) write(msg any) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.conn.conn.WriteJSON(msg)
}

// sendPublishOffer sets offer on the publisher connection and sends it,
// with afterOffer, before any candidate that it gathers: the candidates'
// writes wait for wmu.
func (c *v2Publisher) sendPublishOffer(offer webrtc.SessionDescription) {
	c.t.Helper()
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.pub.SetLocalDescription(offer); err != nil {
		c.t.Fatal(err)
	}
	msgs := append([]any{protocol.PublishOffer{Type: protocol.TypePublishOffer, SDP: offer.SDP}}, c.afterOffer...)
	if _, err := c.conn.conn.UnderlyingConn().Write(textFrames(c.t, msgs)); err != nil {
		c.t.Errorf("write publish-offer: %v", err)
	}
}

// textFrames returns msgs as WebSocket text frames for one write on the
// TCP connection, so that the server has them all to read at once;
// masked, as a client's must be (RFC 6455 §5.3).
func textFrames(t *testing.T, msgs []any) []byte {
	var buf []byte
	for _, m := range msgs {
		data, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		buf = append(buf, 0x81) // FIN, text
		switch n := len(data); {
		case n < 126:
			buf = append(buf, 0x80|byte(n))
		case n <= 0xffff:
			buf = append(buf, 0x80|126, byte(n>>8), byte(n))
		default:
			buf = append(buf, 0x80|127)
			buf = binary.BigEndian.AppendUint64(buf, uint64(n))
		}
		key := [4]byte{0x5a, 0x17, 0xc3, 0x0e}
		buf = append(buf, key[:]...)
		for i, b := range data {
			buf = append(buf, b^key[i%4])
		}
	}
	return buf
}

// loop reads the server's messages until the connection ends.
func (c *v2Publisher) loop() {
	defer close(c.done)
	for {
		_, data, err := c.conn.conn.ReadMessage()
		if err != nil {
			return
		}
		msg, perr := protocol.Decode(data)
		if perr != nil {
			continue
		}
		switch m := msg.(type) {
		case *protocol.Joined:
			c.mu.Lock()
			c.joined, c.id = m, m.ParticipantID
			c.mu.Unlock()
		case *protocol.Resumed:
			c.mu.Lock()
			c.resumed = m
			c.mu.Unlock()
		case *protocol.Offer:
			c.mu.Lock()
			c.offers = append(c.offers, m)
			c.mu.Unlock()
			c.answer(m)
		case *protocol.Candidate:
			c.main.AddICECandidate(toICECandidateInit(m.Candidate))
		case *protocol.PublishAnswer:
			c.mu.Lock()
			c.order = append(c.order, protocol.TypePublishAnswer)
			c.mu.Unlock()
			c.answers <- m
		case *protocol.Pong:
			c.mu.Lock()
			c.order = append(c.order, protocol.TypePong+" "+m.ID)
			c.mu.Unlock()
		case *protocol.Error:
			c.mu.Lock()
			c.errs = append(c.errs, *m)
			c.mu.Unlock()
		}
	}
}

func (c *v2Publisher) answer(o *protocol.Offer) {
	if err := c.main.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: o.SDP}); err != nil {
		return
	}
	a, err := c.main.CreateAnswer(nil)
	if err != nil {
		return
	}
	if err := c.main.SetLocalDescription(a); err != nil {
		return
	}
	c.write(protocol.Answer{Type: protocol.TypeAnswer, SDP: a.SDP})
}

// publish offers a microphone and a three-layer camera on the publisher
// connection, applies the answer and starts sending.
func (c *v2Publisher) publish() *protocol.PublishAnswer {
	t := c.t
	t.Helper()
	var err error
	c.audio, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "mic", "local")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.pub.AddTransceiverFromTrack(c.audio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
		t.Fatal(err)
	}
	var sender *webrtc.RTPSender
	for i, rid := range pubRIDs {
		tr, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "cam", "local", webrtc.WithRTPStreamID(rid))
		if err != nil {
			t.Fatal(err)
		}
		c.layers = append(c.layers, tr)
		if i == 0 {
			var vt *webrtc.RTPTransceiver
			vt, err = c.pub.AddTransceiverFromTrack(tr, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
			if err == nil {
				sender = vt.Sender()
			}
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
	offer, err := c.pub.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	c.sendPublishOffer(offer)
	var answer *protocol.PublishAnswer
	select {
	case answer = <-c.answers:
	case <-time.After(10 * time.Second):
		t.Fatalf("no publish-answer; errors %+v", c.errors())
	}
	if err := c.pub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer.SDP}); err != nil {
		t.Fatalf("apply publish-answer: %v", err)
	}
	for _, tr := range c.pub.GetTransceivers() {
		if tr.Sender() == sender {
			c.mid = tr.Mid()
		}
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.send()
	}()
	return answer
}

// pubPayload is frame n of layer i: a VP8 payload descriptor (RFC 7741
// §4.2: X, S, a 15-bit picture ID, TL0PICIDX, TID 0), a frame tag (a
// keyframe on every 10th frame, RFC 6386 §9.1), then the layer and frame
// numbers, which the subscriber reads back.
func pubPayload(i int, n uint32) []byte {
	b := make([]byte, 0, 64)
	pic := uint16(1000*i) + uint16(n)
	b = append(b, 0x90, 0xe0, 0x80|byte(pic>>8&0x7f), byte(pic), byte(n), 0x00)
	if (n+uint32(3*i))%10 == 0 {
		b = append(b, 0x50, 0x01, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01)
	} else {
		b = append(b, 0x51, 0x01, 0x00)
	}
	b = append(b, 0xee, byte(i))
	return binary.BigEndian.AppendUint32(b, n)
}

// pubLayerOf returns the layer a received video payload came from, or -1.
func pubLayerOf(p []byte) int {
	if len(p) < 6 || p[len(p)-6] != 0xee {
		return -1
	}
	return int(p[len(p)-5])
}

// send sends audio and a frame on every layer every 20 ms until close.
func (c *v2Publisher) send() {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for n := uint32(0); ; n++ {
		select {
		case <-c.stop:
			return
		case <-tick.C:
		}
		_ = c.audio.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(n), Timestamp: n * 960}, Payload: []byte{0xfc, 1, 2, 3}})
		for i, tr := range c.layers {
			pkt := &rtp.Packet{
				Header:  rtp.Header{Version: 2, SequenceNumber: uint16(7000*i) + uint16(n), Timestamp: uint32(i)*1e6 + n*1800, Marker: true},
				Payload: pubPayload(i, n),
			}
			_ = pkt.SetExtension(c.midExt, []byte(c.mid))
			_ = pkt.SetExtension(c.ridExt, []byte(tr.RID()))
			_ = tr.WriteRTP(pkt)
		}
	}
}

// reoffer sends a publish-offer that renegotiates the publisher
// connection (restarting ICE if restart) and applies the answer.
func (c *v2Publisher) reoffer(restart bool) *protocol.PublishAnswer {
	t := c.t
	t.Helper()
	offer, err := c.pub.CreateOffer(&webrtc.OfferOptions{ICERestart: restart})
	if err != nil {
		t.Fatal(err)
	}
	c.sendPublishOffer(offer)
	var answer *protocol.PublishAnswer
	select {
	case answer = <-c.answers:
	case <-time.After(10 * time.Second):
		t.Fatalf("no publish-answer to the new offer; errors %+v", c.errors())
	}
	if err := c.pub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer.SDP}); err != nil {
		t.Fatalf("apply publish-answer: %v", err)
	}
	return answer
}

// resume drops the WebSocket without leave and takes the place back on
// a new one (version 2), as a browser does after a network blip.
func (c *v2Publisher) resume(ts *testServer) *protocol.Resumed {
	t := c.t
	t.Helper()
	c.mu.Lock()
	token := c.joined.ResumeToken
	c.mu.Unlock()
	c.wmu.Lock()
	c.conn.conn.Close()
	c.wmu.Unlock()
	<-c.done
	c.wmu.Lock()
	c.conn = ts.dial(0)
	c.done = make(chan struct{})
	c.wmu.Unlock()
	c.write(protocol.Resume{Type: protocol.TypeResume, Version: 2, ParticipantID: c.id, Token: token})
	go c.loop()
	var r *protocol.Resumed
	waitFor(t, 10*time.Second, "resumed", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		r = c.resumed
		return r != nil
	})
	return r
}

func (c *v2Publisher) errors() []protocol.Error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]protocol.Error(nil), c.errs...)
}

func (c *v2Publisher) close() {
	select {
	case <-c.stop:
		return
	default:
	}
	close(c.stop)
	c.wg.Wait()
	c.conn.conn.Close()
	<-c.done
	c.pub.Close()
	c.main.Close()
}

// layerCounter counts the video packets a subscriber receives from each
// layer of the publisher's camera.
type layerCounter struct {
	mu     sync.Mutex
	counts [3]int
	last   int
	other  int // packets from no layer (corrupted)
}

func (l *layerCounter) onTrack(_ string, track *webrtc.TrackRemote) {
	go func() {
		for {
			pkt, _, err := track.ReadRTP()
			if err != nil {
				return
			}
			if track.Kind() != webrtc.RTPCodecTypeVideo {
				continue
			}
			l.mu.Lock()
			if i := pubLayerOf(pkt.Payload); i >= 0 && i < 3 {
				l.counts[i]++
				l.last = i
			} else {
				l.other++
			}
			l.mu.Unlock()
		}
	}()
}

func (l *layerCounter) get() (counts [3]int, last int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.counts, l.last
}

// A version-2 client publishing a microphone and a three-layer camera on
// its publisher connection, through the real WebSocket, arrives as four
// incoming streams; a version-1 subscriber starts on the lowest layer and
// set-layer moves it to each layer in turn, while the publisher's main
// connection carries nothing of its own.
func TestPublisherConnectionSimulcast(t *testing.T) {
	ts := startTestServer(t, Config{}, 0)
	alice := ts.joinV2("alice")
	if alice.joined.Version != 2 {
		t.Errorf("joined.version = %d, want 2", alice.joined.Version)
	}
	answer := alice.publish()
	if !strings.Contains(answer.SDP, "a=simulcast:recv q;h;f") || !strings.Contains(answer.SDP, "a=candidate:") {
		t.Fatalf("publish-answer has no simulcast or no candidates:\n%s", answer.SDP)
	}
	layers := &layerCounter{}
	bob := ts.joinWith(client.Config{Link: "testlink", Name: "bob", OnTrack: layers.onTrack})
	waitFor(t, 15*time.Second, "four incoming streams (audio and three layers)", func() bool {
		st := ts.sfu.Stats()
		return st.Layers == 4 && st.PublishedTracks == 2
	})
	waitFor(t, 10*time.Second, "bob receiving layer q", func() bool {
		c, last := layers.get()
		return c[0] >= 20 && last == 0
	})

	for _, step := range []struct {
		rid   string
		layer int
	}{{"f", 2}, {"h", 1}, {"q", 0}, {"f", 2}} {
		before, _ := layers.get()
		if err := bob.Send(protocol.SetLayer{Type: protocol.TypeSetLayer, ParticipantID: alice.id, Layer: step.rid}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "bob receiving layer "+step.rid, func() bool {
			c, last := layers.get()
			return last == step.layer && c[step.layer] >= before[step.layer]+20
		})
	}
	layers.mu.Lock()
	if layers.other != 0 {
		t.Errorf("%d video packets from no layer", layers.other)
	}
	layers.mu.Unlock()
	if st := ts.sfu.Stats(); st.LayerSwitches != 4 {
		t.Errorf("LayerSwitches = %d, want 4", st.LayerSwitches)
	}

	// The main connection's offers name nothing to publish on.
	alice.mu.Lock()
	for _, o := range alice.offers {
		if o.Publish != (protocol.PublishMids{}) {
			t.Errorf("an offer to a version-2 client names publish mids %+v", o.Publish)
		}
	}
	alice.mu.Unlock()
	if errs := alice.errors(); len(errs) > 0 {
		t.Errorf("alice got errors %+v", errs)
	}
	if errs := bob.State().Errors; len(errs) > 0 {
		t.Errorf("bob got errors %+v", errs)
	}
	undisturbed(t, bob)
}

// A version-2 client cannot publish on its main connection too: the
// server's offers there name nothing to send on, and audio it sends on
// the m-line it is offered anyway is not forwarded; its publisher
// connection's tracks are.
func TestVersion2PublishesOnlyOnThePublisherConnection(t *testing.T) {
	ts := startTestServer(t, Config{}, 0)
	stray, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "stray", "local")
	if err != nil {
		t.Fatal(err)
	}
	alice := ts.joinV2("alice", func(main *webrtc.PeerConnection) {
		if _, err := main.AddTrack(stray); err != nil {
			t.Fatal(err)
		}
	})
	waitFor(t, 10*time.Second, "alice's main connection", func() bool {
		return alice.main.ConnectionState() == webrtc.PeerConnectionStateConnected
	})
	if !strings.Contains(alice.main.LocalDescription().SDP, "a=sendrecv") && !strings.Contains(alice.main.LocalDescription().SDP, "a=sendonly") {
		t.Fatalf("the test's client does not send on its main connection:\n%s", alice.main.LocalDescription().SDP)
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for n := uint16(0); ; n++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			stray.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: n, Timestamp: uint32(n) * 960}, Payload: []byte{0xfc, 9, 9, 9}})
		}
	}()
	defer func() { close(stop); <-done }()
	alice.publish()
	waitFor(t, 15*time.Second, "the publisher connection's four streams", func() bool {
		st := ts.sfu.Stats()
		return st.Layers == 4 && st.PublishedTracks == 2
	})
	time.Sleep(500 * time.Millisecond) // the stray audio has been arriving all along
	if st := ts.sfu.Stats(); st.Layers != 4 || st.PublishedTracks != 2 {
		t.Errorf("%d layers, %d tracks published: the main connection's audio was taken", st.Layers, st.PublishedTracks)
	}
}

// A version-2 publisher whose WebSocket drops resumes as version 2 and
// restarts ICE on its publisher connection with a new publish-offer; its
// layers go on reaching the subscriber, who can still switch them.
func TestPublisherConnectionResume(t *testing.T) {
	ts := startTestServer(t, Config{}, 0)
	alice := ts.joinV2("alice")
	first := alice.publish()
	layers := &layerCounter{}
	bob := ts.joinWith(client.Config{Link: "testlink", Name: "bob", OnTrack: layers.onTrack})
	waitFor(t, 15*time.Second, "alice's four streams", func() bool { return ts.sfu.Stats().Layers == 4 })
	if err := bob.Send(protocol.SetLayer{Type: protocol.TypeSetLayer, ParticipantID: alice.id, Layer: "h"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "bob receiving layer h", func() bool { c, last := layers.get(); return last == 1 && c[1] > 10 })

	r := alice.resume(ts)
	if r.Version != 2 || r.ParticipantID != alice.id {
		t.Errorf("resumed version %d as %s, want version 2 as %s", r.Version, r.ParticipantID, alice.id)
	}
	again := alice.reoffer(true)
	if iceUfrag(again.SDP) == "" || iceUfrag(again.SDP) == iceUfrag(first.SDP) {
		t.Errorf("the publish-answer to an ICE restart has ufrag %q, the first had %q", iceUfrag(again.SDP), iceUfrag(first.SDP))
	}
	waitFor(t, 10*time.Second, "the publisher connection up again", func() bool {
		return alice.pub.ConnectionState() == webrtc.PeerConnectionStateConnected
	})
	before, _ := layers.get()
	if err := bob.Send(protocol.SetLayer{Type: protocol.TypeSetLayer, ParticipantID: alice.id, Layer: "f"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "bob receiving layer f after alice's resume", func() bool {
		c, last := layers.get()
		return last == 2 && c[2] > before[2]+10
	})
	if st := ts.sfu.Stats(); st.Layers != 4 || st.PublishedTracks != 2 {
		t.Errorf("after the resume: %d layers, %d tracks published, want 4 and 2", st.Layers, st.PublishedTracks)
	}
	if errs := alice.errors(); len(errs) > 0 {
		t.Errorf("alice got errors %+v", errs)
	}
	undisturbed(t, bob)
}

// set-layer's refusals: each a documented error, and the connection stays.
func TestSetLayerErrors(t *testing.T) {
	ts := startTestServer(t, Config{}, 0)
	alice := ts.joinV2("alice")
	alice.publish()
	// carol: version 1, a camera of one layer.
	carol := ts.joinWith(client.Config{Link: "testlink", Name: "carol", PublishVideo: true})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for n := uint32(0); ; n++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			carol.Video.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(n), Timestamp: n * 1800, Marker: true}, Payload: pubPayload(0, n)})
		}
	}()
	t.Cleanup(func() { close(stop); wg.Wait() })
	raw := ts.dial(0)
	id := raw.joinCall(ts, "bob")
	waitFor(t, 15*time.Second, "alice's layers and carol's tracks", func() bool {
		st := ts.sfu.Stats()
		return st.PublishedTracks == 3 && st.Layers == 5
	})
	for _, c := range []struct {
		msg  protocol.SetLayer
		code string
	}{
		{protocol.SetLayer{ParticipantID: "", Layer: "h"}, protocol.CodeBadRequest},
		{protocol.SetLayer{ParticipantID: id, Layer: "h"}, protocol.CodeBadRequest},
		{protocol.SetLayer{ParticipantID: alice.id, Layer: strings.Repeat("h", 17)}, protocol.CodeBadRequest},
		{protocol.SetLayer{ParticipantID: "p_nobody", Layer: "h"}, protocol.CodeUnknownParticipant},
	} {
		c.msg.Type = protocol.TypeSetLayer
		raw.send(c.msg)
		if e := raw.expectError(c.code); e.Ref != protocol.TypeSetLayer {
			t.Errorf("%+v: error ref %q", c.msg, e.Ref)
		}
	}
	raw.expectAlive()

	// set-layer is rate-limited like every message: a burst past the
	// limit is answered rate-limited, and the connection stays.
	for range 80 {
		raw.send(protocol.SetLayer{Type: protocol.TypeSetLayer, ParticipantID: alice.id, Layer: "q"})
	}
	raw.expectError(protocol.CodeRateLimited)
	time.Sleep(time.Second) // the bucket refills
	raw.expectAlive()

	// A subscriber with down-tracks: a RID alice did not offer, a camera
	// without simulcast, whose one layer is "", and bob, who publishes
	// nothing.
	dave := ts.join("dave", false)
	waitFor(t, 10*time.Second, "dave's down-tracks", func() bool { return len(dave.RemoteSDP()) > 0 && strings.Count(dave.RemoteSDP(), "a=msid:") >= 3 })
	for _, c := range []struct {
		msg  protocol.SetLayer
		code string
	}{
		{protocol.SetLayer{ParticipantID: alice.id, Layer: "x"}, protocol.CodeNoSuchLayer},
		{protocol.SetLayer{ParticipantID: id, Layer: ""}, protocol.CodeNoSuchLayer},
		{protocol.SetLayer{ParticipantID: carol.ID, Layer: "h"}, protocol.CodeNoSuchLayer},
		{protocol.SetLayer{ParticipantID: carol.ID, Layer: ""}, ""},
		{protocol.SetLayer{ParticipantID: alice.id, Layer: "f"}, ""},
	} {
		// A marker the server refuses follows each message: the errors
		// up to the marker's are the message's, in order.
		c.msg.Type = protocol.TypeSetLayer
		marker := protocol.SetLayer{Type: protocol.TypeSetLayer, Layer: "marker"}
		n := len(dave.State().Errors)
		if err := dave.Send(c.msg); err != nil {
			t.Fatal(err)
		}
		if err := dave.Send(marker); err != nil {
			t.Fatal(err)
		}
		var errs []protocol.Error
		waitFor(t, 5*time.Second, "the marker's error", func() bool {
			errs = dave.State().Errors[n:]
			return len(errs) > 0 && strings.Contains(errs[len(errs)-1].Message, "participantId is empty")
		})
		errs = errs[:len(errs)-1]
		switch {
		case c.code == "" && len(errs) > 0:
			t.Errorf("%+v: errors %+v", c.msg, errs)
		case c.code != "" && (len(errs) != 1 || errs[0].Code != c.code):
			t.Errorf("%+v: errors %+v, want one %s", c.msg, errs, c.code)
		}
	}
}

// manyCandidates is n distinct a=candidate lines.
func manyCandidates(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "a=candidate:%d 1 udp 2130706431 127.0.0.1 %d typ host\r\n", i+1, 20000+i)
	}
	return b.String()
}

// publish-offer and publisher candidates: what is refused, and how.
func TestPublishOfferErrors(t *testing.T) {
	ts := startTestServer(t, Config{}, 0)
	videoOffer := "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendonly\r\na=rtpmap:96 VP8/90000\r\n"
	cand := protocol.ICECandidate{Candidate: "candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host"}

	// Version 1: no publisher connection.
	v1 := ts.dial(0)
	v1.send(protocol.Join{Type: protocol.TypeJoin, Version: 1, Token: ts.token(), Name: "v1"})
	for {
		if _, ok := v1.next().(*protocol.Joined); ok {
			break
		}
	}
	v1.send(protocol.PublishOffer{Type: protocol.TypePublishOffer, SDP: videoOffer})
	v1.expectError(protocol.CodeBadRequest)
	v1.send(protocol.Candidate{Type: protocol.TypeCandidate, Candidate: cand, Target: protocol.TargetPublisher})
	v1.expectError(protocol.CodeBadRequest)
	v1.expectAlive()

	// Version 2, declaring audio only.
	v2 := ts.dial(0)
	v2.send(protocol.Join{Type: protocol.TypeJoin, Version: 2, Token: ts.token(), Name: "v2", Publish: protocol.Publish{Audio: true}})
	for joined := false; !joined; {
		switch m := v2.next().(type) {
		case *protocol.Joined:
			joined = true
			if m.Version != 2 {
				t.Errorf("joined.version = %d, want 2", m.Version)
			}
		case *protocol.Error:
			t.Fatalf("join: %s", m.Code)
		}
	}
	for _, c := range []struct {
		name string
		msg  any
		code string
	}{
		{"candidate before the offer", protocol.Candidate{Type: protocol.TypeCandidate, Candidate: cand, Target: protocol.TargetPublisher}, protocol.CodeBadRequest},
		{"unknown target", protocol.Candidate{Type: protocol.TypeCandidate, Candidate: cand, Target: "sideways"}, protocol.CodeBadRequest},
		{"empty sdp", protocol.PublishOffer{Type: protocol.TypePublishOffer}, protocol.CodeBadRequest},
		{"undeclared video", protocol.PublishOffer{Type: protocol.TypePublishOffer, SDP: videoOffer}, protocol.CodeBadRequest},
		{"garbage", protocol.PublishOffer{Type: protocol.TypePublishOffer, SDP: "hello"}, protocol.CodeBadSDP},
		{"65 candidates", protocol.PublishOffer{Type: protocol.TypePublishOffer, SDP: strings.Replace(videoOffer, "m=video", "m=audio", 1) + manyCandidates(65)}, protocol.CodeTooManyCandidates},
		{"four RIDs", protocol.PublishOffer{Type: protocol.TypePublishOffer, SDP: strings.Replace(videoOffer, "m=video", "m=audio", 1) +
			"a=rid:a send\r\na=rid:b send\r\na=rid:c send\r\na=rid:d send\r\na=simulcast:send a;b;c;d\r\n"}, protocol.CodeBadSDP},
	} {
		v2.send(c.msg)
		e := v2.expectError(c.code)
		t.Logf("%s: %s: %s", c.name, e.Code, e.Message)
	}
	v2.expectAlive()

	// Versions the server does not speak.
	for _, v := range []int{0, 3} {
		c := ts.dial(0)
		c.send(protocol.Join{Type: protocol.TypeJoin, Version: v, Token: ts.token(), Name: "x"})
		c.expectError(protocol.CodeBadVersion)
		c.expectClose(websocket.ClosePolicyViolation, protocol.CodeBadVersion)
	}

	// A version-1 join is answered as version 1.
	old := ts.dial(0)
	old.send(protocol.Join{Type: protocol.TypeJoin, Version: 1, Token: ts.token(), Name: "old"})
	for {
		if m, ok := old.next().(*protocol.Joined); ok {
			if m.Version != 1 {
				t.Errorf("joined.version = %d for a version-1 join", m.Version)
			}
			break
		}
	}
}

// TestPublishOfferDoesNotHoldTheReader: while the server answers a
// publish-offer (it applies the offer, then gathers its candidates for the
// answer), the session goes on reading: a ping that arrives with the
// offer, in the same TCP write, can be answered before the
// publish-answer. A reader that answered the offer itself could never
// answer the ping first; one that hands the offer on nearly always does,
// but the answer takes only a millisecond or two and the reader may be
// descheduled that long, so the test tries a few clients and wants one
// pong first. What the clients trickle after the offer still applies
// after it: their media arrives.
func TestPublishOfferDoesNotHoldTheReader(t *testing.T) {
	ts := startTestServer(t, Config{}, 0)
	const tries = 4
	var orders [][]string
	for i := range tries {
		c := ts.joinV2(fmt.Sprintf("client %d", i))
		c.afterOffer = []any{protocol.Ping{Type: protocol.TypePing, ID: "during"}}
		c.publish()
		waitFor(t, 5*time.Second, "the pong", func() bool {
			c.mu.Lock()
			defer c.mu.Unlock()
			return len(c.order) == 2
		})
		c.mu.Lock()
		order := slices.Clone(c.order)
		c.mu.Unlock()
		if errs := c.errors(); len(errs) != 0 {
			t.Errorf("client %d: errors %+v", i, errs)
		}
		waitFor(t, 15*time.Second, "the client's four streams (audio and three layers)", func() bool {
			st := ts.sfu.Stats()
			return st.Layers == 4*(i+1) && st.PublishedTracks == 2*(i+1)
		})
		orders = append(orders, order)
		if order[0] == "pong during" {
			return
		}
	}
	t.Errorf("received %q: in %d tries, the ping always waited for the publish-offer's answer", orders, tries)
}
