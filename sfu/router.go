package sfu

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
)

// Router forwards every track published by one of its peers to all its
// other peers. It is typically one per conference room.
type Router struct {
	// Set at construction.
	sfu  *SFU
	name string
	log  *slog.Logger

	// mu guards membership only; it is never held while calling into Pion
	// or into a peer's callbacks. Holding it while registering a track or a
	// peer makes every (peer, track) pair get exactly one down-track: a
	// track published before a peer joined is in that peer's snapshot,
	// one published after sees the peer in the peers map.
	mu     sync.Mutex
	peers  map[string]*Peer
	tracks []*upTrack // live published tracks of all peers
	closed bool
}

// AddPeer creates a peer and its PeerConnection, with recvonly transceivers
// for what it publishes and a down-track for every track already published
// in the router, and sends it its first offer through cfg.OnOffer (possibly
// before AddPeer returns). It returns ErrDuplicatePeer if cfg.ID is taken
// and ErrClosed after Close.
func (r *Router) AddPeer(cfg PeerConfig) (*Peer, error) {
	if cfg.ID == "" {
		return nil, errors.New("sfu: empty peer ID")
	}
	r.mu.Lock()
	closed, dup := r.closed, r.peers[cfg.ID] != nil
	r.mu.Unlock()
	switch {
	case closed:
		return nil, ErrClosed
	case dup:
		return nil, fmt.Errorf("%w: %q", ErrDuplicatePeer, cfg.ID)
	}

	p, err := newPeer(r, cfg)
	if err != nil {
		return nil, err
	}

	r.mu.Lock()
	switch {
	case r.closed:
		err = ErrClosed
	case r.peers[cfg.ID] != nil:
		err = fmt.Errorf("%w: %q", ErrDuplicatePeer, cfg.ID)
	default:
		r.peers[cfg.ID] = p
		r.sfu.stats.peers.Add(1)
	}
	existing := append([]*upTrack(nil), r.tracks...)
	r.mu.Unlock()
	if err != nil {
		_ = p.pc.Close()
		return nil, err
	}

	if !r.sfu.spawn(p.run) {
		r.removePeer(p)
		_ = p.pc.Close()
		return nil, ErrClosed
	}
	for _, u := range existing {
		p.subscribe(u)
	}
	p.enqueue(p.requestOffer)
	p.log.Info("peer added", "tracks", len(existing))
	return p, nil
}

// Close closes all the router's peers. It is idempotent.
func (r *Router) Close() {
	r.close(false)
	r.sfu.forgetRouter(r)
}

func (r *Router) close(graceful bool) {
	r.mu.Lock()
	r.closed = true
	peers := make([]*Peer, 0, len(r.peers))
	for _, p := range r.peers {
		peers = append(peers, p)
	}
	r.mu.Unlock()
	for _, p := range peers {
		_ = p.close(graceful)
	}
}

// publish registers a new up-track and returns the peers that must
// subscribe to it. ok is false if the publisher has left the router.
func (r *Router) publish(u *upTrack) (subscribers []*Peer, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.peers[u.peer.id] != u.peer || u.isClosed() {
		return nil, false
	}
	r.tracks = append(r.tracks, u)
	r.sfu.stats.upTracks.Add(1)
	for _, p := range r.peers {
		if p != u.peer {
			subscribers = append(subscribers, p)
		}
	}
	return subscribers, true
}

// unpublish forgets an up-track; later peers will not subscribe to it.
// slices.Delete clears the slot the tail vacates: a pointer left in the
// backing array past len would keep the up-track, its publisher's Peer
// and the whole closed PeerConnection reachable until the slot is
// overwritten.
func (r *Router) unpublish(u *upTrack) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, t := range r.tracks {
		if t == u {
			r.tracks = slices.Delete(r.tracks, i, i+1)
			r.sfu.stats.upTracks.Add(-1)
			return
		}
	}
}

// removePeer forgets p if it is still the peer registered under its ID.
func (r *Router) removePeer(p *Peer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.peers[p.id] == p {
		delete(r.peers, p.id)
		r.sfu.stats.peers.Add(-1)
	}
}
