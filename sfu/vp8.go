package sfu

// isVP8Keyframe reports whether an RTP payload carrying VP8 (RFC 7741)
// starts a keyframe: it must be the first packet of partition 0 and the VP8
// payload header must have its inverse keyframe bit clear.
//
// The payload descriptor is parsed per RFC 7741 §4.2:
//
//	 0 1 2 3 4 5 6 7
//	+-+-+-+-+-+-+-+-+
//	|X|R|N|S|R| PID | (REQUIRED)
//	+-+-+-+-+-+-+-+-+
//	|I|L|T|K| RSV   | (OPTIONAL, present if X)
//	+-+-+-+-+-+-+-+-+
//	|M| PictureID   | (OPTIONAL, present if I; M=1 means 15-bit PictureID)
//	+-+-+-+-+-+-+-+-+
//	|   TL0PICIDX   | (OPTIONAL, present if L)
//	+-+-+-+-+-+-+-+-+
//	|TID|Y| KEYIDX  | (OPTIONAL, present if T or K)
//	+-+-+-+-+-+-+-+-+
//
// and the payload header per RFC 7741 §4.3 (the first three bytes of the
// VP8 frame tag, RFC 6386 §9.1), whose lowest bit P is 0 for a keyframe.
// A keyframe's frame tag is followed by the start code 9d 01 2a, which is
// checked as well.
func isVP8Keyframe(payload []byte) bool {
	if len(payload) < 1 {
		return false
	}
	b := payload[0]
	start := b&0x10 != 0
	pid := b & 0x07
	if !start || pid != 0 {
		return false
	}
	i := 1
	if b&0x80 != 0 { // X
		if len(payload) <= i {
			return false
		}
		x := payload[i]
		i++
		if x&0x80 != 0 { // I
			if len(payload) <= i {
				return false
			}
			if payload[i]&0x80 != 0 { // M: 15-bit PictureID
				i++
			}
			i++
		}
		if x&0x40 != 0 { // L
			i++
		}
		if x&0x20 != 0 || x&0x10 != 0 { // T or K
			i++
		}
	}
	// Payload header (3 bytes) plus start code (3 bytes).
	if len(payload) < i+6 {
		return false
	}
	if payload[i]&0x01 != 0 { // P: inverse keyframe flag
		return false
	}
	return payload[i+3] == 0x9d && payload[i+4] == 0x01 && payload[i+5] == 0x2a
}
