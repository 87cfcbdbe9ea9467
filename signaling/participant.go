package signaling

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gorilla/websocket"
	"github.com/pion/webrtc/v4"

	"github.com/parley-dev/parley/livecall"
	"github.com/parley-dev/parley/rooms"
	"github.com/parley-dev/parley/sfu"
	"github.com/parley-dev/parley/signaling/protocol"
)

// participant is one person in a live call, as signaling holds them: their
// place in the call (package livecall, which decides) and their media peer
// (package sfu). It is the call's livecall.Conn and the peer's callbacks,
// and hands both on to the session that carries its messages now.
//
// A participant can outlive its WebSocket: when the session's connection
// drops, the session detaches (resume.go): the participant is shown
// reconnecting, its peer holds its offers, and a grace timer on the call's
// clock lets it go unless a new session resumes it with its resume token,
// keeping the id, role, peer and tracks. While detached, sess is nil and
// whatever the call or the peer sends it is dropped.
type participant struct {
	// set at construction
	id        string
	srv       *Server
	joinStart time.Time // when the join was received, for Config.OnJoined
	endpoint  string    // the registered endpoint's ID from the join token, or ""
	as        *seat     // the endpoint's seat (directory.go), or nil; set before register

	// call is set by the joining session's run, before the peer exists
	// and before anything but the call itself uses the participant.
	call *liveCall

	sess      atomic.Pointer[session]  // the session carrying its messages; nil while detached. Changed under resumeMu
	peer      atomic.Pointer[sfu.Peer] // set once the call has admitted it
	audioOff  atomic.Bool              // the call's last word on audio forwarding (SetAudioForwarding)
	connected atomic.Bool              // the media connection has been up once
	gone      atomic.Bool              // it has left the call for good: no resume

	// resumeMu serializes the moves between sessions (detach, resume)
	// and guards tokenHash. It is held while calling into the call and the
	// peer, so nothing the call's goroutine runs may take it (gone does not).
	resumeMu  sync.Mutex
	tokenHash [sha256.Size]byte // of the one resume token that is valid now
}

// newParticipant returns a participant carried by s.
func newParticipant(s *session, id string) *participant {
	p := &participant{id: id, srv: s.srv, joinStart: time.Now()}
	p.sess.Store(s)
	return p
}

// session returns the session carrying the participant now.
func (p *participant) session() *session { return p.sess.Load() }

// mediaPeer returns the participant's media peer; nil before setPeer.
func (p *participant) mediaPeer() *sfu.Peer { return p.peer.Load() }

// setPeer records the participant's media peer and applies what the call
// decided about its audio before the peer existed.
func (p *participant) setPeer(peer *sfu.Peer) {
	p.peer.Store(peer)
	peer.SetAudioForwarding(!p.audioOff.Load())
}

// leave closes the participant's media and lets the call know it has
// gone, with reason. Called by the session's run, once.
func (p *participant) leave(reason string) {
	p.closeMedia()
	p.call.call.Leave(p.id, reason)
}

// closeMedia marks the participant gone for good, forgets it for resume
// and closes its media peer. It may run on the call's goroutine (gone) and
// takes no lock but the server's.
func (p *participant) closeMedia() {
	p.gone.Store(true)
	p.srv.forget(p)
	if peer := p.mediaPeer(); peer != nil {
		if err := peer.Close(); err != nil {
			p.srv.log.Debug("close peer", "participant", p.id, "err", err)
		}
	}
}

// The participant is its call's livecall.Conn. These run on the call's
// goroutine and only enqueue.

var _ livecall.Conn = (*participant)(nil)

// Send implements livecall.Conn. While detached it drops data (the call
// sends a detached participant nothing anyway).
func (p *participant) Send(data []byte) {
	if s := p.session(); s != nil {
		s.send(data)
	}
}

// Close implements livecall.Conn: bye with reason, then close 1001. The
// call has let the participant go, so its media stops now rather than when
// its socket has closed (a client that does not answer the close frame
// would otherwise keep being heard for the close grace). Closing the peer
// calls into Pion, so it runs apart from the call's goroutine; the
// session's leave later finds it closed.
func (p *participant) Close(reason string) {
	if s := p.session(); s != nil {
		s.bye(reason, websocket.CloseGoingAway)
	}
	p.srv.callWG.Add(1)
	go func() {
		defer p.srv.callWG.Done()
		p.closeMedia()
	}()
}

// SetAudioForwarding implements livecall.Conn. Before the peer exists the
// choice waits in audioOff, which setPeer applies; whichever of the two
// runs second sees both the peer and the latest choice.
func (p *participant) SetAudioForwarding(on bool) {
	p.audioOff.Store(!on)
	if peer := p.mediaPeer(); peer != nil {
		peer.SetAudioForwarding(!p.audioOff.Load())
	}
}

// The sfu's callbacks (sfu.PeerConfig), from its goroutines; none blocks.

// While the participant is detached they drop what they carry: its peer
// is held (no offers), and its candidates and a failed media connection
// are dealt with by the ICE restart of the resume, or the grace's end.

func (p *participant) sendOffer(o sfu.Offer) {
	if s := p.session(); s != nil {
		s.sendOffer(o)
	}
}

func (p *participant) sendCandidate(c webrtcCandidate) {
	if s := p.session(); s != nil {
		s.sendCandidate(c)
	}
}

func (p *participant) onOfferTimeout() {
	if s := p.session(); s != nil {
		s.onOfferTimeout()
	}
}

// onMisbehaving: the sfu closes the peer itself; a detached participant
// then goes when its grace ends.
func (p *participant) onMisbehaving(err error) {
	if s := p.session(); s != nil {
		s.onMisbehaving(err)
	}
}

func (p *participant) onPeerState(state peerState) {
	if isConnected(state) && p.connected.CompareAndSwap(false, true) && p.srv.cfg.OnJoined != nil {
		p.srv.cfg.OnJoined(time.Since(p.joinStart))
	}
	if s := p.session(); isFailed(state) && s != nil {
		s.mediaFailed()
	}
}

// Helpers for joining: display names and WebRTC conversions.

type (
	webrtcCandidate = webrtc.ICECandidateInit
	peerState       = webrtc.PeerConnectionState
)

var errRoomNotFound = rooms.ErrRoomNotFound

func isFailed(s peerState) bool    { return s == webrtc.PeerConnectionStateFailed }
func isConnected(s peerState) bool { return s == webrtc.PeerConnectionStateConnected }

// maxNameRunes bounds a display name.
const maxNameRunes = 64

// validDisplayName trims name and checks it is 1-64 characters of valid
// UTF-8 with no control characters (format characters such as U+200B and
// U+202E are allowed: emoji sequences need U+200D).
func validDisplayName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "", errors.New("name is empty: say who you are")
	}
	if !utf8.ValidString(name) {
		return "", errors.New("name is not valid UTF-8")
	}
	if n := utf8.RuneCountInString(name); n > maxNameRunes {
		return "", fmt.Errorf("name is %d characters long; the limit is %d", n, maxNameRunes)
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return "", errors.New("name contains control characters")
		}
	}
	return name, nil
}

func toICECandidateInit(c protocol.ICECandidate) webrtc.ICECandidateInit {
	return webrtc.ICECandidateInit{
		Candidate:        c.Candidate,
		SDPMid:           c.SDPMid,
		SDPMLineIndex:    c.SDPMLineIndex,
		UsernameFragment: c.UsernameFragment,
	}
}

func fromICECandidateInit(c webrtc.ICECandidateInit) protocol.ICECandidate {
	return protocol.ICECandidate{
		Candidate:        c.Candidate,
		SDPMid:           c.SDPMid,
		SDPMLineIndex:    c.SDPMLineIndex,
		UsernameFragment: c.UsernameFragment,
	}
}

// iceServers returns the configured STUN/TURN servers, never nil.
func (s *Server) iceServers() []protocol.ICEServer {
	if s.cfg.ICEServers == nil {
		return []protocol.ICEServer{}
	}
	return s.cfg.ICEServers
}
