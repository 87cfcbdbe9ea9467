package sfu

import (
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
)

// PeerConfig describes a peer to add to a Router. The callbacks are called
// from sfu goroutines and must not block; they may call Peer.Close.
type PeerConfig struct {
	ID           string                           // unique within the router; it is the msid STREAM id of every track this peer publishes, as seen by other peers
	PublishAudio bool                             // add a recvonly audio transceiver for the peer's microphone
	PublishVideo bool                             // add a recvonly video transceiver for the peer's camera
	OnOffer      func(Offer)                      // the server's SDP offer to send to the client. Called serially per peer; must not block
	OnCandidate  func(webrtc.ICECandidateInit)    // a local ICE candidate to trickle to the client; must not block
	OnState      func(webrtc.PeerConnectionState) // connection state changes; must not block. The caller closes the peer on failed.
}

// Offer is an SDP offer from the server to a client.
type Offer struct {
	SDP      string
	AudioMid string // mid of the transceiver the client must SEND its microphone on ("" if PublishAudio is false)
	VideoMid string // mid of the transceiver the client must SEND its camera on
}

// Peer is one client's PeerConnection in a Router: it receives the tracks
// the client publishes and sends it every other peer's tracks.
type Peer struct {
	// Set at construction.
	id        string
	router    *Router
	sfu       *SFU
	cfg       PeerConfig
	log       *slog.Logger
	pc        *webrtc.PeerConnection
	audioTr   *webrtc.RTPTransceiver // nil unless cfg.PublishAudio
	videoTr   *webrtc.RTPTransceiver // nil unless cfg.PublishVideo
	done      chan struct{}          // closed by close; ends run
	closeOnce sync.Once

	// The queue of operations for run; guarded by qmu.
	qmu   sync.Mutex
	queue []func()
	wake  chan struct{} // capacity 1: "the queue is not empty"

	// Owned by run.
	offerOutstanding bool
	needOffer        bool
	senders          map[*downTrack]*webrtc.RTPSender
	remoteCands      []webrtc.ICECandidateInit // received before any answer

	// Local candidates gathered before the first offer went out are held
	// back so the client never sees a candidate before the offer; guarded
	// by candMu.
	candMu    sync.Mutex
	offered   bool
	heldCands []webrtc.ICECandidateInit

	// Guarded by mu, which is never held while calling into Pion or into
	// another peer. Lock order: mu, then upTrack.mu.
	mu         sync.Mutex
	closed     bool
	upTracks   []*upTrack
	downTracks map[*downTrack]struct{}

	// sendq is set once, when the peer connects over ICE-TCP, whose
	// writes can block; nil on UDP. Read by the up-track readers.
	sendq atomic.Pointer[sendQueue]
}

func newPeer(r *Router, cfg PeerConfig) (*Peer, error) {
	p := &Peer{
		id:         cfg.ID,
		router:     r,
		sfu:        r.sfu,
		cfg:        cfg,
		log:        r.log.With("peer", cfg.ID),
		done:       make(chan struct{}),
		wake:       make(chan struct{}, 1),
		senders:    make(map[*downTrack]*webrtc.RTPSender),
		downTracks: make(map[*downTrack]struct{}),
	}
	pc, err := r.sfu.api.NewPeerConnection(webrtc.Configuration{
		BundlePolicy: webrtc.BundlePolicyMaxBundle,
	})
	if err != nil {
		return nil, fmt.Errorf("sfu: new peer connection: %w", err)
	}
	p.pc = pc
	// Publish transceivers first so they get mids "0" and "1".
	recvonly := webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}
	if cfg.PublishAudio {
		if p.audioTr, err = pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, recvonly); err != nil {
			_ = pc.Close()
			return nil, fmt.Errorf("sfu: audio transceiver: %w", err)
		}
	}
	if cfg.PublishVideo {
		if p.videoTr, err = pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, recvonly); err != nil {
			_ = pc.Close()
			return nil, fmt.Errorf("sfu: video transceiver: %w", err)
		}
	}
	if !cfg.PublishAudio && !cfg.PublishVideo {
		// A receive-only peer that joins before anyone publishes would get
		// an offer with no m-line, which carries no ICE credentials and which
		// clients refuse. One receive-only audio m-line, that the client
		// answers inactive, lets ICE and DTLS start at once.
		if _, err = pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, recvonly); err != nil {
			_ = pc.Close()
			return nil, fmt.Errorf("sfu: anchor transceiver: %w", err)
		}
	}
	pc.OnTrack(p.onTrack)
	pc.OnICECandidate(p.onICECandidate)
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		p.log.Debug("connection state", "state", s.String())
		if s == webrtc.PeerConnectionStateConnected {
			p.checkTransport()
		}
		if p.cfg.OnState != nil {
			p.cfg.OnState(s)
		}
	})
	return p, nil
}

// checkTransport gives the peer a send queue, and its writer goroutine,
// if its selected ICE candidate pair is TCP (see sendQueue). It runs on a
// Pion goroutine when the peer connects.
func (p *Peer) checkTransport() {
	pair, err := p.pc.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil || pair.Local == nil || pair.Local.Protocol != webrtc.ICEProtocolTCP {
		return
	}
	q := newSendQueue()
	if !p.sendq.CompareAndSwap(nil, q) {
		return
	}
	// If the SFU is closing, spawn refuses and the queue just fills up.
	p.sfu.spawn(func() { q.run(p.done) })
	p.log.Info("subscriber on ICE-TCP: media goes through a send queue")
}

// ID returns the peer's ID.
func (p *Peer) ID() string { return p.id }

// SetAnswer applies the client's answer to the latest offer. It returns
// ErrNoOfferPending if no offer is outstanding and an error wrapping
// ErrBadDescription if the SDP is malformed or refused. It must not be
// called from inside OnOffer.
func (p *Peer) SetAnswer(sdp string) error {
	return p.call(func() error { return p.applyAnswer(sdp) })
}

// AddCandidate adds a remote ICE candidate trickled by the client. An
// empty Candidate signals the end of candidates. A malformed candidate
// returns an error wrapping ErrBadDescription.
func (p *Peer) AddCandidate(c webrtc.ICECandidateInit) error {
	if c.Candidate != "" {
		if _, err := ice.UnmarshalCandidate(c.Candidate); err != nil {
			return fmt.Errorf("%w: candidate: %w", ErrBadDescription, err)
		}
	}
	return p.call(func() error { return p.applyCandidate(c) })
}

// Close closes the peer's PeerConnection and removes the tracks it
// published from every other peer, which renegotiate. It is idempotent and
// safe to call from any goroutine, including from the peer's callbacks.
func (p *Peer) Close() error { return p.close(false) }

// close does Close's work. graceful waits for Pion's goroutines to end; it
// must not be used from inside a Pion callback.
func (p *Peer) close(graceful bool) error {
	first := false
	p.closeOnce.Do(func() { first = true })
	if !first {
		return nil
	}
	close(p.done)
	p.router.removePeer(p)

	p.mu.Lock()
	p.closed = true
	ups, downs := p.upTracks, p.downTracks
	p.upTracks, p.downTracks = nil, nil
	p.mu.Unlock()

	for _, u := range ups {
		u.close()
	}
	for d := range downs {
		d.up.removeDownTrack(d)
	}
	var err error
	if graceful {
		err = p.pc.GracefulClose()
	} else {
		err = p.pc.Close()
	}
	p.log.Info("peer closed")
	return err
}

// isDone reports whether close has started.
func (p *Peer) isDone() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// enqueue hands op to run. It never blocks; it returns false if the peer
// is closed.
func (p *Peer) enqueue(op func()) bool {
	if p.isDone() {
		return false
	}
	p.qmu.Lock()
	p.queue = append(p.queue, op)
	p.qmu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
	return true
}

// call runs f on run and waits for its result.
func (p *Peer) call(f func() error) error {
	errc := make(chan error, 1)
	if !p.enqueue(func() { errc <- f() }) {
		return ErrClosed
	}
	select {
	case err := <-errc:
		return err
	case <-p.done:
		return ErrClosed
	}
}

// run is the peer's owner goroutine: it executes queued operations in
// order, then sends an offer if one is needed and none is outstanding. It
// ends when the peer closes.
func (p *Peer) run() {
	for {
		select {
		case <-p.done:
			return
		case <-p.wake:
		}
		p.qmu.Lock()
		ops := p.queue
		p.queue = nil
		p.qmu.Unlock()
		for _, op := range ops {
			if p.isDone() {
				return
			}
			op()
		}
		if p.needOffer && !p.offerOutstanding && !p.isDone() {
			p.sendOffer()
		}
	}
}

// requestOffer runs on run.
func (p *Peer) requestOffer() { p.needOffer = true }

// sendOffer runs on run.
func (p *Peer) sendOffer() {
	offer, err := p.pc.CreateOffer(nil)
	if err != nil {
		if p.isDone() || p.pc.ConnectionState() == webrtc.PeerConnectionStateClosed || isClosedErr(err) { // closed meanwhile: expected
			p.log.Debug("create offer", "err", err)
		} else {
			p.log.Error("create offer", "err", err)
		}
		return
	}
	if err := p.pc.SetLocalDescription(offer); err != nil {
		if p.isDone() || p.pc.ConnectionState() == webrtc.PeerConnectionStateClosed || isClosedErr(err) {
			p.log.Debug("set local offer", "err", err) // closed meanwhile: expected
			return
		}
		p.log.Error("set local offer", "err", err)
		return
	}
	p.needOffer = false
	p.offerOutstanding = true
	o := Offer{SDP: offer.SDP}
	if p.audioTr != nil {
		o.AudioMid = p.audioTr.Mid()
	}
	if p.videoTr != nil {
		o.VideoMid = p.videoTr.Mid()
	}
	p.log.Debug("sending offer")
	if p.cfg.OnOffer != nil {
		p.cfg.OnOffer(o)
	}
	p.releaseCandidates()
}

// applyAnswer runs on run.
func (p *Peer) applyAnswer(sdp string) error {
	if !p.offerOutstanding {
		return ErrNoOfferPending
	}
	desc := webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdp}
	if err := p.pc.SetRemoteDescription(desc); err != nil {
		return fmt.Errorf("%w: answer: %w", ErrBadDescription, err)
	}
	p.offerOutstanding = false
	for _, c := range p.remoteCands {
		if err := p.pc.AddICECandidate(c); err != nil {
			p.log.Warn("add buffered candidate", "err", err)
		}
	}
	p.remoteCands = nil
	return nil
}

// applyCandidate runs on run.
func (p *Peer) applyCandidate(c webrtc.ICECandidateInit) error {
	if p.pc.RemoteDescription() == nil {
		p.remoteCands = append(p.remoteCands, c)
		return nil
	}
	if err := p.pc.AddICECandidate(c); err != nil {
		return fmt.Errorf("%w: candidate: %w", ErrBadDescription, err)
	}
	return nil
}

func (p *Peer) onICECandidate(c *webrtc.ICECandidate) {
	if c == nil || p.cfg.OnCandidate == nil {
		return
	}
	init := c.ToJSON()
	p.candMu.Lock()
	if !p.offered {
		p.heldCands = append(p.heldCands, init)
		p.candMu.Unlock()
		return
	}
	p.candMu.Unlock()
	p.cfg.OnCandidate(init)
}

// releaseCandidates emits the candidates held back until the first offer.
func (p *Peer) releaseCandidates() {
	p.candMu.Lock()
	if p.offered {
		p.candMu.Unlock()
		return
	}
	p.offered = true
	held := p.heldCands
	p.heldCands = nil
	p.candMu.Unlock()
	if p.cfg.OnCandidate == nil {
		return
	}
	for _, c := range held {
		p.cfg.OnCandidate(c)
	}
}

// onTrack is Pion's OnTrack: the client started sending on one of the
// publish transceivers.
func (p *Peer) onTrack(track *webrtc.TrackRemote, receiver *webrtc.RTPReceiver) {
	u := newUpTrack(p, track, receiver)
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.upTracks = append(p.upTracks, u)
	p.mu.Unlock()

	subs, ok := p.router.publish(u)
	if !ok || !u.start() {
		u.close()
		return
	}
	u.log.Info("track published", "codec", u.codec.MimeType, "subscribers", len(subs))
	for _, s := range subs {
		s.subscribe(u)
	}
}

// subscribe asks p's run to add a down-track for u.
func (p *Peer) subscribe(u *upTrack) {
	p.enqueue(func() { p.addDownTrack(u) })
}

// addDownTrack runs on run.
func (p *Peer) addDownTrack(u *upTrack) {
	d := newDownTrack(u, p)
	p.mu.Lock()
	if p.closed || !u.addDownTrack(d) {
		p.mu.Unlock()
		return
	}
	p.downTracks[d] = struct{}{}
	p.mu.Unlock()

	tr, err := p.pc.AddTransceiverFromTrack(d, webrtc.RTPTransceiverInit{
		Direction: webrtc.RTPTransceiverDirectionSendonly,
	})
	if err != nil {
		if isClosedErr(err) { // the peer left meanwhile: expected
			p.log.Debug("add down-track", "track", d.id, "err", err)
		} else {
			p.log.Error("add down-track", "track", d.id, "err", err)
		}
		p.forgetDownTrack(d)
		return
	}
	sender := tr.Sender()
	p.senders[d] = sender
	p.sfu.spawn(func() { d.readRTCP(sender) })
	p.needOffer = true
	u.requestKeyframe()
	p.log.Debug("down-track added", "track", d.id)
}

// removeDownTrack runs on run, after d's up-track has closed.
func (p *Peer) removeDownTrack(d *downTrack) {
	sender, ok := p.senders[d]
	if !ok {
		return
	}
	delete(p.senders, d)
	p.forgetDownTrack(d)
	if err := p.pc.RemoveTrack(sender); err != nil {
		p.log.Debug("remove down-track", "track", d.id, "err", err)
	}
	p.needOffer = true
	p.log.Debug("down-track removed", "track", d.id)
}

func (p *Peer) forgetDownTrack(d *downTrack) {
	d.up.removeDownTrack(d)
	p.mu.Lock()
	delete(p.downTracks, d)
	p.mu.Unlock()
}
