// Package office carries out the changes to booked meetings (package
// bookings) on a rooms.BookingStore, each with the e-mail that tells the
// group leader about it written in the same store transaction: a request,
// its approval (the join link and host key), a decline, a cancellation, a
// single occurrence cancelled or moved, and a refreshed link. The HTTP API
// (package api), the operator's command line (cmd/parley) and the link
// refresher (Refresher, refresh.go) all go through it, so each change is
// made, and worded, in one place.
//
// A host key is made with crypto/rand and kept only as an argon2id hash
// (auth.HashSecret), computed before the store's transaction begins; the
// key itself is only in the leader's mail.
package office

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parley-dev/parley/auth"
	"github.com/parley-dev/parley/bookings"
	"github.com/parley-dev/parley/clock"
	"github.com/parley-dev/parley/rooms"
)

// Config configures an Office. Store is required; zero fields of the rest
// mean the defaults.
type Config struct {
	Store rooms.BookingStore
	// PublicURL is the base of the links in mails ("https://meet.example.org"):
	// a meeting's link is PublicURL + "/m/" + its token.
	PublicURL string
	// LinkLead is how long before the first occurrence that needs it a
	// refreshed link is mailed; default DefaultLinkLead.
	LinkLead time.Duration
	// Clock is the meeting clock: what "now" is for every change, and the
	// refresher's timer; default clock.SystemClock{}.
	Clock clock.Clock
	// Hash makes the stored hash of a host key; default auth.HashSecret
	// (an auth.Verifier's Hash caps how many run at once).
	Hash   func(ctx context.Context, secret string) (string, error)
	Logger *slog.Logger
	// MaxPerGroup bounds a group's bookings still to come (requested or
	// approved, with a meeting not over yet), so a group user cannot fill
	// the store and the leader's inbox; default DefaultMaxPerGroup.
	MaxPerGroup int
	// OnChanged, if set, is told of each series cancelled, or with one
	// meeting cancelled or moved, once the change is stored (a running
	// call of the series follows it: cmd/parley).
	OnChanged func(s *bookings.Series)
}

// DefaultMaxPerGroup is Config.MaxPerGroup's default.
const DefaultMaxPerGroup = 20

// DefaultLinkLead is Config.LinkLead's default: three days.
const DefaultLinkLead = 72 * time.Hour

// Office carries out bookings' changes. Safe for concurrent use.
type Office struct {
	// set at construction
	cfg Config
	log *slog.Logger
}

// New returns an Office for cfg.
func New(cfg Config) *Office {
	if cfg.LinkLead <= 0 {
		cfg.LinkLead = DefaultLinkLead
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.SystemClock{}
	}
	if cfg.Hash == nil {
		cfg.Hash = func(_ context.Context, secret string) (string, error) { return auth.HashSecret(secret) }
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxPerGroup <= 0 {
		cfg.MaxPerGroup = DefaultMaxPerGroup
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	return &Office{cfg: cfg, log: cfg.Logger}
}

// Now is the meeting clock's time.
func (o *Office) Now() time.Time { return o.cfg.Clock.Now() }

// Store is the office's store.
func (o *Office) Store() rooms.BookingStore { return o.cfg.Store }

// LinkURL is the address of a meeting link with this token.
func (o *Office) LinkURL(token string) string { return o.cfg.PublicURL + "/m/" + token }

// Errors of the changes, besides the store's (rooms.ErrSeriesNotFound, a
// *bookings.ConflictError). The wrapping error says why, in plain words.
var (
	// ErrNotRequested: only a requested series can be approved or declined.
	ErrNotRequested = errors.New("the booking is not waiting for a decision")
	// ErrNotLive: a declined or cancelled series cannot be changed.
	ErrNotLive = errors.New("the booking is declined or cancelled")
	// ErrCannotChange: that meeting of the series cannot be cancelled or
	// moved (there is no such meeting, it is over or cancelled already,
	// the new time is past or too near another of the series). Its
	// message is the domain's plain words.
	ErrCannotChange = errors.New("the meeting cannot be changed")
	// ErrTooManyBookings: the group has Config.MaxPerGroup bookings to
	// come already.
	ErrTooManyBookings = errors.New("the group has too many bookings")
)

// StateError is an ErrNotRequested or ErrNotLive with the series' state,
// its message in plain words.
type StateError struct {
	Err   error // ErrNotRequested or ErrNotLive
	State bookings.State
}

func (e *StateError) Error() string {
	if e.Err == ErrNotRequested {
		return fmt.Sprintf("only a requested booking can be approved or declined, and this one is %s", e.State)
	}
	return fmt.Sprintf("the booking is %s: it can no longer be changed", e.State)
}

// Is makes errors.Is(err, e.Err) true.
func (e *StateError) Is(target error) bool { return target == e.Err }

// ChangeError is an ErrCannotChange with the reason in plain words.
type ChangeError struct{ Reason error }

func (e *ChangeError) Error() string { return e.Reason.Error() }

// Is makes errors.Is(err, ErrCannotChange) true.
func (e *ChangeError) Is(target error) bool { return target == ErrCannotChange }

// errNotNeeded ends a refresh whose link another run made meanwhile.
var errNotNeeded = errors.New("link no longer needed")

// newLink is a fresh link admitting from occurrence first, with its host
// key (returned, for the mail) hashed into it. The hash is slow: it is
// made before the store's transaction.
func (o *Office) newLink(ctx context.Context, first int) (bookings.Link, string, error) {
	key := bookings.NewHostKey()
	hash, err := o.cfg.Hash(ctx, key)
	if err != nil {
		return bookings.Link{}, "", fmt.Errorf("hash the host key: %w", err)
	}
	now := o.Now().UTC()
	return bookings.Link{First: first, Token: bookings.NewLinkToken(), HostKeyHash: hash, CreatedAt: now, SentAt: now}, key, nil
}

// accountNames maps the accounts' IDs to their names, read before a
// transaction that mails about them (no nested transactions).
func (o *Office) accountNames(ctx context.Context) (map[string]string, error) {
	as, err := o.cfg.Store.Accounts(ctx)
	if err != nil {
		return nil, fmt.Errorf("meeting accounts: %w", err)
	}
	names := make(map[string]string, len(as))
	for _, a := range as {
		names[a.ID] = a.Name
	}
	return names, nil
}

// Book stores the new series s (from bookings.NewSeries) if it fits the
// gap rule, and mails the leader: booking-requested, or with the
// coordinator's auto-approve on, booking-confirmed with the link and
// host key. A conflict is a *bookings.ConflictError.
func (o *Office) Book(ctx context.Context, s *bookings.Series) error {
	if err := o.checkGroupRoom(ctx, s.GroupID); err != nil {
		return err
	}
	st, err := o.cfg.Store.BookingSettings(ctx)
	if err != nil {
		return fmt.Errorf("booking settings: %w", err)
	}
	names, err := o.accountNames(ctx)
	if err != nil {
		return err
	}
	var key string
	if st.AutoApprove {
		var lk bookings.Link
		if lk, key, err = o.newLink(ctx, 0); err != nil {
			return err
		}
		s.Approve(o.Now().UTC(), lk)
	}
	err = o.cfg.Store.Book(ctx, s, func(s *bookings.Series) ([]*rooms.Mail, error) {
		if s.State == bookings.Approved {
			return one(o.confirmedMail(s, names[s.AccountID], key))
		}
		return one(o.requestedMail(s, names[s.AccountID]))
	})
	if err != nil {
		return fmt.Errorf("book: %w", err)
	}
	o.log.Info("booking requested", "series", s.ID, "group", s.GroupName, "account", s.AccountID, "state", s.State)
	return nil
}

// checkGroupRoom refuses a booking of a group that has MaxPerGroup
// bookings to come already (ErrTooManyBookings, wrapped with the number).
func (o *Office) checkGroupRoom(ctx context.Context, groupID string) error {
	ss, err := o.cfg.Store.SeriesList(ctx, bookings.Filter{GroupID: groupID, States: []bookings.State{bookings.Requested, bookings.Approved}})
	if err != nil {
		return fmt.Errorf("the group's bookings: %w", err)
	}
	n, now := 0, o.Now()
	for _, s := range ss {
		if _, ahead := s.Next(now); ahead {
			n++
		}
	}
	if n >= o.cfg.MaxPerGroup {
		return fmt.Errorf("%w: it has %d bookings to come, the most allowed; withdraw one or wait for the coordinator to decline one", ErrTooManyBookings, n)
	}
	return nil
}

// one is a mail (or its error) as UpdateSeries' and Book's mails.
func one(m *rooms.Mail, err error) ([]*rooms.Mail, error) {
	if err != nil {
		return nil, err
	}
	return []*rooms.Mail{m}, nil
}

// Approve approves a requested series: it gets its first link and host
// key, mailed to the leader (booking-confirmed).
func (o *Office) Approve(ctx context.Context, id string) (*bookings.Series, error) {
	cur, err := o.cfg.Store.Series(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("approve: %w", err)
	}
	if cur.State != bookings.Requested { // before spending a hash; checked again below
		return nil, fmt.Errorf("approve: %w", &StateError{ErrNotRequested, cur.State})
	}
	names, err := o.accountNames(ctx)
	if err != nil {
		return nil, err
	}
	lk, key, err := o.newLink(ctx, 0)
	if err != nil {
		return nil, err
	}
	s, err := o.cfg.Store.UpdateSeries(ctx, id, func(s *bookings.Series) ([]*rooms.Mail, error) {
		if s.State != bookings.Requested {
			return nil, &StateError{ErrNotRequested, s.State}
		}
		s.Reason = ""
		s.Approve(o.Now().UTC(), lk)
		return one(o.confirmedMail(s, names[s.AccountID], key))
	})
	if err != nil {
		return nil, fmt.Errorf("approve: %w", err)
	}
	o.log.Info("booking approved", "series", s.ID, "group", s.GroupName)
	return s, nil
}

// Decline declines a requested series, freeing its slots, and mails the
// leader the reason (booking-declined).
func (o *Office) Decline(ctx context.Context, id, reason string) (*bookings.Series, error) {
	reason = cleanReason(reason)
	s, err := o.cfg.Store.UpdateSeries(ctx, id, func(s *bookings.Series) ([]*rooms.Mail, error) {
		if s.State != bookings.Requested {
			return nil, &StateError{ErrNotRequested, s.State}
		}
		s.Decline(o.Now().UTC(), reason)
		return one(o.declinedMail(s))
	})
	if err != nil {
		return nil, fmt.Errorf("decline: %w", err)
	}
	o.log.Info("booking declined", "series", s.ID, "group", s.GroupName)
	return s, nil
}

// Cancel cancels a live series (every occurrence to come), freeing its
// slots, and mails the leader (booking-cancelled). byGroup, if set, is
// the group withdrawing its own series: another group's is not found.
func (o *Office) Cancel(ctx context.Context, id, reason, byGroup string) (*bookings.Series, error) {
	reason = cleanReason(reason)
	s, err := o.cfg.Store.UpdateSeries(ctx, id, func(s *bookings.Series) ([]*rooms.Mail, error) {
		if byGroup != "" && s.GroupID != byGroup {
			return nil, rooms.ErrSeriesNotFound
		}
		if err := live(s); err != nil {
			return nil, err
		}
		s.CancelSeries(reason)
		return one(o.cancelledMail(s, byGroup != ""))
	})
	if err != nil {
		return nil, fmt.Errorf("cancel: %w", err)
	}
	o.log.Info("booking cancelled", "series", s.ID, "group", s.GroupName, "by_group", byGroup != "")
	o.changed(s)
	return s, nil
}

// changed tells Config.OnChanged of a stored change of s.
func (o *Office) changed(s *bookings.Series) {
	if o.cfg.OnChanged != nil {
		o.cfg.OnChanged(s)
	}
}

// live refuses a series that is declined or cancelled.
func live(s *bookings.Series) error {
	if !s.State.Live() {
		return &StateError{ErrNotLive, s.State}
	}
	return nil
}

// CancelOccurrence cancels one meeting, not yet over, of a live series and
// mails the leader (occurrence-cancelled).
func (o *Office) CancelOccurrence(ctx context.Context, id string, index int, reason string) (*bookings.Series, error) {
	reason = cleanReason(reason)
	s, err := o.cfg.Store.UpdateSeries(ctx, id, func(s *bookings.Series) ([]*rooms.Mail, error) {
		if err := live(s); err != nil {
			return nil, err
		}
		occ, ok := s.Occurrence(index)
		if ok && !occ.Cancelled && !occ.Closes().After(o.Now()) {
			return nil, &ChangeError{fmt.Errorf("the meeting of %s is over", occ.Start.Format("Mon 2 Jan 2006"))}
		}
		if err := s.Cancel(index, reason); err != nil {
			return nil, &ChangeError{err}
		}
		return one(o.occurrenceCancelledMail(s, occ, reason))
	})
	if err != nil {
		return nil, fmt.Errorf("cancel meeting: %w", err)
	}
	o.log.Info("booked meeting cancelled", "series", s.ID, "index", index)
	o.changed(s)
	return s, nil
}

// MoveOccurrence moves one meeting of a live series to startTime
// ("HH:MM") on date ("YYYY-MM-DD") in the series' zone, keeping its
// length; the store rechecks the gap rule (a *bookings.ConflictError),
// and the leader is mailed (occurrence-moved).
func (o *Office) MoveOccurrence(ctx context.Context, id string, index int, date, startTime string) (*bookings.Series, error) {
	s, err := o.cfg.Store.UpdateSeries(ctx, id, func(s *bookings.Series) ([]*rooms.Mail, error) {
		if err := live(s); err != nil {
			return nil, err
		}
		old, _ := s.Occurrence(index)
		if err := s.MoveAt(index, date, startTime, o.Now()); err != nil {
			return nil, &ChangeError{err}
		}
		moved, _ := s.Occurrence(index)
		return one(o.movedMail(s, old, moved))
	})
	if err != nil {
		return nil, fmt.Errorf("move meeting: %w", err)
	}
	o.log.Info("booked meeting moved", "series", s.ID, "index", index, "date", date, "start", startTime)
	o.changed(s)
	return s, nil
}

// SetAutoApprove turns the coordinator's auto-approve on or off.
func (o *Office) SetAutoApprove(ctx context.Context, on bool) (bookings.Settings, error) {
	st, err := o.cfg.Store.UpdateBookingSettings(ctx, func(st *bookings.Settings) error {
		st.AutoApprove = on
		return nil
	})
	if err != nil {
		return st, fmt.Errorf("auto-approve: %w", err)
	}
	o.log.Info("booking auto-approve set", "on", on)
	return st, nil
}

// MaxReason bounds the coordinator's reason, in characters.
const MaxReason = 500

// CheckReason returns a reason on one line, or an error in plain words
// when it is longer than MaxReason characters.
func CheckReason(r string) (string, error) {
	r = cleanReason(r)
	if n := utf8.RuneCountInString(r); n > MaxReason {
		return "", fmt.Errorf("the reason has %d characters, at most %d allowed", n, MaxReason)
	}
	return r, nil
}

// cleanReason is a reason with its white space collapsed to single spaces.
func cleanReason(r string) string { return strings.Join(strings.Fields(r), " ") }
