package sfu

import (
	"bytes"
	"testing"

	"github.com/pion/rtp/codecs"
)

// FuzzIsVP8Keyframe checks isVP8Keyframe against Pion's VP8 payload
// descriptor parser (RFC 7741 §4.2) on any payload a publisher can send.
// The payload is passed with its capacity cut to its length, so reading
// past it in any way panics.
//
// Property: isVP8Keyframe is true exactly when the descriptor parses, S is
// set and PID is 0, and the VP8 payload that follows starts with a
// keyframe's frame tag (P clear, RFC 6386 §9.1) and the start code 9d 01 2a.
// The seeds (testdata/fuzz/FuzzIsVP8Keyframe) are the cases of
// TestIsVP8Keyframe and the payloads the tests' publishers send.
func FuzzIsVP8Keyframe(f *testing.F) {
	f.Fuzz(func(t *testing.T, payload []byte) {
		p := payload[:len(payload):len(payload)]
		got := isVP8Keyframe(p)
		var vp8 codecs.VP8Packet
		frame, err := vp8.Unmarshal(p)
		want := err == nil && vp8.S == 1 && vp8.PID == 0 && len(frame) >= 6 &&
			frame[0]&0x01 == 0 && bytes.Equal(frame[3:6], []byte{0x9d, 0x01, 0x2a})
		if got != want {
			t.Fatalf("isVP8Keyframe(% x) = %v, want %v (pion: %+v, %v)", payload, got, want, vp8, err)
		}
	})
}
