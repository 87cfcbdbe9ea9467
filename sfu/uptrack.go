package sfu

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parley-dev/parley/sfu/packetcache"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// Packet cache sizes: how many of a track's last packets can be
// retransmitted. 512 video packets are about 3 s at 1.5 Mbit/s.
const (
	videoCacheSize = 512
	audioCacheSize = 64
)

// upTrack is a track published by a peer: a microphone, or a camera sent
// as one stream or as up to MaxLayers simulcast layers (RFC 8853), each an
// RTP stream of its own with its own RID and SSRC. Each layer has its own
// reader goroutine (readLoop), which reads its RTP, keeps it in the
// layer's packet cache for retransmission and offers each packet to every
// down-track in a copy-on-write snapshot; a down-track forwards one layer
// at a time (see downTrack.writeLayer). A reader never blocks on a
// subscriber's queue.
type upTrack struct {
	// layer is the first layer to arrive, and for a track without
	// simulcast the only one. Its fields are set at construction.
	layer

	// Set at construction.
	sfu         *SFU
	peer        *Peer
	pc          *webrtc.PeerConnection // the connection the track arrives on, for PLIs
	receiver    *webrtc.RTPReceiver
	id          string // "<peerID>-audio" or "<peerID>-video"
	kind        webrtc.RTPCodecType
	codec       webrtc.RTPCodecCapability
	log         *slog.Logger
	pliInterval time.Duration
	done        chan struct{} // closed by close; ends the keyframe loops

	// layered is set, before the track starts, for a track that may get
	// more layers (one arriving on the publisher connection): its
	// down-tracks then lock their forwarding state, which several readers
	// reach. A track of the main connection has one reader only.
	layered bool

	// layers is every layer started, the first included, in arrival
	// order; replaced, never modified, by addLayer under mu. nil for an
	// up-track built by hand in a test: then the embedded layer is the
	// only one.
	layers atomic.Pointer[[]*layer]

	// readers counts the layers' reader goroutines still running; the
	// last to end folds the counters into the SFU's totals.
	readers atomic.Int32

	// off, for audio, is the peer's audioOff: while it is set, forward
	// drops the publisher's packets (see Peer.SetAudioForwarding). nil
	// for video.
	off *atomic.Bool

	// Owned by the (single, audio) reader goroutine (forwarding).
	paused bool   // the last packet read was dropped because of off
	lastTS uint32 // timestamp of the last packet forwarded

	// counters are added to by the readers only (see SFU.Stats).
	counters trackCounters

	// down is the snapshot the readers fan out to. It is replaced, never
	// modified, by addDownTrack, removeDownTrack and close under mu.
	down atomic.Pointer[[]*downTrack]

	mu     sync.Mutex // guards writers of down and layers, and closed
	closed bool
}

// layer is one RTP stream of an up-track: the whole track, or one
// simulcast encoding of it.
type layer struct {
	// Set at construction.
	idx      int32  // the encoding's position in the publisher's description (0 without simulcast)
	rid      string // its RID; "" without simulcast
	track    *webrtc.TrackRemote
	ssrc     uint32
	keyframe chan struct{} // capacity 1: "a keyframe is wanted"; nil for audio

	// cache holds the layer's last packets read, as read (publisher's
	// numbering). Written by the layer's reader, read by the down-tracks'
	// RTCP goroutines answering NACKs; it has its own lock.
	cache *packetcache.Cache
}

func newUpTrack(p *Peer, track *webrtc.TrackRemote, receiver *webrtc.RTPReceiver) *upTrack {
	return newUpTrackOn(p, p.pc, track, receiver)
}

// newUpTrackOn makes the up-track of track, the first layer to arrive on
// receiver, a receiver of pc.
func newUpTrackOn(p *Peer, pc *webrtc.PeerConnection, track *webrtc.TrackRemote, receiver *webrtc.RTPReceiver) *upTrack {
	kind := track.Kind()
	id := p.id + "-" + kind.String()
	u := &upTrack{
		sfu:         p.sfu,
		peer:        p,
		pc:          pc,
		receiver:    receiver,
		id:          id,
		kind:        kind,
		codec:       track.Codec().RTPCodecCapability,
		log:         p.log.With("track", id),
		pliInterval: p.sfu.pliInterval,
		done:        make(chan struct{}),
	}
	u.layer = newLayer(kind, track, receiver)
	if kind == webrtc.RTPCodecTypeAudio {
		u.off = &p.audioOff
	}
	u.layers.Store(&[]*layer{&u.layer})
	u.down.Store(&[]*downTrack{})
	return u
}

// newLayer makes the layer of track, one of receiver's.
func newLayer(kind webrtc.RTPCodecType, track *webrtc.TrackRemote, receiver *webrtc.RTPReceiver) layer {
	l := layer{
		idx:   layerIndex(receiver, track.RID()),
		rid:   track.RID(),
		track: track,
		ssrc:  uint32(track.SSRC()),
	}
	if kind == webrtc.RTPCodecTypeVideo {
		l.keyframe = make(chan struct{}, 1)
		l.cache = packetcache.New(videoCacheSize)
	} else {
		l.cache = packetcache.New(audioCacheSize)
	}
	return l
}

// start launches the goroutines of the track and its first layer. It
// returns false if the SFU is closing.
func (u *upTrack) start() bool {
	s := u.sfu
	s.trackStarted(u)
	u.readers.Add(1)
	s.stats.layers.Add(1)
	if !s.spawn(func() { u.readLoop(&u.layer) }) {
		s.stats.layers.Add(-1)
		u.readerEnded()
		return false
	}
	u.startLayer(&u.layer)
	return true
}

// startLayer launches the goroutines that serve l besides its reader.
func (u *upTrack) startLayer(l *layer) {
	u.sfu.spawn(func() { u.drainRTCP(l) })
	if l.keyframe != nil {
		u.sfu.spawn(func() { u.keyframeLoop(l) })
	}
}

// readLoop is layer l's single reader. It ends when the track's receiver
// stops (the publisher's PeerConnection closed), and closes the track.
func (u *upTrack) readLoop(l *layer) {
	defer u.readerEnded()
	defer u.sfu.stats.layers.Add(-1)
	defer u.close()
	buf := make([]byte, packetcache.BufSize)
	var pkt rtp.Packet
	for {
		n, _, err := l.track.Read(buf)
		if err != nil {
			return
		}
		if err := pkt.Unmarshal(buf[:n]); err != nil {
			continue
		}
		u.forwardLayer(l, &pkt, buf[:n])
	}
}

// readerEnded is called as each layer's reader ends; the last one folds
// the track's counters into the SFU's totals.
func (u *upTrack) readerEnded() {
	if u.readers.Add(-1) == 0 {
		u.sfu.trackEnded(u)
	}
}

// forward is forwardLayer for the track's first layer.
func (u *upTrack) forward(pkt *rtp.Packet, raw []byte) { u.forwardLayer(&u.layer, pkt, raw) }

// forwardLayer caches one packet read from layer l (raw, unmarshalled into
// pkt) and offers it to every down-track, which sends it if it forwards
// that layer. It is called by l's reader goroutine only, and adds to the
// track's counters once per packet, not per down-track. A VP8 payload
// descriptor is parsed once here for all the down-tracks.
func (u *upTrack) forwardLayer(l *layer, pkt *rtp.Packet, raw []byte) {
	u.counters.packetsIn.Add(1)
	u.counters.bytesIn.Add(uint64(len(raw)))
	if u.off != nil && !u.forwarding(pkt) {
		return
	}
	if l.cache != nil {
		l.cache.Store(pkt.SequenceNumber, raw)
	}
	var desc vp8Desc
	if u.kind == webrtc.RTPCodecTypeVideo {
		desc = parseVP8Desc(pkt.Payload)
	}
	var sent, dropped uint64
	u.sfu.batch.begin()
	for _, d := range *u.down.Load() {
		switch d.writeLayer(l, pkt, &desc) {
		case writeSent:
			sent++
		case writeDropped:
			dropped++
		}
	}
	u.sfu.batch.end()
	if sent > 0 {
		u.counters.packetsOut.Add(sent)
		// What downTrack.rewriteHeader makes: a 12-byte header, no CSRC
		// or extension.
		u.counters.bytesOut.Add(sent * uint64(12+len(pkt.Payload)+int(pkt.PaddingSize)))
	}
	if dropped > 0 {
		u.counters.dropped.Add(dropped)
	}
}

// forwarding reports whether pkt is to be forwarded, false while the
// peer's audio forwarding is off. Such packets are not cached either, so
// no NACK can fetch them. On the first packet after a pause, each
// down-track's numbering is made to continue without a gap in sequence
// numbers (the receiver sees no loss) and with the timestamps advanced by
// the time that passed, as after silence suppression. Called by the
// reader goroutine only.
func (u *upTrack) forwarding(pkt *rtp.Packet) bool {
	if u.off.Load() {
		u.paused = true
		return false
	}
	if u.paused {
		u.paused = false
		gap := pkt.Timestamp - u.lastTS
		for _, d := range *u.down.Load() {
			d.resync(gap)
		}
	}
	u.lastTS = pkt.Timestamp
	return true
}

// drainRTCP reads the RTCP arriving for layer l (the publisher's sender
// reports) so the interceptors see it and Pion's buffers never fill. It
// ends when the receiver stops.
func (u *upTrack) drainRTCP(l *layer) {
	buf := make([]byte, 1500)
	for {
		var err error
		if l.rid == "" {
			_, _, err = u.receiver.Read(buf)
		} else {
			_, _, err = u.receiver.ReadSimulcast(buf, l.rid)
		}
		if err != nil {
			return
		}
	}
}

// requestKeyframe asks the publisher for a keyframe on layer 0, the one
// a new subscriber starts on (or, until it arrives, on the first layer);
// see layer.requestKeyframe.
func (u *upTrack) requestKeyframe() {
	if l := u.layerAt(0); l != nil {
		l.requestKeyframe()
		return
	}
	u.layer.requestKeyframe()
}

// requestKeyframe asks the publisher for a keyframe on this layer; the
// layer's keyframeLoop throttles the requests. It never blocks and is a
// no-op for audio.
func (l *layer) requestKeyframe() {
	if l.keyframe == nil {
		return
	}
	select {
	case l.keyframe <- struct{}{}:
	default:
	}
}

// keyframeLoop sends a PLI (RFC 4585 §6.3.1) to the publisher about layer
// l's SSRC for each keyframe request, at most once per pliInterval: a
// request arriving sooner waits for the interval to pass, and requests
// made meanwhile are coalesced into it. It ends when the track closes.
func (u *upTrack) keyframeLoop(l *layer) {
	var last time.Time
	for {
		select {
		case <-u.done:
			return
		case <-l.keyframe:
		}
		if wait := u.pliInterval - time.Since(last); !last.IsZero() && wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-u.done:
				t.Stop()
				return
			case <-t.C:
			}
			select {
			case <-l.keyframe:
			default:
			}
		}
		last = time.Now()
		err := u.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: l.ssrc}})
		if err != nil {
			u.log.Debug("send PLI", "rid", l.rid, "err", err)
			continue
		}
		u.sfu.stats.plisOut.Add(1)
	}
}

// addDownTrack adds d to the fan-out. It returns false if the track is
// closed.
func (u *upTrack) addDownTrack(d *downTrack) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.closed {
		return false
	}
	old := *u.down.Load()
	next := make([]*downTrack, len(old), len(old)+1)
	copy(next, old)
	next = append(next, d)
	u.down.Store(&next)
	u.sfu.stats.downTracks.Add(1)
	return true
}

// removeDownTrack removes d from the fan-out, if present.
func (u *upTrack) removeDownTrack(d *downTrack) {
	u.mu.Lock()
	defer u.mu.Unlock()
	old := *u.down.Load()
	next := make([]*downTrack, 0, len(old))
	for _, x := range old {
		if x != d {
			next = append(next, x)
		}
	}
	if len(next) == len(old) {
		return
	}
	u.down.Store(&next)
	u.sfu.stats.downTracks.Add(-1)
}

// close stops forwarding and asks every subscriber to remove its
// down-track (each then renegotiates). It is idempotent.
func (u *upTrack) close() {
	u.mu.Lock()
	if u.closed {
		u.mu.Unlock()
		return
	}
	u.closed = true
	downs := *u.down.Swap(&[]*downTrack{})
	u.sfu.stats.downTracks.Add(-int64(len(downs)))
	u.mu.Unlock()

	close(u.done)
	u.peer.router.unpublish(u)
	for _, d := range downs {
		d.sub.enqueue(func() { d.sub.removeDownTrack(d) })
	}
	u.log.Info("track unpublished")
}

// isClosed reports whether close has been called.
func (u *upTrack) isClosed() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.closed
}
