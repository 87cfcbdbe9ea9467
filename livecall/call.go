// Package livecall holds the live calls: for each room in use, who is in
// the call and with which role and mute state, the call's lifecycle
// (open → ending → ended, with a reason everyone is shown), moderation by
// hosts, and the policy hooks (admission, events, timers on an injected
// clock) through which later features add their rules.
//
// The call decides; it reaches each participant through a Conn (package
// signaling's WebSocket session), which only carries messages. The package
// knows no WebSocket, HTTP or media: it turns a participant's audio off
// through Conn.SetAudioForwarding.
//
// Concurrency: each Call has one goroutine that owns all of its state.
// Every method hands that goroutine a function and waits for it to run, so
// changes happen one at a time, in one order, and every participant is
// sent them in that order. The goroutine never holds a lock while it calls
// a Conn or a Policy; Conns and Policies must not block. It ends when the
// call has ended: when its last participant leaves, or when an ending
// call's last participant has gone.
package livecall

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"sync/atomic"
	"time"

	"github.com/parley-dev/parley/signaling/protocol"
)

// State is where a call is in its life.
type State int

// The lifecycle: open → ending → ended.
const (
	// StateOpen: participants join and leave.
	StateOpen State = iota
	// StateEnding: the call was ended (End, end-call, a policy); every
	// participant was sent bye with the reason and is being let go. No
	// one joins.
	StateEnding
	// StateEnded: no one is left; the call's goroutine has stopped.
	StateEnded
)

func (s State) String() string {
	switch s {
	case StateOpen:
		return "open"
	case StateEnding:
		return "ending"
	case StateEnded:
		return "ended"
	}
	return "unknown"
}

// ReasonEmpty is the end reason of a call whose last participant left. No
// one is shown it.
const ReasonEmpty = "empty"

// Config configures a Call. Zero fields mean the defaults noted.
type Config struct {
	Room   protocol.Room // the room, as joined shows it
	Policy Policy        // default DefaultPolicy
	Clock  Clock         // default SystemClock
	Logger *slog.Logger  // default slog.Default()
	// OnEnded, if set, is called once, on the call's goroutine, when the
	// call has ended, with the reason it ended (ReasonEmpty if its last
	// participant left). Package signaling closes the call's media there.
	OnEnded func(reason string)
}

// Call is one live call. Its methods are safe for concurrent use.
type Call struct {
	// set at construction
	room   protocol.Room
	policy Policy
	clock  Clock
	log    *slog.Logger
	onEnd  func(string)
	ops    chan func()   // run by run, in order
	done   chan struct{} // closed when run ends

	size atomic.Int32 // participants, for Size; written by run

	// owned by run
	state    State
	reason   string // why the call is ending or ended
	locked   bool
	parts    map[string]*member
	seq      int  // join counter: the order of participants
	started  bool // someone has joined
	timers   map[*callTimer]struct{}
	deadline deadline // when the policy will end the call (deadline.go)
}

// member is a participant and the Conn that reaches it. Owned by run.
type member struct {
	Participant
	conn Conn
	seq  int
	// While Reconnecting (see resume.go): the grace timer, and what to
	// call if the call lets the member go before it is reattached.
	grace Timer
	gone  func()
}

// New returns an open Call and starts its goroutine, which ends when the
// call has ended. A Call nobody joins never ends: join it right away (a
// refused first join ends it).
func New(cfg Config) *Call {
	if cfg.Policy == nil {
		cfg.Policy = DefaultPolicy{}
	}
	if cfg.Clock == nil {
		cfg.Clock = SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	c := &Call{
		room:   cfg.Room,
		policy: cfg.Policy,
		clock:  cfg.Clock,
		log:    cfg.Logger.With("room", cfg.Room.Name),
		onEnd:  cfg.OnEnded,
		ops:    make(chan func()),
		done:   make(chan struct{}),
		parts:  make(map[string]*member),
		timers: make(map[*callTimer]struct{}),
	}
	go c.run()
	return c
}

// run is the call's goroutine: it runs each op in turn and ends once the
// call has ended.
func (c *Call) run() {
	defer close(c.done)
	for op := range c.ops {
		op()
		if c.state == StateEnded {
			if c.onEnd != nil {
				c.onEnd(c.reason)
			}
			return
		}
	}
}

// do runs f on the call's goroutine and waits for it. It returns ErrEnded,
// without running f, once the call has ended.
func (c *Call) do(f func() error) error {
	var err error
	ran := make(chan struct{})
	select {
	case c.ops <- func() { err = f(); close(ran) }:
	case <-c.done:
		return ErrEnded
	}
	<-ran // run always finishes an op it took
	return err
}

// post hands f to the call's goroutine without waiting for it (timers).
func (c *Call) post(f func()) {
	select {
	case c.ops <- f:
	case <-c.done:
	}
}

// Done is closed when the call has ended.
func (c *Call) Done() <-chan struct{} { return c.done }

// Size is the number of participants.
func (c *Call) Size() int { return int(c.size.Load()) }

// Info is a snapshot of a call.
type Info struct {
	State        State
	Reason       string // why it is ending or ended
	Locked       bool
	Participants []Participant // in join order
}

// Info returns a snapshot of the call.
func (c *Call) Info() Info {
	var in Info
	if err := c.do(func() error {
		in = Info{State: c.state, Reason: c.reason, Locked: c.locked, Participants: c.list()}
		return nil
	}); err != nil {
		return Info{State: StateEnded, Reason: c.reason}
	}
	return in
}

// JoinRequest asks for a place in the call.
type JoinRequest struct {
	ID         string // chosen by the caller, unique in the call
	Name       string // already validated
	Role       Role   // from the join token
	AudioMuted bool
	VideoMuted bool
	Conn       Conn
	// ICEServers are copied into the joined message.
	ICEServers []protocol.ICEServer
	// ResumeToken is copied into the joined message (see Detach).
	ResumeToken string
	// Version is the protocol version the participant joined with, which
	// joined repeats; 0 means protocol.Version.
	Version int
}

// wireVersion is the protocol version joined or resumed repeats.
func wireVersion(v int) int {
	if v == 0 {
		return protocol.Version
	}
	return v
}

// Join admits the participant (through the Policy and the lock), sends it
// joined, and tells the others participant-joined, before it returns: the
// caller may then send the participant anything else. It returns
// ErrEnded if the call is ending or ended (start a new one), ErrLocked,
// or the Policy's refusal.
func (c *Call) Join(req JoinRequest) (Participant, error) {
	var p Participant
	err := c.do(func() error {
		var err error
		p, err = c.join(req)
		if err != nil && c.state == StateOpen && len(c.parts) == 0 {
			c.finish(ReasonEmpty) // nobody else wants this call
		}
		return err
	})
	return p, err
}

func (c *Call) join(req JoinRequest) (Participant, error) {
	if c.state != StateOpen {
		return Participant{}, ErrEnded
	}
	if c.parts[req.ID] != nil {
		return Participant{}, fmt.Errorf("join %s: %w", req.ID, ErrDuplicateParticipant)
	}
	role, err := c.policy.Admit(&Control{c}, Admission{ID: req.ID, Name: req.Name, Role: req.Role})
	if err != nil {
		return Participant{}, err
	}
	if !role.Valid() {
		return Participant{}, fmt.Errorf("livecall: policy admitted %s with unknown role %q", req.ID, role)
	}
	if c.locked && role != RoleHost {
		return Participant{}, ErrLocked
	}
	others := c.wireList()
	c.seq++
	m := &member{
		Participant: Participant{ID: req.ID, Name: req.Name, Role: role, AudioMuted: req.AudioMuted, VideoMuted: req.VideoMuted},
		conn:        req.Conn,
		seq:         c.seq,
	}
	c.parts[m.ID] = m
	c.size.Store(int32(len(c.parts)))
	c.sendTo(m, protocol.Joined{
		Type:          protocol.TypeJoined,
		Version:       wireVersion(req.Version),
		ParticipantID: m.ID,
		Role:          string(role),
		Room:          c.room,
		Participants:  others,
		ICEServers:    nonNil(req.ICEServers),
		Call:          c.wireState(),
		ResumeToken:   req.ResumeToken,
	})
	c.broadcast(m.ID, protocol.ParticipantJoined{Type: protocol.TypeParticipantJoined, Participant: m.Wire()})
	if !c.started {
		c.started = true
		c.event(Event{Kind: EventFirstJoin, Participant: m.Participant})
	}
	c.event(Event{Kind: EventJoined, Participant: m.Participant})
	return m.Participant, nil
}

func nonNil(s []protocol.ICEServer) []protocol.ICEServer {
	if s == nil {
		return []protocol.ICEServer{}
	}
	return s
}

// Leave lets participant id go, telling the others participant-left with
// reason. Leaving twice, or after a host removed them, is a no-op. The
// call ends when its last participant has left.
func (c *Call) Leave(id, reason string) {
	c.do(func() error {
		m := c.parts[id]
		if m == nil {
			return nil
		}
		c.drop(m)
		if c.state == StateOpen {
			c.broadcast("", protocol.ParticipantLeft{Type: protocol.TypeParticipantLeft, ParticipantID: id, Reason: reason})
			c.left(m, reason)
		}
		if len(c.parts) == 0 {
			c.finish(ReasonEmpty)
		}
		return nil
	})
}

// drop removes m from the participants. A member let go while
// reconnecting has its grace timer stopped and its gone called.
func (c *Call) drop(m *member) {
	delete(c.parts, m.ID)
	c.size.Store(int32(len(c.parts)))
	if m.Reconnecting {
		c.release(m)
	}
}

// left sends the events of m's departure, while the call is open.
func (c *Call) left(m *member, reason string) {
	c.event(Event{Kind: EventLeft, Participant: m.Participant, Reason: reason})
	if m.Role == RoleGuest || len(c.parts) == 0 {
		return
	}
	for _, o := range c.parts {
		if o.Role != RoleGuest {
			return
		}
	}
	c.event(Event{Kind: EventLastMemberLeft, Participant: m.Participant})
}

// SetMute records participant id's own microphone and camera state and
// shows it to everyone. Unmuting the microphone lifts a host's mute.
func (c *Call) SetMute(id string, audioMuted, videoMuted bool) error {
	return c.do(func() error {
		m, err := c.find(id)
		if err != nil {
			return err
		}
		m.AudioMuted, m.VideoMuted = audioMuted, videoMuted
		if m.MutedByHost && !audioMuted {
			m.MutedByHost = false
			m.conn.SetAudioForwarding(true)
		}
		if m.MutedByHost {
			m.AudioMuted = true
		}
		c.updated(m)
		return nil
	})
}

// End ends the call for everyone with reason (e.g. protocol.ReasonRoomDeleted).
// It is a no-op on a call already ending.
func (c *Call) End(reason string) {
	c.do(func() error {
		c.end(reason)
		return nil
	})
}

// end moves an open call to ending: every participant is sent bye with
// reason; the call ends when they have all gone.
func (c *Call) end(reason string) {
	if c.state != StateOpen {
		return
	}
	c.state, c.reason = StateEnding, reason
	c.log.Info("call ending", "reason", reason, "participants", len(c.parts))
	for _, m := range c.sorted() {
		if m.Reconnecting {
			c.drop(m) // no connection to close, and none will leave
			continue
		}
		m.conn.Close(reason)
	}
	c.event(Event{Kind: EventEnding, Reason: reason})
	c.stopTimers()
	if len(c.parts) == 0 {
		c.finish(reason)
	}
}

// finish marks the call ended; run stops after the current op.
func (c *Call) finish(reason string) {
	if c.state != StateEnding {
		c.reason = reason
	}
	c.state = StateEnded
	c.stopTimers()
}

func (c *Call) find(id string) (*member, error) {
	if c.state != StateOpen {
		return nil, ErrEnded
	}
	m := c.parts[id]
	if m == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownParticipant, id)
	}
	return m, nil
}

// updated tells everyone, m included, m's new record.
func (c *Call) updated(m *member) {
	c.broadcast("", protocol.ParticipantUpdated{Type: protocol.TypeParticipantUpdated, Participant: m.Wire()})
}

// list returns the participants in join order.
func (c *Call) list() []Participant {
	ms := c.sorted()
	out := make([]Participant, len(ms))
	for i, m := range ms {
		out[i] = m.Participant
	}
	return out
}

func (c *Call) wireList() []protocol.Participant {
	ms := c.sorted()
	out := make([]protocol.Participant, len(ms))
	for i, m := range ms {
		out[i] = m.Wire()
	}
	return out
}

func (c *Call) sorted() []*member {
	out := make([]*member, 0, len(c.parts))
	for _, m := range c.parts {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].seq < out[j].seq })
	return out
}

func (c *Call) wireState() protocol.CallState {
	st := protocol.CallState{Locked: c.locked}
	if !c.deadline.at.IsZero() {
		st.EndsAt, st.EndReason = c.deadline.at.Format(time.RFC3339), c.deadline.reason
	}
	if ci, ok := c.policy.(CallInfo); ok {
		ci.CallInfo(&Control{c}, &st)
	}
	return st
}

// broadcast sends msg to every participant but except ("" for none),
// encoding it once.
func (c *Call) broadcast(except string, msg any) {
	data, err := json.Marshal(msg)
	if err != nil {
		c.log.Error("encode message", "err", err)
		return
	}
	for _, m := range c.sorted() {
		if m.ID != except && !m.Reconnecting {
			m.conn.Send(data)
		}
	}
}

// sendTo sends msg to m, unless m is reconnecting.
func (c *Call) sendTo(m *member, msg any) {
	if m.Reconnecting {
		return
	}
	data, err := json.Marshal(msg)
	if err != nil {
		c.log.Error("encode message", "err", err)
		return
	}
	m.conn.Send(data)
}

// event tells the policy.
func (c *Call) event(e Event) {
	c.policy.OnEvent(&Control{c}, e)
}

// callTimer is a timer set through Control.AfterFunc. Owned by run.
type callTimer struct {
	c *Call
	t Timer
}

// Stop implements Timer; call it only on the call's goroutine.
func (t *callTimer) Stop() bool {
	if _, ok := t.c.timers[t]; !ok {
		return false
	}
	delete(t.c.timers, t)
	t.t.Stop()
	return true
}

func (c *Call) afterFunc(d time.Duration, f func(*Control)) Timer {
	t := &callTimer{c: c}
	if c.state != StateOpen {
		return t // never fires
	}
	c.timers[t] = struct{}{}
	t.t = c.clock.AfterFunc(d, func() {
		c.post(func() {
			if _, ok := c.timers[t]; !ok {
				return // stopped meanwhile
			}
			delete(c.timers, t)
			f(&Control{c})
		})
	})
	return t
}

func (c *Call) stopTimers() {
	for t := range c.timers {
		t.Stop()
	}
}
