package main

import (
	"context"
	"encoding/binary"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// Synthetic media.
//
// Every packet carries a stamp right after the codec's own header (the
// VP8 payload descriptor and, on a frame's first packet, the VP8 frame
// header; the Opus TOC byte): when it was sent, in nanoseconds since the
// tool started on its monotonic clock, the publisher's index, and a
// counter per publisher and kind. Receivers in the same process turn it
// into one-way latency and loss.
type stamp struct {
	sent    time.Duration
	pub     uint32
	counter uint32
	video   bool
}

const stampLen = 16

func appendStamp(b []byte, st stamp) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(st.sent))
	b = binary.BigEndian.AppendUint32(b, st.pub)
	return binary.BigEndian.AppendUint32(b, st.counter)
}

// VP8 frame headers (RFC 6386 §9.1): a keyframe's 3-byte frame tag with
// its P bit clear, the start code 9d 01 2a and a 320x240 size; an
// interframe's frame tag with P set.
var (
	vp8KeyHeader   = []byte{0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00}
	vp8InterHeader = []byte{0x11, 0x02, 0x00}
)

// Payload sizes.
const (
	maxVideoPayload = 1100
	opusTOC         = 0xfc // CELT fullband, 20 ms, one frame
)

// appendVP8 appends one packet of a VP8 frame of size bytes: the payload
// descriptor (RFC 7741 §4.2; S=1 and PID 0 on the first packet of the
// frame, no extensions), the frame header on the first packet, the stamp
// and filler.
func appendVP8(b []byte, first, key bool, st stamp, size int) []byte {
	if first {
		b = append(b, 0x10)
		if key {
			b = append(b, vp8KeyHeader...)
		} else {
			b = append(b, vp8InterHeader...)
		}
	} else {
		b = append(b, 0x00)
	}
	b = appendStamp(b, st)
	return appendFiller(b, size, st.counter)
}

// appendOpus appends an Opus packet of size bytes: a TOC byte (RFC 6716
// §3.1), the stamp and filler.
func appendOpus(b []byte, st stamp, size int) []byte {
	b = append(b, opusTOC)
	b = appendStamp(b, st)
	return appendFiller(b, size, st.counter)
}

func appendFiller(b []byte, size int, seed uint32) []byte {
	for i := len(b); i < size; i++ {
		b = append(b, byte(int(seed)*13+i))
	}
	return b
}

// parseStamp finds the stamp in a payload of the given kind.
func parseStamp(p []byte, video bool) (stamp, bool) {
	off := 1
	if video {
		if len(p) < 2 {
			return stamp{}, false
		}
		if p[0]&0x80 != 0 { // X: we never send extensions
			return stamp{}, false
		}
		if p[0]&0x10 != 0 && p[0]&0x07 == 0 { // S, partition 0: frame header follows
			if p[1]&0x01 == 0 {
				off += len(vp8KeyHeader)
			} else {
				off += len(vp8InterHeader)
			}
		}
	}
	if len(p) < off+stampLen {
		return stamp{}, false
	}
	return stamp{
		sent:    time.Duration(binary.BigEndian.Uint64(p[off:])),
		pub:     binary.BigEndian.Uint32(p[off+8:]),
		counter: binary.BigEndian.Uint32(p[off+12:]),
		video:   video,
	}, true
}

// rtpPayload returns the payload of a raw RTP packet (RFC 3550 §5.1),
// skipping CSRCs, a header extension and padding.
func rtpPayload(b []byte) ([]byte, bool) {
	if len(b) < 12 || b[0]>>6 != 2 {
		return nil, false
	}
	off := 12 + 4*int(b[0]&0x0f)
	if b[0]&0x10 != 0 {
		if len(b) < off+4 {
			return nil, false
		}
		off += 4 + 4*int(binary.BigEndian.Uint16(b[off+2:]))
	}
	end := len(b)
	if b[0]&0x20 != 0 && end > 0 {
		end -= int(b[end-1])
	}
	if off > end {
		return nil, false
	}
	return b[off:end], true
}

// videoModel says how big frames are: a keyframe every keyEvery frames,
// keyMult times the size of an interframe, averaging bps.
type videoModel struct {
	bps      int
	fps      int
	keyEvery int
	keyMult  int
}

func (m videoModel) frameSize(key bool) int {
	perGroup := m.bps / 8 * m.keyEvery / m.fps // bytes per keyframe interval
	inter := perGroup / (m.keyEvery - 1 + m.keyMult)
	if key {
		return inter * m.keyMult
	}
	return inter
}

// packetSizes splits a frame into packets of at most maxVideoPayload
// bytes, as equal as possible.
func packetSizes(frame int) (n, size int) {
	n = (frame + maxVideoPayload - 1) / maxVideoPayload
	n = max(n, 1)
	return n, max((frame+n-1)/n, 1+len(vp8KeyHeader)+stampLen)
}

// publisher sends one participant's synthetic media.
type publisher struct {
	// set at construction
	pub   uint32
	audio *webrtc.TrackLocalStaticRTP // nil: not publishing audio
	video *webrtc.TrackLocalStaticRTP
	model videoModel
	clock func() time.Duration // since the tool started

	keyWanted atomic.Bool // set by the server's PLI

	// owned by run
	buf        []byte
	na, nv     uint32 // stamp counters
	seqA, seqV uint16
	frames     int
	sinceKey   int
}

// requestKeyframe makes the next video frame a keyframe.
func (p *publisher) requestKeyframe() { p.keyWanted.Store(true) }

// run sends 50 Opus packets and 30 VP8 frames a second until ctx ends.
func (p *publisher) run(ctx context.Context) {
	p.buf = make([]byte, 0, 1500)
	p.sinceKey = p.model.keyEvery // start with a keyframe
	audio := time.NewTicker(20 * time.Millisecond)
	defer audio.Stop()
	video := time.NewTicker(time.Second / time.Duration(p.model.fps))
	defer video.Stop()
	if p.audio == nil {
		audio.Stop()
	}
	if p.video == nil {
		video.Stop()
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-audio.C:
			p.sendAudio()
		case <-video.C:
			p.sendFrame()
		}
	}
}

func (p *publisher) sendAudio() {
	p.na++
	p.seqA++
	size := 80 + int(p.na*37%81)
	st := stamp{sent: p.clock(), pub: p.pub, counter: p.na}
	p.buf = appendOpus(p.buf[:0], st, size)
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: p.seqA, Timestamp: p.na * 960}, Payload: p.buf}
	_ = p.audio.WriteRTP(&pkt)
}

func (p *publisher) sendFrame() {
	p.frames++
	p.sinceKey++
	key := p.sinceKey >= p.model.keyEvery || p.keyWanted.Swap(false)
	if key {
		p.sinceKey = 0
	}
	n, size := packetSizes(p.model.frameSize(key))
	ts := uint32(p.frames * 90000 / p.model.fps)
	for i := range n {
		p.nv++
		p.seqV++
		st := stamp{sent: p.clock(), pub: p.pub, counter: p.nv, video: true}
		p.buf = appendVP8(p.buf[:0], i == 0, key, st, size)
		pkt := rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: p.seqV, Timestamp: ts, Marker: i == n-1}, Payload: p.buf}
		_ = p.video.WriteRTP(&pkt)
	}
}
