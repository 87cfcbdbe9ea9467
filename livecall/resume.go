package livecall

import (
	"errors"
	"fmt"
	"time"

	"github.com/parley-dev/parley/signaling/protocol"
)

// Resume after a dropped connection: the call keeps a participant whose
// connection dropped (Detach) for a grace period, shown to the others as
// reconnecting, and gives it back its place when it comes back over a new
// connection (Reattach). The resume token that proves it is the same
// participant is package signaling's business; the call only keeps the
// place.

// ErrNotReconnecting: Reattach of a participant that is not detached (it
// left, its grace ended, or it was never detached).
var ErrNotReconnecting = errors.New("livecall: the participant is not reconnecting")

// Detach marks participant id reconnecting: it keeps its place, role and
// record, everyone else is sent participant-updated with connection
// "reconnecting", and nothing is sent to it. Unless Reattach comes first,
// once grace has passed on the call's clock the call lets it go as
// Leave(id, protocol.ReasonDisconnected) would. gone is called, on the
// call's goroutine, whenever the call lets the detached participant go
// (grace over, removed by a host, the call ending); it must not block or
// call back into the Call. Detaching a participant not in the call
// returns ErrUnknownParticipant; one already detached, nil.
func (c *Call) Detach(id string, grace time.Duration, gone func()) error {
	return c.do(func() error {
		m, err := c.find(id)
		if err != nil {
			return err
		}
		if m.Reconnecting {
			return nil
		}
		m.Reconnecting, m.gone = true, gone
		m.grace = c.afterFunc(grace, func(*Control) { c.expire(m) })
		c.updated(m)
		c.event(Event{Kind: EventReconnecting, Participant: m.Participant})
		return nil
	})
}

// expire runs on the call's goroutine when m's grace period has passed.
func (c *Call) expire(m *member) {
	if c.parts[m.ID] != m || !m.Reconnecting {
		return
	}
	m.grace = nil // fired: nothing to stop
	c.drop(m)
	c.broadcast("", protocol.ParticipantLeft{Type: protocol.TypeParticipantLeft, ParticipantID: m.ID, Reason: protocol.ReasonDisconnected})
	c.left(m, protocol.ReasonDisconnected)
	if len(c.parts) == 0 {
		c.finish(ReasonEmpty)
	}
}

// release ends m's reconnecting state as the call lets it go: its timer
// stops and gone is told. Called by drop.
func (c *Call) release(m *member) {
	if m.grace != nil {
		m.grace.Stop()
		m.grace = nil
	}
	gone := m.gone
	m.gone = nil
	if gone != nil {
		gone()
	}
}

// ResumeRequest is what Reattach needs to answer the resumed participant.
type ResumeRequest struct {
	ID          string // the detached participant
	ICEServers  []protocol.ICEServer
	ResumeToken string // the next token, copied into resumed
	Version     int    // the protocol version to repeat in resumed; 0 means protocol.Version
}

// Reattach ends participant id's reconnecting state: its grace timer
// stops, it is sent resumed (the call as it is now, with req's next
// resume token), and everyone else participant-updated with connection
// "connected", before it returns. Messages go through the participant's
// Conn as before: the caller has pointed it at the new connection. It
// returns ErrNotReconnecting if id is not detached (the grace may just
// have ended), ErrEnded once the call is ending.
func (c *Call) Reattach(req ResumeRequest) (Participant, error) {
	var p Participant
	err := c.do(func() error {
		if c.state != StateOpen {
			return ErrEnded
		}
		m := c.parts[req.ID]
		if m == nil || !m.Reconnecting {
			return fmt.Errorf("reattach %s: %w", req.ID, ErrNotReconnecting)
		}
		if m.grace != nil {
			m.grace.Stop()
			m.grace = nil
		}
		m.Reconnecting, m.gone = false, nil
		others := make([]protocol.Participant, 0, len(c.parts)-1)
		for _, o := range c.sorted() {
			if o != m {
				others = append(others, o.Wire())
			}
		}
		c.sendTo(m, protocol.Resumed{
			Type:          protocol.TypeResumed,
			Version:       wireVersion(req.Version),
			ParticipantID: m.ID,
			Role:          string(m.Role),
			Self:          m.Wire(),
			Room:          c.room,
			Participants:  others,
			ICEServers:    nonNil(req.ICEServers),
			Call:          c.wireState(),
			ResumeToken:   req.ResumeToken,
		})
		c.broadcast(m.ID, protocol.ParticipantUpdated{Type: protocol.TypeParticipantUpdated, Participant: m.Wire()})
		c.event(Event{Kind: EventReconnected, Participant: m.Participant})
		p = m.Participant
		return nil
	})
	return p, err
}
