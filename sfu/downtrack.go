package sfu

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parley-dev/parley/sfu/packetcache"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// downTrack sends one up-track to one subscriber. It is a webrtc.TrackLocal
// added to the subscriber's PeerConnection on a transceiver of its own,
// new or taken over from a departed down-track (see transceiverSlots).
type downTrack struct {
	// Set at construction.
	up       *upTrack
	sub      *Peer // the subscriber
	id       string
	streamID string // the publisher's peer ID
	codec    webrtc.RTPCodecCapability
	now      func() time.Time // time.Now; tests replace it before use

	// bound is set by Bind and cleared by Unbind (Pion goroutines) and read
	// by writeRTP; nil means not negotiated yet, or stopped.
	bound atomic.Pointer[binding]

	// seqs is how this subscriber's sequence numbers and timestamps map
	// onto the up-track's, for answering NACKs. writeRTP replaces it (a
	// rare event: the first packet, a source switch); readRTCP reads it.
	// nil until the first packet is sent.
	seqs atomic.Pointer[seqMap]

	// target is the index of the layer the subscriber asked for
	// (setTarget, any goroutine); cur that of the layer being forwarded,
	// stored under mu by the writer and read by anyone. They differ while
	// a switch waits for the target layer's next keyframe. sending is set
	// once the first packet has been sent.
	target  atomic.Int32
	cur     atomic.Int32
	sending atomic.Bool

	// forwarded counts the bytes written to the subscriber (header and
	// payload, not counting retransmissions): the up-track's reader
	// goroutine adds to it, the RTCP goroutine reads it to grow rtx's
	// credit.
	forwarded atomic.Uint64

	// mu is taken by the up-track's reader goroutines (writeLayer), one
	// per layer, to write to the subscriber; only the reader of the layer
	// being forwarded does so, except around a layer switch, when the
	// target layer's reader takes it too, so it is not contended
	// otherwise. It guards the fields below. It is held across the write
	// to Pion, which does not block on UDP (ICE-TCP goes through the
	// send queue). An up-track that can have only one layer (up.layered
	// false) has one reader, which owns the fields without taking mu.
	mu           sync.Mutex
	rw           rewriter
	vp8          vp8Munger          // VP8 picture ID and TL0PICIDX across layer switches
	cache        *packetcache.Cache // the cache of the layer forwarded, for seqs
	waitKeyframe bool               // video: drop until the next VP8 keyframe
	hdr          rtp.Header         // reused for every packet written
	epoch        uint32             // rw.epoch when seqs was last stored

	// Owned by the RTCP goroutine (readRTCP, handleRTCP and below).
	rtxBuf []byte // packet fetched from the cache; allocated on the first NACK
	rtxPkt rtp.Packet
	rtxHdr rtp.Header
	rtx    rtxLimiter // initialised with rtxBuf
}

// binding is what Bind learnt from the subscriber's negotiation.
type binding struct {
	ssrc        uint32
	payloadType uint8
	writer      webrtc.TrackLocalWriter
}

// seqMap maps output sequence numbers back to the source's: from its
// own first onwards with its seqSpan, and from prev.first up to there
// with prev, the mapping it replaced (if havePrev), so that a packet lost
// just before a layer switch or a pause can still be resent.
type seqMap struct {
	seqSpan
	prev     seqSpan
	havePrev bool
}

// seqSpan is one mapping: source = output - seqOff, output timestamp =
// source + tsOff, in the packet cache of the layer then forwarded; a VP8
// picture ID and TL0PICIDX go out moved by picOff and tl0Off (see
// vp8Munger).
type seqSpan struct {
	first  uint16 // first output sequence number sent with these offsets
	seqOff uint16
	tsOff  uint32
	cache  *packetcache.Cache
	picOff uint16
	tl0Off uint8
}

// rangeOf returns the mapping output sequence number seq was sent with,
// or nil if it was sent before both.
func (m *seqMap) rangeOf(seq uint16) *seqSpan {
	switch {
	case !seqNewer(m.first, seq):
		return &m.seqSpan
	case m.havePrev && !seqNewer(m.prev.first, seq):
		return &m.prev
	}
	return nil
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
		now:          time.Now,
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
			d.requestKeyframe()
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

// RID implements webrtc.TrackLocal: a down-track sends one stream, of
// whichever layer it forwards.
func (d *downTrack) RID() string { return "" }

// StreamID implements webrtc.TrackLocal: the publisher's peer ID.
func (d *downTrack) StreamID() string { return d.streamID }

// Kind implements webrtc.TrackLocal.
func (d *downTrack) Kind() webrtc.RTPCodecType { return d.up.kind }

// writeRTP is writeLayer for the up-track's first layer, parsing the VP8
// payload descriptor itself.
func (d *downTrack) writeRTP(pkt *rtp.Packet) writeResult {
	var desc vp8Desc
	if d.up.kind == webrtc.RTPCodecTypeVideo {
		desc = parseVP8Desc(pkt.Payload)
	}
	return d.writeLayer(&d.up.layer, pkt, &desc)
}

// writeLayer offers the down-track one packet of layer l, whose VP8
// payload descriptor (zero for audio) is desc, and forwards it if l is the
// layer forwarded, or the target layer and the packet starts a keyframe
// (a switch: see switchLayer). It is called only by the readers of the
// up-track's layers and does not allocate. A packet of any other layer
// costs two atomic loads.
func (d *downTrack) writeLayer(l *layer, pkt *rtp.Packet, desc *vp8Desc) writeResult {
	if l.idx != d.cur.Load() && l.idx != d.target.Load() {
		return writeSkipped
	}
	b := d.bound.Load()
	if b == nil {
		return writeSkipped
	}
	if !d.up.layered {
		return d.writeLocked(l, pkt, desc, b) // one reader: no lock needed
	}
	d.mu.Lock()
	r := d.writeLocked(l, pkt, desc, b)
	d.mu.Unlock()
	return r
}

// writeLocked does writeLayer's work under d.mu. The header is rebuilt
// in d.hdr with the subscriber's SSRC and payload type and rewritten
// sequence number and timestamp; the publisher's header extensions are
// dropped, their IDs having been negotiated with the publisher only. A
// VP8 picture ID and TL0PICIDX are rewritten in the payload in place.
func (d *downTrack) writeLocked(l *layer, pkt *rtp.Packet, desc *vp8Desc, b *binding) writeResult {
	switch {
	case l.idx != d.cur.Load():
		if l.idx != d.target.Load() {
			return writeSkipped // the target changed meanwhile
		}
		if !desc.keyframe {
			l.requestKeyframe()
			return writeSkipped
		}
		d.switchLayer(l)
	case d.waitKeyframe:
		if !desc.keyframe {
			l.requestKeyframe()
			return writeSkipped
		}
		d.waitKeyframe = false
	}
	d.cache = l.cache
	if desc.picLen != 0 || desc.tl0Pos != 0 {
		pic, tl0 := d.vp8.rewrite(desc)
		writeVP8Desc(pkt.Payload, desc, pic, tl0)
	}
	d.rewriteHeader(&pkt.Header, b)
	r := writeSent
	if q := d.sendQueue(); q != nil {
		r = d.enqueue(q, b, pkt)
	} else if _, err := b.writer.WriteRTP(&d.hdr, pkt.Payload); err != nil {
		r = writeDropped
	}
	if r == writeSent {
		d.forwarded.Add(uint64(rtpHeaderLen + len(pkt.Payload) + int(pkt.PaddingSize)))
		if !d.sending.Load() {
			d.sending.Store(true)
		}
	}
	return r
}

// switchLayer makes l, whose keyframe is about to be written, the layer
// forwarded, the numbering going on from the last packet sent: the next
// sequence number, the timestamp one frame on (switchTSGap), the next
// picture ID and TL0PICIDX. Called under d.mu.
func (d *downTrack) switchLayer(l *layer) {
	if d.rw.started {
		d.rw.switchSource(switchTSGap)
		d.vp8.switchSource()
		if d.up.sfu != nil {
			d.up.sfu.stats.layerSwitches.Add(1)
		}
	}
	d.cur.Store(l.idx)
	d.waitKeyframe = false
}

// setTarget makes layer idx the one to forward from its next keyframe,
// which it requests. Safe from any goroutine.
func (d *downTrack) setTarget(idx int32) {
	d.target.Store(idx)
	if idx == d.cur.Load() {
		return
	}
	if l := d.up.layerAt(idx); l != nil {
		l.requestKeyframe()
	}
}

// currentLayer returns the index of the layer forwarded and whether a
// packet has been sent at all.
func (d *downTrack) currentLayer() (int32, bool) {
	return d.cur.Load(), d.sending.Load()
}

// requestKeyframe asks for a keyframe on the layer forwarded and, while
// a switch is pending, on the target layer. Safe from any goroutine.
func (d *downTrack) requestKeyframe() {
	cur, tgt := d.cur.Load(), d.target.Load()
	if l := d.up.layerAt(cur); l != nil {
		l.requestKeyframe()
	}
	if tgt != cur {
		if l := d.up.layerAt(tgt); l != nil {
			l.requestKeyframe()
		}
	}
}

// resync makes the next packet continue the numbering after a pause in
// the source, its timestamp gap on (see rewriter.switchSource).
func (d *downTrack) resync(gap uint32) {
	if d.up.layered {
		d.mu.Lock()
		defer d.mu.Unlock()
	}
	d.rw.switchSource(gap)
}

// sendQueue returns the subscriber's send queue, or nil if it is written
// to directly.
func (d *downTrack) sendQueue() *sendQueue {
	if d.sub == nil {
		return nil
	}
	return d.sub.sendq.Load()
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
		d.requestKeyframe()
	}
	return writeDropped
}

// rewriteHeader fills d.hdr for src, and publishes the rewriter's offsets
// in d.seqs when they have changed.
func (d *downTrack) rewriteHeader(src *rtp.Header, b *binding) {
	seq, ts := d.rw.rewrite(src.SequenceNumber, src.Timestamp)
	if d.rw.epoch != d.epoch {
		d.epoch = d.rw.epoch
		m := &seqMap{seqSpan: seqSpan{first: seq, seqOff: d.rw.seqOff, tsOff: d.rw.tsOff,
			cache: d.cache, picOff: d.vp8.picOff, tl0Off: d.vp8.tl0Off}}
		if old := d.seqs.Load(); old != nil {
			m.prev, m.havePrev = old.seqSpan, true
		}
		d.seqs.Store(m)
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

// readRTCP drains the RTCP the subscriber sends for this track and hands
// each compound packet to handleRTCP. It ends when the sender stops.
func (d *downTrack) readRTCP(sender *webrtc.RTPSender) {
	buf := make([]byte, 1500)
	for {
		n, _, err := sender.Read(buf)
		if err != nil {
			return
		}
		d.handleRTCP(buf[:n])
	}
}

// handleRTCP acts on one compound RTCP packet from the subscriber about
// this track; a packet that does not parse is ignored. It turns PLI and
// FIR (RFC 4585 §6.3.1, RFC 5104 §4.3.1) into keyframe requests to the
// publisher (which keyframeLoop throttles), answers generic NACKs (RFC
// 4585 §6.2.1) from the packet cache of the layer forwarded within the limits of
// rtxLimiter, and takes the round-trip time from receiver reports (RFC
// 3550 §6.4.2). Feedback about another SSRC is ignored. It runs on the
// RTCP goroutine.
func (d *downTrack) handleRTCP(buf []byte) {
	pkts, err := rtcp.Unmarshal(buf)
	if err != nil {
		return
	}
	st := &d.up.sfu.stats
	for _, pkt := range pkts {
		switch pkt := pkt.(type) {
		case *rtcp.PictureLossIndication:
			if d.isOurs(pkt.MediaSSRC) {
				st.keyframeRequestsIn.Add(1)
				d.requestKeyframe()
			}
		case *rtcp.FullIntraRequest:
			for _, e := range pkt.FIR {
				if d.isOurs(e.SSRC) {
					st.keyframeRequestsIn.Add(1)
					d.requestKeyframe()
					break
				}
			}
		case *rtcp.TransportLayerNack:
			st.nacksIn.Add(1)
			resent, refused := d.handleNACK(pkt)
			if resent > 0 {
				st.retransmits.Add(uint64(resent))
			}
			if refused > 0 {
				st.retransmitsSuppressed.Add(uint64(refused))
			}
		case *rtcp.ReceiverReport:
			d.handleReports(pkt.Reports)
		}
	}
}

// isOurs reports whether ssrc is the one this track is sent with.
func (d *downTrack) isOurs(ssrc uint32) bool {
	b := d.bound.Load()
	return b != nil && b.ssrc == ssrc
}

// handleReports takes the round-trip time from the report block about
// this track, if any, as the interval between two resends of a packet.
func (d *downTrack) handleReports(reports []rtcp.ReceptionReport) {
	for _, r := range reports {
		if !d.isOurs(r.SSRC) {
			continue
		}
		if rtt, ok := reportRTT(d.now(), r.LastSenderReport, r.Delay); ok {
			d.rtx.setRTT(rtt)
		}
	}
}

// rtxResult is what became of one NACKed sequence number.
type rtxResult uint8

const (
	rtxSent       rtxResult = iota
	rtxMissing              // not in the cache, or the write failed
	rtxRepeat               // resent less than an interval ago
	rtxOverBudget           // the down-track's resend credit is spent
)

// handleNACK resends the packets a generic NACK (RFC 4585 §6.2.1) lists,
// if they are still in the cache of the layer they were sent from and
// rtxLimiter allows, and returns how many it resent and how many it
// refused (repeats and over budget; once the credit runs out, the rest of
// the NACK is refused without looking in the cache). Each lost output
// sequence number is mapped back to the source's, with the mapping it was
// sent under (the current one or the one before: see seqMap), fetched,
// and written again with this subscriber's SSRC, payload type, sequence
// number and timestamp; the payload is the publisher's, byte for byte but
// for the VP8 picture ID and TL0PICIDX the mapping gives. Numbers sent
// before the previous mapping began are ignored. It runs on the RTCP goroutine and, after the first
// NACK, does not allocate.
func (d *downTrack) handleNACK(nack *rtcp.TransportLayerNack) (resent, refused int) {
	b, m := d.bound.Load(), d.seqs.Load()
	if b == nil || m == nil || m.cache == nil || nack.MediaSSRC != b.ssrc {
		return 0, 0
	}
	now := d.now()
	if d.rtxBuf == nil {
		d.rtxBuf = make([]byte, packetcache.BufSize)
		d.rtx.init(m.cache.Size(), now, d.forwarded.Load())
	}
	tick := d.rtx.begin(now, d.forwarded.Load())
	spent := false // the credit ran out: refuse the rest unseen
	for i := range nack.Nacks {
		nack.Nacks[i].Range(func(seq uint16) bool {
			r := m.rangeOf(seq)
			switch {
			case r == nil:
			case spent:
				refused++
			default:
				switch d.resend(b, r, seq, tick) {
				case rtxSent:
					resent++
				case rtxOverBudget:
					spent = true
					refused++
				case rtxRepeat:
					refused++
				}
			}
			return true
		})
	}
	return resent, refused
}

// resend writes output packet seq again, at tick, if its source is in
// the cache and the limiter allows.
func (d *downTrack) resend(b *binding, m *seqSpan, seq uint16, tick uint32) rtxResult {
	src := seq - m.seqOff
	if d.rtx.recent(src, tick) {
		return rtxRepeat
	}
	if !d.rtx.afford(rtpHeaderLen) {
		return rtxOverBudget // not worth a look in the cache
	}
	n := m.cache.Get(src, d.rtxBuf)
	if n == 0 || d.rtxPkt.Unmarshal(d.rtxBuf[:n]) != nil || d.rtxPkt.SequenceNumber != src {
		return rtxMissing
	}
	if d.up.kind == webrtc.RTPCodecTypeVideo {
		desc := parseVP8Desc(d.rtxPkt.Payload)
		shiftVP8Desc(d.rtxPkt.Payload, &desc, m.picOff, m.tl0Off)
	}
	size := rtpHeaderLen + len(d.rtxPkt.Payload) + int(d.rtxPkt.PaddingSize)
	if !d.rtx.afford(size) {
		return rtxOverBudget
	}
	fillHeader(&d.rtxHdr, &d.rtxPkt.Header, b, seq, d.rtxPkt.Timestamp+m.tsOff)
	if _, err := b.writer.WriteRTP(&d.rtxHdr, d.rtxPkt.Payload); err != nil {
		return rtxMissing
	}
	d.rtx.spend(src, size, tick)
	return rtxSent
}
