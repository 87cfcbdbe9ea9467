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
// networks. Both listen dual-stack on [::] (IPv4 peers arrive
// IPv4-mapped; 0.0.0.0 on a host without IPv6), and host candidates are
// announced for IPv4 and IPv6, or, with Config.PublicIPs, for the
// families of the public addresses only.
//
// While a packet is being fanned out, the SRTP packets written to the
// UDP socket are queued and sent with one sendmmsg(2) per batch rather
// than one sendto(2) each (batchConn): the system call, not SRTP or Pion,
// is what forwarding costs most (see PROFILE.md). No lock shared by the
// rooms is held across a system call: a writer holds batchConn's mutex
// only to copy a packet into the batch being filled, and a full batch (or
// the one a fan-out leaves at its end) is taken out and sent without it,
// so fan-outs on different cores send at once. On Linux the sends are
// made inside RawConn.Control, because package net's writes and
// RawConn.Write hold the socket's write lock across the call; RawConn.Write
// only waits in the poller when the send buffer is full. A partial
// sendmmsg goes on from the first message not taken; a message the kernel
// refuses is skipped and counted (Stats.SendErrors).
//
// On Linux every system call on that socket is also made raw
// (syscall.RawSyscall6; the socket is non-blocking, so none waits): made
// the usual way, they kept the Go runtime's sysmon thread polling every
// 20 µs and handing the processor between threads, which under load on
// one core cost as much as SRTP and Pion together (PROFILE.md, "Under
// load"). Building with -tags parley_syscall makes them the usual way
// (batchconn_syscall.go), to measure the difference.
//
// The interceptors that act only on received media (the NACK generator,
// receiver reports, TWCC feedback) start their goroutines and tickers when
// the PeerConnection's first remote stream is bound (receiveOnly), so a
// subscriber's PeerConnection runs none of them.
//
// # The forwarding path
//
// An up-track's reader goroutine (one per simulcast layer, see Simulcast)
// reads each RTP packet into one reused buffer, stores a copy in the
// layer's packet cache (package packetcache) and writes it to each
// down-track that forwards that layer: the header is rewritten in place into
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
// publisher's numbering, the packet fetched from the cache of the layer
// forwarded when it was sent (the last 512 video or 64 audio packets) and sent again under the
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
// # Simulcast
//
// A camera published with simulcast (RFC 8853) is one up-track with up
// to MaxLayers layers, each an RTP stream with its own RID, SSRC,
// numbering, packet cache, reader goroutine and PLI throttle; a layer's
// index is the position of its RID in the publisher's description
// (lowest quality first, by the rule clients follow: e.g. "q;h;f"), and
// Stats.Layers counts the layers arriving. Each layer's reader offers its
// packets to every down-track; a down-track forwards exactly one layer at
// a time and skips the others' packets with two atomic loads. A
// subscriber asks for a layer with Peer.SetLayer (by RID); a new
// down-track starts on layer 0, which a browser always sends, whatever
// its bandwidth estimate. The switch is make-before-break: the current
// layer goes on until the target layer's next keyframe, which is asked
// for with a PLI on that layer's SSRC, and the keyframe is the first
// packet of the new layer sent. From it the subscriber's numbering goes on
// from the last packet of the old layer: the next sequence number, the
// timestamp one frame (switchTSGap) on, since the layers' timestamps have
// unrelated origins, and, if the VP8 payload descriptor (RFC 7741 §4.2)
// has them, the next picture ID (15 or 7 bits, as the layer sends it) and
// the next TL0PICIDX (vp8Munger). A receiver's decoder thus sees one
// stream with no loss, and a keyframe where the resolution changes. If
// the layer forwarded stops (a browser drops its top layer when its
// bandwidth falls), the subscriber's video stops with it until it asks
// for another: choosing layers by bandwidth, and falling back, is for a
// later issue.
//
// The picture ID and TL0PICIDX are rewritten in place in the payload the
// reader read: it parses the descriptor once per packet (vp8Desc), and
// each down-track writes its own values into those bytes just before it
// writes the packet, which Pion has encrypted into its own buffer (or the
// send queue has copied) when the write returns; the cache keeps the
// publisher's bytes, and a retransmission writes the values of the
// mapping under which the packet was sent (seqMap). Nothing is allocated
// per packet; a switch allocates the one new seqMap it publishes to the
// RTCP goroutine. A NACK is answered for packets sent under the
// latest mapping and the one before it, so a loss just before a switch is
// repaired from the old layer's cache. The readers of a track of the publisher connection share its
// down-tracks, so their forwarding state is guarded by a mutex which only
// the reader of the layer forwarded takes, but for the few packets around
// a switch; a track of the main connection has one reader and no lock.
//
// Pion receives simulcast only as the answerer: it writes a=rid:... recv
// and a=simulcast:recv into an answer to an offer that has them, but
// never into its own offer, and SetLocalDescription refuses an edited
// offer (errSDPDoesNotMatchOffer, in webrtc/v4 peerconnection.go and
// sdp.go). Chromium 156 and Firefox 153 ESR would both answer such a
// server offer with three encodings (a=simulcast:send q;h;f; 320x180,
// 640x360 and 1280x720 sent, docs/simulcast-recv-offer.html), but the
// server cannot make it. So a
// client that publishes simulcast offers what it publishes, as Galène
// and LiveKit have it: Peer.Publish applies the client's offer on a
// second PeerConnection of the peer (the publisher connection: at most
// one audio and one video m-line, at most MaxLayers RIDs) and returns
// the answer, while the server keeps making every offer on the main
// connection, which carries the subscriptions; each connection has one
// offerer, so there is still no glare. The answer carries the server's
// candidates; the client's may be in its offer or trickled with
// AddPublishCandidate, and count against the peer's one candidate budget.
// This is the negotiation of protocol version 2 (docs/protocol.md);
// a browser publishes with addTransceiver(track, {direction: "sendonly",
// sendEncodings: [{rid: "q", scaleResolutionDownBy: 4}, {rid: "h",
// scaleResolutionDownBy: 2}, {rid: "f"}]}), which Chrome, Firefox and
// Safari all take.
//
// # Negotiation
//
// The server always offers and the client always answers on the main
// connection, so there is no glare (the publisher connection, where the
// client offers, is described under Simulcast). A Peer has at most one offer outstanding; changes made while one
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
// at most one track per publish transceiver, and on the publisher
// connection one track per kind and MaxLayers layers per track. Each peer's operation queue
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
// ErrTooManyStreams. The RTCP stream a client's late report opens for a
// stopped down-track's SSRC gets a buffer that keeps nothing (see
// streamBudget.retire). Setting BufferFactory
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
//   - Each published track (upTrack) has one reader goroutine per layer
//     (one without simulcast) that reads RTP into a reused buffer and
//     writes it to a copy-on-write snapshot of down-tracks. The reader of
//     the layer a down-track forwards is the only goroutine that touches
//     its forwarding state (rewriter, VP8 munger, keyframe gate,
//     preallocated header), under the down-track's mutex for a track of
//     the publisher connection, which another layer's reader takes only
//     around a switch; no reader waits on a subscriber's queue.
//   - Keyframe requests (PLI, RFC 4585 §6.3.1) to a publisher go through a
//     per-layer goroutine that throttles them to Config.PLIInterval.
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
