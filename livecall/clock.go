package livecall

import "github.com/parley-dev/parley/clock"

// Clock is the time source of a call's timers (package clock's).
// Production uses SystemClock; tests use fakeclock, which fires a
// 10-minute timer when told to, not after 10 minutes.
type Clock = clock.Clock

// Timer is a pending AfterFunc.
type Timer = clock.Timer

// SystemClock is the real clock (package time).
type SystemClock = clock.SystemClock
