package api

import (
	"time"

	"github.com/parley-dev/parley/clock"
	"github.com/parley-dev/parley/rooms"
)

// BookingConfig configures booked meetings (issue #14).
type BookingConfig struct {
	Store       rooms.BookingStore // nil: the booking routes are off
	Location    *time.Location     // default bookings.DefaultTimeZone
	MaxDuration time.Duration      // --booking-max-duration, default 4h
	LinkEvery   int                // --booking-link-every (6..10), default 8
	LinkLead    time.Duration      // --booking-link-lead, how long before the first occurrence a new link
	// is mailed; default 72h
	Clock clock.Clock // nil: clock.SystemClock{}
}
