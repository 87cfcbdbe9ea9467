package sfu

import (
	"fmt"

	"github.com/pion/webrtc/v4"
)

// Resume after a dropped connection. While a client's signaling is gone
// the peer is held (Hold): it sends no offer, and does not time out the
// one outstanding, since no one could answer. When the client is back,
// RestartICE makes the next offer restart ICE, superseding any offer the
// client never saw; the peer keeps its tracks, transceivers and DTLS.

// restartState is the peer's resume state, owned by run.
type restartState struct {
	held    bool // the client is unreachable: send no offer, let none expire
	restart bool // the next offer restarts ICE (webrtc.OfferOptions.ICERestart)
}

// Hold stops the peer's offers until RestartICE: its client's signaling
// connection is gone. Media keeps flowing where it still can. It never
// blocks; on a closed peer it does nothing.
func (p *Peer) Hold() {
	p.enqueue(func() { p.restartState.held = true })
}

// RestartICE ends a Hold and sends the client a new offer that restarts
// ICE (new credentials, candidates gathered again), at once, even if an
// offer is outstanding: that one is rolled back, since the client that
// was sent it is gone. The remote candidate budget starts afresh, since
// the ICE agent forgets the remote candidates of the old credentials. It
// returns ErrClosed on a closed peer.
func (p *Peer) RestartICE() error {
	return p.call(p.restartICE)
}

// restartICE runs on run.
func (p *Peer) restartICE() error {
	p.restartState = restartState{restart: true}
	p.needOffer = true
	if p.offerOutstanding {
		if err := p.pc.SetLocalDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeRollback}); err != nil {
			return fmt.Errorf("sfu: roll back the unanswered offer: %w", err)
		}
		p.offerOutstanding = false
	}
	clear(p.remoteKeys)
	p.remoteBytes = 0
	p.remoteCands = nil
	return nil
}

// offerOptions runs on run, just before an offer is made. For an ICE
// restart it also holds back the candidates gathered for the new
// credentials until the offer carrying them has gone out, as for the
// first offer (releaseCandidates).
func (p *Peer) offerOptions() *webrtc.OfferOptions {
	if !p.restartState.restart {
		return nil
	}
	p.candMu.Lock()
	p.offered = false
	p.candMu.Unlock()
	return &webrtc.OfferOptions{ICERestart: true}
}
