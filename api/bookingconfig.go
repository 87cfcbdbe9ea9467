package api

import (
	"time"

	"github.com/parley-dev/parley/bookings"
	"github.com/parley-dev/parley/clock"
	"github.com/parley-dev/parley/rooms"
)

// BookingConfig configures booked meetings (issue #14).
type BookingConfig struct {
	Store       rooms.BookingStore // nil: the booking routes are off
	Location    *time.Location     // default bookings.DefaultTimeZone
	MaxDuration time.Duration      // --booking-max-duration, default 4h
	LinkEvery   int                // --booking-link-every (6..10), default 8
	// LinkLead (--booking-link-lead) is how long before the first
	// occurrence that needs it a new link is mailed; default 72h.
	LinkLead time.Duration
	Clock    clock.Clock // nil: clock.SystemClock{}
	// OnChanged, if set, is told of each series cancelled, or with one
	// meeting cancelled or moved (after the change is stored), so that a
	// call running for it can follow; it must not block for long.
	OnChanged func(s *bookings.Series)
}
