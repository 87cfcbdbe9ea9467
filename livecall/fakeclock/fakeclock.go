// Package fakeclock is a livecall.Clock that moves only when a test moves
// it: Advance(10*time.Minute) fires a 10-minute timer at once, in order,
// on the caller's goroutine.
package fakeclock

import (
	"sort"
	"sync"
	"time"

	"github.com/parley-dev/parley/livecall"
)

// Clock is a fake clock. The zero value is not usable; call New.
type Clock struct {
	mu     sync.Mutex // guards the fields below; not held while a timer's func runs
	now    time.Time
	seq    int
	timers []*timer // pending, in no particular order
}

type timer struct {
	c   *Clock
	at  time.Time
	seq int // creation order: timers due at the same instant fire in it
	f   func()
}

// New returns a clock reading start.
func New(start time.Time) *Clock { return &Clock{now: start} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// AfterFunc schedules f to run when the clock has been advanced by d.
// A d <= 0 fires at the next Advance (even Advance(0)).
func (c *Clock) AfterFunc(d time.Duration, f func()) livecall.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	t := &timer{c: c, at: c.now.Add(d), seq: c.seq, f: f}
	c.timers = append(c.timers, t)
	return t
}

// Stop implements livecall.Timer.
func (t *timer) Stop() bool {
	c := t.c
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, x := range c.timers {
		if x == t {
			c.timers = append(c.timers[:i], c.timers[i+1:]...)
			return true
		}
	}
	return false
}

// Advance moves the clock forward by d, running each timer that falls due
// on the way, in order of due time, with Now reading its due time while it
// runs. A timer set by a running timer fires in the same Advance if it is
// due by its end.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	end := c.now.Add(d)
	for {
		t := c.nextDue(end)
		if t == nil {
			break
		}
		if t.at.After(c.now) {
			c.now = t.at
		}
		c.mu.Unlock()
		t.f()
		c.mu.Lock()
	}
	c.now = end
	c.mu.Unlock()
}

// nextDue removes and returns the earliest timer due by end, or nil.
// Called with mu held.
func (c *Clock) nextDue(end time.Time) *timer {
	sort.Slice(c.timers, func(i, j int) bool {
		a, b := c.timers[i], c.timers[j]
		if !a.at.Equal(b.at) {
			return a.at.Before(b.at)
		}
		return a.seq < b.seq
	})
	if len(c.timers) == 0 || c.timers[0].at.After(end) {
		return nil
	}
	t := c.timers[0]
	c.timers = c.timers[1:]
	return t
}

// Pending reports how many timers have not fired or been stopped.
func (c *Clock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

var _ livecall.Clock = (*Clock)(nil)
