// Package clock is the time source of parley's timers: the live calls'
// (livecall) and the outgoing messages' retries (delivery). Production
// uses SystemClock; tests use livecall/fakeclock, which fires a 10-minute
// timer when told to, not after 10 minutes.
package clock

import "time"

// Clock is a time source with timers.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f on its own goroutine once d has passed, unless the
	// returned Timer is stopped first.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc.
type Timer interface {
	// Stop prevents the timer from firing; it reports whether it did
	// (false: it had fired or been stopped already).
	Stop() bool
}

// SystemClock is the real clock (package time).
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// AfterFunc is time.AfterFunc.
func (SystemClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

var _ Clock = SystemClock{}
