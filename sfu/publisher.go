package sfu

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// publishGatherTimeout bounds how long Publish waits for the server's ICE
// candidates to be gathered into its answer.
const publishGatherTimeout = 5 * time.Second

// publisher is a peer's second PeerConnection, on which the client offers
// the tracks it publishes and the server answers: the publisher-offers
// negotiation of protocol version 2 (see "Simulcast" in the package
// documentation), which is how a browser's simulcast encodings reach the
// server. The zero value is a peer that has not published this way.
type publisher struct {
	mu     sync.Mutex // guards the fields below; taken before Router.mu and upTrack.mu
	pc     *webrtc.PeerConnection
	closed bool
	tracks map[*webrtc.RTPReceiver]*upTrack // the up-track of each receiver, at most one per kind
	kinds  map[webrtc.RTPCodecType]bool     // the kinds that have their up-track
}

// Publish applies the client's offer of the tracks it publishes, on the
// peer's publisher PeerConnection (made at the first call; later calls
// renegotiate it), and returns the server's answer, which carries the
// server's ICE candidates (there is no trickle on this connection yet:
// the client's offer should carry its own, or it trickles them with
// AddPublishCandidate). The offer may have one audio and one video
// m-line, the video with up to MaxLayers simulcast RIDs (RFC 8853); each
// layer the client then sends is an RTP stream of one up-track. A kind the
// peer publishes on its main connection (PeerConfig.PublishAudio and
// PublishVideo) cannot be offered here. A malformed or refused offer
// returns an error wrapping ErrBadDescription, candidates past the peer's
// bounds one wrapping ErrTooManyCandidates, and a closed peer ErrClosed.
// It waits up to publishGatherTimeout for the server's candidates; a
// caller that must not wait uses PublishAsync.
func (p *Peer) Publish(offer string) (answer string, err error) {
	type result struct {
		sdp string
		err error
	}
	done := make(chan result, 1)
	if err := p.PublishAsync(offer, func(sdp string, err error) { done <- result{sdp, err} }); err != nil {
		return "", err
	}
	select {
	case r := <-done:
		return r.sdp, r.err
	case <-p.done:
		return "", ErrClosed
	}
}

// PublishAsync is Publish without the wait, for a caller such as a
// session's reader: it checks the offer's form (an error wrapping
// ErrBadDescription comes back at once), hands the offer to the peer's
// run goroutine, where the peer's own negotiation happens, and returns.
// answered is then called once with Publish's answer or error: on run if
// the offer is refused there, else on a goroutine of its own once the
// server's candidates are gathered (at most publishGatherTimeout); never
// if the peer closes first. It must not block. What the caller hands the
// peer after PublishAsync returns (AddPublishCandidate, SetAnswer, a
// later offer) runs after the offer is applied: run takes its work in
// order. The caller has at most one PublishAsync outstanding, from the
// call until answered (see enqueue: it bounds run's queue).
func (p *Peer) PublishAsync(offer string, answered func(answer string, err error)) error {
	if err := p.checkPublishOffer(offer); err != nil {
		return err
	}
	queued := p.enqueue(func() {
		pc, gathered, err := p.applyPublishOffer(offer)
		if err != nil {
			answered("", err)
			return
		}
		if !p.sfu.spawn(func() { answered(p.publishAnswer(pc, gathered)) }) {
			answered("", ErrClosed)
		}
	})
	if !queued {
		return ErrClosed
	}
	return nil
}

// publishAnswer returns the publisher connection's answer once its
// candidates are gathered, or after publishGatherTimeout with those found
// so far; ErrClosed if the peer closes meanwhile.
func (p *Peer) publishAnswer(pc *webrtc.PeerConnection, gathered <-chan struct{}) (string, error) {
	t := time.NewTimer(publishGatherTimeout)
	defer t.Stop()
	select {
	case <-gathered:
	case <-t.C:
		p.log.Debug("publisher answer sent before gathering completed")
	case <-p.done:
		return "", ErrClosed
	}
	desc := pc.LocalDescription()
	if desc == nil {
		return "", ErrClosed
	}
	return desc.SDP, nil
}

// checkPublishOffer returns an error wrapping ErrBadDescription if offer
// does not parse, or has m-lines other than one audio and one video (not
// published on the main connection), or more than MaxLayers RIDs on one.
func (p *Peer) checkPublishOffer(offer string) error {
	var d sdp.SessionDescription
	if err := d.UnmarshalString(offer); err != nil {
		return fmt.Errorf("%w: publish offer: %w", ErrBadDescription, err)
	}
	seen := map[string]bool{}
	for _, m := range d.MediaDescriptions {
		kind := m.MediaName.Media
		switch {
		case kind != "audio" && kind != "video":
			return fmt.Errorf("%w: publish offer: a %q m-line; only audio and video are published", ErrBadDescription, kind)
		case seen[kind]:
			return fmt.Errorf("%w: publish offer: more than one %s m-line", ErrBadDescription, kind)
		case kind == "audio" && p.audioTr != nil, kind == "video" && p.videoTr != nil:
			return fmt.Errorf("%w: publish offer: %s is published on the main connection", ErrBadDescription, kind)
		}
		seen[kind] = true
		// Distinct RIDs: a renegotiating Pion offerer repeats each a=rid.
		rids := map[string]bool{}
		for _, a := range m.Attributes {
			if a.Key == "rid" {
				id, _, _ := strings.Cut(a.Value, " ")
				rids[id] = true
			}
		}
		if len(rids) > MaxLayers {
			return fmt.Errorf("%w: publish offer: %d RIDs on the %s m-line, at most %d", ErrBadDescription, len(rids), kind, MaxLayers)
		}
	}
	if len(seen) == 0 {
		return fmt.Errorf("%w: publish offer: no audio or video m-line", ErrBadDescription)
	}
	return nil
}

// applyPublishOffer runs on run: it charges the offer's candidates to the
// peer's budget, applies the offer and sets the answer, returning the
// publisher PeerConnection and a channel closed when its candidates are
// gathered.
func (p *Peer) applyPublishOffer(offer string) (*webrtc.PeerConnection, <-chan struct{}, error) {
	offer = dropPassiveTCP(offer)
	keys, size := sdpCandidates(offer, p.remoteKeys)
	if err := p.checkCandidateBudget(len(keys), size); err != nil {
		return nil, nil, fmt.Errorf("publish offer with %d new candidates: %w", len(keys), err)
	}
	pc, err := p.publisherPC()
	if err != nil {
		return nil, nil, err
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return nil, nil, fmt.Errorf("%w: publish offer: %w", ErrBadDescription, err)
	}
	for _, k := range keys {
		p.remoteKeys[k] = struct{}{}
	}
	p.remoteBytes += size
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: publish answer: %w", ErrBadDescription, err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		return nil, nil, fmt.Errorf("%w: set publish answer: %w", ErrBadDescription, err)
	}
	return pc, gathered, nil
}

// publisherPC returns the peer's publisher PeerConnection, making it on
// first use. It runs on run.
func (p *Peer) publisherPC() (*webrtc.PeerConnection, error) {
	p.pub.mu.Lock()
	defer p.pub.mu.Unlock()
	if p.pub.closed {
		return nil, ErrClosed
	}
	if p.pub.pc != nil {
		return p.pub.pc, nil
	}
	pc, err := p.api.NewPeerConnection(webrtc.Configuration{BundlePolicy: webrtc.BundlePolicyMaxBundle}) // the peer's stream budget covers this connection too
	if err != nil {
		return nil, fmt.Errorf("sfu: new publisher connection: %w", err)
	}
	pc.OnTrack(func(t *webrtc.TrackRemote, r *webrtc.RTPReceiver) { p.onPublisherTrack(pc, t, r) })
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		p.log.Debug("publisher connection state", "state", s.String())
		if s == webrtc.PeerConnectionStateFailed {
			// Its tracks end, and are unpublished, as it closes.
			p.sfu.spawn(func() { _ = pc.Close() })
		}
	})
	p.pub.pc = pc
	p.pub.tracks = make(map[*webrtc.RTPReceiver]*upTrack)
	p.pub.kinds = make(map[webrtc.RTPCodecType]bool)
	return pc, nil
}

// AddPublishCandidate adds a remote ICE candidate for the publisher
// connection, with AddCandidate's checks and bounds (shared with the
// main connection). Before the first Publish it returns ErrNoOfferPending.
func (p *Peer) AddPublishCandidate(c webrtc.ICECandidateInit) error {
	if c.Candidate == "" {
		return nil // Pion needs no end-of-candidates marker to go on
	}
	size := candidateSize(c)
	if size > MaxCandidateBytes {
		return fmt.Errorf("%w: candidate of %d bytes, the limit is %d", ErrBadDescription, size, MaxCandidateBytes)
	}
	ic, err := ice.UnmarshalCandidate(c.Candidate)
	if err != nil {
		return fmt.Errorf("%w: candidate: %w", ErrBadDescription, err)
	}
	if ic.TCPType() == ice.TCPTypePassive {
		return nil // see AddCandidate
	}
	key := candidateKey(ic)
	return p.call(func() error {
		p.pub.mu.Lock()
		pc := p.pub.pc
		p.pub.mu.Unlock()
		if pc == nil || pc.RemoteDescription() == nil {
			return ErrNoOfferPending
		}
		if _, seen := p.remoteKeys[key]; seen {
			return nil
		}
		if err := p.checkCandidateBudget(1, size); err != nil {
			return err
		}
		p.remoteKeys[key] = struct{}{}
		p.remoteBytes += size
		if err := pc.AddICECandidate(c); err != nil {
			return fmt.Errorf("%w: candidate: %w", ErrBadDescription, err)
		}
		return nil
	})
}

// onPublisherTrack is the publisher connection's OnTrack: the client
// started sending one RTP stream, a track or one simulcast layer of it.
// The first stream of a receiver makes its up-track, which is published
// to the router; later ones (further layers) are added to it. A stream of
// a second receiver of the same kind, or past MaxLayers, is discarded.
func (p *Peer) onPublisherTrack(pc *webrtc.PeerConnection, track *webrtc.TrackRemote, receiver *webrtc.RTPReceiver) {
	p.pub.mu.Lock()
	defer p.pub.mu.Unlock()
	if p.pub.closed {
		p.discard(track)
		return
	}
	if u := p.pub.tracks[receiver]; u != nil {
		if !u.addLayer(track) {
			p.log.Debug("ignoring a layer", "rid", track.RID(), "ssrc", uint32(track.SSRC()))
			p.discard(track)
		}
		return
	}
	kind := track.Kind()
	if p.pub.kinds[kind] {
		p.log.Debug("ignoring a second published track", "kind", kind.String(), "ssrc", uint32(track.SSRC()))
		p.discard(track)
		return
	}
	p.pub.kinds[kind] = true
	u := newUpTrackOn(p, pc, track, receiver)
	u.layered = true
	p.pub.tracks[receiver] = u
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		u.close()
		p.discard(track)
		return
	}
	p.upTracks = append(p.upTracks, u)
	p.mu.Unlock()

	subs, ok := p.router.publish(u)
	if !ok || !u.start() {
		u.close()
		return
	}
	u.log.Info("track published", "codec", u.codec.MimeType, "rid", track.RID(), "subscribers", len(subs))
	for _, s := range subs {
		s.subscribe(u)
	}
}

// closePublisher closes the publisher connection, if any; its up-tracks
// are closed with the peer's others. Called once, by Peer.close.
func (p *Peer) closePublisher(graceful bool) {
	p.pub.mu.Lock()
	p.pub.closed = true
	pc := p.pub.pc
	p.pub.mu.Unlock()
	if pc == nil {
		return
	}
	var err error
	if graceful {
		err = pc.GracefulClose()
	} else {
		err = pc.Close()
	}
	if err != nil {
		p.log.Debug("close publisher connection", "err", err)
	}
}
