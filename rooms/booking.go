package rooms

import (
	"context"
	"time"

	"github.com/parley-dev/parley/bookings"
)

// BookingStore keeps the shared meeting accounts and their bookings
// (package bookings, issue #14); implemented by rooms/store.DB. The
// 30-minute rule is decided inside the store's transaction, so two
// requests racing for one slot cannot both win. Changes that must e-mail
// the leader take the Mails to write in the same transaction.
type BookingStore interface {
	// Accounts returns the meeting accounts, sorted by name.
	Accounts(ctx context.Context) ([]*bookings.Account, error)
	// Account returns one, or ErrAccountNotFound.
	Account(ctx context.Context, id string) (*bookings.Account, error)
	// CreateAccount stores a; ErrAccountExists if the name is taken
	// (compared case-insensitively).
	CreateAccount(ctx context.Context, a *bookings.Account) error
	// RenameAccount renames one: ErrAccountNotFound, ErrAccountExists.
	RenameAccount(ctx context.Context, id, name string) error
	// DeleteAccount removes one: ErrAccountNotFound, or ErrAccountInUse
	// while a live series is booked on it.
	DeleteAccount(ctx context.Context, id string) error
	// EnsureAccounts creates accounts named "Meeting account 1", "… 2"
	// until at least n exist, and returns them all.
	EnsureAccounts(ctx context.Context, n int, now time.Time) ([]*bookings.Account, error)

	// Book stores the new series s if none of its occurrences comes
	// within bookings.Gap of an occurrence of a live series on its
	// account, in one transaction. With s.AccountID empty it takes the
	// first account (by name) on which s fits and sets s.AccountID. A
	// conflict is a *bookings.ConflictError with the conflicts (on the
	// requested account, or on every account for "any") and alternatives
	// computed from the same snapshot. mails, if not nil, is called in
	// the transaction once the account is chosen; what it returns is
	// queued with the series.
	Book(ctx context.Context, s *bookings.Series, mails func(s *bookings.Series) ([]*Mail, error)) error
	// UpdateSeries runs fn on the stored series with this ID in one
	// transaction and stores the result: ErrSeriesNotFound, fn's error,
	// or a *bookings.ConflictError when the changed series is live and
	// breaks the gap rule (a move). The mails fn returns are queued in
	// the same transaction. It returns the stored series.
	UpdateSeries(ctx context.Context, id string, fn func(s *bookings.Series) ([]*Mail, error)) (*bookings.Series, error)
	// Series returns one, or ErrSeriesNotFound.
	Series(ctx context.Context, id string) (*bookings.Series, error)
	// SeriesByLink returns the series one of whose Links has this token,
	// or ErrSeriesNotFound.
	SeriesByLink(ctx context.Context, token string) (*bookings.Series, error)
	// SeriesList returns the series f selects, by first occurrence.
	SeriesList(ctx context.Context, f bookings.Filter) ([]*bookings.Series, error)

	// BookingSettings returns the coordinator's settings (zero value
	// until set); UpdateBookingSettings changes them in one transaction.
	BookingSettings(ctx context.Context) (bookings.Settings, error)
	UpdateBookingSettings(ctx context.Context, fn func(*bookings.Settings) error) (bookings.Settings, error)
}
