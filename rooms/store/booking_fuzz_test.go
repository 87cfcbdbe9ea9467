package store

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/parley-dev/parley/bookings"
	"github.com/parley-dev/parley/rooms"
	bolt "go.etcd.io/bbolt"
)

// FuzzSeriesRecord stores arbitrary bytes as a booking's record, as a
// damaged or hand-edited file holds, indexed under an account, a group
// and a link, and reads it back and books around it. The seeds
// (testdata/fuzz/FuzzSeriesRecord) are records this package writes and
// damaged ones.
//
// Properties: no method panics or runs away; a record that is not a
// series' JSON gives an error (not ErrSeriesNotFound) from Series,
// SeriesByLink and SeriesList, and stops Book deciding the gap rule (an
// error, nothing stored); one that is gives the series json.Unmarshal
// makes of it from each of them, expands to at most MaxOccurrences+1
// occurrences, and Book beside it either stores the new series or
// refuses it with an error.
func FuzzSeriesRecord(f *testing.F) {
	db := openFuzzDB(f)
	ctx := context.Background()
	const id, account, group, token = "b_fuzz", "a_fuzz", "g_fuzz", "fuzztoken"
	if err := db.CreateAccount(ctx, &bookings.Account{ID: account, Name: "Fuzz account"}); err != nil {
		f.Fatal(err)
	}
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		f.Fatal(err)
	}
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, val []byte) {
		var want bookings.Series
		decodes := json.Unmarshal(val, &want) == nil
		err := db.bolt.Update(func(tx *bolt.Tx) error {
			return errors.Join(tx.Bucket(bucketSeries).Put([]byte(id), val),
				tx.Bucket(bucketSeriesByAccount).Put(ownerKey(account, id), nil),
				tx.Bucket(bucketSeriesByGroup).Put(ownerKey(group, id), nil),
				tx.Bucket(bucketSeriesByLink).Put([]byte(token), []byte(id)))
		})
		if err != nil {
			t.Fatal(err)
		}
		defer clearBuckets(t, db, bucketSeries, bucketSeriesByAccount, bucketSeriesByGroup, bucketSeriesByLink)

		lookups := map[string]func() (*bookings.Series, error){
			"Series":       func() (*bookings.Series, error) { return db.Series(ctx, id) },
			"SeriesByLink": func() (*bookings.Series, error) { return db.SeriesByLink(ctx, token) },
		}
		for name, f := range map[string]bookings.Filter{"all": {}, "account": {AccountID: account}, "group": {GroupID: group}} {
			lookups["SeriesList "+name] = func() (*bookings.Series, error) {
				list, err := db.SeriesList(ctx, f)
				if err != nil {
					return nil, err
				}
				for _, s := range list {
					if s.ID == want.ID || len(list) == 1 {
						return s, nil
					}
				}
				return nil, errors.New("not listed")
			}
		}
		for name, lookup := range lookups {
			got, err := lookup()
			switch {
			case !decodes && (err == nil || errors.Is(err, rooms.ErrSeriesNotFound)):
				t.Fatalf("%s of record %q = %+v, %v; want a decode error", name, val, got, err)
			case decodes && name != "SeriesList account" && name != "SeriesList group" && (err != nil || !reflect.DeepEqual(*got, want)):
				t.Fatalf("%s of record %q = %+v, %v; want %+v", name, val, got, err, want)
			}
		}
		if decodes {
			if occ, err := want.Occurrences(); err == nil && len(occ) > bookings.MaxOccurrences+1 {
				t.Fatalf("record %q expands to %d occurrences", val, len(occ))
			}
			_ = want.Summary()
			_, _ = want.Current(now)
			_, _ = want.NeededLink(now, 72*time.Hour)
		}
		req := bookings.Request{LeaderName: "Fuzz", LeaderEmail: "fuzz@example.org", Account: "any",
			FirstDate: "2026-12-02", StartTime: "19:00", DurationMinutes: 60,
			Recurrence: bookings.Recurrence{Frequency: bookings.Weekly, Count: 3}}
		s, errs := bookings.NewSeries(req, group, "Fuzz group", bookings.Limits{Location: loc}, now)
		if errs != nil {
			t.Fatal(errs)
		}
		s.AccountID = account
		err = db.Book(ctx, s, nil)
		if !decodes && err == nil {
			t.Fatalf("Book beside undecodable record %q succeeded", val)
		}
		if err == nil {
			if _, err := db.Series(ctx, s.ID); err != nil {
				t.Fatalf("booked, then Series: %v", err)
			}
		}
		if _, err := db.UpdateSeries(ctx, id, func(*bookings.Series) ([]*rooms.Mail, error) { return nil, nil }); !decodes && err == nil {
			t.Fatalf("UpdateSeries of undecodable record %q = %v", val, err)
		}
	})
}

// clearBuckets empties the named buckets.
func clearBuckets(t *testing.T, db *DB, names ...[]byte) {
	t.Helper()
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		for _, b := range names {
			if err := tx.DeleteBucket(b); err != nil {
				return err
			}
			if _, err := tx.CreateBucket(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
