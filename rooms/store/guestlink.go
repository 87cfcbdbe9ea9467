package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/parley-dev/parley/rooms"
	bolt "go.etcd.io/bbolt"
)

// Guest links are three buckets (schema.go, version 4): guest_links holds
// each link's JSON under its token hash, guest_links_by_id maps the link's
// ID to that hash, guest_links_by_room has a key room ID + "/" + link ID
// (value: the hash) per link. The tx-level functions below (createGuestLink,
// guestLinkByID, revokeGuestLink, roomGuestLinks) work inside a caller's
// transaction, so another record (an invitation) can be written with its
// link.

var _ rooms.GuestLinkStore = (*DB)(nil)

// CreateGuestLink stores a new link; see rooms.GuestLinkStore.
func (db *DB) CreateGuestLink(ctx context.Context, l *rooms.GuestLink) error {
	return db.UpdateGuestLinks(ctx, func(tx rooms.GuestLinkTx) error { return tx.CreateGuestLink(l) })
}

// GuestLinkByHash returns the link whose token has this hash.
func (db *DB) GuestLinkByHash(ctx context.Context, hash string) (*rooms.GuestLink, error) {
	return db.viewGuestLink(ctx, "guest link by token", func(tx *bolt.Tx) (*rooms.GuestLink, error) {
		return getGuestLink(tx, []byte(hash))
	})
}

// GuestLink returns the link with this ID.
func (db *DB) GuestLink(ctx context.Context, id string) (*rooms.GuestLink, error) {
	return db.viewGuestLink(ctx, "guest link "+id, func(tx *bolt.Tx) (*rooms.GuestLink, error) {
		return guestLinkByID(tx, id)
	})
}

// StandingGuestLink returns the room's standing link that is not revoked.
func (db *DB) StandingGuestLink(ctx context.Context, roomID string) (*rooms.GuestLink, error) {
	return db.viewGuestLink(ctx, "standing guest link of room "+roomID, func(tx *bolt.Tx) (*rooms.GuestLink, error) {
		return standingGuestLink(tx, roomID)
	})
}

func (db *DB) viewGuestLink(ctx context.Context, what string, find func(*bolt.Tx) (*rooms.GuestLink, error)) (*rooms.GuestLink, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	var l *rooms.GuestLink
	err := db.bolt.View(func(tx *bolt.Tx) error {
		var err error
		l, err = find(tx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	return l, nil
}

// GuestLinks returns the room's links, newest first.
func (db *DB) GuestLinks(ctx context.Context, roomID string) ([]*rooms.GuestLink, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("store: guest links of room %s: %w", roomID, err)
	}
	var out []*rooms.GuestLink
	err := db.bolt.View(func(tx *bolt.Tx) error {
		var err error
		out, err = roomGuestLinks(tx, roomID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: guest links of room %s: %w", roomID, err)
	}
	return out, nil
}

// RevokeGuestLink marks the link revoked.
func (db *DB) RevokeGuestLink(ctx context.Context, id string, at time.Time, who string) (*rooms.GuestLink, error) {
	var l *rooms.GuestLink
	err := db.UpdateGuestLinks(ctx, func(tx rooms.GuestLinkTx) error {
		var err error
		l, err = tx.RevokeGuestLink(id, at, who)
		return err
	})
	return l, err
}

// UpdateGuestLinks runs fn in one write transaction.
func (db *DB) UpdateGuestLinks(ctx context.Context, fn func(tx rooms.GuestLinkTx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: update guest links: %w", err)
	}
	err := db.bolt.Update(func(tx *bolt.Tx) error { return fn(&guestLinkTx{tx: tx, db: db}) })
	if err != nil {
		return fmt.Errorf("store: update guest links: %w", err)
	}
	return nil
}

// guestLinkTx implements rooms.GuestLinkTx on a bbolt write transaction.
type guestLinkTx struct {
	tx *bolt.Tx
	db *DB
}

func (t *guestLinkTx) CreateGuestLink(l *rooms.GuestLink) error { return createGuestLink(t.tx, l) }
func (t *guestLinkTx) GuestLink(id string) (*rooms.GuestLink, error) {
	return guestLinkByID(t.tx, id)
}
func (t *guestLinkTx) GuestLinks(roomID string) ([]*rooms.GuestLink, error) {
	return roomGuestLinks(t.tx, roomID)
}
func (t *guestLinkTx) RevokeGuestLink(id string, at time.Time, who string) (*rooms.GuestLink, error) {
	return revokeGuestLink(t.tx, id, at, who)
}
func (t *guestLinkTx) PutMail(m *rooms.Mail) error { return t.db.queueMail(t.tx, m) }

// createGuestLink stores the new link l inside tx: its room must exist;
// a standing link revokes the room's current one.
func createGuestLink(tx *bolt.Tx, l *rooms.GuestLink) error {
	if l == nil || l.ID == "" || l.Hash == "" || l.RoomID == "" ||
		(l.Kind != rooms.GuestLinkStanding && l.Kind != rooms.GuestLinkInvitation) {
		return fmt.Errorf("guest link: ID, hash, room and kind are required (use rooms.NewGuestLink)")
	}
	if _, err := getRoom(tx, []byte(l.RoomID)); err != nil {
		return fmt.Errorf("guest link %s: room %s: %w", l.ID, l.RoomID, err)
	}
	if tx.Bucket(bucketGuestLinks).Get([]byte(l.Hash)) != nil || tx.Bucket(bucketGuestLinksByID).Get([]byte(l.ID)) != nil {
		return fmt.Errorf("guest link %s already exists", l.ID)
	}
	if l.Kind == rooms.GuestLinkStanding {
		old, err := standingGuestLink(tx, l.RoomID)
		switch {
		case err == nil:
			if _, err := revokeGuestLink(tx, old.ID, l.CreatedAt, l.CreatedBy); err != nil {
				return err
			}
		case err != rooms.ErrGuestLinkNotFound:
			return err
		}
	}
	if err := putGuestLink(tx, l); err != nil {
		return err
	}
	if err := tx.Bucket(bucketGuestLinksByID).Put([]byte(l.ID), []byte(l.Hash)); err != nil {
		return err
	}
	return tx.Bucket(bucketGuestLinksByRoom).Put([]byte(l.RoomID+"/"+l.ID), []byte(l.Hash))
}

func putGuestLink(tx *bolt.Tx, l *rooms.GuestLink) error {
	val, err := json.Marshal(l)
	if err != nil {
		return fmt.Errorf("encode guest link %s: %w", l.ID, err)
	}
	return tx.Bucket(bucketGuestLinks).Put([]byte(l.Hash), val)
}

func getGuestLink(tx *bolt.Tx, hash []byte) (*rooms.GuestLink, error) {
	val := tx.Bucket(bucketGuestLinks).Get(hash)
	if val == nil {
		return nil, rooms.ErrGuestLinkNotFound
	}
	l := new(rooms.GuestLink)
	if err := json.Unmarshal(val, l); err != nil {
		return nil, fmt.Errorf("decode guest link: %w", err)
	}
	return l, nil
}

// guestLinkByID returns the link with this ID inside tx.
func guestLinkByID(tx *bolt.Tx, id string) (*rooms.GuestLink, error) {
	hash := tx.Bucket(bucketGuestLinksByID).Get([]byte(id))
	if hash == nil {
		return nil, rooms.ErrGuestLinkNotFound
	}
	return getGuestLink(tx, hash)
}

// revokeGuestLink marks the link revoked inside tx (once: a revoked link
// keeps its first RevokedAt).
func revokeGuestLink(tx *bolt.Tx, id string, at time.Time, who string) (*rooms.GuestLink, error) {
	l, err := guestLinkByID(tx, id)
	if err != nil {
		return nil, err
	}
	if !l.RevokedAt.IsZero() {
		return l, nil
	}
	l.RevokedAt, l.RevokedBy = at.UTC(), who
	return l, putGuestLink(tx, l)
}

// roomGuestLinks returns the room's links inside tx, newest first.
func roomGuestLinks(tx *bolt.Tx, roomID string) ([]*rooms.GuestLink, error) {
	out := []*rooms.GuestLink{}
	prefix := []byte(roomID + "/")
	c := tx.Bucket(bucketGuestLinksByRoom).Cursor()
	for k, hash := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, hash = c.Next() {
		l, err := getGuestLink(tx, hash)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.After(out[j].CreatedAt)
		}
		return out[i].ID > out[j].ID
	})
	return out, nil
}

func standingGuestLink(tx *bolt.Tx, roomID string) (*rooms.GuestLink, error) {
	links, err := roomGuestLinks(tx, roomID)
	if err != nil {
		return nil, err
	}
	for _, l := range links {
		if l.Kind == rooms.GuestLinkStanding && l.RevokedAt.IsZero() {
			return l, nil
		}
	}
	return nil, rooms.ErrGuestLinkNotFound
}

// deleteRoomGuestLinks removes every link of the room inside tx (the room
// is being deleted).
func deleteRoomGuestLinks(tx *bolt.Tx, roomID string) error {
	prefix := []byte(roomID + "/")
	byRoom := tx.Bucket(bucketGuestLinksByRoom)
	var keys, hashes [][]byte
	c := byRoom.Cursor()
	for k, hash := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, hash = c.Next() {
		keys = append(keys, bytes.Clone(k))
		hashes = append(hashes, bytes.Clone(hash))
	}
	for i, k := range keys {
		id := k[len(prefix):]
		if err := tx.Bucket(bucketGuestLinks).Delete(hashes[i]); err != nil {
			return err
		}
		if err := tx.Bucket(bucketGuestLinksByID).Delete(id); err != nil {
			return err
		}
		if err := byRoom.Delete(k); err != nil {
			return err
		}
	}
	return nil
}
