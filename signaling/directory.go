package signaling

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"

	"github.com/parley-dev/parley/auth"
	"github.com/parley-dev/parley/livecall"
	"github.com/parley-dev/parley/ringing"
	"github.com/parley-dev/parley/rooms"
	"github.com/parley-dev/parley/signaling/protocol"
	"github.com/parley-dev/parley/throttle"
)

// Endpoints and direct calls (docs/protocol.md, "Endpoints and direct
// calls").
//
// An endpoint's presence connection is a session whose first message was
// register: it holds no place in any call, only the endpoint's presence.
// The directory keeps, per endpoint, its presence connections and how many
// participants it has in calls; an endpoint is online while it has either.
// Every change of an endpoint's presence is sent to the presence
// connections of its group. Rings are package ringing's; an accepted ring
// starts (or, for a conference, joins) a direct call: a live call with no
// stored room, whose join tokens are 128 random bits kept as SHA-256
// hashes, valid until the call ends. The call and its tokens are forgotten
// when its last participant leaves, or when nobody joins within
// Config.DirectJoinWindow.

// Endpoint is one endpoint of a group, as a Directory knows it.
type Endpoint struct {
	ID      string
	GroupID string
	Name    string // display name, the name its participants have in calls
	Address string // e.g. alice@choir
	Kind    string // protocol.KindMember or protocol.KindRoomSystem
}

// wire is e as the protocol shows it.
func (e Endpoint) wire() protocol.Endpoint {
	return protocol.Endpoint{ID: e.ID, Name: e.Name, Address: e.Address, Kind: e.Kind}
}

// Directory is what signaling needs of the groups: who an endpoint
// session token signs in, and the endpoints of a group. cmd/parley
// implements it on the store.
type Directory interface {
	// Authenticate checks an endpoint session token (the parley_endpoint
	// cookie's value) and returns its endpoint. A token that is not valid
	// (forged, for another audience, signed out by a re-issue, or of a
	// disabled or removed endpoint) gives an error wrapping
	// ErrBadSession or auth.ErrTokenInvalid; an expired one
	// ErrSessionExpired or auth.ErrTokenExpired.
	Authenticate(ctx context.Context, token string) (Endpoint, error)
	// Endpoints lists the endpoints of a group that may be called.
	Endpoints(ctx context.Context, groupID string) ([]Endpoint, error)
	// Endpoint returns one endpoint, by id (one that joins a room with a
	// token naming it).
	Endpoint(ctx context.Context, id string) (Endpoint, error)
}

// Errors a Directory returns.
var (
	ErrBadSession     = errors.New("signaling: not a valid endpoint session")
	ErrSessionExpired = errors.New("signaling: the endpoint session has expired")
)

// Defaults of the direct-call parts of Config.
const (
	DefaultEndpointCookie   = "parley_endpoint"
	DefaultMaxPresence      = 4
	DefaultDirectJoinWindow = 2 * time.Minute
	DefaultRecheckInterval  = time.Minute
	// maxDirectTokens bounds the join tokens of one direct call (two per
	// accepted ring).
	maxDirectTokens = 64
)

// presence is one presence connection. Set at construction.
type presence struct {
	id    string
	sess  *session
	ep    Endpoint
	token string // the endpoint session token it registered with, checked again every Config.RecheckInterval
}

// directCall is a call started by an accepted ring. Guarded by directory.mu.
type directCall struct {
	id      string
	room    *rooms.Room
	group   string
	members map[string]int // endpoint id → its participants in the call now
	tokens  [][sha256.Size]byte
	started bool // someone joined: the call's end forgets it
	expiry  livecall.Timer
}

// seat is an endpoint's place in a call: what a direct call's join token
// admits to, or (call nil) an endpoint's place in a room's call. Set at
// construction.
type seat struct {
	call *directCall
	ep   Endpoint
}

type ringKey struct{ callID, to string }

// directory holds the presence connections, the endpoints' presence and
// the direct calls.
type directory struct {
	// set at construction
	srv      *Server
	x        *ringing.Exchange
	callRate *throttle.Throttle[string] // call-endpoint messages, per endpoint

	// mu guards the fields below. Sends to sessions only enqueue, so
	// they are made with mu held, to keep each connection's messages in
	// the order of the changes.
	mu      sync.Mutex
	conns   map[string][]*presence         // endpoint id → its presence connections, oldest first
	byID    map[string]*presence           // presence id → connection
	groups  map[string]map[string]Endpoint // group id → its endpoints that are online
	inCall  map[string]int                 // endpoint id → its participants in calls
	calls   map[string]*directCall         // by call id
	rooms   map[string]*directCall         // by room id
	seats   map[[sha256.Size]byte]seat     // by hash of the join token
	parties map[ringKey][2]Endpoint        // the caller and callee of each ring waiting
	closed  bool
	recheck livecall.Timer // the next check of the presence connections' sessions, while there are any; nil if none is set

	rechecking sync.WaitGroup // a check under way (close waits for it)
}

func newDirectory(srv *Server) *directory {
	d := &directory{
		srv:      srv,
		callRate: throttle.New[string](throttle.Config{Rate: srv.cfg.CallRate, Burst: srv.cfg.CallBurst}),
		conns:    make(map[string][]*presence),
		byID:     make(map[string]*presence),
		groups:   make(map[string]map[string]Endpoint),
		inCall:   make(map[string]int),
		calls:    make(map[string]*directCall),
		rooms:    make(map[string]*directCall),
		seats:    make(map[[sha256.Size]byte]seat),
		parties:  make(map[ringKey][2]Endpoint),
	}
	d.x = ringing.New(ringing.Config{
		Clock:       srv.cfg.Clock,
		Timeout:     srv.cfg.RingTimeout,
		MaxOutgoing: srv.cfg.MaxRings,
		OnMissed:    d.missed,
	})
	return d
}

// armRecheck sets the next check of the sessions, if none is set and
// there is a presence connection to check. Called with mu held.
func (d *directory) armRecheck() {
	if d.recheck == nil && !d.closed && len(d.conns) > 0 {
		d.recheck = d.clock().AfterFunc(d.srv.cfg.RecheckInterval, d.recheckSessions)
	}
}

// recheckSessions checks the session of every presence connection with
// the Directory again, and ends with bye signed-out those that no longer
// pass (the endpoint was re-issued, disabled or removed, or its session
// expired), so a revoked endpoint does not stay ringable until its
// connection drops. Then it sets the next check.
func (d *directory) recheckSessions() {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return
	}
	d.recheck = nil
	d.rechecking.Add(1)
	defer d.rechecking.Done()
	var all []*presence
	for _, cs := range d.conns {
		all = append(all, cs...)
	}
	d.mu.Unlock()
	dir := d.srv.cfg.Directory
	for _, p := range all {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		ep, err := dir.Authenticate(ctx, p.token)
		cancel()
		revoked := errors.Is(err, ErrBadSession) || errors.Is(err, auth.ErrTokenInvalid) ||
			errors.Is(err, ErrSessionExpired) || errors.Is(err, auth.ErrTokenExpired) || (err == nil && ep.ID != p.ep.ID)
		if revoked {
			p.sess.log.Info("endpoint session no longer valid: signing out", "err", err)
			p.sess.bye(protocol.ReasonSignedOut, websocket.CloseGoingAway)
		} else if err != nil {
			p.sess.log.Warn("recheck endpoint session", "err", err)
		}
	}
	d.mu.Lock()
	d.armRecheck()
	d.mu.Unlock()
}

// status is ep's presence. Called with mu held.
func (d *directory) status(ep Endpoint) protocol.EndpointStatus {
	in := d.inCall[ep.ID] > 0
	return protocol.EndpointStatus{Endpoint: ep.wire(), Online: in || len(d.conns[ep.ID]) > 0, InCall: in}
}

// changed tells the group of ep its presence if it differs from before,
// and forgets an endpoint no longer online. Called with mu held.
func (d *directory) changed(ep Endpoint, before protocol.EndpointStatus) {
	after := d.status(ep)
	if after.Online {
		g := d.groups[ep.GroupID]
		if g == nil {
			g = make(map[string]Endpoint)
			d.groups[ep.GroupID] = g
		}
		g[ep.ID] = ep
	} else if g := d.groups[ep.GroupID]; g != nil {
		delete(g, ep.ID)
		if len(g) == 0 {
			delete(d.groups, ep.GroupID)
		}
	}
	if after.Online == before.Online && after.InCall == before.InCall {
		return
	}
	data, err := encode(protocol.Presence{Type: protocol.TypePresence, Endpoint: after})
	if err != nil {
		return
	}
	for id := range d.groups[ep.GroupID] {
		if id == ep.ID {
			continue // an endpoint is not in its own list
		}
		for _, p := range d.conns[id] {
			p.sess.send(data)
		}
	}
}

// register makes s a presence connection of ep, sends it registered with
// the group's endpoints (all, as listed) and tells the group. An endpoint
// over its presence connections loses its oldest, with bye replaced.
func (d *directory) register(s *session, ep Endpoint, token string, all []Endpoint) *presence {
	p := &presence{id: auth.RandomToken(12), sess: s, ep: ep, token: token}
	d.mu.Lock()
	defer d.mu.Unlock()
	before := d.status(ep)
	list := make([]protocol.EndpointStatus, 0, len(all))
	for _, e := range all {
		if e.ID != ep.ID && e.GroupID == ep.GroupID {
			list = append(list, d.status(e))
		}
	}
	slices.SortFunc(list, func(a, b protocol.EndpointStatus) int {
		return strings.Compare(strings.ToLower(a.Name)+"\x00"+a.ID, strings.ToLower(b.Name)+"\x00"+b.ID)
	})
	s.sendMsg(protocol.Registered{Type: protocol.TypeRegistered, Version: protocol.Version, Endpoint: ep.wire(), Endpoints: list})
	d.conns[ep.ID] = append(d.conns[ep.ID], p)
	d.byID[p.id] = p
	d.armRecheck()
	if cs := d.conns[ep.ID]; len(cs) > d.srv.cfg.MaxPresence {
		old := cs[0]
		d.conns[ep.ID] = slices.Delete(cs, 0, 1)
		delete(d.byID, old.id)
		old.sess.bye(protocol.ReasonReplaced, websocket.CloseGoingAway)
	}
	d.changed(ep, before)
	return p
}

// unregister forgets presence connection p. When it was its endpoint's
// last, the endpoint's rings end: those it heard as missed, those it made
// as cancelled.
func (d *directory) unregister(p *presence) {
	d.mu.Lock()
	defer d.mu.Unlock()
	cs := d.conns[p.ep.ID]
	i := slices.Index(cs, p)
	if i < 0 {
		return // replaced already
	}
	before := d.status(p.ep)
	delete(d.byID, p.id)
	if cs = slices.Delete(cs, i, i+1); len(cs) > 0 {
		d.conns[p.ep.ID] = cs
		return
	}
	delete(d.conns, p.ep.ID)
	incoming, outgoing := d.x.Drop(p.ep.ID)
	for _, r := range incoming {
		d.tell(protocol.TypeCallMissed, r)
	}
	for _, r := range outgoing {
		d.tell(protocol.TypeCallCancelled, r)
	}
	d.changed(p.ep, before)
}

// tell sends the message typ about ring r to every presence connection of
// its caller and callee, and pops the ring's parties. Called with mu held.
func (d *directory) tell(typ string, r ringing.Ring) {
	msg := d.ringMsg(typ, r)
	delete(d.parties, ringKey{r.CallID, r.To})
	data, err := encode(msg)
	if err != nil {
		return
	}
	for _, id := range []string{r.From, r.To} {
		for _, p := range d.conns[id] {
			p.sess.send(data)
		}
	}
}

// ringMsg is the message typ about ring r. Called with mu held.
func (d *directory) ringMsg(typ string, r ringing.Ring) protocol.Ring {
	ends := d.parties[ringKey{r.CallID, r.To}]
	return protocol.Ring{Type: typ, CallID: r.CallID, From: ends[0].wire(), To: ends[1].wire(), Conference: r.Conference && (typ == protocol.TypeRinging || typ == protocol.TypeIncomingCall)}
}

// missed is the exchange's OnMissed: a ring went unanswered.
func (d *directory) missed(r ringing.Ring) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.tell(protocol.TypeCallMissed, r)
}

// directError is a refusal of a direct-call message: its protocol code
// and words.
type directError struct{ code, message string }

func (e *directError) Error() string { return e.code + ": " + e.message }

func refuse(code, format string, args ...any) error {
	return &directError{code, fmt.Sprintf(format, args...)}
}

// ring rings callee from p's endpoint, into callID ("" for a new call).
func (d *directory) ring(p *presence, callee Endpoint, callID string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return refuse(protocol.CodeEndpointOffline, "the server is shutting down")
	}
	if len(d.conns[callee.ID]) == 0 {
		if d.inCall[callee.ID] > 0 {
			return refuse(protocol.CodeEndpointOffline, "%s is in a call on a device that cannot be rung", callee.Name)
		}
		return refuse(protocol.CodeEndpointOffline, "%s is not online", callee.Name)
	}
	if callID != "" {
		dc := d.calls[callID]
		switch {
		case dc == nil || dc.group != p.ep.GroupID:
			return refuse(protocol.CodeUnknownCall, "there is no call %q", callID)
		case dc.members[p.ep.ID] == 0:
			return refuse(protocol.CodeNotInCall, "you are not in call %q: join it first", callID)
		case dc.members[callee.ID] > 0:
			return refuse(protocol.CodeBadRequest, "%s is in this call already", callee.Name)
		}
	}
	r, err := d.x.Ring(callID, p.ep.ID, callee.ID, p.id)
	switch {
	case errors.Is(err, ringing.ErrSelf):
		return refuse(protocol.CodeBadRequest, "you cannot call yourself")
	case errors.Is(err, ringing.ErrBusy):
		return refuse(protocol.CodeEndpointBusy, "%s is being called already: try again in a moment", callee.Name)
	case errors.Is(err, ringing.ErrTooManyRings):
		return refuse(protocol.CodeTooManyRings, "you have %d calls waiting for an answer already: cancel one first", d.srv.cfg.MaxRings)
	case err != nil:
		return err
	}
	d.parties[ringKey{r.CallID, r.To}] = [2]Endpoint{p.ep, callee}
	ringing, _ := encode(d.ringMsg(protocol.TypeRinging, r))
	incoming, _ := encode(d.ringMsg(protocol.TypeIncomingCall, r))
	for _, c := range d.conns[p.ep.ID] {
		c.sess.send(ringing)
	}
	for _, c := range d.conns[callee.ID] {
		c.sess.send(incoming)
	}
	return nil
}

var errUnknownRing = refuse(protocol.CodeUnknownCall, "no call with this id is ringing you (it was answered, declined, cancelled or missed, or never rang)")

// accept answers the ring of callID that rings p's endpoint: the direct
// call starts (or the conference grows), and the connection that accepted
// and the one that rang are sent call-accepted with a join token each;
// the others of both endpoints are sent it without.
func (d *directory) accept(p *presence, callID string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	r, err := d.x.Answer(callID, p.ep.ID)
	if err != nil {
		return errUnknownRing
	}
	ends := d.parties[ringKey{r.CallID, r.To}]
	dc := d.calls[r.CallID]
	if dc == nil {
		dc = d.newCall(r.CallID, ends[0], ends[1])
	}
	msg := d.ringMsg(protocol.TypeCallAccepted, r)
	delete(d.parties, ringKey{r.CallID, r.To})
	plain, _ := encode(msg)
	// The caller's connection that rang, or, if it has gone, its oldest.
	ringer := d.byID[r.Origin]
	if ringer == nil || ringer.ep.ID != r.From {
		ringer = nil
		if cs := d.conns[r.From]; len(cs) > 0 {
			ringer = cs[0]
		}
	}
	for _, id := range []string{r.From, r.To} {
		for _, c := range d.conns[id] {
			switch {
			case c == p:
				d.sendSeat(c, dc, ends[1], msg)
			case c == ringer && !dc.started && dc.members[r.From] == 0: // the first accept: the caller joins too
				d.sendSeat(c, dc, ends[0], msg)
			default:
				c.sess.send(plain)
			}
		}
	}
	return nil
}

// sendSeat sends c msg with a fresh join token of ep for dc. Called with
// mu held.
func (d *directory) sendSeat(c *presence, dc *directCall, ep Endpoint, msg protocol.Ring) {
	if len(dc.tokens) >= maxDirectTokens {
		msg.Token = ""
	} else {
		token := auth.RandomToken(16)
		h := sha256.Sum256([]byte(token))
		d.seats[h] = seat{call: dc, ep: ep}
		dc.tokens = append(dc.tokens, h)
		msg.Token = token
	}
	c.sess.sendMsg(msg)
}

// newCall records the direct call id between caller and callee, which
// expires unless someone joins within the join window. Called with mu held.
func (d *directory) newCall(id string, caller, callee Endpoint) *directCall {
	dc := &directCall{
		id:      id,
		room:    &rooms.Room{ID: "dc_" + strings.TrimPrefix(id, "c_"), Name: callName(caller.Name, callee.Name), GroupID: caller.GroupID},
		group:   caller.GroupID,
		members: make(map[string]int),
	}
	d.calls[id] = dc
	d.rooms[dc.room.ID] = dc
	dc.expiry = d.clock().AfterFunc(d.srv.cfg.DirectJoinWindow, func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		if !dc.started {
			d.forgetCall(dc)
		}
	})
	return dc
}

func (d *directory) clock() livecall.Clock {
	if d.srv.cfg.Clock != nil {
		return d.srv.cfg.Clock
	}
	return livecall.SystemClock{}
}

// callName is a direct call's room name: both names, within the 64
// characters of a display name.
func callName(a, b string) string {
	name := a + " and " + b
	if utf8.RuneCountInString(name) > maxNameRunes {
		name = string([]rune(name)[:maxNameRunes-1]) + "…"
	}
	return name
}

// forgetCall forgets dc and its tokens, and ends the rings into it.
// Called with mu held.
func (d *directory) forgetCall(dc *directCall) {
	if d.calls[dc.id] != dc {
		return
	}
	delete(d.calls, dc.id)
	delete(d.rooms, dc.room.ID)
	for _, h := range dc.tokens {
		delete(d.seats, h)
	}
	if dc.expiry != nil {
		dc.expiry.Stop()
	}
	for _, r := range d.x.EndCall(dc.id) {
		d.tell(protocol.TypeCallCancelled, r)
	}
}

// decline refuses the ring of callID that rings p's endpoint.
func (d *directory) decline(p *presence, callID string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	r, err := d.x.Decline(callID, p.ep.ID)
	if err != nil {
		return errUnknownRing
	}
	d.tell(protocol.TypeCallDeclined, r)
	return nil
}

// cancel stops p's endpoint's rings in callID.
func (d *directory) cancel(p *presence, callID string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	rs, err := d.x.Cancel(callID, p.ep.ID)
	if err != nil {
		return refuse(protocol.CodeUnknownCall, "you are not calling anyone in call %q (they answered, declined or missed it, or it never was)", callID)
	}
	for _, r := range rs {
		d.tell(protocol.TypeCallCancelled, r)
	}
	return nil
}

// endpointSeat returns the seat of endpoint id (from its join token) in
// a room's call, so that its presence shows it in a call; nil for "", or
// with no Directory, or an endpoint the Directory does not know.
func (s *session) endpointSeat(id string) *seat {
	dir := s.srv.cfg.Directory
	if id == "" || dir == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ep, err := dir.Endpoint(ctx, id)
	if err != nil {
		s.log.Debug("endpoint of a join token", "endpoint", id, "err", err)
		return nil
	}
	return &seat{ep: ep}
}

// seatFor returns the seat a direct call's join token admits to.
func (d *directory) seatFor(token string) (seat, bool) {
	h := sha256.Sum256([]byte(token))
	d.mu.Lock()
	defer d.mu.Unlock()
	st, ok := d.seats[h]
	return st, ok
}

// seated counts a participant of st's endpoint into (n = 1) or out of
// (n = -1) st's call, and shows the endpoint in a call while it has one.
func (d *directory) seated(st *seat, n int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	before := d.status(st.ep)
	d.inCall[st.ep.ID] += n
	if d.inCall[st.ep.ID] <= 0 {
		delete(d.inCall, st.ep.ID)
	}
	if dc := st.call; dc != nil {
		dc.members[st.ep.ID] += n
		if dc.members[st.ep.ID] <= 0 {
			delete(dc.members, st.ep.ID)
		}
		if n > 0 {
			dc.started = true
		}
	}
	d.changed(st.ep, before)
}

// callEnded forgets the direct call whose live call in room roomID ended.
func (d *directory) callEnded(roomID string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if dc := d.rooms[roomID]; dc != nil {
		d.forgetCall(dc)
	}
}

// online returns the ids of the group's endpoints that are online.
func (d *directory) online(groupID string) []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var ids []string
	for id := range d.groups[groupID] {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// connected returns the ids of every endpoint online.
func (d *directory) connected() map[string]bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make(map[string]bool)
	for _, g := range d.groups {
		for id := range g {
			out[id] = true
		}
	}
	return out
}

// signOut ends the presence connections of endpoint id with bye
// signed-out.
func (d *directory) signOut(id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, p := range d.conns[id] {
		p.sess.bye(protocol.ReasonSignedOut, websocket.CloseGoingAway)
	}
}

// close stops the timers of rings, calls and session checks, and waits
// for a check under way; the server is shutting down.
func (d *directory) close() {
	d.mu.Lock()
	d.closed = true
	d.x.Close()
	for _, dc := range d.calls {
		if dc.expiry != nil {
			dc.expiry.Stop()
		}
	}
	if d.recheck != nil {
		d.recheck.Stop()
	}
	d.mu.Unlock()
	d.rechecking.Wait()
}

// OnlineEndpoints returns the ids of the endpoints of group groupID that
// are online: with a presence connection, or in a direct call.
func (s *Server) OnlineEndpoints(groupID string) []string { return s.dir.online(groupID) }

// SignOutEndpoint closes the presence connections of endpoint id with bye
// signed-out: its credentials were re-issued, or it was disabled or
// removed. The groups code calls it, so a revoked endpoint is not left
// ringable until its connection drops.
func (s *Server) SignOutEndpoint(id string) { s.dir.signOut(id) }

// The session's handlers of the presence messages.

// handleRegister makes the session its endpoint's presence connection.
func (s *session) handleRegister(m *protocol.Register) {
	const ref = protocol.TypeRegister
	if s.part != nil || s.pres != nil {
		s.sendError(protocol.CodeAlreadyJoined, "this connection has already joined or registered", ref)
		return
	}
	if m.Version != protocol.Version {
		s.fatal(protocol.CodeBadVersion, fmt.Sprintf("protocol version %d is not supported; this server speaks version %d", m.Version, protocol.Version), ref, websocket.ClosePolicyViolation)
		return
	}
	token := m.Token
	if token == "" {
		token = s.cookie
	}
	dir := s.srv.cfg.Directory
	if dir == nil || token == "" {
		s.fatal(protocol.CodeBadToken, "no endpoint session: sign in as an endpoint first", ref, websocket.ClosePolicyViolation)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ep, err := dir.Authenticate(ctx, token)
	switch {
	case errors.Is(err, ErrSessionExpired) || errors.Is(err, auth.ErrTokenExpired):
		s.fatal(protocol.CodeTokenExpired, "the endpoint session has expired: sign in again", ref, websocket.ClosePolicyViolation)
		return
	case errors.Is(err, ErrBadSession) || errors.Is(err, auth.ErrTokenInvalid):
		s.fatal(protocol.CodeBadToken, "the endpoint session is not valid (signed out, re-issued or removed): sign in again", ref, websocket.ClosePolicyViolation)
		return
	case err != nil:
		s.internal(ref, fmt.Errorf("authenticate endpoint: %w", err))
		return
	}
	all, err := dir.Endpoints(ctx, ep.GroupID)
	if err != nil {
		s.internal(ref, fmt.Errorf("list endpoints of group %s: %w", ep.GroupID, err))
		return
	}
	if !s.joinState.CompareAndSwap(joinWaiting, joinDone) {
		return // the join timer fired first: the connection is closing
	}
	s.releaseSlot()
	s.log = s.log.With("endpoint", ep.Address)
	s.pres = s.srv.dir.register(s, ep, token, all)
	s.extendDeadline()
	s.log.Info("endpoint registered")
}

// requireRegistered answers not-registered unless the session is a
// presence connection.
func (s *session) requireRegistered(ref string) bool {
	if s.pres == nil {
		s.sendError(protocol.CodeNotRegistered, "send register first: only a registered endpoint can call", ref)
		return false
	}
	return true
}

// directResult answers the client's message ref with err's code.
func (s *session) directResult(ref string, err error) {
	var de *directError
	switch {
	case err == nil:
	case errors.As(err, &de):
		s.sendError(de.code, de.message, ref)
	default:
		id := auth.RandomToken(6)
		s.log.Error("internal error", "id", id, "ref", ref, "err", err)
		s.sendError(protocol.CodeInternal, fmt.Sprintf("internal error (ref %s)", id), ref)
	}
}

func (s *session) handleCallEndpoint(m *protocol.CallEndpoint) {
	const ref = protocol.TypeCallEndpoint
	if !s.requireRegistered(ref) {
		return
	}
	me := s.pres.ep
	if m.EndpointID == "" {
		s.sendError(protocol.CodeBadRequest, "call-endpoint.endpointId is empty", ref)
		return
	}
	if wait, ok := s.srv.dir.callRate.Failed(me.ID); !ok {
		s.sendError(protocol.CodeRateLimited, fmt.Sprintf("too many calls: try again in %d s", throttle.RetryAfter(wait)), ref)
		return
	}
	if m.EndpointID == me.ID {
		s.sendError(protocol.CodeBadRequest, "you cannot call yourself", ref)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	all, err := s.srv.cfg.Directory.Endpoints(ctx, me.GroupID)
	cancel()
	if err != nil {
		s.directResult(ref, fmt.Errorf("list endpoints of group %s: %w", me.GroupID, err))
		return
	}
	i := slices.IndexFunc(all, func(e Endpoint) bool { return e.ID == m.EndpointID && e.GroupID == me.GroupID })
	if i < 0 {
		s.sendError(protocol.CodeUnknownEndpoint, "no endpoint of your group has this id", ref)
		return
	}
	s.directResult(ref, s.srv.dir.ring(s.pres, all[i], m.CallID))
}

func (s *session) handleAcceptCall(m *protocol.AcceptCall) {
	if s.requireRegistered(protocol.TypeAcceptCall) {
		s.directResult(protocol.TypeAcceptCall, s.srv.dir.accept(s.pres, m.CallID))
	}
}

func (s *session) handleDeclineCall(m *protocol.DeclineCall) {
	if s.requireRegistered(protocol.TypeDeclineCall) {
		s.directResult(protocol.TypeDeclineCall, s.srv.dir.decline(s.pres, m.CallID))
	}
}

func (s *session) handleCancelCall(m *protocol.CancelCall) {
	if s.requireRegistered(protocol.TypeCancelCall) {
		s.directResult(protocol.TypeCancelCall, s.srv.dir.cancel(s.pres, m.CallID))
	}
}

// joinDirect joins the direct call a join token admits to, as its
// endpoint, under its name; ok is false if token is not a direct call's.
func (s *session) joinDirect(token string, publish protocol.Publish) (ok bool) {
	st, ok := s.srv.dir.seatFor(token)
	if !ok {
		return false
	}
	name, err := validDisplayName(st.ep.Name)
	if err != nil {
		name = st.ep.Address
	}
	if utf8.RuneCountInString(name) > maxNameRunes {
		name = string([]rune(name)[:maxNameRunes])
	}
	s.enter(st.call.room, livecall.RoleMember, name, st.ep.ID, publish, &st)
	return true
}
