package sfu

import "testing"

func TestIsVP8Keyframe(t *testing.T) {
	// frame tag with P=0 (keyframe), then the start code and 4 size bytes.
	key := []byte{0x50, 0x01, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01}
	// frame tag with P=1 (interframe).
	delta := []byte{0x51, 0x01, 0x00, 0x11, 0x22, 0x33, 0x44}
	cat := func(parts ...[]byte) []byte {
		var b []byte
		for _, p := range parts {
			b = append(b, p...)
		}
		return b
	}
	tests := []struct {
		name    string
		payload []byte
		want    bool
	}{
		{"minimal keyframe", cat([]byte{0x10}, key), true},
		{"interframe", cat([]byte{0x10}, delta), false},
		{"not start of partition", cat([]byte{0x00}, key), false},
		{"partition 1", cat([]byte{0x11}, key), false},
		{"N bit set keyframe", cat([]byte{0x30}, key), true},
		{"X with 7-bit PictureID", cat([]byte{0x90, 0x80, 0x12}, key), true},
		{"X with 15-bit PictureID", cat([]byte{0x90, 0x80, 0x81, 0x23}, key), true},
		{"X with 15-bit PictureID interframe", cat([]byte{0x90, 0x80, 0x81, 0x23}, delta), false},
		{"X with I L T K", cat([]byte{0x90, 0xF0, 0x81, 0x23, 0x05, 0x40}, key), true},
		{"X with L only", cat([]byte{0x90, 0x40, 0x05}, key), true},
		{"X with K only", cat([]byte{0x90, 0x10, 0x05}, key), true},
		{"X with nothing", cat([]byte{0x90, 0x00}, key), true},
		{"bad start code", []byte{0x10, 0x50, 0x01, 0x00, 0x9d, 0x01, 0x2b}, false},
		{"empty", nil, false},
		{"descriptor only", []byte{0x10}, false},
		{"truncated after X", []byte{0x90}, false},
		{"truncated PictureID", []byte{0x90, 0x80}, false},
		{"truncated start code", []byte{0x10, 0x50, 0x01, 0x00, 0x9d, 0x01}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := isVP8Keyframe(tt.payload); got != tt.want {
				t.Errorf("isVP8Keyframe(% x) = %v, want %v", tt.payload, got, tt.want)
			}
		})
	}
}
