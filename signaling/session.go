package signaling

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"

	"github.com/parley-dev/parley/auth"
	"github.com/parley-dev/parley/livecall"
	"github.com/parley-dev/parley/rooms"
	"github.com/parley-dev/parley/sfu"
	"github.com/parley-dev/parley/signaling/protocol"
)

// outQueueLen and maxQueuedBytes bound what waits for the writer, by count
// and by bytes (the message being written included). A client that lets
// either fill is too slow to follow the call: it gets error too-slow and is
// disconnected (see tooSlow). One message larger than maxQueuedBytes still
// goes out when nothing else waits: offers in a big call can be large.
const (
	outQueueLen    = 256
	maxQueuedBytes = 1 << 20
)

// closeGrace is how long the writer waits, after sending a close frame, for
// the client's close before dropping the connection.
const closeGrace = 2 * time.Second

// outMsg is one item for the writer: a text message, or a close frame.
type outMsg struct {
	data        []byte
	closeCode   int // non-zero: send a close frame with closeReason, then end
	closeReason string
}

// session is one WebSocket connection, and transport only: it decodes and
// rate-limits the client's messages and hands each to the participant's
// live call (which decides) or media peer, and it carries the call's and
// the peer's messages back. It has three parts: run (the reader, which
// owns the session state and handles each message in order), writeLoop
// (the only writer, draining out with a deadline), and the callbacks from
// the sfu and the call, which reach it through its participant and only
// enqueue on out. The participant (participant.go) holds the place in the
// call and the media peer, so that it can later outlive the session.
type session struct {
	// set at construction
	srv    *Server
	conn   *websocket.Conn
	log    *slog.Logger
	out    chan outMsg
	quit   chan struct{} // closed when run ends
	wdone  chan struct{} // closed when writeLoop ends
	remote string
	key    netip.Prefix // the client's key for the unjoined caps

	closeSent atomic.Bool   // a close frame has been queued; nothing more is sent
	joinState atomic.Int32  // joinWaiting, then joinDone (run) or joinExpired (the join timer)
	queued    atomic.Int64  // bytes of the messages in out and being written
	slow      atomic.Bool   // the client is too slow: the writer ends the session (see tooSlow)
	kick      chan struct{} // capacity 1: wakes the writer when slow is set
	failed    atomic.Bool   // a callback (offer timeout, too slow) ended the session after an error
	// publishing: a publish-offer is with the media peer, not yet
	// answered. Set by run, cleared by publishAnswered (publish.go).
	publishing atomic.Bool

	// owned by run (and ServeHTTP, on run's goroutine)
	slot    bool // holds an unjoined slot of srv
	limiter *rate.Limiter
	excess  int
	// offerCredit counts the offers sent whose answer has not yet got
	// past the limiter, at most maxOfferCredit: a message the limiter
	// refuses takes one instead, so the answer the server asked for is
	// never dropped (a long-lived client in a busy room gets more offers
	// a second than the limit). Set by sendOffer, taken by run.
	offerCredit atomic.Int32
	closing     bool // a fatal error was sent; later messages are ignored
	leftReason  string
	part        *participant // the participant this session carries; nil until joined
	pres        *presence    // set when the session registered as an endpoint's presence connection (directory.go)
	cookie      string       // the endpoint session cookie of the upgrade request, for register; set by ServeHTTP before run
	invitation  string       // the join token's invitation ID, for Config.Invitations; set by handleJoin

	// claim-host checks (hostkeys.go): one at a time, off run
	claiming    atomic.Bool        // a check is running
	claims      sync.WaitGroup     // the running check, waited for by run
	claimCtx    context.Context    // ends the checks when run ends; made by run
	claimCancel context.CancelFunc // set with claimCtx
}

// The states of session.joinState.
const (
	joinWaiting int32 = iota
	joinDone
	joinExpired
)

// newSession returns a session for conn, holding an unjoined slot of key.
func newSession(srv *Server, conn *websocket.Conn, remote string, key netip.Prefix) *session {
	return &session{
		srv:     srv,
		conn:    conn,
		log:     srv.log.With("remote", remote),
		out:     make(chan outMsg, outQueueLen),
		kick:    make(chan struct{}, 1),
		quit:    make(chan struct{}),
		wdone:   make(chan struct{}),
		remote:  remote,
		key:     key,
		slot:    true,
		limiter: rate.NewLimiter(rate.Limit(srv.cfg.RatePerSecond), srv.cfg.RateBurst),
	}
}

// errClosed ends the read loop after the connection has gone.
var errClosed = errors.New("connection closed")

// releaseSlot gives back the session's unjoined slot, once.
func (s *session) releaseSlot() {
	if s.slot {
		s.slot = false
		s.srv.releaseUnjoined(s.key)
	}
}

// run reads and handles messages until the connection ends, then cleans up.
func (s *session) run() {
	go s.writeLoop()
	// The join timer ends a connection that has not joined in time with a
	// join-timeout error and close; it fires at most once, and run stops
	// it on the way out.
	joinTimer := time.AfterFunc(s.srv.cfg.JoinTimeout, s.joinTimeout)
	defer func() {
		joinTimer.Stop()
		s.stopClaims()
		close(s.quit)
		<-s.wdone
		s.conn.Close()
		s.cleanup()
	}()

	// No read limit in gorilla: read() enforces MaxMessageBytes itself,
	// so every oversize message gets the same too-large error. Before the
	// join, the read deadline is only a backstop behind the join timer.
	s.conn.SetReadDeadline(time.Now().Add(s.srv.cfg.JoinTimeout + s.srv.cfg.WriteTimeout + closeGrace))
	s.conn.SetPongHandler(func(string) error {
		s.extendDeadline()
		return nil
	})
	for {
		data, err := s.read()
		if err != nil {
			if s.leftReason == "" {
				s.leftReason = protocol.ReasonDisconnected
			}
			s.log.Debug("websocket session ended", "err", err)
			return
		}
		if s.closing {
			continue
		}
		s.extendDeadline()
		if !s.limiter.Allow() && !s.takeOfferCredit() {
			s.excess++
			if s.excess >= s.srv.cfg.MaxExcess {
				s.fatal(protocol.CodeRateLimited, "too many messages: closing the connection", "", websocket.ClosePolicyViolation)
			} else if s.excess == 1 || s.excess%50 == 0 {
				s.sendError(protocol.CodeRateLimited, fmt.Sprintf("too many messages: at most %g a second; this one was dropped", s.srv.cfg.RatePerSecond), "")
			}
			continue
		}
		s.handle(data)
	}
}

// read returns the next text message. It buffers at most MaxMessageBytes
// of any message: a larger one, whatever its size, gets a too-large error
// and a close (1009), and the rest of it is read and discarded until the
// close completes (closeGrace bounds how long). Binary frames get a
// bad-json error.
func (s *session) read() ([]byte, error) {
	for {
		mt, r, err := s.conn.NextReader()
		if err != nil {
			return nil, err
		}
		data, err := io.ReadAll(io.LimitReader(r, protocol.MaxMessageBytes+1))
		if err != nil {
			return nil, err
		}
		if len(data) > protocol.MaxMessageBytes {
			if !s.closing {
				s.fatal(protocol.CodeTooLarge, fmt.Sprintf("message larger than %d bytes", protocol.MaxMessageBytes), "", websocket.CloseMessageTooBig)
			}
			if _, err := io.Copy(io.Discard, r); err != nil {
				return nil, err
			}
			continue
		}
		if s.closing {
			continue
		}
		if mt != websocket.TextMessage {
			s.sendError(protocol.CodeBadJSON, "binary frames are not accepted: send JSON text frames", "")
			continue
		}
		return data, nil
	}
}

// joinTimeout runs on the join timer's goroutine: a session still waiting
// to join gets a join-timeout error and a close (1008, "join-timeout").
// Only goroutine-safe sends are used; handleJoin cannot join afterwards.
func (s *session) joinTimeout() {
	if !s.joinState.CompareAndSwap(joinWaiting, joinExpired) {
		return
	}
	s.sendError(protocol.CodeJoinTimeout, fmt.Sprintf("no successful join within %s: closing the connection", s.srv.cfg.JoinTimeout), "")
	s.sendClose(websocket.ClosePolicyViolation, protocol.CodeJoinTimeout)
}

func (s *session) extendDeadline() {
	if s.part != nil || s.pres != nil {
		s.conn.SetReadDeadline(time.Now().Add(s.srv.cfg.ReadTimeout))
	}
}

// handle dispatches one message to its handler.
func (s *session) handle(data []byte) {
	msg, perr := protocol.Decode(data)
	if perr != nil {
		s.sendMsg(*perr)
		return
	}
	switch m := msg.(type) {
	case *protocol.Join:
		s.handleJoin(m)
	case *protocol.Resume:
		s.handleResume(m)
	case *protocol.Ping:
		s.sendMsg(protocol.Pong{Type: protocol.TypePong, ID: m.ID})
	case *protocol.Answer:
		if s.requireJoined(protocol.TypeAnswer) {
			s.handleAnswer(m)
		}
	case *protocol.Candidate:
		if s.requireJoined(protocol.TypeCandidate) {
			s.handleCandidate(m)
		}
	case *protocol.Mute:
		if s.requireJoined(protocol.TypeMute) {
			s.handleMute(m)
		}
	case *protocol.Leave:
		s.handleLeave()
	case *protocol.EndCall:
		s.moderate(protocol.TypeEndCall, "", func(c *livecall.Call) error { return c.EndForAll(s.part.id) })
	case *protocol.Remove:
		s.moderate(protocol.TypeRemove, m.ParticipantID, func(c *livecall.Call) error { return c.Remove(s.part.id, m.ParticipantID) })
	case *protocol.MuteParticipant:
		s.moderate(protocol.TypeMuteParticipant, m.ParticipantID, func(c *livecall.Call) error { return c.Mute(s.part.id, m.ParticipantID) })
	case *protocol.MuteAll:
		s.moderate(protocol.TypeMuteAll, "", func(c *livecall.Call) error { return c.MuteAll(s.part.id) })
	case *protocol.Lock:
		s.moderate(protocol.TypeLock, "", func(c *livecall.Call) error { return c.SetLocked(s.part.id, true) })
	case *protocol.Unlock:
		s.moderate(protocol.TypeUnlock, "", func(c *livecall.Call) error { return c.SetLocked(s.part.id, false) })
	case *protocol.SetHost:
		s.moderate(protocol.TypeSetHost, m.ParticipantID, func(c *livecall.Call) error { return c.HandHost(s.part.id, m.ParticipantID) })
	case *protocol.ClaimHost:
		s.handleClaimHost(m) // hostkeys.go
	case *protocol.PublishOffer:
		if s.requireJoined(protocol.TypePublishOffer) {
			s.handlePublishOffer(m) // publish.go
		}
	case *protocol.SetLayer:
		if s.requireJoined(protocol.TypeSetLayer) {
			s.handleSetLayer(m)
		}
	case *protocol.Register:
		s.handleRegister(m)
	case *protocol.CallEndpoint:
		s.handleCallEndpoint(m)
	case *protocol.AcceptCall:
		s.handleAcceptCall(m)
	case *protocol.DeclineCall:
		s.handleDeclineCall(m)
	case *protocol.CancelCall:
		s.handleCancelCall(m)
	default:
		typ := envelopeType(data)
		s.sendError(protocol.CodeUnknownType, fmt.Sprintf("%q is sent by the server, not the client", typ), typ)
	}
}

func (s *session) requireJoined(ref string) bool {
	if s.part == nil {
		s.sendError(protocol.CodeNotJoined, "send join first", ref)
		return false
	}
	return true
}

func (s *session) handleAnswer(m *protocol.Answer) {
	if m.SDP == "" {
		s.sendError(protocol.CodeBadRequest, "answer.sdp is empty", protocol.TypeAnswer)
		return
	}
	if err := s.part.mediaPeer().SetAnswer(m.SDP); err != nil {
		s.sendError(mediaErrorCode(err), fmt.Sprintf("answer refused: %v", err), protocol.TypeAnswer)
	}
}

func (s *session) handleCandidate(m *protocol.Candidate) {
	c := m.Candidate
	if c.Candidate == "" {
		// An empty candidate marks the end of gathering; nothing to do.
		return
	}
	if m.Target != protocol.TargetSubscriber {
		s.handlePublishCandidate(m)
		return
	}
	err := s.part.mediaPeer().AddCandidate(toICECandidateInit(c))
	if err != nil {
		s.sendError(mediaErrorCode(err), fmt.Sprintf("candidate refused: %v", err), protocol.TypeCandidate)
	}
}

// mediaErrorCode is the error code for an answer or candidate the sfu
// refused.
func mediaErrorCode(err error) string {
	if errors.Is(err, sfu.ErrTooManyCandidates) {
		return protocol.CodeTooManyCandidates
	}
	return protocol.CodeBadSDP
}

func (s *session) handleMute(m *protocol.Mute) {
	s.callResult(protocol.TypeMute, s.part.call.call.SetMute(s.part.id, m.AudioMuted, m.VideoMuted))
}

// moderate hands a host's moderation message to the call. target is the
// message's participantId, or "" for the messages that name no one. The
// call checks that the sender is a host.
func (s *session) moderate(ref, target string, f func(*livecall.Call) error) {
	if !s.requireJoined(ref) {
		return
	}
	switch ref {
	case protocol.TypeRemove, protocol.TypeMuteParticipant, protocol.TypeSetHost:
		if target == "" {
			s.sendError(protocol.CodeBadRequest, ref+".participantId is empty", ref)
			return
		}
	}
	s.callResult(ref, f(s.part.call.call))
}

// callResult answers the client's message ref with an error if the call
// refused it. An ending call refuses everything: the session is closing.
func (s *session) callResult(ref string, err error) {
	if err == nil || errors.Is(err, livecall.ErrEnded) {
		return
	}
	if code, msg, ok := callError(ref, err); ok {
		s.sendError(code, msg, ref)
		return
	}
	s.internal(ref, fmt.Errorf("%s: %w", ref, err))
}

func (s *session) handleLeave() {
	s.leftReason = protocol.ReasonLeft
	s.closing = true
	s.sendClose(websocket.CloseNormalClosure, protocol.ReasonLeft)
}

// handleJoin checks the join message and its token, and finds the room.
func (s *session) handleJoin(m *protocol.Join) {
	const ref = protocol.TypeJoin
	if s.part != nil || s.pres != nil {
		s.sendError(protocol.CodeAlreadyJoined, "this connection has already joined or registered", ref)
		return
	}
	if !s.checkVersion(m.Version, ref) {
		return
	}
	if s.joinDirect(m.Token, m.Version, m.Publish) {
		return // a direct call's token (directory.go)
	}
	claims, err := s.srv.cfg.Tokens.VerifyJoin(m.Token)
	switch {
	case errors.Is(err, auth.ErrTokenExpired):
		s.fatal(protocol.CodeTokenExpired, "the join token has expired: fetch a new one from /api/v1/join", ref, websocket.ClosePolicyViolation)
		return
	case err != nil:
		s.fatal(protocol.CodeBadToken, "the join token is not valid", ref, websocket.ClosePolicyViolation)
		return
	}
	if claims.Name != "" {
		m.Name = claims.Name // a registered endpoint joins under its own name
	}
	name, err := validDisplayName(m.Name)
	if err != nil {
		s.sendError(protocol.CodeBadRequest, err.Error(), ref)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	room, err := s.srv.cfg.Rooms.Room(ctx, claims.RoomID)
	cancel()
	if err != nil {
		if errors.Is(err, errRoomNotFound) {
			s.fatal(protocol.CodeRoomNotFound, "this room no longer exists", ref, websocket.ClosePolicyViolation)
			return
		}
		s.internal(ref, fmt.Errorf("look up room %s: %w", claims.RoomID, err))
		return
	}

	s.invitation = claims.Invitation
	s.enter(room, livecall.Role(claims.Role), name, claims.Endpoint, m.Version, m.Publish, s.endpointSeat(claims.Endpoint))
}

// checkVersion refuses, with bad-version and a close, a join or resume of
// a protocol version the server does not speak.
func (s *session) checkVersion(v int, ref string) bool {
	if v < protocol.MinVersion || v > protocol.Version {
		s.fatal(protocol.CodeBadVersion, fmt.Sprintf("protocol version %d is not supported; this server speaks versions %d to %d", v, protocol.MinVersion, protocol.Version), ref, websocket.ClosePolicyViolation)
		return false
	}
	return true
}

// enter takes the authenticated joiner into the live call of room, then
// starts its media peer. endpoint is the registered endpoint it joins as
// ("" for none), and as its seat for presence (directory.go; nil if none).
func (s *session) enter(room *rooms.Room, role livecall.Role, name, endpoint string, version int, publish protocol.Publish, as *seat) {
	const ref = protocol.TypeJoin
	if !s.joinState.CompareAndSwap(joinWaiting, joinDone) {
		return // the join timer fired first: the connection is closing
	}
	p := newParticipant(s, "p_"+auth.RandomToken(9))
	p.endpoint = endpoint
	p.as = as
	p.version, p.publish = version, publish
	token, hash := newResumeToken()
	// Resumable from the moment the token can be known (joined carries
	// it); a resume waits on resumeMu until the participant is complete.
	p.resumeMu.Lock()
	defer p.resumeMu.Unlock()
	p.tokenHash = hash
	s.srv.register(p)
	// Before the call can send to the participant: its sends log with s.log.
	s.log = s.log.With("room", room.Name, "participant", p.id)
	// The call sends joined, and tells the others, before it returns.
	c, err := s.srv.join(room, livecall.JoinRequest{
		ID:         p.id,
		Name:       name,
		Role:       role,
		AudioMuted: !publish.Audio,
		VideoMuted: !publish.Video,
		Conn:       p,
		ICEServers: s.srv.iceServers(),

		ResumeToken: token,
		Version:     version,
	})
	if err != nil {
		p.gone.Store(true)
		s.srv.forget(p)
		if code, msg, ok := callError(ref, err); ok {
			s.fatal(code, msg, ref, websocket.ClosePolicyViolation)
			return
		}
		s.internal(ref, fmt.Errorf("join call of room %s: %w", room.ID, err))
		return
	}
	s.releaseSlot()
	p.call, s.part = c, p
	peer, err := c.router.AddPeer(sfu.PeerConfig{
		ID:           p.id,
		PublishAudio: publish.Audio && publishesOnMain(version), // version 2 publishes on the publisher connection (publish.go)
		PublishVideo: publish.Video && publishesOnMain(version),
		OnOffer:      p.sendOffer,
		OnCandidate:  p.sendCandidate,
		OnState:      p.onPeerState,

		OfferTimeout:   s.srv.cfg.OfferTimeout,
		OnOfferTimeout: p.onOfferTimeout,
		OnMisbehaving:  p.onMisbehaving,
	})
	if err != nil {
		s.internal(ref, fmt.Errorf("add peer: %w", err))
		return
	}
	p.setPeer(peer)
	s.extendDeadline()
	s.log.Info("participant joined", "name", name, "role", role, "participants", c.call.Size())
	if s.invitation != "" && s.srv.cfg.Invitations != nil {
		s.srv.cfg.Invitations.InvitationJoined(room.ID, s.invitation, name)
	}
}

// cleanup runs once the connection has ended.
func (s *session) cleanup() {
	if s.failed.Load() {
		s.leftReason = protocol.ReasonError
	}
	if s.pres != nil {
		s.srv.dir.unregister(s.pres)
	}
	if s.part == nil {
		return
	}
	// A drop with no leave, error or bye from either side keeps the
	// participant's place for the grace period (resume.go).
	resumable := s.leftReason == protocol.ReasonDisconnected && !s.closeSent.Load()
	switch s.part.release(s, s.leftReason, resumable) {
	case detached:
		s.log.Info("participant reconnecting", "grace", s.srv.cfg.ResumeGrace)
	case released:
		s.log.Info("participant left", "reason", s.leftReason)
	}
}

// sendOffer, sendCandidate, mediaFailed and onOfferTimeout are called by
// the sfu, through the participant the session carries.

// maxOfferCredit bounds session.offerCredit: the sfu has one offer
// outstanding at a time, and a new one may go out as its answer comes in.
const maxOfferCredit = 2

// takeOfferCredit takes one offer credit, if there is one.
func (s *session) takeOfferCredit() bool {
	for {
		n := s.offerCredit.Load()
		if n <= 0 {
			return false
		}
		if s.offerCredit.CompareAndSwap(n, n-1) {
			return true
		}
	}
}

func (s *session) sendOffer(o sfu.Offer) {
	for {
		n := s.offerCredit.Load()
		if n >= maxOfferCredit || s.offerCredit.CompareAndSwap(n, n+1) {
			break
		}
	}
	s.sendMsg(protocol.Offer{
		Type:    protocol.TypeOffer,
		SDP:     o.SDP,
		Publish: protocol.PublishMids{Audio: o.AudioMid, Video: o.VideoMid},
	})
}

func (s *session) sendCandidate(c webrtcCandidate) {
	s.sendMsg(protocol.Candidate{Type: protocol.TypeCandidate, Candidate: fromICECandidateInit(c)})
}

// mediaFailed ends a session whose participant's media connection failed.
func (s *session) mediaFailed() {
	s.log.Warn("media connection failed")
	s.bye(protocol.ReasonMediaFailed, websocket.CloseGoingAway)
}

// onOfferTimeout ends a session whose client left an offer unanswered;
// the sfu closes the peer right after.
func (s *session) onOfferTimeout() {
	timeout := s.srv.cfg.OfferTimeout
	if timeout <= 0 {
		timeout = sfu.DefaultOfferTimeout
	}
	s.log.Info("offer not answered: closing the connection", "timeout", timeout)
	s.failed.Store(true)
	s.sendError(protocol.CodeOfferTimeout, fmt.Sprintf("the offer was not answered within %v", timeout), protocol.TypeOffer)
	s.sendClose(websocket.ClosePolicyViolation, protocol.CodeOfferTimeout)
}

// onMisbehaving ends a session whose client's media broke an sfu bound
// (err wraps sfu.ErrTooManyStreams); the sfu closes the peer right after.
func (s *session) onMisbehaving(err error) {
	s.log.Warn("media broke a bound: closing the connection", "err", err)
	s.failed.Store(true)
	s.sendError(protocol.CodeTooManyStreams, "the media named more SSRCs than the m-lines explain", "")
	s.sendClose(websocket.ClosePolicyViolation, protocol.CodeTooManyStreams)
}

// Sending. All of these are safe from any goroutine and never block.

// send queues data for the writer. A client whose queue is full, by count
// or by bytes, is disconnected rather than allowed to stall the call or to
// hold the server's memory (see tooSlow).
func (s *session) send(data []byte) {
	if s.closeSent.Load() {
		return
	}
	n := int64(len(data))
	if q := s.queued.Add(n); q > maxQueuedBytes && q > n {
		s.queued.Add(-n)
		s.tooSlow(fmt.Sprintf("more than %d bytes waiting", maxQueuedBytes))
		return
	}
	select {
	case s.out <- outMsg{data: data}:
	case <-s.quit:
		s.queued.Add(-n)
	default:
		s.queued.Add(-n)
		s.tooSlow(fmt.Sprintf("%d messages waiting", outQueueLen))
	}
}

// tooSlow ends the session of a client that does not read its messages as
// fast as the call produces them. Nothing more is queued; the message
// being written gets closeGrace to go (the connection's write deadline is
// cut to that), then the writer drops what waits, sends error too-slow and
// a close frame, and ends the connection. A client that reads nothing is
// dropped when the cut deadline passes.
func (s *session) tooSlow(why string) {
	if !s.closeSent.CompareAndSwap(false, true) {
		return
	}
	s.log.Warn("client too slow: disconnecting", "why", why)
	s.failed.Store(true)
	s.slow.Store(true)
	if err := s.conn.UnderlyingConn().SetWriteDeadline(time.Now().Add(closeGrace)); err != nil {
		s.log.Debug("cut write deadline", "err", err)
	}
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

func (s *session) sendMsg(msg any) {
	data, err := encode(msg)
	if err != nil {
		s.log.Error("encode message", "err", err)
		return
	}
	s.send(data)
}

func (s *session) sendError(code, message, ref string) {
	s.sendMsg(protocol.Error{Type: protocol.TypeError, Code: code, Message: message, Ref: ref})
}

// sendClose queues a close frame; the writer sends it and ends the
// connection once the client answers (or after closeGrace).
func (s *session) sendClose(code int, reason string) {
	if !s.closeSent.CompareAndSwap(false, true) {
		return
	}
	select {
	case s.out <- outMsg{closeCode: code, closeReason: reason}:
	case <-s.quit:
	default:
		s.conn.Close()
	}
}

// fatal sends an error, then closes the connection. Called only by run.
func (s *session) fatal(code, message, ref string, closeCode int) {
	s.sendError(code, message, ref)
	s.closing = true
	s.leftReason = protocol.ReasonError
	s.sendClose(closeCode, code)
}

// internal logs err with an id and tells the client only the id.
func (s *session) internal(ref string, err error) {
	id := auth.RandomToken(6)
	s.log.Error("internal error", "id", id, "err", err)
	s.fatal(protocol.CodeInternal, fmt.Sprintf("internal error (ref %s)", id), ref, websocket.CloseInternalServerErr)
}

// bye sends a bye with reason and closes the connection. Safe from any goroutine.
func (s *session) bye(reason string, closeCode int) {
	s.sendMsg(protocol.Bye{Type: protocol.TypeBye, Reason: reason})
	s.sendClose(closeCode, reason)
}

// closeNow closes a connection that never ran a session.
func (s *session) closeNow(code int, reason string) {
	msg := websocket.FormatCloseMessage(code, reason)
	s.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
	s.conn.Close()
}

// writeLoop is the connection's only writer.
func (s *session) writeLoop() {
	defer close(s.wdone)
	ping := time.NewTicker(s.srv.cfg.PingInterval)
	defer ping.Stop()
	for {
		if s.slow.Load() {
			s.closeTooSlow()
			return
		}
		select {
		case m := <-s.out:
			deadline := time.Now().Add(s.srv.cfg.WriteTimeout)
			if m.closeCode != 0 {
				s.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(m.closeCode, m.closeReason), deadline)
				s.awaitClose()
				return
			}
			s.conn.SetWriteDeadline(deadline)
			err := s.conn.WriteMessage(websocket.TextMessage, m.data)
			s.queued.Add(-int64(len(m.data)))
			if err != nil {
				s.log.Debug("websocket write failed", "err", err)
				s.conn.Close()
				return
			}
		case <-s.kick:
		case <-ping.C:
			deadline := time.Now().Add(s.srv.cfg.WriteTimeout)
			if err := s.conn.WriteControl(websocket.PingMessage, nil, deadline); err != nil {
				s.conn.Close()
				return
			}
		case <-s.quit:
			return
		}
	}
}

// closeTooSlow runs on the writer once tooSlow has been called: it drops
// the queued messages, then tells the client why and closes.
func (s *session) closeTooSlow() {
	for len(s.out) > 0 { // the writer is out's only reader: this never blocks
		m := <-s.out
		s.queued.Add(-int64(len(m.data)))
	}
	deadline := time.Now().Add(closeGrace)
	data, err := encode(protocol.Error{Type: protocol.TypeError, Code: protocol.CodeTooSlow,
		Message: fmt.Sprintf("messages were not read fast enough (more than %d bytes or %d messages waiting): closing the connection", maxQueuedBytes, outQueueLen)})
	if err == nil {
		s.conn.SetWriteDeadline(deadline)
		err = s.conn.WriteMessage(websocket.TextMessage, data)
	}
	if err == nil {
		err = s.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.ClosePolicyViolation, protocol.CodeTooSlow), deadline)
	}
	if err != nil {
		s.conn.Close()
		return
	}
	s.awaitClose()
}

// awaitClose gives the client closeGrace to answer a close frame.
func (s *session) awaitClose() {
	t := time.NewTimer(closeGrace)
	defer t.Stop()
	select {
	case <-s.quit:
	case <-t.C:
		s.conn.Close()
	}
}

func encode(msg any) ([]byte, error) {
	data, err := json.Marshal(msg)
	if err != nil {
		return nil, fmt.Errorf("encode %T: %w", msg, err)
	}
	return data, nil
}

func envelopeType(data []byte) string {
	var env protocol.Envelope
	_ = json.Unmarshal(data, &env)
	return env.Type
}
