package sfu

// vp8Desc is what a down-track needs of one packet's VP8 payload
// descriptor (RFC 7741 §4.2, drawn in isVP8Keyframe): where the picture ID
// and TL0PICIDX are, their values as the publisher sent them, and whether
// the packet starts a keyframe. The up-track's reader parses it once per
// packet (parseVP8Desc), before the fan-out; each down-track then writes
// its own picture ID and TL0PICIDX into the payload in place
// (vp8Munger.apply) just before sending it, so every subscriber's values
// stay continuous across its own layer switches without a copy of the
// payload. The zero value describes a packet with neither field.
type vp8Desc struct {
	picPos   uint8  // offset of the picture ID in the payload; 0 if absent
	picLen   uint8  // 0 (absent), 1 (7-bit picture ID) or 2 (15-bit, M set)
	tl0Pos   uint8  // offset of TL0PICIDX; 0 if absent
	picID    uint16 // the publisher's picture ID, 7 or 15 bits
	tl0      uint8  // the publisher's TL0PICIDX
	keyframe bool   // the packet starts a keyframe (isVP8Keyframe)
}

// parseVP8Desc parses the payload descriptor of a VP8 RTP payload. A
// payload too short for the fields its flags announce yields the zero
// vp8Desc: nothing is rewritten in it and it is no keyframe.
func parseVP8Desc(payload []byte) vp8Desc {
	var d vp8Desc
	if len(payload) < 2 || payload[0]&0x80 == 0 { // no X: no extension
		d.keyframe = isVP8Keyframe(payload)
		return d
	}
	x := payload[1]
	i := 2
	if x&0x80 != 0 { // I: picture ID
		if len(payload) <= i {
			return vp8Desc{}
		}
		d.picPos = uint8(i)
		if payload[i]&0x80 != 0 { // M: 15 bits
			if len(payload) <= i+1 {
				return vp8Desc{}
			}
			d.picLen = 2
			d.picID = uint16(payload[i]&0x7f)<<8 | uint16(payload[i+1])
			i += 2
		} else {
			d.picLen = 1
			d.picID = uint16(payload[i])
			i++
		}
	}
	if x&0x40 != 0 { // L: TL0PICIDX
		if len(payload) <= i {
			return vp8Desc{}
		}
		d.tl0Pos = uint8(i)
		d.tl0 = payload[i]
	}
	d.keyframe = isVP8Keyframe(payload)
	return d
}

// vp8Munger maps the picture IDs and TL0PICIDX of the layers a down-track
// forwards onto one continuous numbering, as rewriter does for sequence
// numbers and timestamps: output = source + offset, modulo the field's
// width (2^15 or 2^7 for the picture ID, 2^8 for TL0PICIDX), and after
// switchSource the first packet of the new layer (a keyframe) gets the
// highest value sent so far plus one. A receiver thus sees the picture ID
// advance by one from the last frame of the old layer to the first of the
// new, and the TL0PICIDX likewise, with no gap it would take for loss.
// A 7-bit picture ID stays 7 bits: it is continuous modulo 128.
//
// It is owned by the goroutine that writes the down-track (under
// downTrack.mu); it is not safe for concurrent use.
type vp8Munger struct {
	resync  bool // recompute the offsets at the next packet
	havePic bool
	haveTL0 bool
	picOff  uint16
	lastPic uint16 // highest picture ID sent, in the width last sent
	tl0Off  uint8
	lastTL0 uint8
}

// switchSource makes the next packet continue the numbering of the
// previous one, whatever the new layer's own values.
func (m *vp8Munger) switchSource() { m.resync = true }

// rewrite returns the picture ID and TL0PICIDX to send for a packet
// described by d (meaningless for the fields d does not have).
func (m *vp8Munger) rewrite(d *vp8Desc) (pic uint16, tl0 uint8) {
	if d.picLen != 0 {
		mask := picMask(d.picLen)
		if m.resync && m.havePic {
			m.picOff = m.lastPic + 1 - d.picID
		}
		pic = (d.picID + m.picOff) & mask
		if diff := (pic - m.lastPic) & mask; !m.havePic || (diff != 0 && diff <= mask/2) {
			m.havePic, m.lastPic = true, pic
		}
	}
	if d.tl0Pos != 0 {
		if m.resync && m.haveTL0 {
			m.tl0Off = m.lastTL0 + 1 - d.tl0
		}
		tl0 = d.tl0 + m.tl0Off
		if diff := tl0 - m.lastTL0; !m.haveTL0 || (diff != 0 && diff < 0x80) {
			m.haveTL0, m.lastTL0 = true, tl0
		}
	}
	m.resync = false
	return pic, tl0
}

// picMask is the mask of a picture ID of picLen bytes.
func picMask(picLen uint8) uint16 {
	if picLen == 2 {
		return 0x7fff
	}
	return 0x7f
}

// writeVP8Desc writes picture ID pic and TL0PICIDX tl0 into payload at
// the places d found, keeping the M bit, so the descriptor keeps its
// length. It does not allocate. payload must be the one d was parsed from.
func writeVP8Desc(payload []byte, d *vp8Desc, pic uint16, tl0 uint8) {
	switch d.picLen {
	case 2:
		payload[d.picPos] = 0x80 | byte(pic>>8)&0x7f
		payload[d.picPos+1] = byte(pic)
	case 1:
		payload[d.picPos] = byte(pic) & 0x7f
	}
	if d.tl0Pos != 0 {
		payload[d.tl0Pos] = tl0
	}
}

// shiftVP8Desc writes into payload, described by d, its picture ID and
// TL0PICIDX moved by the offsets of one mapping (see seqMap): what a
// retransmission of that packet must carry.
func shiftVP8Desc(payload []byte, d *vp8Desc, picOff uint16, tl0Off uint8) {
	if d.picLen == 0 && d.tl0Pos == 0 {
		return
	}
	writeVP8Desc(payload, d, (d.picID+picOff)&picMask(d.picLen), d.tl0+tl0Off)
}
