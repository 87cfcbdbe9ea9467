package throttle

import (
	"sync"
	"time"
)

// Guard throttles failed attempts at a credential shared by the people of
// one target (a booked meeting's host key: the target is the meeting
// occurrence) in two allowances: one per client (its address), and one
// per target that only clients which already failed at that target must
// also spend. A client with no failure at the target is never held up by
// the target's allowance, so the owner's right credential works at once
// while someone else guesses; guessers get one exempt try per fresh
// client, at most MaxExempt per target, then share the target's
// allowance. That bounds the guesses a target admits over a time T by
// TargetBurst + T*TargetRate + MaxExempt, however many clients guess.
//
// Unlike Throttle.Reserve, an attempt without allowance is not held: it
// is refused unchecked, and the caller tells the client when to retry.
// Safe for concurrent use.
type Guard[T, C comparable] struct {
	// set at construction
	byClient  *Throttle[C]
	byTarget  *Throttle[T]
	maxExempt int
	maxPairs  int
	forget    time.Duration
	now       func() time.Time

	mu     sync.Mutex               // guards the fields below
	failed map[pair[T, C]]time.Time // clients that failed at a target, and when last
	exempt map[T]*exemptCount       // exempt attempts used per target
	swept  time.Time                // the last sweep
}

type pair[T, C comparable] struct {
	target T
	client C
}

type exemptCount struct {
	n  int
	at time.Time
}

// GuardConfig configures a Guard. Zero fields mean the defaults noted.
type GuardConfig struct {
	// Client is the allowance per client; default 3 at once, then 1 a
	// minute.
	Client Config
	// Target is the allowance per target, for clients that failed at it;
	// default 10 at once, then 1 per 30 seconds.
	Target Config
	// MaxExempt is how many fresh clients' attempts per target skip the
	// target's allowance; default 50.
	MaxExempt int
	// Forget is how long a failure keeps marking a client at a target,
	// and an exempt count its target; default 24 hours (longer than any
	// meeting).
	Forget time.Duration
	// MaxPairs bounds the (target, client) failures and targets
	// remembered; default 10000. When full of recent ones, a client not
	// remembered counts as having failed (the safe side).
	MaxPairs int
	// Now is the clock of both allowances; default time.Now.
	Now func() time.Time
}

// NewGuard returns a Guard with cfg's limits.
func NewGuard[T, C comparable](cfg GuardConfig) *Guard[T, C] {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Client.Burst <= 0 && cfg.Client.Rate <= 0 {
		cfg.Client.Burst, cfg.Client.Rate = 3, 1.0/60
	}
	if cfg.Target.Burst <= 0 && cfg.Target.Rate <= 0 {
		cfg.Target.Burst, cfg.Target.Rate = 10, 1.0/30
	}
	cfg.Client.Now, cfg.Target.Now = cfg.Now, cfg.Now
	if cfg.MaxExempt <= 0 {
		cfg.MaxExempt = 50
	}
	if cfg.Forget <= 0 {
		cfg.Forget = 24 * time.Hour
	}
	if cfg.MaxPairs <= 0 {
		cfg.MaxPairs = 10000
	}
	return &Guard[T, C]{
		byClient:  New[C](cfg.Client),
		byTarget:  New[T](cfg.Target),
		maxExempt: cfg.MaxExempt,
		maxPairs:  cfg.MaxPairs,
		forget:    cfg.Forget,
		now:       cfg.Now,
		failed:    make(map[pair[T, C]]time.Time),
		exempt:    make(map[T]*exemptCount),
	}
}

// Attempt is the allowance one attempt took; give it to Done.
type Attempt[T, C comparable] struct {
	target    T
	client    C
	exempt    bool // it skipped the target's allowance
	ok        bool
	spentTurn bool // it took the target's allowance
}

// Take takes the allowance for client's attempt at target, about to be
// checked. If ok, check the credential, then call Done with the result.
// If not, refuse the attempt without checking it: wait is how long until
// it may come again.
func (g *Guard[T, C]) Take(target T, client C) (a Attempt[T, C], wait time.Duration, ok bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	a = Attempt[T, C]{target: target, client: client}
	if wait, ok := g.byClient.Failed(client); !ok {
		return a, wait, false
	}
	if !g.hasFailed(target, client, now) {
		if e := g.exemptFor(target, now); e != nil && e.n < g.maxExempt {
			e.n++
			e.at = now
			a.exempt, a.ok = true, true
			return a, 0, true
		}
	}
	if wait, ok := g.byTarget.Failed(target); !ok {
		g.byClient.Refund(client)
		return a, wait, false
	}
	a.spentTurn, a.ok = true, true
	return a, 0, true
}

// Done records the outcome of an attempt Take allowed: a right credential
// gives back what it took; a wrong one marks the client as having failed
// at the target. An error that taught nothing (the check could not run)
// counts as right.
func (g *Guard[T, C]) Done(a Attempt[T, C], right bool) {
	if !a.ok {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if !right {
		now := g.now()
		if len(g.failed) >= g.maxPairs {
			g.sweep(now)
		}
		if len(g.failed) < g.maxPairs {
			g.failed[pair[T, C]{a.target, a.client}] = now
		}
		return
	}
	g.byClient.Refund(a.client)
	if a.spentTurn {
		g.byTarget.Refund(a.target)
	}
	if e := g.exempt[a.target]; a.exempt && e != nil && e.n > 0 {
		e.n--
	}
}

// hasFailed reports whether client failed at target within Forget; when
// the table is full of recent failures, an unknown client counts as
// having failed. g.mu held.
func (g *Guard[T, C]) hasFailed(target T, client C, now time.Time) bool {
	if at, ok := g.failed[pair[T, C]{target, client}]; ok {
		return now.Sub(at) < g.forget
	}
	if len(g.failed) >= g.maxPairs {
		g.sweep(now)
	}
	return len(g.failed) >= g.maxPairs
}

// exemptFor returns target's exempt count, making one if there is room
// (nil if not: no exemption). g.mu held.
func (g *Guard[T, C]) exemptFor(target T, now time.Time) *exemptCount {
	if e := g.exempt[target]; e != nil {
		return e
	}
	if len(g.exempt) >= g.maxPairs {
		g.sweep(now)
	}
	if len(g.exempt) >= g.maxPairs {
		return nil
	}
	e := &exemptCount{at: now}
	g.exempt[target] = e
	return e
}

// sweep forgets the failures and exempt counts older than Forget, at
// most once a minute (a full table of recent ones costs one scan a
// minute, not one per attempt). g.mu held.
func (g *Guard[T, C]) sweep(now time.Time) {
	if !g.swept.IsZero() && now.Sub(g.swept) < time.Minute {
		return
	}
	g.swept = now
	for k, at := range g.failed {
		if now.Sub(at) >= g.forget {
			delete(g.failed, k)
		}
	}
	for k, e := range g.exempt {
		if now.Sub(e.at) >= g.forget {
			delete(g.exempt, k)
		}
	}
}
