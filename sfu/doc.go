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
// networks. While a packet is being fanned out, the SRTP packets written
// to the UDP socket are queued and sent with one sendmmsg(2) per batch
// rather than one sendto(2) each (batchConn): the system call, not SRTP or
// Pion, is what forwarding costs most (see PROFILE.md). On Linux every
// system call on that socket is made raw (syscall.RawSyscall6 inside
// RawConn.Read/Write; the socket is non-blocking, so none waits): made the
// usual way, they kept the Go runtime's sysmon thread polling every 20 µs
// and handing the processor between threads, which under load cost as
// much as SRTP and Pion together (PROFILE.md, "Under load").
//
// The interceptors that act only on received media (the NACK generator,
// receiver reports, TWCC feedback) start their goroutines and tickers when
// the PeerConnection's first remote stream is bound (receiveOnly), so a
// subscriber's PeerConnection runs none of them.
//
// # The forwarding path
//
// An up-track's reader goroutine reads each RTP packet into one reused
// buffer, stores a copy in the track's packet cache (package packetcache)
// and writes it to each down-track: the header is rewritten in place into
// a per-down-track header (the subscriber's SSRC, payload type, sequence
// number and timestamp, RFC 3550 §5.1) and handed with the publisher's
// payload to Pion's RTP writer (RTCP sender reports, SRTP). Nothing is
// allocated per packet, on the way in (see headerAttrs) or out. Pion's
// NACK responder, which would keep a copy of
// every packet sent in a buffer per down-track, is not installed.
//
// # Retransmission
//
// A subscriber's generic NACK (RFC 4585 §6.2.1) is read from the
// down-track's RTPSender; each lost sequence number is mapped back to the
// publisher's numbering, the packet fetched from the up-track's cache (the
// last 512 video or 64 audio packets) and sent again under the
// subscriber's numbering on its own SSRC. The SFU's own losses from a
// publisher are NACKed by Pion's NACK generator.
//
// NACKs cost the subscriber a few bytes and the server a whole packet
// each, so what they can make a down-track resend is limited
// (rtxLimiter), and a flood of them gets the subscriber little more than
// its media:
//
//   - A packet is resent at most once per interval: 100 ms, or the
//     round-trip time if longer (up to 1 s), which the subscriber's
//     receiver reports give against our sender reports (RFC 3550
//     §6.4.1). A sequence number listed twice in one NACK, or in
//     overlapping entries, is resent once; one NACKed again before the
//     resend could have arrived is not resent again.
//   - Each down-track has a budget: every byte forwarded to the
//     subscriber earns it a quarter of a byte of resend credit, up to
//     32 KiB, which is also what it starts with, so a new subscriber can
//     recover its first losses. Over any stretch of time, a down-track
//     resends at most 25% of what it forwarded in it, plus 32 KiB. Once
//     a NACK has spent the credit, the rest of its list is refused
//     without a look in the cache.
//
// The budget is per down-track rather than per subscriber: its state is
// owned by the down-track's RTCP goroutine alone, with no lock and no
// counter shared between the up-track readers forwarding to one
// subscriber, and NACKs on one track cannot spend the credit of another.
// A subscriber's total is still at most 25% of all it is forwarded plus
// 32 KiB a track. The forwarding path pays one atomic add per packet and
// down-track for it (the bytes forwarded). The interval's state is one slot per cache slot
// (source sequence number and time of the last resend), allocated with
// the down-track's retransmission buffer at its first NACK; after that,
// answering a NACK allocates nothing. Refused sequence numbers are
// counted in Stats.RetransmitsSuppressed. Feedback naming another SSRC
// than the down-track's is ignored.
//
// # Slow subscribers
//
// A down-track write must not make the up-track reader wait. Over UDP it
// cannot: a UDP write never waits for the receiver, only, at worst, for
// the host's own socket send buffer, which holds back every subscriber
// alike; a subscriber's slow network drops packets instead of pushing
// back. So UDP subscribers are written to directly, at the cost of one
// atomic load per packet (the check for a send queue). Over
// ICE-TCP a write blocks when the subscriber's TCP window is full, so a
// peer whose selected candidate pair is TCP gets a bounded send queue
// (sendQueue, 128 packets) and a writer goroutine: when the queue is full
// the packet is dropped (counted in Stats.Dropped) and a video down-track
// drops everything up to the next keyframe, which it requests.
//
// # Negotiation
//
// The server always offers and the client always answers, so there is no
// glare. A Peer has at most one offer outstanding; changes made while one
// is outstanding set a pending flag and a fresh offer is sent as soon as
// the answer arrives. An offer left unanswered for PeerConfig.OfferTimeout
// (default 15 s) ends the peer, so a silent client holds neither.
//
// Each down-track has a sendrecv transceiver. When it goes, its sender
// stops and the transceiver is offered recvonly; once the client has
// answered that offer, the next down-track of its kind takes it, with a
// new RTPSender: the same mid, a new msid and SSRC, and a new RTCP reader
// and retransmission budget (see transceiverSlots). So a peer's m-lines
// are bounded by the most down-tracks it has had at once, plus its publish
// transceivers or anchor, not by how many have come and gone.
//
// # Bounds on what a client can make a peer keep
//
// A client's remote ICE candidates, trickled or in answers, are bounded per
// peer (MaxRemoteCandidates distinct ones, MaxRemoteCandidateBytes, each
// at most MaxCandidateBytes), since Pion's ICE agent keeps and probes every
// one; those held before the first answer are among them. Passive TCP
// remote candidates are dropped, since Pion would dial them: a client
// cannot make the server open connections. A peer publishes
// at most one track per publish transceiver. Each peer's operation queue
// is bounded by the router's size, not by what the client sends (see
// Peer.enqueue).
//
// Pion's SRTP layer makes a read stream, with a buffer, for every SSRC a
// client names in RTP or as an RTCP destination, and keeps the ones
// nothing negotiated until the PeerConnection closes. So each peer has its
// own webrtc.API, built from the SFU's MediaEngine, interceptor Registry
// and SettingEngine, whose BufferFactory counts the peer's live streams
// (streamBudget): RTP buffers are bounded as Pion's are (1 MB), RTCP ones
// at 16 kB, and past 64 + 4 per transceiver + 2 per reused one's new
// sender the peer is closed and PeerConfig.OnMisbehaving given
// ErrTooManyStreams. Setting BufferFactory
// only changes when Pion starts reading RTX repair streams
// (startRTPReaderImmediately), and the MediaEngine registers no RTX.
//
// # Threading model
//
//   - Each Peer has one owner goroutine (run) that serializes everything
//     touching its negotiation: adding and removing down-tracks, creating
//     offers, applying answers and remote candidates. Other goroutines talk
//     to it by enqueueing closures on a queue that never blocks, so a peer
//     never blocks on another peer. OnOffer is called from run only, hence
//     serially.
//   - Each published track (upTrack) has one reader goroutine that reads
//     RTP into a reused buffer and writes it to a copy-on-write snapshot of
//     down-tracks. It is the only goroutine that touches a down-track's
//     forwarding state (rewriter, keyframe gate, preallocated header) and it
//     never waits on a subscriber's queue.
//   - Keyframe requests (PLI, RFC 4585 §6.3.1) to a publisher go through a
//     per-track goroutine that throttles them to Config.PLIInterval.
//   - Every RTPSender and RTPReceiver has a goroutine draining its RTCP;
//     a down-track's answers NACKs from the up-track's packet cache, which
//     has its own lock.
//   - A peer connected over ICE-TCP has a goroutine writing its send queue.
//   - Stats reads counters that the up-track readers add to once per
//     packet read (not per down-track), plus gauges and RTCP counters
//     kept in atomics.
//   - Router.mu guards membership only and is never held while calling into
//     Pion or into a Peer's callbacks.
//
// Every goroutine ends when its Peer closes; SFU.Close closes every Router
// and Peer and waits for all of them before closing the sockets.
package sfu
