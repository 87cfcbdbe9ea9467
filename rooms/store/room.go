package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/parley-dev/parley/rooms"
	bolt "go.etcd.io/bbolt"
)

// CreateRoom stores r. See rooms.Store.
func (db *DB) CreateRoom(ctx context.Context, r *rooms.Room) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: create room: %w", err)
	}
	if r == nil || r.ID == "" || r.Link == "" {
		return fmt.Errorf("store: create room: ID and link are required (use rooms.New)")
	}
	name, err := rooms.ValidateName(r.Name)
	if err != nil {
		return fmt.Errorf("store: create room: %w", err)
	}
	if name != r.Name {
		return fmt.Errorf("store: create room: %w: %q is not normalised (want %q)", rooms.ErrInvalidName, r.Name, name)
	}
	rec := *r
	if rec.CreatedAt.IsZero() {
		rec.CreatedAt = db.now().UTC()
	}
	val, err := json.Marshal(&rec)
	if err != nil {
		return fmt.Errorf("store: create room: encode: %w", err)
	}
	nameKey, linkKey, idKey := []byte(rooms.NameKey(rec.Name)), []byte(rec.Link), []byte(rec.ID)
	err = db.bolt.Update(func(tx *bolt.Tx) error {
		b, byName, byLink := tx.Bucket(bucketRooms), tx.Bucket(bucketRoomsByName), tx.Bucket(bucketRoomsByLink)
		switch {
		case byName.Get(nameKey) != nil:
			return fmt.Errorf("name %q: %w", rec.Name, rooms.ErrRoomExists)
		case b.Get(idKey) != nil:
			return fmt.Errorf("id %q: %w", rec.ID, rooms.ErrRoomExists)
		case byLink.Get(linkKey) != nil:
			return fmt.Errorf("link collision: %w", rooms.ErrRoomExists)
		}
		if err := b.Put(idKey, val); err != nil {
			return err
		}
		if err := byName.Put(nameKey, idKey); err != nil {
			return err
		}
		return byLink.Put(linkKey, idKey)
	})
	if err != nil {
		return fmt.Errorf("store: create room: %w", err)
	}
	if r.CreatedAt.IsZero() {
		r.CreatedAt = rec.CreatedAt
	}
	return nil
}

// Room returns the room with this ID. See rooms.Store.
func (db *DB) Room(ctx context.Context, id string) (*rooms.Room, error) {
	return db.lookup(ctx, "room "+id, func(tx *bolt.Tx) []byte { return []byte(id) })
}

// RoomByName returns the room whose name matches case-insensitively.
func (db *DB) RoomByName(ctx context.Context, name string) (*rooms.Room, error) {
	return db.lookup(ctx, fmt.Sprintf("room named %q", name), func(tx *bolt.Tx) []byte {
		return tx.Bucket(bucketRoomsByName).Get([]byte(rooms.NameKey(name)))
	})
}

// RoomByLink returns the room with this join link.
func (db *DB) RoomByLink(ctx context.Context, link string) (*rooms.Room, error) {
	// The link is a secret: keep it out of error messages and logs.
	return db.lookup(ctx, "room by link", func(tx *bolt.Tx) []byte {
		return tx.Bucket(bucketRoomsByLink).Get([]byte(link))
	})
}

// lookup finds a room ID with findID (nil if absent) and decodes the room,
// all in one read transaction.
func (db *DB) lookup(ctx context.Context, what string, findID func(*bolt.Tx) []byte) (*rooms.Room, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	var r *rooms.Room
	err := db.bolt.View(func(tx *bolt.Tx) error {
		id := findID(tx)
		if len(id) == 0 {
			return rooms.ErrRoomNotFound
		}
		var err error
		r, err = getRoom(tx, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	return r, nil
}

// Rooms returns every room sorted by rooms.NameKey, the order of the
// rooms_by_name index.
func (db *DB) Rooms(ctx context.Context) ([]*rooms.Room, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("store: list rooms: %w", err)
	}
	out := []*rooms.Room{} // [] not null when encoded
	err := db.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketRoomsByName).ForEach(func(_, id []byte) error {
			r, err := getRoom(tx, id)
			if err != nil {
				return err
			}
			out = append(out, r)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store: list rooms: %w", err)
	}
	return out, nil
}

// DeleteRoom removes the room and its index entries in one transaction.
func (db *DB) DeleteRoom(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: delete room %s: %w", id, err)
	}
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		r, err := getRoom(tx, []byte(id))
		if err != nil {
			return err
		}
		// Remove index entries only if they point at this room, so a
		// damaged index cannot make us delete another room's entry.
		for _, ix := range []struct {
			bucket []byte
			key    string
		}{{bucketRoomsByName, rooms.NameKey(r.Name)}, {bucketRoomsByLink, r.Link}} {
			b := tx.Bucket(ix.bucket)
			if string(b.Get([]byte(ix.key))) == id {
				if err := b.Delete([]byte(ix.key)); err != nil {
					return err
				}
			}
		}
		if err := deleteRoomGuestLinks(tx, id); err != nil {
			return err
		}
		if err := deleteRoomInvitations(tx, id); err != nil {
			return err
		}
		return tx.Bucket(bucketRooms).Delete([]byte(id))
	})
	if err != nil {
		return fmt.Errorf("store: delete room %s: %w", id, err)
	}
	return nil
}

// getRoom decodes the room with this ID inside tx. The result shares no
// memory with the transaction (json.Unmarshal copies), so it outlives it.
func getRoom(tx *bolt.Tx, id []byte) (*rooms.Room, error) {
	val := tx.Bucket(bucketRooms).Get(id)
	if val == nil {
		return nil, rooms.ErrRoomNotFound
	}
	r := new(rooms.Room)
	if err := json.Unmarshal(val, r); err != nil {
		return nil, fmt.Errorf("decode room %s: %w", id, err)
	}
	return r, nil
}
