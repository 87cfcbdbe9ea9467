package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/parley-dev/parley/rooms"
	bolt "go.etcd.io/bbolt"
)

// Endpoint returns the endpoint with this ID.
func (db *DB) Endpoint(ctx context.Context, id string) (*rooms.Endpoint, error) {
	return db.lookupEndpoint(ctx, "endpoint "+id, func(*bolt.Tx) []byte { return []byte(id) })
}

// EndpointByAddress returns the endpoint with this address, compared
// case-insensitively.
func (db *DB) EndpointByAddress(ctx context.Context, address string) (*rooms.Endpoint, error) {
	return db.lookupEndpoint(ctx, fmt.Sprintf("endpoint %q", address), func(tx *bolt.Tx) []byte {
		return tx.Bucket(bucketEndpointsByAddress).Get([]byte(rooms.AddressKey(address)))
	})
}

// EndpointByEmail returns the member endpoint with this e-mail address.
func (db *DB) EndpointByEmail(ctx context.Context, email string) (*rooms.Endpoint, error) {
	return db.lookupEndpoint(ctx, fmt.Sprintf("endpoint of %q", email), func(tx *bolt.Tx) []byte {
		return tx.Bucket(bucketEndpointsByEmail).Get([]byte(rooms.EmailKey(email)))
	})
}

// Endpoints returns the group's endpoints sorted by address; none (not an
// error) for an unknown group.
func (db *DB) Endpoints(ctx context.Context, groupID string) ([]*rooms.Endpoint, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("store: endpoints of group %s: %w", groupID, err)
	}
	out := []*rooms.Endpoint{}
	err := db.bolt.View(func(tx *bolt.Tx) error {
		eps, err := (&groupTx{tx: tx, g: &rooms.Group{ID: groupID}}).Endpoints()
		out = append(out, eps...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: endpoints of group %s: %w", groupID, err)
	}
	return out, nil
}

func (db *DB) lookupEndpoint(ctx context.Context, what string, findID func(*bolt.Tx) []byte) (*rooms.Endpoint, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	var ep *rooms.Endpoint
	err := db.bolt.View(func(tx *bolt.Tx) error {
		id := findID(tx)
		if len(id) == 0 {
			return rooms.ErrEndpointNotFound
		}
		var err error
		ep, err = getEndpoint(tx, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	return ep, nil
}

func putEndpoint(tx *bolt.Tx, ep *rooms.Endpoint) error {
	val, err := json.Marshal(ep)
	if err != nil {
		return fmt.Errorf("encode endpoint %s: %w", ep.ID, err)
	}
	return tx.Bucket(bucketEndpoints).Put([]byte(ep.ID), val)
}

func getEndpoint(tx *bolt.Tx, id []byte) (*rooms.Endpoint, error) {
	val := tx.Bucket(bucketEndpoints).Get(id)
	if val == nil {
		return nil, fmt.Errorf("endpoint %s: %w", id, rooms.ErrEndpointNotFound)
	}
	ep := new(rooms.Endpoint)
	if err := json.Unmarshal(val, ep); err != nil {
		return nil, fmt.Errorf("decode endpoint %s: %w", id, err)
	}
	return ep, nil
}
