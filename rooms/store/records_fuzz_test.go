package store

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/parley-dev/parley/rooms"
	bolt "go.etcd.io/bbolt"
)

// FuzzRecordDecoders stores arbitrary bytes, as a damaged or hand-edited
// file holds, as a group, endpoint, guest link or invitation record (kind
// chooses, modulo 4) and reads it back through the DB method that looks
// it up. FuzzRoomRecord does this for rooms, FuzzMailRecord for the
// outbox. The seeds (testdata/fuzz/FuzzRecordDecoders) are records of
// each kind, whole and damaged.
//
// Properties: no method panics; a record that is not its type's JSON
// gives an error that is not the not-found sentinel (the record is there,
// it is broken); one that is decodes without error.
func FuzzRecordDecoders(f *testing.F) {
	db := openFuzzDB(f)
	ctx := context.Background()
	const key = "rec_fuzz"
	kinds := []struct {
		name     string
		bucket   []byte
		value    func() any // a new value of the record's type
		notFound error
		get      func() (any, error)
	}{
		{"group", bucketGroups, func() any { return &rooms.Group{} }, rooms.ErrGroupNotFound, func() (any, error) { return db.Group(ctx, key) }},
		{"endpoint", bucketEndpoints, func() any { return &rooms.Endpoint{} }, rooms.ErrEndpointNotFound, func() (any, error) { return db.Endpoint(ctx, key) }},
		{"guest link", bucketGuestLinks, func() any { return &rooms.GuestLink{} }, rooms.ErrGuestLinkNotFound, func() (any, error) { return db.GuestLinkByHash(ctx, key) }},
		{"invitation", bucketInvitations, func() any { return &rooms.Invitation{} }, rooms.ErrInvitationNotFound, func() (any, error) { return db.Invitation(ctx, key) }},
	}
	f.Fuzz(func(t *testing.T, kind uint8, val []byte) {
		k := kinds[int(kind)%len(kinds)]
		decodes := json.Unmarshal(val, k.value()) == nil
		put := func(v []byte) {
			t.Helper()
			err := db.bolt.Update(func(tx *bolt.Tx) error {
				if v == nil {
					return tx.Bucket(k.bucket).Delete([]byte(key))
				}
				return tx.Bucket(k.bucket).Put([]byte(key), v)
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		put(val)
		defer put(nil)
		got, err := k.get()
		switch {
		case !decodes && (err == nil || errors.Is(err, k.notFound)):
			t.Fatalf("%s record %q = %+v, %v; want a decode error", k.name, val, got, err)
		case decodes && err != nil:
			t.Fatalf("%s record %q: %v; it is valid JSON of its type", k.name, val, err)
		}
	})
}
