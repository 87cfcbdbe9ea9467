package sfu

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

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

	// OfferTimeout is how long the client has to answer each offer; 0
	// means DefaultOfferTimeout. An offer still unanswered then (no
	// answer, or only refused ones) ends the peer: OnOfferTimeout is
	// called, then the peer closes itself, so a silent client holds
	// neither the offer nor a pending renegotiation.
	OfferTimeout   time.Duration
	OnOfferTimeout func() // called once, from the peer's goroutine, just before it closes; must not block

	// OnMisbehaving is called once, from the peer's goroutine, just before
	// the peer closes itself because the client broke a bound the sfu
	// enforces on the media path: err wraps ErrTooManyStreams. Must not
	// block; may be nil.
	OnMisbehaving func(err error)
}

// DefaultOfferTimeout is how long a client has to answer an offer when
// PeerConfig.OfferTimeout is 0. A browser answers in milliseconds; the
// margin is for a slow device on a slow link.
const DefaultOfferTimeout = 15 * time.Second

// Bounds on what a client's ICE candidates can make a peer, and Pion's ICE
// agent behind it, keep. Pion keeps every distinct remote candidate it is
// given, whether trickled or in an answer, pairs it with each local
// candidate and sends connectivity checks to it, so the bound is on the
// distinct candidates a peer takes in its whole life. A candidate counts
// once however often it is sent (see candidateKey). The candidates held
// before the first answer are among them, so that buffer is bounded too.
const (
	// MaxCandidateBytes bounds one remote candidate: its candidate string
	// plus sdpMid and usernameFragment. A longer one is refused with
	// ErrBadDescription. Real candidates are 60-200 bytes.
	MaxCandidateBytes = 1024
	// MaxRemoteCandidates bounds the distinct remote candidates a peer
	// takes. A browser sends a few per network interface: about 5-30.
	MaxRemoteCandidates = 64
	// MaxRemoteCandidateBytes bounds the sum of their sizes.
	MaxRemoteCandidateBytes = 32 << 10
)

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
	api       *webrtc.API // this peer's own, whose buffers streams accounts (see streamBudget)
	streams   *streamBudget
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
	offerSent        time.Time // when the outstanding offer went out
	needOffer        bool
	remoteCands      []webrtc.ICECandidateInit // received before any answer; counted in remoteKeys
	remoteKeys       map[string]struct{}       // every distinct remote candidate taken (candidateKey); at most MaxRemoteCandidates
	remoteBytes      int                       // the size of those, at most MaxRemoteCandidateBytes
	restartState     restartState              // Hold and RestartICE (restart.go)

	// The down-tracks' transceivers, owned by run: senders holds each
	// live down-track's (its Sender is the down-track's), slots those
	// whose down-track has gone, for new down-tracks to reuse.
	senders map[*downTrack]*webrtc.RTPTransceiver
	slots   transceiverSlots

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
	publishing map[*webrtc.RTPReceiver]bool // publish receivers that have their up-track (at most one each)

	// sendq is set once, when the peer connects over ICE-TCP, whose
	// writes can block; nil on UDP. Read by the up-track readers.
	sendq atomic.Pointer[sendQueue]

	// audioOff is set by SetAudioForwarding (any goroutine) and read by
	// the audio up-track's reader (see upTrack.forward).
	audioOff atomic.Bool

	// pub is the publisher connection, for a client that offers what it
	// publishes (see Publish); it has its own lock.
	pub publisher
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
		senders:    make(map[*downTrack]*webrtc.RTPTransceiver),
		remoteKeys: make(map[string]struct{}),
		downTracks: make(map[*downTrack]struct{}),
		publishing: make(map[*webrtc.RTPReceiver]bool),
	}
	if p.cfg.OfferTimeout <= 0 {
		p.cfg.OfferTimeout = DefaultOfferTimeout
	}
	p.streams = &streamBudget{onOver: func(err error) {
		// On Pion's SRTP read loop: the peer closes on its own goroutine.
		p.enqueue(func() { p.misbehaved(err) })
	}}
	p.api = r.sfu.api.newAPI(p.streams)
	pc, err := p.api.NewPeerConnection(webrtc.Configuration{
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
		p.streams.allow(streamsPerTransceiver)
	}
	if cfg.PublishVideo {
		if p.videoTr, err = pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, recvonly); err != nil {
			_ = pc.Close()
			return nil, fmt.Errorf("sfu: video transceiver: %w", err)
		}
		p.streams.allow(streamsPerTransceiver)
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
		p.streams.allow(streamsPerTransceiver)
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
// ErrNoOfferPending if no offer is outstanding, an error wrapping
// ErrBadDescription if the SDP is malformed or refused, and one wrapping
// ErrTooManyCandidates if the candidates it carries would pass the peer's
// bounds (the offer then stays outstanding). It must not be called from
// inside OnOffer.
func (p *Peer) SetAnswer(sdp string) error {
	return p.call(func() error { return p.applyAnswer(sdp) })
}

// AddCandidate adds a remote ICE candidate trickled by the client. An
// empty Candidate signals the end of candidates. A malformed candidate, or
// one over MaxCandidateBytes, returns an error wrapping ErrBadDescription;
// a new candidate past MaxRemoteCandidates or MaxRemoteCandidateBytes
// returns one wrapping ErrTooManyCandidates and is dropped. A passive TCP
// candidate, which the server would have to dial, is dropped silently.
func (p *Peer) AddCandidate(c webrtc.ICECandidateInit) error {
	if c.Candidate == "" {
		return p.call(func() error { return p.applyEndOfCandidates(c) })
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
		// Pion would dial it (active ICE-TCP): a client could make the
		// server open TCP connections to any address it names. Clients
		// reach the server's passive ICE-TCP port instead, so a passive
		// remote candidate is of no use and is dropped.
		return nil
	}
	key := candidateKey(ic)
	return p.call(func() error { return p.applyCandidate(c, key, size) })
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
	p.closePublisher(graceful)
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
//
// The queue has no fixed bound, but nothing a client sends can grow it:
// the client's own operations come through call, which waits for each to
// run, and the session calls SetAnswer and AddCandidate one at a time from
// its reader, so they hold at most one slot; PublishAsync does not wait,
// and its caller keeps at most one outstanding (until answered), so it
// holds one more. Everything else is one
// operation per track published or unpublished in the router (subscribe,
// removeDownTrack) and one requestOffer, so the queue is bounded by the
// router's size; run drains it whether or not the client answers.
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
// ends when the peer closes, or closes the peer itself when an offer has
// gone unanswered for cfg.OfferTimeout.
func (p *Peer) run() {
	timer := time.NewTimer(p.cfg.OfferTimeout)
	timer.Stop()
	defer timer.Stop()
	var expired <-chan time.Time // timer.C while an offer is outstanding
	for {
		select {
		case <-p.done:
			return
		case <-p.wake:
		case <-expired:
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
		if p.isDone() {
			return
		}
		// An answer queued just as the timer fired has been applied above.
		if p.offerOutstanding && !p.restartState.held && time.Since(p.offerSent) >= p.cfg.OfferTimeout {
			p.offerExpired()
			return
		}
		if p.needOffer && !p.offerOutstanding && !p.restartState.held && p.sendOffer() {
			timer.Reset(p.cfg.OfferTimeout)
		}
		if p.offerOutstanding {
			expired = timer.C
		} else {
			timer.Stop()
			expired = nil
		}
	}
}

// offerExpired runs on run when the client has not answered in time: it
// tells the owner, then closes the peer.
func (p *Peer) offerExpired() {
	p.log.Info("offer not answered in time: closing the peer", "timeout", p.cfg.OfferTimeout)
	if p.cfg.OnOfferTimeout != nil {
		p.cfg.OnOfferTimeout()
	}
	_ = p.close(false)
}

// misbehaved runs on run when the client broke a media-path bound: it
// tells the owner, then closes the peer.
func (p *Peer) misbehaved(err error) {
	p.log.Warn("client broke a media bound: closing the peer", "err", err)
	if p.cfg.OnMisbehaving != nil {
		p.cfg.OnMisbehaving(err)
	}
	_ = p.close(false)
}

// requestOffer runs on run.
func (p *Peer) requestOffer() { p.needOffer = true }

// sendOffer runs on run. It reports whether an offer went out.
func (p *Peer) sendOffer() bool {
	if p.restartState.resend && p.resendOffer() {
		return true
	}
	offer, err := p.pc.CreateOffer(p.offerOptions())
	if err != nil {
		p.logOfferError("create offer", err)
		return false
	}
	if err := p.pc.SetLocalDescription(offer); err != nil {
		p.logOfferError("set local offer", err)
		return false
	}
	p.needOffer, p.restartState.restart = false, false
	p.offerOutstanding = true
	p.offerSent = time.Now()
	p.slots.offered() // not on a resend (resendOffer): that offer's slots are the outstanding one's
	p.emitOffer(offer.SDP)
	return true
}

// emitOffer runs on run: it hands the offer to the client.
func (p *Peer) emitOffer(sdp string) {
	o := Offer{SDP: sdp}
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

// logOfferError logs a failure to make an offer: at debug if the peer or
// its PeerConnection was closed meanwhile (by us, or by Pion on the
// client's DTLS close_notify), which is expected; at error otherwise.
func (p *Peer) logOfferError(what string, err error) {
	if p.isDone() || isClosedErr(err) || p.pc.ConnectionState() == webrtc.PeerConnectionStateClosed {
		p.log.Debug(what, "err", err)
		return
	}
	p.log.Error(what, "err", err)
}

// applyAnswer runs on run.
func (p *Peer) applyAnswer(sdp string) error {
	if !p.offerOutstanding {
		return ErrNoOfferPending
	}
	sdp = dropPassiveTCP(sdp)
	keys, size := sdpCandidates(sdp, p.remoteKeys)
	if err := p.checkCandidateBudget(len(keys), size); err != nil {
		return fmt.Errorf("answer with %d new candidates: %w", len(keys), err)
	}
	desc := webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdp}
	if err := p.pc.SetRemoteDescription(desc); err != nil {
		return fmt.Errorf("%w: answer: %w", ErrBadDescription, err)
	}
	for _, k := range keys {
		p.remoteKeys[k] = struct{}{}
	}
	p.remoteBytes += size
	p.offerOutstanding = false
	p.slots.answered()
	for _, c := range p.remoteCands {
		if err := p.pc.AddICECandidate(c); err != nil {
			p.log.Debug("add buffered candidate", "err", err)
		}
	}
	p.remoteCands = nil
	return nil
}

// applyCandidate runs on run. key and size are the candidate's
// candidateKey and candidateSize. A new candidate is charged to the
// peer's budget; one already taken is dropped (Pion has it, or it is
// held), so resending one costs nothing and reaches Pion at most once.
func (p *Peer) applyCandidate(c webrtc.ICECandidateInit, key string, size int) error {
	if _, seen := p.remoteKeys[key]; seen {
		return nil
	}
	if err := p.checkCandidateBudget(1, size); err != nil {
		return err
	}
	p.remoteKeys[key] = struct{}{}
	p.remoteBytes += size
	if p.pc.RemoteDescription() == nil {
		p.remoteCands = append(p.remoteCands, c)
		return nil
	}
	if err := p.pc.AddICECandidate(c); err != nil {
		return fmt.Errorf("%w: candidate: %w", ErrBadDescription, err)
	}
	return nil
}

// applyEndOfCandidates runs on run. Before the first answer there is
// nothing to end, and the marker is not kept.
func (p *Peer) applyEndOfCandidates(c webrtc.ICECandidateInit) error {
	if p.pc.RemoteDescription() == nil {
		return nil
	}
	if err := p.pc.AddICECandidate(c); err != nil {
		return fmt.Errorf("%w: end of candidates: %w", ErrBadDescription, err)
	}
	return nil
}

// checkCandidateBudget runs on run. It returns an error wrapping
// ErrTooManyCandidates if n more distinct candidates of size bytes in all
// would pass the peer's bounds.
func (p *Peer) checkCandidateBudget(n, size int) error {
	if n == 0 {
		return nil
	}
	if len(p.remoteKeys)+n > MaxRemoteCandidates || p.remoteBytes+size > MaxRemoteCandidateBytes {
		return fmt.Errorf("%w: %d taken (%d bytes); at most %d distinct candidates and %d bytes per connection",
			ErrTooManyCandidates, len(p.remoteKeys), p.remoteBytes, MaxRemoteCandidates, MaxRemoteCandidateBytes)
	}
	return nil
}

// candidateKey identifies a remote candidate the way Pion's ICE agent
// tells them apart (ice.Candidate.Equal: transport address, type and
// related address), so that a candidate sent twice, or repeated in every
// answer, is kept once by Pion and counted once here.
func candidateKey(c ice.Candidate) string {
	related := ""
	if ra := c.RelatedAddress(); ra != nil {
		related = fmt.Sprintf("%s:%d", ra.Address, ra.Port)
	}
	return fmt.Sprintf("%s %s %s %d %s %s", c.NetworkType(), c.Type(), c.Address(), c.Port(), c.TCPType(), related)
}

// candidateSize is what a trickled candidate counts against the peer's
// byte budget.
func candidateSize(c webrtc.ICECandidateInit) int {
	n := len(c.Candidate)
	if c.SDPMid != nil {
		n += len(*c.SDPMid)
	}
	if c.UsernameFragment != nil {
		n += len(*c.UsernameFragment)
	}
	return n
}

// dropPassiveTCP removes from an answer the a=candidate lines of passive
// TCP candidates, which Pion would dial (see AddCandidate).
func dropPassiveTCP(sdp string) string {
	if !strings.Contains(sdp, "passive") {
		return sdp
	}
	var b strings.Builder
	b.Grow(len(sdp))
	for line := range strings.Lines(sdp) {
		if v, ok := strings.CutPrefix(strings.TrimRight(line, "\r\n"), "a=candidate:"); ok {
			if c, err := ice.UnmarshalCandidate(v); err == nil && c.TCPType() == ice.TCPTypePassive {
				continue
			}
		}
		b.WriteString(line)
	}
	return b.String()
}

// sdpCandidates returns the keys of the candidates in sdp's a=candidate
// lines that are neither in taken nor repeated, and the sum of their line
// lengths. Lines Pion could not parse are skipped, as Pion skips them.
func sdpCandidates(sdp string, taken map[string]struct{}) (keys []string, size int) {
	const prefix = "a=candidate:"
	seen := make(map[string]struct{})
	for line := range strings.Lines(sdp) {
		line = strings.TrimRight(line, "\r\n")
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		c, err := ice.UnmarshalCandidate(line[len(prefix):])
		if err != nil {
			continue
		}
		k := candidateKey(c)
		if _, ok := taken[k]; ok {
			continue
		}
		if _, ok := seen[k]; ok {
			continue
		}
		seen[k] = struct{}{}
		keys = append(keys, k)
		size += len(line)
	}
	return keys, size
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
// publish transceivers. A peer publishes at most one track per publish
// transceiver: a track on any other transceiver (a receive-only client
// sending on its anchor m-line, or a client on a down-track's m-line,
// which is sendrecv: see sendOn) or a second one on the same transceiver
// (a further SSRC or simulcast layer the client declared in its answer) is
// not forwarded, so what a client declares cannot multiply the tracks,
// transceivers and offers of everyone else in the room.
func (p *Peer) onTrack(track *webrtc.TrackRemote, receiver *webrtc.RTPReceiver) {
	if !p.isPublishReceiver(receiver) {
		p.log.Debug("ignoring a track the peer may not publish", "kind", track.Kind().String(), "ssrc", uint32(track.SSRC()))
		p.discard(track)
		return
	}
	p.mu.Lock()
	closed, already := p.closed, p.publishing[receiver]
	p.publishing[receiver] = true
	p.mu.Unlock()
	if already {
		p.log.Debug("ignoring a second track on a publish transceiver", "kind", track.Kind().String(), "ssrc", uint32(track.SSRC()))
		p.discard(track)
	}
	if closed || already {
		return
	}
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

// discard reads and drops an ignored track's packets, so that Pion does
// not hold up to a megabyte of them in the stream's buffer. The goroutine
// ends when the PeerConnection closes.
func (p *Peer) discard(track *webrtc.TrackRemote) {
	p.sfu.spawn(func() {
		buf := make([]byte, 1500)
		for {
			if _, _, err := track.Read(buf); err != nil {
				return
			}
		}
	})
}

// isPublishReceiver reports whether r belongs to one of the transceivers
// the peer publishes on.
func (p *Peer) isPublishReceiver(r *webrtc.RTPReceiver) bool {
	return (p.audioTr != nil && p.audioTr.Receiver() == r) || (p.videoTr != nil && p.videoTr.Receiver() == r)
}

// subscribe asks p's run to add a down-track for u.
func (p *Peer) subscribe(u *upTrack) {
	p.enqueue(func() { p.addDownTrack(u) })
}

// addDownTrack runs on run. The down-track goes on a free transceiver of
// its kind if there is one (see transceiverSlots), on a new one otherwise.
func (p *Peer) addDownTrack(u *upTrack) {
	d := newDownTrack(u, p)
	p.mu.Lock()
	if p.closed || !u.addDownTrack(d) {
		p.mu.Unlock()
		return
	}
	p.downTracks[d] = struct{}{}
	p.mu.Unlock()

	tr, reused, err := p.sendOn(d)
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
	// Pion closes the PeerConnection on its own on the client's DTLS
	// close_notify, and a sender set on a closed one's transceiver is
	// never started nor stopped: its RTCP reader would wait for ever.
	// Close sets the signaling state closed before it stops the
	// transceivers' senders, so it stops a sender set before this check,
	// and this stops one set after.
	if p.pc.SignalingState() == webrtc.SignalingStateClosed {
		_ = sender.Stop()
		p.log.Debug("add down-track: connection closed", "track", d.id)
		p.forgetDownTrack(d)
		return
	}
	p.senders[d] = tr
	// The goroutine ends when the sender stops: when the down-track is
	// removed (RemoveTrack) or the PeerConnection closes.
	p.sfu.spawn(func() { d.readRTCP(sender) })
	p.needOffer = true
	u.requestKeyframe()
	p.log.Debug("down-track added", "track", d.id, "reused", reused)
}

// sendOn runs on run. It gives d a transceiver to send on, with a new
// RTPSender (and so a new SSRC): a free transceiver of d's kind, or a new
// one. Down-track transceivers are sendrecv, not sendonly, so that a free
// one is offered recvonly rather than inactive (see transceiverSlots).
func (p *Peer) sendOn(d *downTrack) (tr *webrtc.RTPTransceiver, reused bool, err error) {
	if tr = p.slots.take(d.Kind()); tr != nil {
		sender, err := p.api.NewRTPSender(d, p.pc.SCTP().Transport())
		if err != nil {
			p.slots.putBack(tr)
			return nil, false, fmt.Errorf("sender for transceiver %q: %w", tr.Mid(), err)
		}
		// SetSender sets the direction back to sendrecv: the next offer
		// carries d's msid and SSRC on the transceiver's mid.
		if err := tr.SetSender(sender, d); err != nil {
			// The transceiver's state is unknown: it is not reused.
			_ = sender.Stop()
			return nil, false, fmt.Errorf("reuse transceiver %q: %w", tr.Mid(), err)
		}
		p.streams.allow(streamsPerReuse)
		p.streams.unretire(senderSSRC(sender))
		return tr, true, nil
	}
	tr, err = p.pc.AddTransceiverFromTrack(d, webrtc.RTPTransceiverInit{
		Direction: webrtc.RTPTransceiverDirectionSendrecv,
	})
	if err == nil {
		p.streams.allow(streamsPerTransceiver)
		p.streams.unretire(senderSSRC(tr.Sender()))
	}
	return tr, false, err
}

// senderSSRC returns the SSRC a down-track's sender sends with.
func senderSSRC(s *webrtc.RTPSender) uint32 {
	if enc := s.GetParameters().Encodings; len(enc) > 0 {
		return uint32(enc[0].SSRC)
	}
	return 0
}

// removeDownTrack runs on run, after d's up-track has closed. The sender
// stops (ending d's RTCP reader), its transceiver is recvonly in the next
// offer, and it is free for reuse once the client has answered that offer.
func (p *Peer) removeDownTrack(d *downTrack) {
	tr, ok := p.senders[d]
	if !ok {
		return
	}
	delete(p.senders, d)
	p.forgetDownTrack(d)
	// Before the sender stops, so that no late report finds its SSRC
	// not yet retired.
	p.streams.retire(senderSSRC(tr.Sender()))
	if err := p.pc.RemoveTrack(tr.Sender()); err != nil {
		// Not known to be stopped (the PeerConnection is closing, most
		// likely): never reuse it.
		p.log.Debug("remove down-track", "track", d.id, "err", err)
	} else {
		p.slots.release(tr)
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
