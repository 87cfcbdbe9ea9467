package office

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/parley-dev/parley/bookings"
)

// MaxAccountName is the longest meeting account name, in characters.
const MaxAccountName = 64

// ErrInvalidAccountName means a meeting account name is empty, too long
// or holds control characters; the wrapping error says which.
var ErrInvalidAccountName = errors.New("invalid meeting account name")

// CheckAccountName returns the name trimmed, or an error (wrapping
// ErrInvalidAccountName) in plain words.
func CheckAccountName(name string) (string, error) {
	name = strings.TrimSpace(name)
	switch n := utf8.RuneCountInString(name); {
	case n == 0:
		return "", fmt.Errorf("%w: give the account a name", ErrInvalidAccountName)
	case n > MaxAccountName:
		return "", fmt.Errorf("%w: %d characters, at most %d allowed", ErrInvalidAccountName, n, MaxAccountName)
	case strings.IndexFunc(name, unicode.IsControl) >= 0 || !utf8.ValidString(name):
		return "", fmt.Errorf("%w: it holds a control character", ErrInvalidAccountName)
	}
	return name, nil
}

// CreateAccount adds a meeting account named name.
func (o *Office) CreateAccount(ctx context.Context, name string) (*bookings.Account, error) {
	name, err := CheckAccountName(name)
	if err != nil {
		return nil, err
	}
	a := &bookings.Account{ID: bookings.NewID("a_"), Name: name, CreatedAt: o.Now().UTC()}
	if err := o.cfg.Store.CreateAccount(ctx, a); err != nil {
		return nil, fmt.Errorf("create meeting account: %w", err)
	}
	o.log.Info("meeting account created", "account", a.ID, "name", a.Name)
	return a, nil
}

// RenameAccount renames the meeting account id.
func (o *Office) RenameAccount(ctx context.Context, id, name string) (*bookings.Account, error) {
	name, err := CheckAccountName(name)
	if err != nil {
		return nil, err
	}
	if err := o.cfg.Store.RenameAccount(ctx, id, name); err != nil {
		return nil, fmt.Errorf("rename meeting account: %w", err)
	}
	o.log.Info("meeting account renamed", "account", id, "name", name)
	return o.cfg.Store.Account(ctx, id)
}

// DeleteAccount removes the meeting account id, refused while a live
// series is booked on it.
func (o *Office) DeleteAccount(ctx context.Context, id string) error {
	if err := o.cfg.Store.DeleteAccount(ctx, id); err != nil {
		return fmt.Errorf("delete meeting account: %w", err)
	}
	o.log.Info("meeting account deleted", "account", id)
	return nil
}

// SetCoordinator grants (or with grant false, revokes) the coordinator
// role to the administrator of the group groupID.
func (o *Office) SetCoordinator(ctx context.Context, groupID string, grant bool) (bookings.Settings, error) {
	st, err := o.cfg.Store.UpdateBookingSettings(ctx, func(st *bookings.Settings) error {
		st.Coordinators = slices.DeleteFunc(slices.Clone(st.Coordinators), func(id string) bool { return id == groupID })
		if grant {
			st.Coordinators = append(st.Coordinators, groupID)
		}
		return nil
	})
	if err != nil {
		return st, fmt.Errorf("coordinator role: %w", err)
	}
	o.log.Info("coordinator role changed", "group", groupID, "granted", grant)
	return st, nil
}
