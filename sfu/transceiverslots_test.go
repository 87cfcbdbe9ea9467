package sfu

import (
	"testing"

	"github.com/pion/webrtc/v4"
)

// TestTransceiverSlots: a released transceiver is free only once the
// client has answered an offer made after its release (one that carried
// no track on it), and only for its own kind.
func TestTransceiverSlots(t *testing.T) {
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	audio, _ := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio)
	video, _ := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo)

	var s transceiverSlots
	take := func(when string, kind webrtc.RTPCodecType, want *webrtc.RTPTransceiver) {
		t.Helper()
		if got := s.take(kind); got != want {
			t.Errorf("%s: take(%s) = %p, want %p", when, kind, got, want)
		}
	}
	s.release(audio)
	take("released", webrtc.RTPCodecTypeAudio, nil)
	s.answered() // the answer to an offer made before the release
	take("answered before it was offered", webrtc.RTPCodecTypeAudio, nil)
	s.offered()
	take("offered", webrtc.RTPCodecTypeAudio, nil)
	s.release(video) // while that offer is outstanding
	s.answered()
	take("answered", webrtc.RTPCodecTypeVideo, nil)
	take("answered", webrtc.RTPCodecTypeAudio, audio)
	take("taken", webrtc.RTPCodecTypeAudio, nil)
	s.offered()
	s.answered()
	take("answered", webrtc.RTPCodecTypeAudio, nil)
	take("answered", webrtc.RTPCodecTypeVideo, video)
	s.putBack(video)
	take("put back", webrtc.RTPCodecTypeVideo, video)
}
