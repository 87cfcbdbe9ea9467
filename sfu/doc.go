// Package sfu is parley's selective forwarding unit: the media plane only.
// It owns the Pion PeerConnections, forwards each published RTP track to
// every other peer of the same Router, and handles the RTCP that keeps this
// working (keyframe requests, NACK, receiver reports, TWCC feedback).
// Signaling, rooms and authentication live in other packages; sfu reports
// upward only through the callbacks in PeerConfig and imports nothing of
// parley's but its own subpackages.
//
// # Media transport
//
// All peers share one UDP socket (an ICE UDP mux on Config.UDPPort) and,
// unless disabled, one ICE-TCP listener for clients behind UDP-hostile
// networks.
//
// # Negotiation
//
// The server always offers and the client always answers, so there is no
// glare. A Peer has at most one offer outstanding; changes made while one
// is outstanding set a pending flag and a fresh offer is sent as soon as
// the answer arrives.
//
// # Threading model
//
//   - Each Peer has one owner goroutine (run) that serializes everything
//     touching its negotiation: adding and removing down-tracks, creating
//     offers, applying answers and remote candidates. Other goroutines talk
//     to it by enqueueing closures on an unbounded queue, so a peer never
//     blocks on another peer. OnOffer is called from run only, hence
//     serially.
//   - Each published track (upTrack) has one reader goroutine that reads
//     RTP into a reused buffer and writes it to a copy-on-write snapshot of
//     down-tracks. It is the only goroutine that touches a down-track's
//     forwarding state (rewriter, keyframe gate, preallocated header) and it
//     never waits on a subscriber's queue.
//   - Keyframe requests (PLI) to a publisher go through a per-track
//     goroutine that throttles them to Config.PLIInterval.
//   - Every RTPSender and RTPReceiver has a goroutine draining its RTCP.
//   - Router.mu guards membership only and is never held while calling into
//     Pion or into a Peer's callbacks.
//
// Every goroutine ends when its Peer closes; SFU.Close closes every Router
// and Peer and waits for all of them before closing the sockets.
package sfu
