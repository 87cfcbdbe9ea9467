package sfu

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// upTrack is a track published by a peer. One reader goroutine (readLoop)
// reads its RTP and writes each packet to every down-track in a
// copy-on-write snapshot; it never blocks on a subscriber's queue.
type upTrack struct {
	// Set at construction.
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
	}
	u.down.Store(&[]*downTrack{})
	return u
}

// start launches the track's goroutines. It returns false if the SFU is
// closing.
func (u *upTrack) start() bool {
	s := u.peer.sfu
	if !s.spawn(u.readLoop) {
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
	defer u.close()
	buf := make([]byte, 1500)
	var pkt rtp.Packet
	for {
		n, _, err := u.track.Read(buf)
		if err != nil {
			return
		}
		if err := pkt.Unmarshal(buf[:n]); err != nil {
			continue
		}
		for _, d := range *u.down.Load() {
			d.writeRTP(&pkt)
		}
	}
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
		}
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
	u.down.Store(&next)
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
