package signaling

import (
	"sync"

	"github.com/parley-dev/parley/rooms"
	"github.com/parley-dev/parley/sfu"
	"github.com/parley-dev/parley/signaling/protocol"
)

// call is the live state of one room while anyone is in it.
type call struct {
	// set at construction
	roomID   string
	roomName string
	router   *sfu.Router

	mu      sync.Mutex // guards the fields below; never held while calling into sfu or a session
	members map[string]*session
	info    map[string]protocol.Participant
	closed  bool // set when the last member left; a closed call takes no one
}

func newCall(room *rooms.Room, router *sfu.Router) *call {
	return &call{
		roomID:   room.ID,
		roomName: room.Name,
		router:   router,
		members:  make(map[string]*session),
		info:     make(map[string]protocol.Participant),
	}
}

// add registers sess and returns the participants already present. It
// reports false if the call has closed.
func (c *call) add(sess *session) ([]protocol.Participant, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, false
	}
	others := make([]protocol.Participant, 0, len(c.info))
	for _, p := range c.info {
		others = append(others, p)
	}
	c.members[sess.participant.ID] = sess
	c.info[sess.participant.ID] = sess.participant
	return others, true
}

// remove unregisters sess and reports whether the call is now empty (and
// therefore closed).
func (c *call) remove(sess *session) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.members, sess.participant.ID)
	delete(c.info, sess.participant.ID)
	if len(c.members) == 0 {
		c.closed = true
	}
	return c.closed
}

// update records a participant's new state.
func (c *call) update(p protocol.Participant) {
	c.mu.Lock()
	if _, ok := c.info[p.ID]; ok {
		c.info[p.ID] = p
	}
	c.mu.Unlock()
}

func (c *call) size() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.members)
}

// snapshot returns the members at this moment.
func (c *call) snapshot() []*session {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*session, 0, len(c.members))
	for _, m := range c.members {
		out = append(out, m)
	}
	return out
}

// broadcast sends msg to every member except from (nil sends to all).
func (c *call) broadcast(from *session, msg any) {
	data, err := encode(msg)
	if err != nil {
		return
	}
	for _, m := range c.snapshot() {
		if m != from {
			m.send(data)
		}
	}
}
