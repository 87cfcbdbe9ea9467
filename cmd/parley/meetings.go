package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"

	"github.com/parley-dev/parley/auth"
	"github.com/parley-dev/parley/bookings"
	"github.com/parley-dev/parley/clock"
	"github.com/parley-dev/parley/livecall"
	"github.com/parley-dev/parley/livecall/callrules"
	"github.com/parley-dev/parley/rooms"
	"github.com/parley-dev/parley/signaling"
	"github.com/parley-dev/parley/throttle"
)

// Booked meetings' calls (issue #14): each series' live call is the room
// whose ID is the series' ID ("b_…"). Signaling finds it through the
// BookingStore (meetingRooms), gives it the join-window policy
// (callrules.Booking, built here from the series' occurrences on the
// joining session's goroutine) and checks claim-host keys through
// hostKeyChecker.

// isMeetingID reports whether a room ID is a booked meeting's.
func isMeetingID(id string) bool { return strings.HasPrefix(id, "b_") }

// meetingRooms is signaling's RoomFinder: booked meetings by their
// series, every other room from the store.
type meetingRooms struct {
	rooms    signaling.RoomFinder
	bookings rooms.BookingStore
}

// Room returns the room of a booked meeting (approved series only: a
// cancelled one's call is gone) or of the store.
func (f meetingRooms) Room(ctx context.Context, id string) (*rooms.Room, error) {
	if !isMeetingID(id) || f.bookings == nil {
		return f.rooms.Room(ctx, id)
	}
	s, err := f.bookings.Series(ctx, id)
	if errors.Is(err, rooms.ErrSeriesNotFound) {
		return nil, fmt.Errorf("booked meeting %s: %w", id, rooms.ErrRoomNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("booked meeting %s: %w", id, err)
	}
	if s.State != bookings.Approved {
		return nil, fmt.Errorf("booked meeting %s is %s: %w", id, s.State, rooms.ErrRoomNotFound)
	}
	return &rooms.Room{ID: s.ID, Name: s.Title}, nil
}

// meetingPolicy is the policy of a booked meeting's call: the join window
// of its series' occurrences, loaded now. A series that cannot be loaded
// gives a policy that admits no one (meeting-over).
func meetingPolicy(ctx context.Context, store rooms.BookingStore, room *rooms.Room, maxParticipants int, log *slog.Logger) livecall.Policy {
	cfg := callrules.BookingConfig{MaxParticipants: maxParticipants}
	s, err := store.Series(ctx, room.ID)
	if err == nil {
		cfg.Occurrences, err = s.Occurrences()
	}
	if err == nil {
		cfg.Location, err = s.Location()
	}
	if err != nil {
		log.Warn("booked meeting's call: its series", "room", room.ID, "err", err)
		return callrules.NewBooking(callrules.BookingConfig{})
	}
	cfg.HostKey = len(s.Links) > 0
	return callrules.NewBooking(cfg)
}

// hostKeyChecker checks claim-host keys (signaling.HostKeys): the host
// key of the link admitting to the occurrence on, checked with the slow
// hash within the Verifier's cap, failures throttled per client address
// and per occurrence (throttle.Guard; the bound is in docs/protocol.md,
// "Booked meetings").
type hostKeyChecker struct {
	store    rooms.BookingStore
	verifier *auth.Verifier
	clock    clock.Clock
	guard    *throttle.Guard[string, netip.Prefix]
}

// newHostKeyChecker returns a checker whose throttle exempts at most
// maxExempt fresh addresses per occurrence (the call's participant limit).
func newHostKeyChecker(store rooms.BookingStore, v *auth.Verifier, c clock.Clock, maxExempt int) *hostKeyChecker {
	return &hostKeyChecker{store: store, verifier: v, clock: c,
		guard: throttle.NewGuard[string, netip.Prefix](throttle.GuardConfig{MaxExempt: maxExempt, Now: c.Now})}
}

var _ signaling.HostKeys = (*hostKeyChecker)(nil)

// CheckHostKey implements signaling.HostKeys.
func (h *hostKeyChecker) CheckHostKey(ctx context.Context, roomID string, client netip.Prefix, key string) error {
	if !isMeetingID(roomID) {
		return signaling.ErrNoHostKey
	}
	s, err := h.store.Series(ctx, roomID)
	if errors.Is(err, rooms.ErrSeriesNotFound) {
		return signaling.ErrNoHostKey
	}
	if err != nil {
		return fmt.Errorf("host key of %s: %w", roomID, err)
	}
	occ, ok := s.Current(h.clock.Now())
	if !ok {
		return signaling.ErrNoHostKey
	}
	link, ok := s.LinkFor(occ.Index)
	if !ok || link.HostKeyHash == "" {
		return signaling.ErrNoHostKey
	}
	if !wellFormedHostKey(key) {
		// Not a key at all: wrong without a hash, and without a charge
		// (it tells a guesser nothing it did not know).
		return signaling.ErrWrongHostKey
	}
	attempt, wait, ok := h.guard.Take(s.ID+"#"+strconv.Itoa(occ.Index), client)
	if !ok {
		return &signaling.HostKeyWait{Wait: wait}
	}
	right, err := h.verifier.Verify(ctx, link.HostKeyHash, key)
	if err != nil {
		h.guard.Done(attempt, true) // nothing was learnt: no charge
		return fmt.Errorf("check host key of %s: %w", roomID, err)
	}
	h.guard.Done(attempt, right)
	if !right {
		return signaling.ErrWrongHostKey
	}
	return nil
}

// wellFormedHostKey reports whether key could be a host key: exactly
// bookings.HostKeyDigits decimal digits.
func wellFormedHostKey(key string) bool {
	if len(key) != bookings.HostKeyDigits {
		return false
	}
	for _, c := range key {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
