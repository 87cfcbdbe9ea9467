package sfu

import (
	"strings"
	"sync/atomic"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// downTrack sends one up-track to one subscriber. It is a webrtc.TrackLocal
// added to the subscriber's PeerConnection on its own sendonly transceiver.
type downTrack struct {
	// Set at construction.
	up       *upTrack
	sub      *Peer // the subscriber
	id       string
	streamID string // the publisher's peer ID
	codec    webrtc.RTPCodecCapability

	// bound is set by Bind and cleared by Unbind (Pion goroutines) and read
	// by writeRTP; nil means not negotiated yet, or stopped.
	bound atomic.Pointer[binding]

	// Owned by the up-track's reader goroutine (writeRTP).
	rw           rewriter
	waitKeyframe bool       // video: drop until the next VP8 keyframe
	hdr          rtp.Header // reused for every packet written
}

// binding is what Bind learnt from the subscriber's negotiation.
type binding struct {
	ssrc        uint32
	payloadType uint8
	writer      webrtc.TrackLocalWriter
}

var _ webrtc.TrackLocal = (*downTrack)(nil)

func newDownTrack(u *upTrack, sub *Peer) *downTrack {
	return &downTrack{
		up:           u,
		sub:          sub,
		id:           u.id,
		streamID:     u.peer.id,
		codec:        u.codec,
		waitKeyframe: u.kind == webrtc.RTPCodecTypeVideo,
	}
}

// Bind implements webrtc.TrackLocal: it picks the negotiated payload type
// of our codec and records the writer and SSRC to send with.
func (d *downTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	for _, c := range ctx.CodecParameters() {
		if strings.EqualFold(c.MimeType, d.codec.MimeType) {
			d.bound.Store(&binding{
				ssrc:        uint32(ctx.SSRC()),
				payloadType: uint8(c.PayloadType),
				writer:      ctx.WriteStream(),
			})
			// Sending starts now: the subscriber needs a keyframe.
			d.up.requestKeyframe()
			return c, nil
		}
	}
	return webrtc.RTPCodecParameters{}, webrtc.ErrUnsupportedCodec
}

// Unbind implements webrtc.TrackLocal.
func (d *downTrack) Unbind(webrtc.TrackLocalContext) error {
	d.bound.Store(nil)
	return nil
}

// ID implements webrtc.TrackLocal.
func (d *downTrack) ID() string { return d.id }

// RID implements webrtc.TrackLocal; simulcast is not supported yet.
func (d *downTrack) RID() string { return "" }

// StreamID implements webrtc.TrackLocal: the publisher's peer ID.
func (d *downTrack) StreamID() string { return d.streamID }

// Kind implements webrtc.TrackLocal.
func (d *downTrack) Kind() webrtc.RTPCodecType { return d.up.kind }

// writeRTP forwards one packet of the up-track. It is called only by the
// up-track's reader goroutine and does not allocate. The header is rebuilt
// in d.hdr with the subscriber's SSRC and payload type and rewritten
// sequence number and timestamp; the publisher's header extensions are
// dropped, their IDs having been negotiated with the publisher only.
func (d *downTrack) writeRTP(pkt *rtp.Packet) {
	b := d.bound.Load()
	if b == nil {
		return
	}
	if d.waitKeyframe {
		if !isVP8Keyframe(pkt.Payload) {
			d.up.requestKeyframe()
			return
		}
		d.waitKeyframe = false
	}
	d.rewriteHeader(&pkt.Header, b)
	_, _ = b.writer.WriteRTP(&d.hdr, pkt.Payload)
}

// rewriteHeader fills d.hdr for src.
func (d *downTrack) rewriteHeader(src *rtp.Header, b *binding) {
	seq, ts := d.rw.rewrite(src.SequenceNumber, src.Timestamp)
	h := &d.hdr
	h.Version = 2
	h.Padding = src.Padding
	h.PaddingSize = src.PaddingSize
	h.Marker = src.Marker
	h.PayloadType = b.payloadType
	h.SequenceNumber = seq
	h.Timestamp = ts
	h.SSRC = b.ssrc
	h.CSRC = h.CSRC[:0]
	h.Extension = false
	h.ExtensionProfile = 0
	h.Extensions = h.Extensions[:0]
}

// readRTCP drains the RTCP the subscriber sends for this track and turns
// its PLI and FIR (RFC 4585 §6.3.1, RFC 5104 §4.3.1) into keyframe requests
// to the publisher. It ends when the sender stops.
func (d *downTrack) readRTCP(sender *webrtc.RTPSender) {
	buf := make([]byte, 1500)
	for {
		n, _, err := sender.Read(buf)
		if err != nil {
			return
		}
		pkts, err := rtcp.Unmarshal(buf[:n])
		if err != nil {
			continue
		}
		for _, pkt := range pkts {
			switch pkt.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				d.up.requestKeyframe()
			}
		}
	}
}
