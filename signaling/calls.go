package signaling

import (
	"errors"
	"fmt"

	"github.com/parley-dev/parley/livecall"
	"github.com/parley-dev/parley/rooms"
	"github.com/parley-dev/parley/sfu"
	"github.com/parley-dev/parley/signaling/protocol"
)

// liveCall pairs a room's live call (which decides) with its media router.
type liveCall struct {
	// set at construction
	roomID string
	call   *livecall.Call
	router *sfu.Router
}

// join adds a participant to the live call of room, starting one if there
// is none or if the one there is ending, and returns the call.
func (s *Server) join(room *rooms.Room, req livecall.JoinRequest) (*liveCall, error) {
	for {
		s.mu.Lock()
		lc := s.calls[room.ID]
		if lc == nil {
			lc = s.newCall(room)
			s.calls[room.ID] = lc
		}
		s.mu.Unlock()
		_, err := lc.call.Join(req)
		if !errors.Is(err, livecall.ErrEnded) {
			if err != nil {
				return nil, err
			}
			return lc, nil
		}
		// The call is ending (or has ended): a new one takes its place.
		s.mu.Lock()
		if s.calls[room.ID] == lc {
			delete(s.calls, room.ID)
		}
		s.mu.Unlock()
	}
}

// newCall starts the live call of room, with its own router. Called with
// s.mu held; the call's OnEnded takes s.mu on the call's goroutine, never
// while the caller holds it (nobody has joined yet).
func (s *Server) newCall(room *rooms.Room) *liveCall {
	lc := &liveCall{roomID: room.ID, router: s.cfg.SFU.NewRouter(room.Name)}
	s.callWG.Add(1)
	var policy livecall.Policy
	if s.cfg.Policy != nil {
		policy = s.cfg.Policy(room)
	}
	lc.call = livecall.New(livecall.Config{
		Room:    protocol.Room{ID: room.ID, Name: room.Name},
		Policy:  policy,
		Clock:   s.cfg.Clock,
		Logger:  s.log,
		OnEnded: func(reason string) { s.callEnded(lc, reason) },
	})
	s.log.Debug("call started", "room", room.Name)
	return lc
}

// callEnded runs on the call's goroutine once its last participant has
// gone: it forgets the call and closes its media.
func (s *Server) callEnded(lc *liveCall, reason string) {
	s.mu.Lock()
	if s.calls[lc.roomID] == lc {
		delete(s.calls, lc.roomID)
	}
	s.mu.Unlock()
	lc.router.Close()
	s.dir.callEnded(lc.roomID)
	s.log.Debug("call ended", "room", lc.roomID, "reason", reason)
	s.callWG.Done()
}

// callError is the protocol error code and message for err, an error from
// a livecall.Call method answering the client's message ref. ok is false
// for errors that are not the client's (the caller reports them as
// internal).
func callError(ref string, err error) (code, message string, ok bool) {
	var refusal *livecall.Refusal
	switch {
	case errors.Is(err, livecall.ErrNotHost):
		return protocol.CodeNotHost, fmt.Sprintf("only a host may send %s", ref), true
	case errors.Is(err, livecall.ErrUnknownParticipant):
		return protocol.CodeUnknownParticipant, "no such participant in this call", true
	case errors.Is(err, livecall.ErrSelf):
		return protocol.CodeBadRequest, fmt.Sprintf("%s cannot name yourself", ref), true
	case errors.Is(err, livecall.ErrLocked):
		return protocol.CodeCallLocked, "a host has locked this call", true
	case errors.As(err, &refusal):
		return refusal.Code, refusal.Message, true
	}
	return "", "", false
}
