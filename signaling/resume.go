package signaling

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-dev/parley/auth"
	"github.com/parley-dev/parley/livecall"
	"github.com/parley-dev/parley/signaling/protocol"
	"github.com/parley-dev/parley/throttle"
)

// Resume after a dropped connection (docs/protocol.md, "Resume").
//
// Every participant holds one resume token, sent in joined and replaced by
// each resumed: 128 random bits, of which the server keeps only the
// SHA-256. When a session's connection drops without a leave, an error or
// a bye, the session detaches its participant instead of letting it go:
// the call shows it reconnecting and starts a grace timer on its clock, and
// the peer holds its offers. A new connection whose first message is
// resume, with the participant id and its current token, takes the place
// back: the token is spent and a new one issued, the call sends resumed,
// and the peer restarts ICE. A resume while the server still believes the
// old connection open (a half-open TCP connection) takes the place over
// from it the same way. A wrong token counts against the client address's
// throttle; the right one is never refused.

// DefaultResumeGrace is how long the place of a participant whose
// connection dropped is kept when Config.ResumeGrace is 0.
const DefaultResumeGrace = 30 * time.Second

// resumeTokenBytes is the size of a resume token's random part: 128 bits.
const resumeTokenBytes = 16

// errBadResumeToken: a resume named a participant that is not there, or
// sent a token that is not its current one.
var errBadResumeToken = errors.New("no such participant, or not its resume token")

// errParticipantGone: the token was right, but the participant has left
// for good meanwhile (its grace just ended, or the call is ending).
var errParticipantGone = errors.New("the participant has left the call")

// newResumeToken returns a fresh resume token and the hash kept of it.
func newResumeToken() (token string, hash [sha256.Size]byte) {
	token = auth.RandomToken(resumeTokenBytes)
	return token, sha256.Sum256([]byte(token))
}

// register makes p resumable by its id; forget undoes it.
// An endpoint's participant counts it in a call meanwhile (directory.go).
func (s *Server) register(p *participant) {
	s.mu.Lock()
	s.parts[p.id] = p
	s.mu.Unlock()
	if p.as != nil {
		s.dir.seated(p.as, 1)
	}
}

func (s *Server) forget(p *participant) {
	s.mu.Lock()
	known := s.parts[p.id] == p
	if known {
		delete(s.parts, p.id)
	}
	s.mu.Unlock()
	if known && p.as != nil {
		s.dir.seated(p.as, -1)
	}
}

func (s *Server) lookup(id string) *participant {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.parts[id]
}

// keepsPlaces reports whether a dropped participant may be kept for
// resume: the grace is not negative and the server is not shutting down.
func (s *Server) keepsPlaces() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.closing && s.cfg.ResumeGrace > 0
}

// detached returns the participants whose connection has dropped.
func (s *Server) detached() []*participant {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*participant
	for _, p := range s.parts {
		if p.session() == nil {
			out = append(out, p)
		}
	}
	return out
}

// What release did with a session's participant.
const (
	released = "left"         // it left the call
	detached = "reconnecting" // its place is kept for the grace period
	replaced = "replaced"     // a resume had already taken it over
)

// release is called by session s's cleanup: unless a resume has taken the
// participant over from s, it is detached if resumable (and the server
// keeps places), or it leaves the call with reason.
func (p *participant) release(s *session, reason string, resumable bool) string {
	p.resumeMu.Lock()
	defer p.resumeMu.Unlock()
	if p.session() != s {
		return replaced
	}
	if resumable && !p.gone.Load() && p.srv.keepsPlaces() && p.mediaPeer() != nil {
		p.sess.Store(nil)
		p.mediaPeer().Hold()
		err := p.call.call.Detach(p.id, p.srv.cfg.ResumeGrace, p.closeMedia)
		if err == nil {
			return detached
		}
		// The call let the participant go meanwhile (removed, ended).
	}
	p.leave(reason)
	return released
}

// resume moves p to session s if token is its current resume token, spends
// the token and has the call send s resumed with the next one, then
// restarts ICE. It returns errBadResumeToken for a wrong token,
// errParticipantGone or the call's error if the place is gone. Once the
// call has sent resumed, p is s's: it returns nil even if the ICE restart
// fails (s is then closed with media-failed).
func (p *participant) resume(s *session, token string) error {
	h := sha256.Sum256([]byte(token))
	p.resumeMu.Lock()
	defer p.resumeMu.Unlock()
	if !auth.Equal(string(h[:]), string(p.tokenHash[:])) {
		return errBadResumeToken
	}
	peer := p.mediaPeer()
	if p.gone.Load() || peer == nil { // nil: its join failed half-way
		return errParticipantGone
	}
	s.log = s.log.With("room", p.call.roomID, "participant", p.id)
	next, nextHash := newResumeToken()
	p.tokenHash = nextHash // single use: spent even if what follows fails
	if old := p.sess.Swap(s); old != nil {
		// The server still believed the old connection open: end it;
		// its cleanup finds the participant taken over.
		old.log.Info("connection replaced by a resume")
		old.conn.Close()
		peer.Hold()
		if err := p.call.call.Detach(p.id, p.srv.cfg.ResumeGrace, p.closeMedia); err != nil {
			p.sess.CompareAndSwap(s, nil)
			p.leave(protocol.ReasonDisconnected)
			return fmt.Errorf("take over from the old connection: %w", err)
		}
	}
	if _, err := p.call.call.Reattach(livecall.ResumeRequest{ID: p.id, ICEServers: p.srv.iceServers(), ResumeToken: next}); err != nil {
		p.sess.CompareAndSwap(s, nil)
		return fmt.Errorf("reattach: %w", err)
	}
	if err := peer.RestartICE(); err != nil {
		s.log.Warn("ICE restart failed", "err", err)
		s.bye(protocol.ReasonMediaFailed, websocket.CloseGoingAway)
	}
	return nil
}

// handleResume takes back the place named by a resume message.
func (s *session) handleResume(m *protocol.Resume) {
	const ref = protocol.TypeResume
	if s.part != nil || s.pres != nil {
		s.sendError(protocol.CodeAlreadyJoined, "this connection has already joined or registered", ref)
		return
	}
	if m.Version != protocol.Version {
		s.fatal(protocol.CodeBadVersion, fmt.Sprintf("protocol version %d is not supported; this server speaks version %d", m.Version, protocol.Version), ref, websocket.ClosePolicyViolation)
		return
	}
	p := s.srv.lookup(m.ParticipantID)
	if p == nil {
		s.resumeRefused(errBadResumeToken)
		return
	}
	if !s.joinState.CompareAndSwap(joinWaiting, joinDone) {
		return // the join timer fired first: the connection is closing
	}
	log := s.log // resume sets s.log before the call can send to s
	if err := p.resume(s, m.Token); err != nil {
		s.log = log
		s.joinState.CompareAndSwap(joinDone, joinWaiting)
		s.resumeRefused(err)
		return
	}
	s.releaseSlot()
	s.part = p
	s.extendDeadline()
	s.log.Info("participant resumed")
}

// resumeRefused answers a failed resume with resume-failed; the connection
// stays open and unjoined. A wrong token spends the client's allowance of
// failures, and once that is gone the answer is rate-limited instead.
func (s *session) resumeRefused(err error) {
	const ref = protocol.TypeResume
	s.log.Info("resume refused", "err", err)
	if errors.Is(err, errBadResumeToken) {
		if wait, ok := s.srv.resumeFails.Failed(s.key); !ok {
			s.sendError(protocol.CodeRateLimited, fmt.Sprintf("too many failed resumes from your address: try again in %d s", throttle.RetryAfter(wait)), ref)
			return
		}
	}
	s.sendError(protocol.CodeResumeFailed, "there is no place to resume (a wrong or used token, or the grace period has passed): join afresh", ref)
}
