package sfu

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// mediaLine is one m-line of an offer, as a test reads it.
type mediaLine struct {
	kind      string // "audio" or "video"
	mid       string
	direction string // sendonly, recvonly, inactive...
	stream    string // the msid stream id, "" if none
	ssrc      string // the first a=ssrc, "" if none
}

// mediaLines parses the m-lines of sdp.
func mediaLines(sdp string) []mediaLine {
	var ms []mediaLine
	for line := range strings.Lines(sdp) {
		line = strings.TrimRight(line, "\r\n")
		if v, ok := strings.CutPrefix(line, "m="); ok {
			kind, _, _ := strings.Cut(v, " ")
			ms = append(ms, mediaLine{kind: kind})
			continue
		}
		if len(ms) == 0 {
			continue
		}
		m := &ms[len(ms)-1]
		switch {
		case strings.HasPrefix(line, "a=mid:"):
			m.mid = strings.TrimPrefix(line, "a=mid:")
		case line == "a=sendonly" || line == "a=recvonly" || line == "a=sendrecv" || line == "a=inactive":
			m.direction = strings.TrimPrefix(line, "a=")
		case strings.HasPrefix(line, "a=msid:"):
			m.stream, _, _ = strings.Cut(strings.TrimPrefix(line, "a=msid:"), " ")
		case strings.HasPrefix(line, "a=ssrc:") && m.ssrc == "":
			m.ssrc, _, _ = strings.Cut(strings.TrimPrefix(line, "a=ssrc:"), " ")
		}
	}
	return ms
}

// linesOf returns the m-lines of ms whose stream is stream, by kind.
func linesOf(ms []mediaLine, stream string) map[string]mediaLine {
	out := make(map[string]mediaLine)
	for _, m := range ms {
		if m.stream == stream {
			out[m.kind] = m
		}
	}
	return out
}

func (c *testClient) lastOffer() Offer {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.offers) == 0 {
		return Offer{}
	}
	return c.offers[len(c.offers)-1]
}

// settled reports whether c's peer has no operation queued and no offer
// outstanding or due, and whether its last offer has no m-line of any of
// the streams gone.
func (c *testClient) settled(t *testing.T, gone ...string) bool {
	t.Helper()
	ok := false
	if err := c.peer.call(func() error {
		c.peer.qmu.Lock()
		ok = len(c.peer.queue) == 0 && !c.peer.offerOutstanding && !c.peer.needOffer
		c.peer.qmu.Unlock()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	ms := mediaLines(c.lastOffer().SDP)
	for _, id := range gone {
		if len(linesOf(ms, id)) != 0 {
			return false
		}
	}
	return ok
}

// leave closes c's client and its peer, as the signaling layer does when
// a participant leaves.
func (c *testClient) leave(t *testing.T) {
	t.Helper()
	c.close()
	if err := c.peer.Close(); err != nil {
		t.Errorf("%s: Close: %v", c.id, err)
	}
}

// rtcpReaders counts the goroutines reading a down-track's RTCP.
func rtcpReaders() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	return strings.Count(string(buf), "sfu.(*downTrack).readRTCP(")
}

// TestReusedTransceiverCarriesNewTrack: when bob leaves and carol joins,
// alice's offer puts carol's tracks on the mids bob's had, with carol's
// msid and new SSRCs; alice receives carol's media there under carol's
// stream id, byte for byte, and her NACKs on the new SSRC are answered.
// bob's RTCP readers end when he leaves.
func TestReusedTransceiverCarriesNewTrack(t *testing.T) {
	s := newTestSFU(t)
	r := s.NewRouter("reuse")
	alice := newTestClientWith(t, r, "alice", true, noReplayClientAPI(t))
	bob := newTestClient(t, r, "bob", true)
	waitFor(t, 10*time.Second, "alice and bob to receive each other", func() bool {
		return alice.receiving("bob", 5) && bob.receiving("alice", 5)
	})
	withBob := mediaLines(alice.lastOffer().SDP)
	bobs := linesOf(withBob, "bob")
	if len(bobs) != 2 {
		t.Fatalf("alice's offer has bob's m-lines %v, want audio and video", bobs)
	}

	bob.leave(t)
	waitFor(t, 10*time.Second, "alice to answer the offer without bob", func() bool { return alice.settled(t, "bob") })
	for _, m := range mediaLines(alice.lastOffer().SDP) {
		if m.mid == bobs["audio"].mid || m.mid == bobs["video"].mid {
			if m.direction != "recvonly" || m.stream != "" || m.ssrc != "" {
				t.Errorf("bob's old m-line %+v, want recvonly with no msid or SSRC", m)
			}
		}
	}
	// bob's and alice's down-tracks of each other are gone, and so are
	// their RTCP readers.
	waitFor(t, 5*time.Second, "bob's down-tracks' RTCP readers to end", func() bool { return rtcpReaders() == 0 })

	newTestClient(t, r, "carol", true)
	waitFor(t, 10*time.Second, "alice to receive carol", func() bool { return alice.receiving("carol", 20) })
	ms := mediaLines(alice.lastOffer().SDP)
	if len(ms) != len(withBob) {
		t.Errorf("alice's offer has %d m-lines after bob left and carol joined, want %d as with bob", len(ms), len(withBob))
	}
	carols := linesOf(ms, "carol")
	for _, kind := range []string{"audio", "video"} {
		old, now := bobs[kind], carols[kind]
		if now.mid != old.mid || now.direction != "sendrecv" {
			t.Errorf("carol's %s on mid %q (%s), want bob's old mid %q, sendrecv", kind, now.mid, now.direction, old.mid)
		}
		if now.ssrc == "" || now.ssrc == old.ssrc {
			t.Errorf("carol's %s has SSRC %q, bob's had %q: want a new one", kind, now.ssrc, old.ssrc)
		}
		st, _ := alice.stats("carol-" + kind)
		if st.streamID != "carol" || st.bad != 0 || fmt.Sprint(uint32(st.ssrc)) != now.ssrc {
			t.Errorf("alice receives carol's %s as stream %q, SSRC %d, %d bad packets; want stream carol, SSRC %s, none bad",
				kind, st.streamID, st.ssrc, st.bad, now.ssrc)
		}
	}
	if n := rtcpReaders(); n != 4 {
		t.Errorf("%d RTCP readers, want 4: one per down-track", n)
	}

	// The RTCP of the reused m-line reaches carol's down-track.
	st, _ := alice.stats("carol-video")
	seq := st.lastSeq
	if err := alice.pc.WriteRTCP([]rtcp.Packet{&rtcp.TransportLayerNack{
		MediaSSRC: uint32(st.ssrc),
		Nacks:     rtcp.NackPairsFromSequenceNumbers([]uint16{seq}),
	}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the retransmission on the reused m-line", func() bool {
		st, _ := alice.stats("carol-video")
		return st.seqs[seq] >= 2
	})
}

// TestLongCallSDPStaysBounded: 200 participants join and leave a call,
// a few at a time, each publishing audio and video, while alice stays.
// Her offers keep no m-line per departed track: when the last of them,
// zed, has joined, her offer has no more m-lines than she ever received
// tracks at once, plus her own two, and stays small; zed's media reaches
// her on a reused m-line under his stream id.
func TestLongCallSDPStaysBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("200 peer connections")
	}
	const (
		cycles = 200
		batch  = 8 // joined at once
	)
	s := newTestSFU(t)
	r := s.NewRouter("long")
	alice := newTestClient(t, r, "alice", true)
	maxLines := 0
	for b := 0; b < cycles/batch; b++ {
		var others []*testClient
		for i := range batch {
			others = append(others, newTestClient(t, r, fmt.Sprintf("p%d", b*batch+i), true))
		}
		waitFor(t, 20*time.Second, fmt.Sprintf("batch %d in alice's offer, answered", b), func() bool {
			ms := mediaLines(alice.lastOffer().SDP)
			for _, o := range others {
				if len(linesOf(ms, o.id)) != 2 {
					return false
				}
			}
			return alice.settled(t)
		})
		maxLines = max(maxLines, len(mediaLines(alice.lastOffer().SDP)))
		if maxLines > 2+2*batch {
			t.Fatalf("after %d joins alice's offer has %d m-lines, want at most %d", (b+1)*batch, maxLines, 2+2*batch)
		}
		var gone []string
		for _, o := range others {
			o.leave(t)
			gone = append(gone, o.id)
		}
		waitFor(t, 20*time.Second, fmt.Sprintf("batch %d gone from alice's offer, answered", b), func() bool {
			return alice.settled(t, gone...)
		})
	}

	zed := newTestClient(t, r, "zed", true)
	waitFor(t, 20*time.Second, "alice to receive zed", func() bool { return alice.receiving("zed", 20) })
	o := alice.lastOffer()
	ms := mediaLines(o.SDP)
	// alice's own two, and at most batch participants' two tracks at once.
	const bound = 2 + 2*batch
	if len(ms) > bound {
		t.Errorf("after %d joins and leaves alice's offer has %d m-lines, want at most %d", cycles, len(ms), bound)
	}
	if maxLines > bound {
		t.Errorf("alice's offer had up to %d m-lines, want at most %d", maxLines, bound)
	}
	if len(o.SDP) > 8<<10 {
		t.Errorf("alice's offer is %d bytes with one other participant, want under 8 KiB", len(o.SDP))
	}
	zeds := linesOf(ms, "zed")
	for _, kind := range []string{"audio", "video"} {
		st, _ := alice.stats("zed-" + kind)
		if st.streamID != "zed" || st.bad != 0 || fmt.Sprint(uint32(st.ssrc)) != zeds[kind].ssrc {
			t.Errorf("alice receives zed's %s as stream %q, SSRC %d, %d bad packets; want zed, SSRC %s, none bad",
				kind, st.streamID, st.ssrc, st.bad, zeds[kind].ssrc)
		}
	}
	if n := rtcpReaders(); n != 4 {
		t.Errorf("%d RTCP readers, want 4: alice's two of zed and zed's two of alice", n)
	}
	// Streams are counted while live: 400 senders came and went, and
	// alice's peer holds only those of her m-lines.
	live := alice.peer.streams.live.Load()
	if live > 2*int64(bound) {
		t.Errorf("alice's peer has %d live read streams after %d cycles, want at most %d", live, cycles, 2*bound)
	}
	t.Logf("after %d cycles: %d m-lines, %d bytes, %d live read streams (limit %d)",
		cycles, len(ms), len(o.SDP), live, alice.peer.streams.limit())
	zed.leave(t)
}

// TestOfferTimeoutThenReuse: bob stops answering in the middle of a call;
// the offer he leaves unanswered times out and closes him, and that jams
// nothing: alice's offer frees his m-lines, and dave, who joins later, is
// negotiated with everyone, his tracks reaching alice on bob's old mids.
func TestOfferTimeoutThenReuse(t *testing.T) {
	s := newTestSFU(t)
	r := s.NewRouter("hung")
	alice := newTestClient(t, r, "alice", true)
	timedOut := make(chan struct{})
	bob := newTestClientCfg(t, r, "bob", true, clientAPI(t), func(cfg *PeerConfig) {
		cfg.OfferTimeout = 500 * time.Millisecond
		cfg.OnOfferTimeout = func() { close(timedOut) }
	})
	waitFor(t, 10*time.Second, "alice and bob to receive each other", func() bool {
		return alice.receiving("bob", 5) && bob.receiving("alice", 5)
	})
	bobs := linesOf(mediaLines(alice.lastOffer().SDP), "bob")

	bob.ignoreOffers.Store(true)
	carol := newTestClient(t, r, "carol", true) // bob is offered carol's tracks
	select {
	case <-timedOut:
	case <-time.After(10 * time.Second):
		t.Fatal("bob's unanswered offer did not time out")
	}
	waitFor(t, 10*time.Second, "alice's offer without bob, answered", func() bool { return alice.settled(t, "bob") })

	dave := newTestClient(t, r, "dave", true)
	waitFor(t, 10*time.Second, "everyone to receive dave, and dave everyone", func() bool {
		return alice.receiving("dave", 20) && carol.receiving("dave", 20) &&
			dave.receiving("alice", 20) && dave.receiving("carol", 20)
	})
	daves := linesOf(mediaLines(alice.lastOffer().SDP), "dave")
	for _, kind := range []string{"audio", "video"} {
		if daves[kind].mid != bobs[kind].mid {
			t.Errorf("dave's %s on alice's mid %q, want bob's old %q", kind, daves[kind].mid, bobs[kind].mid)
		}
		if st, _ := alice.stats("dave-" + kind); st.bad != 0 {
			t.Errorf("alice got %d bad packets of dave's %s", st.bad, kind)
		}
	}
}

// TestSendingOnDownTrackMLineIsIgnored: a down-track's m-line is sendrecv
// (so that a freed one can be offered recvonly), and a client that sends
// on it anyway publishes nothing: the server drops what it sends, and the
// client still receives the down-track on that m-line.
func TestSendingOnDownTrackMLineIsIgnored(t *testing.T) {
	s := newTestSFU(t)
	r := s.NewRouter("sendrecv")
	pub := newTestClient(t, r, "pub", true)
	waitFor(t, 10*time.Second, "both tracks published", func() bool { return s.Stats().PublishedTracks == 2 })
	rp := addRawPeer(t, r, PeerConfig{ID: "viewer"})
	o := rp.nextOffer(t)
	audio := linesOf(mediaLines(o.SDP), "pub")["audio"]
	if audio.direction != "sendrecv" {
		t.Fatalf("pub's audio m-line %+v, want sendrecv", audio)
	}

	api := clientAPI(t)
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	got := make(chan string, 4)
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) { got <- tr.StreamID() })
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil {
			_ = rp.peer.AddCandidate(c.ToJSON())
		}
	})
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: o.SDP}); err != nil {
		t.Fatal(err)
	}
	mic, _ := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}, "mic", "viewer")
	for _, tr := range pc.GetTransceivers() {
		if tr.Mid() != audio.mid {
			continue
		}
		sender, err := api.NewRTPSender(mic, pc.SCTP().Transport())
		if err != nil {
			t.Fatal(err)
		}
		if err := tr.SetSender(sender, mic); err != nil {
			t.Fatal(err)
		}
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.SetLocalDescription(answer); err != nil {
		t.Fatal(err)
	}
	if linesOf(mediaLines(answer.SDP), "viewer")["audio"].mid != audio.mid {
		t.Fatalf("the viewer's answer does not send on mid %s:\n%s", audio.mid, answer.SDP)
	}
	if err := rp.peer.SetAnswer(answer.SDP); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(10 * time.Second)
	for pc.ConnectionState() != webrtc.PeerConnectionStateConnected {
		select {
		case <-deadline:
			t.Fatal("viewer not connected")
		case <-time.After(20 * time.Millisecond):
		}
	}
	for i := range 50 {
		_ = mic.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(i), Timestamp: uint32(i) * 960}, Payload: []byte{0xfc, 1, 2, 3}})
		time.Sleep(20 * time.Millisecond)
	}
	if n := s.Stats().PublishedTracks; n != 2 {
		t.Errorf("%d published tracks, want pub's 2 only", n)
	}
	if _, ok := pub.stats("viewer-audio"); ok {
		t.Error("pub receives what the viewer sent on a down-track m-line")
	}
	select {
	case id := <-got:
		if id != "pub" {
			t.Errorf("the viewer receives a track of stream %q, want pub", id)
		}
	case <-time.After(5 * time.Second):
		t.Error("the viewer receives nothing")
	}
}
