package sfu

import "errors"

// ErrClosed is returned by operations on an SFU, Router or Peer that has
// been closed.
var ErrClosed = errors.New("sfu: closed")

// ErrDuplicatePeer is returned by Router.AddPeer when a peer with the same
// ID is already in the router.
var ErrDuplicatePeer = errors.New("sfu: duplicate peer ID")

// ErrNoOfferPending is returned by Peer.SetAnswer when the server has no
// offer outstanding for the peer to answer.
var ErrNoOfferPending = errors.New("sfu: no offer pending")

// ErrBadDescription wraps the error returned when a client's SDP answer or
// ICE candidate is malformed or refused by the PeerConnection.
var ErrBadDescription = errors.New("sfu: bad session description")

// ErrTooManyCandidates is returned by Peer.AddCandidate and Peer.SetAnswer
// when taking the client's candidates would pass MaxRemoteCandidates or
// MaxRemoteCandidateBytes. The candidates are dropped; the peer goes on
// with those it already has.
var ErrTooManyCandidates = errors.New("sfu: too many remote candidates")

// ErrTooManyStreams is what PeerConfig.OnMisbehaving is given when a
// client named more SSRCs, in RTP or as RTCP destinations, than its
// transceivers explain (see streamBudget); the peer is then closed.
var ErrTooManyStreams = errors.New("sfu: too many media streams")
