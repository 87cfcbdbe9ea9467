package sfu

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// rawPeer is a peer whose client the test drives by hand: offers arrive on
// a channel, and nothing is answered unless the test says so.
type rawPeer struct {
	peer   *Peer
	offers chan Offer
}

func addRawPeer(t *testing.T, r *Router, cfg PeerConfig) *rawPeer {
	t.Helper()
	rp := &rawPeer{offers: make(chan Offer, 16)}
	cfg.OnOffer = func(o Offer) { rp.offers <- o }
	p, err := r.AddPeer(cfg)
	if err != nil {
		t.Fatalf("AddPeer(%s): %v", cfg.ID, err)
	}
	t.Cleanup(func() { _ = p.Close() })
	rp.peer = p
	return rp
}

func (rp *rawPeer) nextOffer(t *testing.T) Offer {
	t.Helper()
	select {
	case o := <-rp.offers:
		return o
	case <-time.After(5 * time.Second):
		t.Fatal("no offer")
		return Offer{}
	}
}

// answerFor makes a client PeerConnection answer o. CreateAnswer is called
// before gathering starts, so the answer carries no candidates.
func answerFor(t *testing.T, o Offer) (*webrtc.PeerConnection, string) {
	t.Helper()
	pc, err := clientAPI(t).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: o.SDP}); err != nil {
		t.Fatal(err)
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	return pc, answer.SDP
}

// queued returns, from run, how many remote candidates the peer holds
// before its answer and how many distinct ones it has taken.
func (p *Peer) candidateCounts(t *testing.T) (held, taken, bytes int) {
	t.Helper()
	if err := p.call(func() error {
		held, taken, bytes = len(p.remoteCands), len(p.remoteKeys), p.remoteBytes
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return held, taken, bytes
}

// remoteCandidateStats counts the remote candidates Pion's ICE agent keeps.
func remoteCandidateStats(p *Peer) int {
	n := 0
	for _, s := range p.pc.GetStats() {
		if c, ok := s.(webrtc.ICECandidateStats); ok && c.Type == webrtc.StatsTypeRemoteCandidate {
			n++
		}
	}
	return n
}

func hostCandidate(port int, pad string) webrtc.ICECandidateInit {
	mid := "0"
	c := fmt.Sprintf("candidate:%d 1 udp 2130706431 192.0.2.1 %d typ host", port, port)
	if pad != "" {
		c += " x-pad " + pad
	}
	return webrtc.ICECandidateInit{Candidate: c, SDPMid: &mid}
}

// TestCandidateFloodIsBounded floods a peer with distinct candidates
// before and after its answer: past MaxRemoteCandidates each is refused
// with ErrTooManyCandidates, and neither the peer's buffer nor Pion's ICE
// agent holds more.
func TestCandidateFloodIsBounded(t *testing.T) {
	s := newTestSFU(t)
	r := s.NewRouter("flood")
	rp := addRawPeer(t, r, PeerConfig{ID: "flood", PublishAudio: true, PublishVideo: true})
	o := rp.nextOffer(t)
	p := rp.peer

	port := 10000
	for i := range MaxRemoteCandidates {
		if err := p.AddCandidate(hostCandidate(port+i, "")); err != nil {
			t.Fatalf("candidate %d before the answer: %v", i, err)
		}
	}
	if err := p.AddCandidate(hostCandidate(port, "")); err != nil {
		t.Errorf("a candidate sent twice: %v, want it taken once without error", err)
	}
	port += MaxRemoteCandidates
	for i := range 3 * MaxRemoteCandidates {
		if err := p.AddCandidate(hostCandidate(port+i, "")); !errors.Is(err, ErrTooManyCandidates) {
			t.Fatalf("candidate %d past the bound before the answer: %v, want ErrTooManyCandidates", MaxRemoteCandidates+i, err)
		}
	}
	port += 3 * MaxRemoteCandidates
	if held, taken, _ := p.candidateCounts(t); held != MaxRemoteCandidates || taken != MaxRemoteCandidates {
		t.Errorf("before the answer: %d held, %d taken, want %d", held, taken, MaxRemoteCandidates)
	}

	// An answer carrying new candidates past the bound is refused and the
	// offer stays outstanding; the same answer without them is taken.
	_, answer := answerFor(t, o)
	var extra strings.Builder
	for i := range 8 {
		fmt.Fprintf(&extra, "a=candidate:%d 1 udp 2130706431 192.0.2.2 %d typ host\r\n", i, 20000+i)
	}
	stuffed := strings.Replace(answer, "a=mid:0\r\n", "a=mid:0\r\n"+extra.String(), 1)
	if stuffed == answer {
		t.Fatal("answer has no a=mid:0 line")
	}
	if err := p.SetAnswer(stuffed); !errors.Is(err, ErrTooManyCandidates) {
		t.Fatalf("answer with candidates past the bound: %v, want ErrTooManyCandidates", err)
	}
	if err := p.SetAnswer(answer); err != nil {
		t.Fatalf("answer: %v", err)
	}

	for i := range 3 * MaxRemoteCandidates {
		if err := p.AddCandidate(hostCandidate(port+i, "")); !errors.Is(err, ErrTooManyCandidates) {
			t.Fatalf("candidate past the bound after the answer: %v, want ErrTooManyCandidates", err)
		}
	}
	if held, taken, _ := p.candidateCounts(t); held != 0 || taken != MaxRemoteCandidates {
		t.Errorf("after the answer: %d held, %d taken, want 0 and %d", held, taken, MaxRemoteCandidates)
	}
	// Pion adds remote candidates asynchronously: wait for the buffered
	// ones to land, then check nothing more did.
	waitFor(t, 5*time.Second, "Pion to take the buffered candidates", func() bool {
		return remoteCandidateStats(p) >= MaxRemoteCandidates
	})
	time.Sleep(100 * time.Millisecond)
	if n := remoteCandidateStats(p); n != MaxRemoteCandidates {
		t.Errorf("Pion keeps %d remote candidates, want %d", n, MaxRemoteCandidates)
	}
}

// TestCandidateBytesBound: large candidates hit the byte bound before the
// count bound, and a candidate over MaxCandidateBytes is refused outright.
func TestCandidateBytesBound(t *testing.T) {
	s := newTestSFU(t)
	r := s.NewRouter("bytes")
	rp := addRawPeer(t, r, PeerConfig{ID: "bytes", PublishAudio: true})
	rp.nextOffer(t)
	p := rp.peer

	if err := p.AddCandidate(hostCandidate(9, strings.Repeat("x", MaxCandidateBytes))); !errors.Is(err, ErrBadDescription) {
		t.Errorf("candidate over MaxCandidateBytes: %v, want ErrBadDescription", err)
	}
	pad := strings.Repeat("x", 900)
	size := candidateSize(hostCandidate(10000, pad))
	fits := MaxRemoteCandidateBytes / size
	if fits >= MaxRemoteCandidates {
		t.Fatalf("test candidates of %d bytes do not reach the byte bound", size)
	}
	for i := range fits {
		if err := p.AddCandidate(hostCandidate(10000+i, pad)); err != nil {
			t.Fatalf("candidate %d of %d bytes: %v", i, size, err)
		}
	}
	for i := range MaxRemoteCandidates {
		if err := p.AddCandidate(hostCandidate(20000+i, pad)); !errors.Is(err, ErrTooManyCandidates) {
			t.Fatalf("candidate past the byte bound: %v, want ErrTooManyCandidates", err)
		}
	}
	if held, _, bytes := p.candidateCounts(t); held != fits || bytes > MaxRemoteCandidateBytes {
		t.Errorf("%d candidates (%d bytes) held, want %d within %d bytes", held, bytes, fits, MaxRemoteCandidateBytes)
	}
}

// TestOfferTimeout: a peer whose client never answers is closed after
// OfferTimeout, its owner is told once, and the peers that answer carry on
// (and are not timed out however long the call lasts).
func TestOfferTimeout(t *testing.T) {
	s := newTestSFU(t)
	r := s.NewRouter("silent")
	alice := newTestClient(t, r, "alice", true)
	bob := newTestClient(t, r, "bob", true)
	waitFor(t, 10*time.Second, "alice and bob to receive each other", func() bool {
		return alice.receiving("bob", 5) && bob.receiving("alice", 5)
	})

	// A peer with the same short timeout that answers every offer lives on.
	const timeout = 400 * time.Millisecond
	var patientTimeouts atomic.Int32
	patient := addRawPeer(t, r, PeerConfig{
		ID: "patient", OfferTimeout: timeout,
		OnOfferTimeout: func() { patientTimeouts.Add(1) },
	})
	patientDone, stopPatient := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(patientDone)
		var pc *webrtc.PeerConnection
		for {
			var o Offer
			select {
			case o = <-patient.offers:
			case <-stopPatient:
				return
			}
			if pc == nil {
				pc, _ = answerFor(t, o)
			} else if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: o.SDP}); err != nil {
				t.Errorf("patient: %v", err)
				return
			}
			a, err := pc.CreateAnswer(nil)
			if err == nil {
				err = pc.SetLocalDescription(a)
			}
			if err == nil {
				err = patient.peer.SetAnswer(a.SDP)
			}
			if err != nil {
				t.Errorf("patient answer: %v", err)
				return
			}
		}
	}()
	defer func() {
		close(stopPatient)
		<-patientDone
	}()

	timedOut := make(chan struct{})
	var calls atomic.Int32
	start := time.Now()
	silent := addRawPeer(t, r, PeerConfig{
		ID: "silent", PublishAudio: true, PublishVideo: true, OfferTimeout: timeout,
		OnOfferTimeout: func() {
			if calls.Add(1) == 1 {
				close(timedOut)
			}
		},
	})
	silent.nextOffer(t)
	select {
	case <-timedOut:
	case <-time.After(5 * time.Second):
		t.Fatal("OnOfferTimeout not called for a peer that never answers")
	}
	if d := time.Since(start); d < timeout {
		t.Errorf("timed out after %v, before the %v timeout", d, timeout)
	}
	waitFor(t, 5*time.Second, "the silent peer to be closed", func() bool {
		return errors.Is(silent.peer.SetAnswer("v=0"), ErrClosed)
	})
	// Close marks the peer closed, then takes it out of the router.
	waitFor(t, 5*time.Second, "the silent peer to leave the router", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		_, still := r.peers["silent"]
		return !still
	})

	// The others carry on: media still flows, a newcomer is negotiated
	// with everyone (the patient peer answers that renegotiation, more
	// than the timeout after its first answer), and the patient peer was
	// never timed out.
	before, _ := alice.stats("bob-video")
	waitFor(t, 5*time.Second, "alice to keep receiving bob", func() bool {
		now, _ := alice.stats("bob-video")
		return now.good > before.good+5
	})
	carol := newTestClient(t, r, "carol", true)
	waitFor(t, 10*time.Second, "alice and carol to receive each other", func() bool {
		return alice.receiving("carol", 5) && carol.receiving("alice", 5)
	})
	time.Sleep(2 * timeout)
	if n := calls.Load(); n != 1 {
		t.Errorf("OnOfferTimeout called %d times, want 1", n)
	}
	if n := patientTimeouts.Load(); n != 0 {
		t.Errorf("a peer that answers every offer timed out %d times", n)
	}
	if err := patient.peer.call(func() error { return nil }); err != nil {
		t.Errorf("the patient peer: %v", err)
	}
	if n := s.Stats().Peers; n != 4 {
		t.Errorf("%d peers, want alice, bob, carol and patient", n)
	}
}

// TestReceiveOnlyPeerCannotPublish: a client that said it publishes
// nothing, and sends audio on its anchor m-line anyway, is not forwarded
// to the room.
func TestReceiveOnlyPeerCannotPublish(t *testing.T) {
	s := newTestSFU(t)
	r := s.NewRouter("anchor")
	pub := newTestClient(t, r, "pub", true)
	rp := addRawPeer(t, r, PeerConfig{ID: "viewer"})
	o := rp.nextOffer(t)

	pc, err := clientAPI(t).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil {
			_ = rp.peer.AddCandidate(c.ToJSON())
		}
	})
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: o.SDP}); err != nil {
		t.Fatal(err)
	}
	mic, _ := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}, "mic", "viewer")
	if _, err := pc.AddTrack(mic); err != nil {
		t.Fatal(err)
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.SetLocalDescription(answer); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(answer.SDP, "a=sendonly") {
		t.Fatalf("the viewer's answer does not send on the anchor:\n%s", answer.SDP)
	}
	if err := rp.peer.SetAnswer(answer.SDP); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for pc.ConnectionState() != webrtc.PeerConnectionStateConnected {
		if ctx.Err() != nil {
			t.Fatal("viewer not connected")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for i := range 50 {
		_ = mic.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(i), Timestamp: uint32(i) * 960}, Payload: []byte{0xfc, 1, 2, 3}})
		time.Sleep(20 * time.Millisecond)
	}
	if n := s.Stats().PublishedTracks; n != 2 {
		t.Errorf("%d published tracks, want pub's 2 only", n)
	}
	if _, ok := pub.stats("viewer-audio"); ok {
		t.Error("pub receives the receive-only viewer's audio")
	}
}

// TestPassiveTCPCandidateNotDialed: a client cannot make the server open a
// TCP connection to an address it names as a passive TCP candidate.
func TestPassiveTCPCandidateNotDialed(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dialed := make(chan string, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		dialed <- c.RemoteAddr().String()
		c.Close()
	}()
	defer func() {
		ln.Close()
		<-done
	}()

	s := newTestSFU(t)
	r := s.NewRouter("tcp")
	rp := addRawPeer(t, r, PeerConfig{ID: "tcp", PublishAudio: true})
	// Named in the answer, then trickled.
	c := fmt.Sprintf("candidate:1 1 tcp 2105524479 127.0.0.1 %d typ host tcptype passive", ln.Addr().(*net.TCPAddr).Port)
	_, answer := answerFor(t, rp.nextOffer(t))
	withCand := strings.Replace(answer, "a=mid:0\r\n", "a=mid:0\r\na="+c+"\r\n", 1)
	if withCand == answer {
		t.Fatal("answer has no a=mid:0 line")
	}
	if err := rp.peer.SetAnswer(withCand); err != nil {
		t.Fatal(err)
	}
	mid := "0"
	if err := rp.peer.AddCandidate(webrtc.ICECandidateInit{Candidate: c, SDPMid: &mid}); err != nil {
		t.Fatalf("passive TCP candidate: %v, want it dropped without error", err)
	}
	select {
	case from := <-dialed:
		t.Errorf("the server dialed the client-named address, from %s", from)
	case <-time.After(time.Second):
	}
}
