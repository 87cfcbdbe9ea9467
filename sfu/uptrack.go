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

// upTrack is a track published by a peer. One reader goroutine (readLoop)
// reads its RTP, keeps it in the track's packet cache for retransmission
// and writes each packet to every down-track in a copy-on-write snapshot;
// it never blocks on a subscriber's queue.
type upTrack struct {
	// Set at construction.
	sfu         *SFU
	peer        *Peer
	track       *webrtc.TrackRemote
	receiver    *webrtc.RTPReceiver
	id          string // "<peerID>-audio" or "<peerID>-video"
	kind        webrtc.RTPCodecType
	codec       webrtc.RTPCodecCapability
	ssrc        uint32
	log         *slog.Logger
	pliInterval time.Duration
	keyframe    chan struct{} // capacity 1: "a keyframe is wanted"; nil for audio
	done        chan struct{} // closed by close; ends keyframeLoop

	// cache holds the last packets read, as read (publisher's numbering).
	// Written by readLoop, read by the down-tracks' RTCP goroutines
	// answering NACKs; it has its own lock.
	cache *packetcache.Cache

	// off, for audio, is the peer's audioOff: while it is set, forward
	// drops the publisher's packets (see Peer.SetAudioForwarding). nil
	// for video.
	off *atomic.Bool

	// Owned by the reader goroutine (forward).
	paused bool   // the last packet read was dropped because of off
	lastTS uint32 // timestamp of the last packet forwarded

	// counters are added to by readLoop only (see SFU.Stats).
	counters trackCounters

	// down is the snapshot readLoop fans out to. It is replaced, never
	// modified, by addDownTrack, removeDownTrack and close under mu.
	down atomic.Pointer[[]*downTrack]

	mu     sync.Mutex // guards writers of down, and closed
	closed bool
}

func newUpTrack(p *Peer, track *webrtc.TrackRemote, receiver *webrtc.RTPReceiver) *upTrack {
	kind := track.Kind()
	id := p.id + "-" + kind.String()
	u := &upTrack{
		sfu:         p.sfu,
		peer:        p,
		track:       track,
		receiver:    receiver,
		id:          id,
		kind:        kind,
		codec:       track.Codec().RTPCodecCapability,
		ssrc:        uint32(track.SSRC()),
		log:         p.log.With("track", id),
		pliInterval: p.sfu.pliInterval,
		done:        make(chan struct{}),
	}
	if kind == webrtc.RTPCodecTypeVideo {
		u.keyframe = make(chan struct{}, 1)
		u.cache = packetcache.New(videoCacheSize)
	} else {
		u.cache = packetcache.New(audioCacheSize)
		u.off = &p.audioOff
	}
	u.down.Store(&[]*downTrack{})
	return u
}

// start launches the track's goroutines. It returns false if the SFU is
// closing.
func (u *upTrack) start() bool {
	s := u.sfu
	s.trackStarted(u)
	if !s.spawn(u.readLoop) {
		s.trackEnded(u)
		return false
	}
	s.spawn(u.drainRTCP)
	if u.keyframe != nil {
		s.spawn(u.keyframeLoop)
	}
	return true
}

// readLoop is the track's single reader. It ends when the track's
// receiver stops (the publisher's PeerConnection closed).
func (u *upTrack) readLoop() {
	defer u.sfu.trackEnded(u)
	defer u.close()
	buf := make([]byte, packetcache.BufSize)
	var pkt rtp.Packet
	for {
		n, _, err := u.track.Read(buf)
		if err != nil {
			return
		}
		if err := pkt.Unmarshal(buf[:n]); err != nil {
			continue
		}
		u.forward(&pkt, buf[:n])
	}
}

// forward caches one packet read from the publisher (raw, unmarshalled
// into pkt) and writes it to every down-track. It is called by the reader goroutine only, and
// adds to the track's counters once per packet, not per down-track.
func (u *upTrack) forward(pkt *rtp.Packet, raw []byte) {
	u.counters.packetsIn.Add(1)
	u.counters.bytesIn.Add(uint64(len(raw)))
	if u.off != nil && !u.forwarding(pkt) {
		return
	}
	if u.cache != nil {
		u.cache.Store(pkt.SequenceNumber, raw)
	}
	var sent, dropped uint64
	u.sfu.batch.begin()
	for _, d := range *u.down.Load() {
		switch d.writeRTP(pkt) {
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
			d.rw.switchSource(gap)
		}
	}
	u.lastTS = pkt.Timestamp
	return true
}

// drainRTCP reads the RTCP arriving for this track (the publisher's sender
// reports) so the interceptors see it and Pion's buffers never fill. It
// ends when the receiver stops.
func (u *upTrack) drainRTCP() {
	buf := make([]byte, 1500)
	for {
		if _, _, err := u.receiver.Read(buf); err != nil {
			return
		}
	}
}

// requestKeyframe asks the publisher for a keyframe; keyframeLoop throttles
// the requests. It never blocks and is a no-op for audio.
func (u *upTrack) requestKeyframe() {
	if u.keyframe == nil {
		return
	}
	select {
	case u.keyframe <- struct{}{}:
	default:
	}
}

// keyframeLoop sends a PLI (RFC 4585 §6.3.1) to the publisher for each
// keyframe request, at most once per pliInterval: a request arriving
// sooner waits for the interval to pass, and requests made meanwhile are
// coalesced into it. It ends when the track closes.
func (u *upTrack) keyframeLoop() {
	var last time.Time
	for {
		select {
		case <-u.done:
			return
		case <-u.keyframe:
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
			case <-u.keyframe:
			default:
			}
		}
		last = time.Now()
		err := u.peer.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: u.ssrc}})
		if err != nil {
			u.log.Debug("send PLI", "err", err)
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
