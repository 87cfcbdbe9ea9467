package sfu

import (
	"time"

	"github.com/pion/webrtc/v4"
)

// Resume after a dropped connection. While a client's signaling is gone
// the peer is held (Hold): it sends no offer, and does not time out the
// one outstanding, since no one could answer. When the client is back,
// RestartICE sends it again the offer it may never have seen (Pion cannot
// roll a local offer back), then an offer that restarts ICE; the peer
// keeps its tracks, transceivers and DTLS.

// restartState is the peer's resume state, owned by run.
type restartState struct {
	held    bool // the client is unreachable: send no offer, let none expire
	restart bool // the next new offer restarts ICE (webrtc.OfferOptions.ICERestart)
	resend  bool // the next offer is the outstanding one, sent again
}

// Hold stops the peer's offers until RestartICE: its client's signaling
// connection is gone. Media keeps flowing where it still can. It never
// blocks; on a closed peer it does nothing.
func (p *Peer) Hold() {
	p.enqueue(func() { p.restartState.held = true })
}

// RestartICE ends a Hold and has the client sent a new offer that
// restarts ICE (new credentials, candidates gathered again). If an offer
// is outstanding, the client that was sent it may be gone: it is sent
// again first, with a fresh OfferTimeout, and the ICE restart follows its
// answer. The remote candidate budget starts afresh, since the ICE agent
// forgets the remote candidates of the old credentials. It returns
// ErrClosed on a closed peer.
func (p *Peer) RestartICE() error {
	return p.call(p.restartICE)
}

// restartICE runs on run; run then sends the offer.
func (p *Peer) restartICE() error {
	p.restartState = restartState{restart: true, resend: p.offerOutstanding}
	p.needOffer = true
	p.offerOutstanding = false // until resendOffer or the new offer
	clear(p.remoteKeys)
	p.remoteBytes = 0
	p.remoteCands = nil
	return nil
}

// resendOffer runs on run, from sendOffer: it sends the outstanding offer
// again, and reports whether it did (if not, sendOffer makes a new one).
// The offer that RestartICE asked for stays needed.
func (p *Peer) resendOffer() bool {
	p.restartState.resend = false
	desc := p.pc.LocalDescription() // the pending offer, with its candidates
	if desc == nil || desc.Type != webrtc.SDPTypeOffer {
		return false
	}
	p.offerOutstanding = true
	p.offerSent = time.Now()
	p.emitOffer(desc.SDP)
	return true
}

// offerOptions runs on run, just before a new offer is made. For an ICE
// restart it also holds back the candidates gathered for the new
// credentials until the offer carrying them has gone out, as for the
// first offer (releaseCandidates). ICE that never started (the first
// offer was never answered) has nothing to restart.
func (p *Peer) offerOptions() *webrtc.OfferOptions {
	if !p.restartState.restart || p.pc.CurrentRemoteDescription() == nil {
		return nil
	}
	p.candMu.Lock()
	p.offered = false
	p.candMu.Unlock()
	return &webrtc.OfferOptions{ICERestart: true}
}
