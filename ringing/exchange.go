// Package ringing holds the rings of direct calls: one endpoint offering
// a call to another, from the ring until it is answered, declined,
// cancelled or missed. It is the rule about the life of a call before
// there is a call (package livecall holds the call once it is under way):
// who may ring whom, how many rings may wait, and how long a ring lasts
// (30 s, on an injected clock) before it is missed.
//
// An Exchange knows endpoints by id only: whether they are online, in one
// group, or who they are is the caller's business (package signaling).
// Every ring ends exactly once: by one of Answer, Decline, Cancel, EndCall
// or Drop (which return it), or by its timeout (which hands it to
// Config.OnMissed).
package ringing

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/parley-dev/parley/auth"
	"github.com/parley-dev/parley/livecall"
)

// Defaults of Config.
const (
	DefaultTimeout     = 30 * time.Second
	DefaultMaxOutgoing = 3
)

// Errors of Ring, Answer, Decline and Cancel.
var (
	// ErrSelf: an endpoint rang itself.
	ErrSelf = errors.New("ringing: an endpoint cannot ring itself")
	// ErrBusy: the endpoint rung is being rung already.
	ErrBusy = errors.New("ringing: the endpoint is being rung already")
	// ErrTooManyRings: the caller has Config.MaxOutgoing rings waiting.
	ErrTooManyRings = errors.New("ringing: too many rings waiting for an answer")
	// ErrUnknownCall: no ring of this call is the endpoint's to answer,
	// decline or cancel.
	ErrUnknownCall = errors.New("ringing: no such ring")
)

// Config configures an Exchange. Zero fields mean the defaults.
type Config struct {
	Clock livecall.Clock // default livecall.SystemClock
	// Timeout is how long a ring waits for an answer before it is
	// missed; default DefaultTimeout (30 s).
	Timeout time.Duration
	// MaxOutgoing bounds the rings one endpoint has waiting at once;
	// default DefaultMaxOutgoing (3).
	MaxOutgoing int
	// OnMissed is told of each ring that timed out, on the clock's
	// goroutine, with no lock held. It must not block for long.
	OnMissed func(Ring)
}

// Ring is one ring: From rings To into call CallID.
type Ring struct {
	CallID string
	From   string // the caller's endpoint id
	To     string // the callee's endpoint id
	// Origin is the caller's word for where the ring came from (package
	// signaling: its presence connection), handed back with the ring.
	Origin string
	// Conference: the ring is into a call already under way (Ring was
	// given its callID).
	Conference bool
	Started    time.Time
}

// Exchange holds the rings waiting for an answer. Its methods are safe
// for concurrent use.
type Exchange struct {
	// set at construction
	cfg Config

	mu    sync.Mutex // guards the fields below; never held while calling OnMissed
	rings map[key]*pending
	calls map[string]int // call id → rings in it, so a new call's id is never one in use
	out   map[string]int // endpoint id → its rings waiting
	in    map[string]key // endpoint id → the ring it hears (one at a time)
}

type key struct{ callID, to string }

type pending struct {
	Ring
	timer livecall.Timer
}

// New returns an Exchange with no rings.
func New(cfg Config) *Exchange {
	if cfg.Clock == nil {
		cfg.Clock = livecall.SystemClock{}
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxOutgoing <= 0 {
		cfg.MaxOutgoing = DefaultMaxOutgoing
	}
	return &Exchange{
		cfg:   cfg,
		rings: make(map[key]*pending),
		calls: make(map[string]int),
		out:   make(map[string]int),
		in:    make(map[string]key),
	}
}

// NewCallID returns a fresh direct call id: "c_" and 128 random bits.
func NewCallID() string { return "c_" + auth.RandomToken(16) }

// Ring starts a ring from one endpoint to another, into callID, or into a
// new call when callID is "" (the ring's CallID is then fresh). It returns
// ErrSelf, ErrBusy (to is being rung already, by anyone) or
// ErrTooManyRings. The ring is missed after Config.Timeout unless it ends
// first.
func (x *Exchange) Ring(callID, from, to, origin string) (Ring, error) {
	if from == to {
		return Ring{}, ErrSelf
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if _, ok := x.in[to]; ok {
		return Ring{}, ErrBusy
	}
	if x.out[from] >= x.cfg.MaxOutgoing {
		return Ring{}, fmt.Errorf("%w: %d", ErrTooManyRings, x.cfg.MaxOutgoing)
	}
	conference := callID != ""
	for callID == "" || (!conference && x.calls[callID] > 0) {
		callID = NewCallID()
	}
	p := &pending{Ring: Ring{CallID: callID, From: from, To: to, Origin: origin, Conference: conference, Started: x.cfg.Clock.Now()}}
	k := key{callID, to}
	x.rings[k] = p
	x.calls[callID]++
	x.out[from]++
	x.in[to] = k
	p.timer = x.cfg.Clock.AfterFunc(x.cfg.Timeout, func() { x.expire(p) })
	return p.Ring, nil
}

// expire ends p as missed, unless it ended otherwise first.
func (x *Exchange) expire(p *pending) {
	x.mu.Lock()
	k := key{p.CallID, p.To}
	if x.rings[k] != p {
		x.mu.Unlock()
		return
	}
	x.remove(k, p)
	x.mu.Unlock()
	if x.cfg.OnMissed != nil {
		x.cfg.OnMissed(p.Ring)
	}
}

// remove forgets the ring p at k and stops its timer. Called with mu held.
func (x *Exchange) remove(k key, p *pending) {
	delete(x.rings, k)
	if x.calls[k.callID]--; x.calls[k.callID] <= 0 {
		delete(x.calls, k.callID)
	}
	if x.out[p.From]--; x.out[p.From] <= 0 {
		delete(x.out, p.From)
	}
	if x.in[p.To] == k {
		delete(x.in, p.To)
	}
	if p.timer != nil {
		p.timer.Stop()
	}
}

// take ends the ring of callID that rings to, or returns ErrUnknownCall.
func (x *Exchange) take(callID, to string) (Ring, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	k := key{callID, to}
	p := x.rings[k]
	if p == nil {
		return Ring{}, ErrUnknownCall
	}
	x.remove(k, p)
	return p.Ring, nil
}

// Answer ends the ring of callID that rings to, as accepted, and returns
// it; ErrUnknownCall if there is none (answered already, declined,
// cancelled, missed, or never rung).
func (x *Exchange) Answer(callID, to string) (Ring, error) { return x.take(callID, to) }

// Decline ends the ring of callID that rings to, as declined.
func (x *Exchange) Decline(callID, to string) (Ring, error) { return x.take(callID, to) }

// Cancel ends every ring from in callID and returns them; ErrUnknownCall
// if from has none there.
func (x *Exchange) Cancel(callID, from string) ([]Ring, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	var out []Ring
	for k, p := range x.rings {
		if k.callID == callID && p.From == from {
			x.remove(k, p)
			out = append(out, p.Ring)
		}
	}
	if len(out) == 0 {
		return nil, ErrUnknownCall
	}
	return out, nil
}

// EndCall ends every ring into callID (the call is over) and returns them.
func (x *Exchange) EndCall(callID string) []Ring {
	x.mu.Lock()
	defer x.mu.Unlock()
	var out []Ring
	for k, p := range x.rings {
		if k.callID == callID {
			x.remove(k, p)
			out = append(out, p.Ring)
		}
	}
	return out
}

// Drop ends every ring to or from endpoint id (it went offline) and
// returns them: incoming, the rings it heard; outgoing, those it made.
func (x *Exchange) Drop(id string) (incoming, outgoing []Ring) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for k, p := range x.rings {
		switch {
		case p.To == id:
			x.remove(k, p)
			incoming = append(incoming, p.Ring)
		case p.From == id:
			x.remove(k, p)
			outgoing = append(outgoing, p.Ring)
		}
	}
	return incoming, outgoing
}

// Ringing reports whether endpoint id is being rung now.
func (x *Exchange) Ringing(id string) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	_, ok := x.in[id]
	return ok
}

// Len is the number of rings waiting.
func (x *Exchange) Len() int {
	x.mu.Lock()
	defer x.mu.Unlock()
	return len(x.rings)
}

// Close stops every ring's timer, without telling anyone; the Exchange
// keeps no goroutine of its own.
func (x *Exchange) Close() {
	x.mu.Lock()
	defer x.mu.Unlock()
	for k, p := range x.rings {
		x.remove(k, p)
	}
}
