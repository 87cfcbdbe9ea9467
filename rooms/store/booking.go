package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/parley-dev/parley/bookings"
	"github.com/parley-dev/parley/rooms"
	bolt "go.etcd.io/bbolt"
)

// Meeting accounts and their bookings (schema.go, version 6): accounts
// holds each account's JSON under its ID and accounts_by_name maps
// rooms.NameKey(name) to the ID; series holds each booking's JSON under
// its ID, with three indexes kept in step in the same transaction:
// series_by_account and series_by_group (owner ID + "/" + series ID →
// empty) and series_by_link (link token → series ID, one entry per
// bookings.Link). booking_settings holds the coordinator's settings
// under one key.
//
// Book and UpdateSeries decide the gap rule inside their one write
// transaction: bbolt has one writer at a time, so the live series they
// read are all there is, and two requests racing for one slot are
// serialised: the second sees the first.

var _ rooms.BookingStore = (*DB)(nil)

var keyBookingSettings = []byte("settings")

// getAccount decodes the account with this ID inside tx.
func getAccount(tx *bolt.Tx, id []byte) (*bookings.Account, error) {
	val := tx.Bucket(bucketAccounts).Get(id)
	if val == nil {
		return nil, fmt.Errorf("account %q: %w", id, rooms.ErrAccountNotFound)
	}
	a := new(bookings.Account)
	if err := json.Unmarshal(val, a); err != nil {
		return nil, fmt.Errorf("decode account %q: %w", id, err)
	}
	return a, nil
}

func putAccount(tx *bolt.Tx, a *bookings.Account) error {
	val, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("encode account %s: %w", a.ID, err)
	}
	if err := tx.Bucket(bucketAccounts).Put([]byte(a.ID), val); err != nil {
		return fmt.Errorf("put account %s: %w", a.ID, err)
	}
	if err := tx.Bucket(bucketAccountsByName).Put([]byte(rooms.NameKey(a.Name)), []byte(a.ID)); err != nil {
		return fmt.Errorf("index account %s: %w", a.ID, err)
	}
	return nil
}

// accounts returns every account inside tx, sorted by rooms.NameKey.
func accounts(tx *bolt.Tx) ([]*bookings.Account, error) {
	out := []*bookings.Account{}
	err := tx.Bucket(bucketAccountsByName).ForEach(func(_, id []byte) error {
		a, err := getAccount(tx, id)
		if err != nil {
			return err
		}
		out = append(out, a)
		return nil
	})
	return out, err
}

// Accounts returns the meeting accounts sorted by name (case-insensitively).
func (db *DB) Accounts(ctx context.Context) ([]*bookings.Account, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("store: list accounts: %w", err)
	}
	var out []*bookings.Account
	err := db.bolt.View(func(tx *bolt.Tx) error {
		var err error
		out, err = accounts(tx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: list accounts: %w", err)
	}
	return out, nil
}

// Account returns one account, or ErrAccountNotFound.
func (db *DB) Account(ctx context.Context, id string) (*bookings.Account, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("store: account %s: %w", id, err)
	}
	var a *bookings.Account
	err := db.bolt.View(func(tx *bolt.Tx) error {
		var err error
		a, err = getAccount(tx, []byte(id))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return a, nil
}

// CreateAccount stores a with its name validated and normalised as a
// room's (rooms.ValidateName; the error wraps rooms.ErrInvalidName). An
// empty a.ID gets a new one ("a_…"), a zero CreatedAt the store's clock.
// ErrAccountExists if another account has the name (case-insensitively)
// or the ID.
func (db *DB) CreateAccount(ctx context.Context, a *bookings.Account) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: create account: %w", err)
	}
	if a == nil {
		return errors.New("store: create account: no account")
	}
	name, err := rooms.ValidateName(a.Name)
	if err != nil {
		return fmt.Errorf("store: create account: %w", err)
	}
	if a.ID == "" {
		a.ID = bookings.NewID("a_")
	}
	if a.CreatedAt.IsZero() {
		a.CreatedAt = db.now()
	}
	a.Name = name
	err = db.bolt.Update(func(tx *bolt.Tx) error { return createAccount(tx, a) })
	if err != nil {
		return fmt.Errorf("store: create account: %w", err)
	}
	return nil
}

func createAccount(tx *bolt.Tx, a *bookings.Account) error {
	if tx.Bucket(bucketAccountsByName).Get([]byte(rooms.NameKey(a.Name))) != nil {
		return fmt.Errorf("%q: %w", a.Name, rooms.ErrAccountExists)
	}
	if tx.Bucket(bucketAccounts).Get([]byte(a.ID)) != nil {
		return fmt.Errorf("id %q: %w", a.ID, rooms.ErrAccountExists)
	}
	return putAccount(tx, a)
}

// RenameAccount renames one account: ErrAccountNotFound, ErrAccountExists
// (another has the name), or rooms.ErrInvalidName.
func (db *DB) RenameAccount(ctx context.Context, id, name string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: rename account %s: %w", id, err)
	}
	name, err := rooms.ValidateName(name)
	if err != nil {
		return fmt.Errorf("store: rename account %s: %w", id, err)
	}
	err = db.bolt.Update(func(tx *bolt.Tx) error {
		a, err := getAccount(tx, []byte(id))
		if err != nil {
			return err
		}
		byName := tx.Bucket(bucketAccountsByName)
		if other := byName.Get([]byte(rooms.NameKey(name))); other != nil && string(other) != id {
			return fmt.Errorf("%q: %w", name, rooms.ErrAccountExists)
		}
		if err := deleteIfPointsAt(byName, rooms.NameKey(a.Name), id); err != nil {
			return err
		}
		a.Name = name
		return putAccount(tx, a)
	})
	if err != nil {
		return fmt.Errorf("store: rename account %s: %w", id, err)
	}
	return nil
}

// DeleteAccount removes one account: ErrAccountNotFound, or
// ErrAccountInUse while a live (requested or approved) series is booked
// on it. Declined and cancelled series keep its ID as history.
func (db *DB) DeleteAccount(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: delete account %s: %w", id, err)
	}
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		a, err := getAccount(tx, []byte(id))
		if err != nil {
			return err
		}
		list, err := seriesUnder(tx, bucketSeriesByAccount, id)
		if err != nil {
			return err
		}
		for _, s := range list {
			if s.State.Live() {
				return fmt.Errorf("account %q: %w (%s's booking %s is %s)", a.Name, rooms.ErrAccountInUse, s.GroupName, s.ID, s.State)
			}
		}
		if err := deleteIfPointsAt(tx.Bucket(bucketAccountsByName), rooms.NameKey(a.Name), id); err != nil {
			return err
		}
		return tx.Bucket(bucketAccounts).Delete([]byte(id))
	})
	if err != nil {
		return fmt.Errorf("store: delete account %s: %w", id, err)
	}
	return nil
}

// EnsureAccounts creates "Meeting account 1", "Meeting account 2", …
// (skipping names taken) until at least n accounts exist, in one
// transaction, and returns them all sorted by name. Run again, it
// creates nothing.
func (db *DB) EnsureAccounts(ctx context.Context, n int, now time.Time) ([]*bookings.Account, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("store: ensure accounts: %w", err)
	}
	var out []*bookings.Account
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		have := 0
		c := tx.Bucket(bucketAccounts).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			have++
		}
		byName := tx.Bucket(bucketAccountsByName)
		for i := 1; have < n; i++ {
			name := "Meeting account " + strconv.Itoa(i)
			if byName.Get([]byte(rooms.NameKey(name))) != nil {
				continue
			}
			if err := createAccount(tx, &bookings.Account{ID: bookings.NewID("a_"), Name: name, CreatedAt: now}); err != nil {
				return err
			}
			have++
		}
		var err error
		out, err = accounts(tx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: ensure accounts: %w", err)
	}
	return out, nil
}

// getSeries decodes the series with this ID inside tx.
func getSeries(tx *bolt.Tx, id []byte) (*bookings.Series, error) {
	val := tx.Bucket(bucketSeries).Get(id)
	if val == nil {
		return nil, fmt.Errorf("booking %q: %w", id, rooms.ErrSeriesNotFound)
	}
	s := new(bookings.Series)
	if err := json.Unmarshal(val, s); err != nil {
		return nil, fmt.Errorf("decode booking %q: %w", id, err)
	}
	return s, nil
}

func ownerKey(owner, id string) []byte { return []byte(owner + "/" + id) }

// putSeries writes s and brings its index entries in step with it; old
// is the record as it was (nil for a new one).
func putSeries(tx *bolt.Tx, s, old *bookings.Series) error {
	if s.ID == "" || strings.Contains(s.ID, "/") {
		return fmt.Errorf("booking ID %q: want one from bookings.NewID", s.ID)
	}
	val, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encode booking %s: %w", s.ID, err)
	}
	if err := tx.Bucket(bucketSeries).Put([]byte(s.ID), val); err != nil {
		return fmt.Errorf("put booking %s: %w", s.ID, err)
	}
	var oldAccount, oldGroup string
	var oldTokens []string
	if old != nil {
		oldAccount, oldGroup = old.AccountID, old.GroupID
		for _, l := range old.Links {
			oldTokens = append(oldTokens, l.Token)
		}
	}
	for _, ix := range []struct {
		bucket   []byte
		old, now string
	}{{bucketSeriesByAccount, oldAccount, s.AccountID}, {bucketSeriesByGroup, oldGroup, s.GroupID}} {
		b := tx.Bucket(ix.bucket)
		if old != nil && ix.old != ix.now {
			if err := b.Delete(ownerKey(ix.old, s.ID)); err != nil {
				return fmt.Errorf("unindex booking %s: %w", s.ID, err)
			}
		}
		if ix.now != "" {
			if err := b.Put(ownerKey(ix.now, s.ID), nil); err != nil {
				return fmt.Errorf("index booking %s: %w", s.ID, err)
			}
		}
	}
	return putLinks(tx, s, oldTokens)
}

// putLinks keeps series_by_link in step: an entry for each of s.Links,
// none for a token of oldTokens that s no longer has.
func putLinks(tx *bolt.Tx, s *bookings.Series, oldTokens []string) error {
	b := tx.Bucket(bucketSeriesByLink)
	var tokens []string
	for _, l := range s.Links {
		if l.Token == "" || len(l.Token) > bolt.MaxKeySize {
			return fmt.Errorf("booking %s: link %d has no usable token (use bookings.NewLinkToken)", s.ID, l.First)
		}
		if other := b.Get([]byte(l.Token)); other != nil && string(other) != s.ID {
			return fmt.Errorf("booking %s: link token already used by booking %s", s.ID, other)
		}
		if err := b.Put([]byte(l.Token), []byte(s.ID)); err != nil {
			return fmt.Errorf("index link of booking %s: %w", s.ID, err)
		}
		tokens = append(tokens, l.Token)
	}
	for _, t := range oldTokens {
		if !slices.Contains(tokens, t) {
			if err := deleteIfPointsAt(b, t, s.ID); err != nil {
				return err
			}
		}
	}
	return nil
}

// seriesUnder returns the series indexed under owner in one of the owner
// indexes (series_by_account, series_by_group).
func seriesUnder(tx *bolt.Tx, bucket []byte, owner string) ([]*bookings.Series, error) {
	prefix := []byte(owner + "/")
	var out []*bookings.Series
	c := tx.Bucket(bucket).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		s, err := getSeries(tx, k[len(prefix):])
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// liveSeries returns every requested or approved series inside tx: the
// snapshot the gap rule is decided on.
func liveSeries(tx *bolt.Tx) ([]*bookings.Series, error) {
	var out []*bookings.Series
	err := tx.Bucket(bucketSeries).ForEach(func(id, _ []byte) error {
		s, err := getSeries(tx, id)
		if err != nil {
			return err
		}
		if s.State.Live() {
			out = append(out, s)
		}
		return nil
	})
	return out, err
}

// Book stores the new series s if it fits, deciding the gap rule in the
// same write transaction; see rooms.BookingStore. With s.AccountID empty
// it takes the first account by name on which s fits.
func (db *DB) Book(ctx context.Context, s *bookings.Series, mails func(s *bookings.Series) ([]*rooms.Mail, error)) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: book: %w", err)
	}
	if s == nil || s.ID == "" {
		return errors.New("store: book: a series with an ID is required (use bookings.NewSeries)")
	}
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketSeries).Get([]byte(s.ID)) != nil {
			return fmt.Errorf("booking %s is stored already", s.ID)
		}
		all, err := accounts(tx)
		if err != nil {
			return err
		}
		live, err := liveSeries(tx)
		if err != nil {
			return err
		}
		if err := chooseAccount(s, all, live); err != nil {
			return err
		}
		if err := putSeries(tx, s, nil); err != nil {
			return err
		}
		return db.queueBookingMails(tx, s, mails)
	})
	if err != nil {
		return fmt.Errorf("store: book: %w", err)
	}
	return nil
}

// chooseAccount checks s against the live series on its account, or
// sets s.AccountID to the first account on which it fits; else returns
// a *bookings.ConflictError with alternatives.
func chooseAccount(s *bookings.Series, all []*bookings.Account, live []*bookings.Series) error {
	if s.AccountID != "" {
		if !slices.ContainsFunc(all, func(a *bookings.Account) bool { return a.ID == s.AccountID }) {
			return fmt.Errorf("account %q: %w", s.AccountID, rooms.ErrAccountNotFound)
		}
		if !s.State.Live() {
			return nil
		}
		conflicts, err := bookings.Conflicts(s, live)
		if err != nil || len(conflicts) == 0 {
			return err
		}
		alts, err := bookings.Alternatives(s, all, live)
		if err != nil {
			return err
		}
		return &bookings.ConflictError{Conflicts: conflicts, Alternatives: alts}
	}
	if len(all) == 0 {
		return fmt.Errorf("no meeting accounts: %w", rooms.ErrAccountNotFound)
	}
	free, err := bookings.FirstFree(s, all, live)
	if err != nil {
		return err
	}
	if free != nil {
		s.AccountID = free.ID
		return nil
	}
	ce := &bookings.ConflictError{}
	for _, a := range all {
		c := *s
		c.AccountID = a.ID
		conflicts, err := bookings.Conflicts(&c, live)
		if err != nil {
			return err
		}
		ce.Conflicts = append(ce.Conflicts, conflicts...)
	}
	if ce.Alternatives, err = bookings.Alternatives(s, all, live); err != nil {
		return err
	}
	return ce
}

func (db *DB) queueBookingMails(tx *bolt.Tx, s *bookings.Series, mails func(*bookings.Series) ([]*rooms.Mail, error)) error {
	if mails == nil {
		return nil
	}
	c := *s
	list, err := mails(&c)
	if err != nil {
		return fmt.Errorf("mails for booking %s: %w", s.ID, err)
	}
	for _, m := range list {
		if err := db.queueMail(tx, m); err != nil {
			return err
		}
	}
	return nil
}

// UpdateSeries runs fn on the stored series in one write transaction and
// stores the result with its indexes (links included) in step; see
// rooms.BookingStore. If the changed series is live, the gap rule is
// rechecked for each occurrence fn changed (moved, restored, or all of
// them if the series became live or changed account): a conflict is a
// *bookings.ConflictError and nothing is stored.
func (db *DB) UpdateSeries(ctx context.Context, id string, fn func(s *bookings.Series) ([]*rooms.Mail, error)) (*bookings.Series, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("store: update booking %s: %w", id, err)
	}
	var out *bookings.Series
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		old, err := getSeries(tx, []byte(id))
		if err != nil {
			return err
		}
		s, err := getSeries(tx, []byte(id)) // a second copy for fn to change
		if err != nil {
			return err
		}
		list, err := fn(s)
		if err != nil {
			return err
		}
		if s.ID != id {
			return fmt.Errorf("booking %s: the ID may not change (to %q)", id, s.ID)
		}
		if s.State.Live() {
			if err := recheck(tx, s, old); err != nil {
				return err
			}
		}
		if err := putSeries(tx, s, old); err != nil {
			return err
		}
		for _, m := range list {
			if err := db.queueMail(tx, m); err != nil {
				return err
			}
		}
		out = s
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: update booking %s: %w", id, err)
	}
	return out, nil
}

// recheck applies the gap rule to the occurrences of s that differ from
// old's (all of them if old held no slots or was on another account).
func recheck(tx *bolt.Tx, s, old *bookings.Series) error {
	all, err := accounts(tx)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(all, func(a *bookings.Account) bool { return a.ID == s.AccountID }) {
		return fmt.Errorf("account %q: %w", s.AccountID, rooms.ErrAccountNotFound)
	}
	live, err := liveSeries(tx)
	if err != nil {
		return err
	}
	conflicts, err := bookings.Conflicts(s, live)
	if err != nil || len(conflicts) == 0 {
		return err
	}
	whole := !old.State.Live() || old.AccountID != s.AccountID
	var changed []bookings.Conflict
	moved := map[int]bool{}
	for _, c := range conflicts {
		was, ok := old.Occurrence(c.Requested.Index)
		if whole || !ok || was.Cancelled || !was.Start.Equal(c.Requested.Start) || !was.End.Equal(c.Requested.End) {
			changed = append(changed, c)
			moved[c.Requested.Index] = true
		}
	}
	if len(changed) == 0 {
		return nil
	}
	ce := &bookings.ConflictError{Conflicts: changed}
	if len(moved) == 1 && !whole {
		for index := range moved {
			ce.Alternatives, err = bookings.MoveAlternatives(s, index, live)
		}
		for i := range ce.Alternatives {
			for _, a := range all {
				if a.ID == ce.Alternatives[i].AccountID {
					ce.Alternatives[i].AccountName = a.Name
				}
			}
		}
	} else {
		ce.Alternatives, err = bookings.Alternatives(s, all, live)
	}
	if err != nil {
		return err
	}
	return ce
}

// Series returns one series, or ErrSeriesNotFound.
func (db *DB) Series(ctx context.Context, id string) (*bookings.Series, error) {
	return db.lookupSeries(ctx, "booking "+id, func(*bolt.Tx) []byte { return []byte(id) })
}

// SeriesByLink returns the series one of whose links has this token.
func (db *DB) SeriesByLink(ctx context.Context, token string) (*bookings.Series, error) {
	return db.lookupSeries(ctx, "booking by link", func(tx *bolt.Tx) []byte {
		if token == "" || len(token) > bolt.MaxKeySize {
			return nil
		}
		return tx.Bucket(bucketSeriesByLink).Get([]byte(token))
	})
}

func (db *DB) lookupSeries(ctx context.Context, what string, findID func(*bolt.Tx) []byte) (*bookings.Series, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	var s *bookings.Series
	err := db.bolt.View(func(tx *bolt.Tx) error {
		id := findID(tx)
		if len(id) == 0 {
			return rooms.ErrSeriesNotFound
		}
		var err error
		s, err = getSeries(tx, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	return s, nil
}

// SeriesList returns the series f selects, by first occurrence (then ID).
func (db *DB) SeriesList(ctx context.Context, f bookings.Filter) ([]*bookings.Series, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("store: list bookings: %w", err)
	}
	var list []*bookings.Series
	err := db.bolt.View(func(tx *bolt.Tx) error {
		var err error
		switch {
		case f.AccountID != "":
			list, err = seriesUnder(tx, bucketSeriesByAccount, f.AccountID)
		case f.GroupID != "":
			list, err = seriesUnder(tx, bucketSeriesByGroup, f.GroupID)
		default:
			err = tx.Bucket(bucketSeries).ForEach(func(id, _ []byte) error {
				s, err := getSeries(tx, id)
				list = append(list, s)
				return err
			})
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: list bookings: %w", err)
	}
	out := []*bookings.Series{}
	for _, s := range list {
		if (f.AccountID == "" || s.AccountID == f.AccountID) && (f.GroupID == "" || s.GroupID == f.GroupID) &&
			(len(f.States) == 0 || slices.Contains(f.States, s.State)) {
			out = append(out, s)
		}
	}
	firsts := make(map[string]time.Time, len(out))
	for _, s := range out {
		if occ, err := s.Occurrences(); err == nil && len(occ) > 0 {
			firsts[s.ID] = occ[0].Start
		}
	}
	slices.SortFunc(out, func(a, b *bookings.Series) int {
		if c := firsts[a.ID].Compare(firsts[b.ID]); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// BookingSettings returns the coordinator's settings (zero until set).
func (db *DB) BookingSettings(ctx context.Context) (bookings.Settings, error) {
	if err := ctx.Err(); err != nil {
		return bookings.Settings{}, fmt.Errorf("store: booking settings: %w", err)
	}
	var st bookings.Settings
	err := db.bolt.View(func(tx *bolt.Tx) error {
		var err error
		st, err = getSettings(tx)
		return err
	})
	if err != nil {
		return bookings.Settings{}, fmt.Errorf("store: booking settings: %w", err)
	}
	return st, nil
}

func getSettings(tx *bolt.Tx) (bookings.Settings, error) {
	var st bookings.Settings
	val := tx.Bucket(bucketBookingSettings).Get(keyBookingSettings)
	if val == nil {
		return st, nil
	}
	if err := json.Unmarshal(val, &st); err != nil {
		return bookings.Settings{}, fmt.Errorf("decode booking settings: %w", err)
	}
	return st, nil
}

// UpdateBookingSettings runs fn on the settings in one write transaction
// and stores and returns the result (nothing is stored if fn fails).
func (db *DB) UpdateBookingSettings(ctx context.Context, fn func(*bookings.Settings) error) (bookings.Settings, error) {
	if err := ctx.Err(); err != nil {
		return bookings.Settings{}, fmt.Errorf("store: update booking settings: %w", err)
	}
	var st bookings.Settings
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		var err error
		if st, err = getSettings(tx); err != nil {
			return err
		}
		if err := fn(&st); err != nil {
			return err
		}
		val, err := json.Marshal(st)
		if err != nil {
			return fmt.Errorf("encode booking settings: %w", err)
		}
		return tx.Bucket(bucketBookingSettings).Put(keyBookingSettings, val)
	})
	if err != nil {
		return bookings.Settings{}, fmt.Errorf("store: update booking settings: %w", err)
	}
	return st, nil
}
