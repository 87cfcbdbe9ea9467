package sfu

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

func TestForwardingBetweenThreePeers(t *testing.T) {
	s := newTestSFU(t)
	r := s.NewRouter("room")
	ids := []string{"alice", "bob", "carol"}
	clients := make(map[string]*testClient)
	for _, id := range ids {
		clients[id] = newTestClient(t, r, id, true)
	}

	for _, sub := range ids {
		for _, pub := range ids {
			if sub == pub {
				continue
			}
			waitFor(t, 10*time.Second, fmt.Sprintf("%s to receive %s", sub, pub), func() bool {
				return clients[sub].receiving(pub, 10)
			})
		}
	}
	for _, sub := range ids {
		o, _ := clients[sub].firstOffer()
		if o.AudioMid != "0" || o.VideoMid != "1" {
			t.Errorf("%s: first offer mids audio=%q video=%q, want 0 and 1", sub, o.AudioMid, o.VideoMid)
		}
		for _, pub := range ids {
			for _, kind := range []string{"audio", "video"} {
				st, _ := clients[sub].stats(pub + "-" + kind)
				if st.bad != 0 {
					t.Errorf("%s got %d corrupted packets of %s-%s", sub, st.bad, pub, kind)
				}
			}
		}
		if _, ok := clients[sub].stats(sub + "-audio"); ok {
			t.Errorf("%s received its own track", sub)
		}
	}

	// alice leaves: bob and carol see her tracks end, and keep receiving
	// each other.
	if err := clients["alice"].peer.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := clients["alice"].peer.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	for _, sub := range []string{"bob", "carol"} {
		waitFor(t, 10*time.Second, sub+" to see alice's tracks end", func() bool {
			a, _ := clients[sub].stats("alice-audio")
			v, _ := clients[sub].stats("alice-video")
			return a.ended && v.ended
		})
	}
	before, _ := clients["bob"].stats("carol-video")
	waitFor(t, 5*time.Second, "bob to keep receiving carol", func() bool {
		now, _ := clients["bob"].stats("carol-video")
		return now.good > before.good+5
	})
}

func TestLateJoinerGetsExistingTracksAndPLI(t *testing.T) {
	s := newTestSFU(t)
	r := s.NewRouter("late")
	pub := newTestClient(t, r, "pub", true)
	waitFor(t, 10*time.Second, "publisher connected", func() bool {
		pub.mu.Lock()
		defer pub.mu.Unlock()
		n := len(pub.states)
		return n > 0 && pub.states[n-1] == webrtc.PeerConnectionStateConnected
	})
	waitFor(t, 10*time.Second, "both tracks published", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return len(r.tracks) == 2
	})
	plisBefore := pub.pliCount()

	viewer := newTestClient(t, r, "viewer", false)
	o, ok := viewer.firstOffer()
	if !ok {
		waitFor(t, 5*time.Second, "first offer", func() bool { _, ok := viewer.firstOffer(); return ok })
		o, _ = viewer.firstOffer()
	}
	if got := countMsid(o.SDP, "pub"); got != 2 {
		t.Errorf("first offer to late joiner has %d msid lines for pub, want 2:\n%s", got, o.SDP)
	}
	if o.AudioMid != "" || o.VideoMid != "" {
		t.Errorf("receive-only offer names publish mids %q %q", o.AudioMid, o.VideoMid)
	}
	waitFor(t, 10*time.Second, "viewer to receive pub", func() bool { return viewer.receiving("pub", 10) })
	waitFor(t, 5*time.Second, "a PLI to reach the publisher", func() bool { return pub.pliCount() > plisBefore })

	// A PLI from the subscriber is relayed to the publisher, after the
	// throttle interval (100ms in tests).
	time.Sleep(300 * time.Millisecond)
	plisBefore = pub.pliCount()
	st, _ := viewer.stats("pub-video")
	if err := viewer.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(st.ssrc)}}); err != nil {
		t.Fatalf("viewer WriteRTCP: %v", err)
	}
	waitFor(t, 5*time.Second, "the subscriber's PLI to reach the publisher", func() bool { return pub.pliCount() > plisBefore })
}

func TestSignalingErrors(t *testing.T) {
	s := newTestSFU(t)
	r := s.NewRouter("errors")
	offers := make(chan Offer, 4)
	p, err := r.AddPeer(PeerConfig{
		ID: "x", PublishAudio: true, PublishVideo: true,
		OnOffer: func(o Offer) { offers <- o },
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.AddPeer(PeerConfig{ID: "x"}); !errors.Is(err, ErrDuplicatePeer) {
		t.Errorf("duplicate AddPeer: %v, want ErrDuplicatePeer", err)
	}
	o := <-offers

	if err := p.SetAnswer("v=0 garbage"); !errors.Is(err, ErrBadDescription) {
		t.Errorf("SetAnswer(garbage) = %v, want ErrBadDescription", err)
	}
	if err := p.AddCandidate(webrtc.ICECandidateInit{Candidate: "candidate:nonsense"}); !errors.Is(err, ErrBadDescription) {
		t.Errorf("AddCandidate(nonsense) = %v, want ErrBadDescription", err)
	}

	client, err := clientAPI(t).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = client.GracefulClose() }()
	if err := client.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: o.SDP}); err != nil {
		t.Fatal(err)
	}
	answer, err := client.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := client.SetLocalDescription(answer); err != nil {
		t.Fatal(err)
	}
	if err := p.SetAnswer(answer.SDP); err != nil {
		t.Fatalf("SetAnswer(valid) = %v", err)
	}
	if err := p.SetAnswer(answer.SDP); !errors.Is(err, ErrNoOfferPending) {
		t.Errorf("second SetAnswer = %v, want ErrNoOfferPending", err)
	}

	r.Close()
	r.Close()
	if err := p.SetAnswer(answer.SDP); !errors.Is(err, ErrClosed) {
		t.Errorf("SetAnswer after Close = %v, want ErrClosed", err)
	}
	if _, err := r.AddPeer(PeerConfig{ID: "y"}); !errors.Is(err, ErrClosed) {
		t.Errorf("AddPeer after Close = %v, want ErrClosed", err)
	}
}

func TestCloseFromCallback(t *testing.T) {
	s := newTestSFU(t)
	r := s.NewRouter("callback")
	closed := make(chan error, 1)
	var p *Peer
	ready := make(chan struct{})
	p, err := r.AddPeer(PeerConfig{
		ID: "z", PublishAudio: true,
		OnState: func(st webrtc.PeerConnectionState) {
			if st == webrtc.PeerConnectionStateClosed {
				<-ready
				closed <- p.Close() // re-entrant: must not deadlock
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	close(ready)
	done := make(chan error, 1)
	go func() { done <- p.Close() }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close deadlocked")
	}
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close from OnState: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("OnState(closed) not called")
	}
}

func TestSFUAddrs(t *testing.T) {
	s, err := New(Config{TCPPort: -1, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if s.UDPAddr() == nil || s.UDPAddr().Port == 0 {
		t.Errorf("UDPAddr = %v, want a bound port", s.UDPAddr())
	}
	if s.TCPAddr() != nil {
		t.Errorf("TCPAddr = %v with ICE-TCP disabled, want nil", s.TCPAddr())
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := s.NewRouter("after").AddPeer(PeerConfig{ID: "a"}); !errors.Is(err, ErrClosed) {
		t.Errorf("AddPeer on router of closed SFU = %v, want ErrClosed", err)
	}

	s2 := newTestSFU(t)
	if s2.TCPAddr() == nil || s2.TCPAddr().Port == 0 {
		t.Errorf("TCPAddr = %v, want a bound port", s2.TCPAddr())
	}
}
