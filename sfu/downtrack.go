package sfu

import (
	"strings"
	"sync/atomic"

	"github.com/parley-dev/parley/sfu/packetcache"
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

	// seqs is how this subscriber's sequence numbers and timestamps map
	// onto the up-track's, for answering NACKs. writeRTP replaces it (a
	// rare event: the first packet, a source switch); readRTCP reads it.
	// nil until the first packet is sent.
	seqs atomic.Pointer[seqMap]

	// Owned by the up-track's reader goroutine (writeRTP).
	rw           rewriter
	waitKeyframe bool       // video: drop until the next VP8 keyframe
	hdr          rtp.Header // reused for every packet written
	epoch        uint32     // rw.epoch when seqs was last stored

	// Owned by the RTCP goroutine (readRTCP, handleNACK).
	rtxBuf []byte // packet fetched from the cache; allocated on the first NACK
	rtxPkt rtp.Packet
	rtxHdr rtp.Header
}

// binding is what Bind learnt from the subscriber's negotiation.
type binding struct {
	ssrc        uint32
	payloadType uint8
	writer      webrtc.TrackLocalWriter
}

// seqMap maps output sequence numbers from first onwards back to the
// source's: source = output - seqOff, output timestamp = source + tsOff.
type seqMap struct {
	first  uint16 // first output sequence number sent with these offsets
	seqOff uint16
	tsOff  uint32
}

// writeResult is what became of one packet offered to a down-track.
type writeResult uint8

const (
	writeSkipped writeResult = iota // not bound yet, or waiting for a keyframe
	writeSent
	writeDropped // the write failed
)

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
func (d *downTrack) writeRTP(pkt *rtp.Packet) writeResult {
	b := d.bound.Load()
	if b == nil {
		return writeSkipped
	}
	if d.waitKeyframe {
		if !isVP8Keyframe(pkt.Payload) {
			d.up.requestKeyframe()
			return writeSkipped
		}
		d.waitKeyframe = false
	}
	d.rewriteHeader(&pkt.Header, b)
	if d.sub != nil {
		if q := d.sub.sendq.Load(); q != nil {
			return d.enqueue(q, b, pkt)
		}
	}
	if _, err := b.writer.WriteRTP(&d.hdr, pkt.Payload); err != nil {
		return writeDropped
	}
	return writeSent
}

// enqueue hands the rewritten packet to the subscriber's send queue. When
// the queue is full the packet is dropped, after its sequence number was
// used, so the subscriber sees the gap; video then waits for the next
// keyframe, which it requests.
func (d *downTrack) enqueue(q *sendQueue, b *binding, pkt *rtp.Packet) writeResult {
	if q.push(b.writer, &d.hdr, pkt.Payload) {
		return writeSent
	}
	if d.up.kind == webrtc.RTPCodecTypeVideo {
		d.waitKeyframe = true
		d.up.requestKeyframe()
	}
	return writeDropped
}

// rewriteHeader fills d.hdr for src, and publishes the rewriter's offsets
// in d.seqs when they have changed.
func (d *downTrack) rewriteHeader(src *rtp.Header, b *binding) {
	seq, ts := d.rw.rewrite(src.SequenceNumber, src.Timestamp)
	if d.rw.epoch != d.epoch {
		d.epoch = d.rw.epoch
		d.seqs.Store(&seqMap{first: seq, seqOff: d.rw.seqOff, tsOff: d.rw.tsOff})
	}
	fillHeader(&d.hdr, src, b, seq, ts)
}

// fillHeader makes h the header of src as sent to a subscriber: its
// payload type and SSRC, sequence number seq and timestamp ts, no CSRC
// and no header extension.
func fillHeader(h *rtp.Header, src *rtp.Header, b *binding, seq uint16, ts uint32) {
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

// readRTCP drains the RTCP the subscriber sends for this track. It turns
// PLI and FIR (RFC 4585 §6.3.1, RFC 5104 §4.3.1) into keyframe requests
// to the publisher and answers generic NACKs (RFC 4585 §6.2.1) from the
// up-track's packet cache. It ends when the sender stops.
func (d *downTrack) readRTCP(sender *webrtc.RTPSender) {
	st := &d.up.sfu.stats
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
			switch pkt := pkt.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				st.keyframeRequestsIn.Add(1)
				d.up.requestKeyframe()
			case *rtcp.TransportLayerNack:
				st.nacksIn.Add(1)
				if r := d.handleNACK(pkt); r > 0 {
					st.retransmits.Add(uint64(r))
				}
			}
		}
	}
}

// handleNACK resends the packets a generic NACK (RFC 4585 §6.2.1) lists,
// if they are still in the up-track's cache, and returns how many it
// resent. Each lost output sequence number is mapped back to the source's,
// fetched, and written again with this subscriber's SSRC, payload type,
// sequence number and timestamp; the payload is the publisher's, byte for
// byte. Numbers sent before the current mapping began are ignored.
// It runs on the RTCP goroutine.
func (d *downTrack) handleNACK(nack *rtcp.TransportLayerNack) int {
	b, m := d.bound.Load(), d.seqs.Load()
	if b == nil || m == nil || d.up.cache == nil {
		return 0
	}
	if d.rtxBuf == nil {
		d.rtxBuf = make([]byte, packetcache.BufSize)
	}
	resent := 0
	for i := range nack.Nacks {
		nack.Nacks[i].Range(func(seq uint16) bool {
			if seqNewer(m.first, seq) {
				return true
			}
			if d.resend(b, m, seq) {
				resent++
			}
			return true
		})
	}
	return resent
}

// resend writes output packet seq again, if its source is in the cache.
func (d *downTrack) resend(b *binding, m *seqMap, seq uint16) bool {
	src := seq - m.seqOff
	n := d.up.cache.Get(src, d.rtxBuf)
	if n == 0 || d.rtxPkt.Unmarshal(d.rtxBuf[:n]) != nil || d.rtxPkt.SequenceNumber != src {
		return false
	}
	fillHeader(&d.rtxHdr, &d.rtxPkt.Header, b, seq, d.rtxPkt.Timestamp+m.tsOff)
	_, err := b.writer.WriteRTP(&d.rtxHdr, d.rtxPkt.Payload)
	return err == nil
}
