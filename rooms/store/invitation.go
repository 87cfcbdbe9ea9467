package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/parley-dev/parley/rooms"
	bolt "go.etcd.io/bbolt"
)

// Invitations are three buckets (schema.go, version 5): invitations holds
// each one's JSON under its ID; invitations_by_room and
// invitations_by_member have a key per invitation, the room ID (or the
// Inviter) + "/" + dueKey(CreatedAt, ID), so a room's invitations are a
// prefix in time order and the rate limits count a range. The link and
// the message live in their own buckets (guest links, outbox, SMS outbox).

var _ rooms.InvitationStore = (*DB)(nil)

// CreateInvitation stores an invitation, its link and its message in one
// transaction, within the limits. See rooms.InvitationStore.
func (db *DB) CreateInvitation(ctx context.Context, inv *rooms.Invitation, link *rooms.GuestLink, m *rooms.Mail, t *rooms.TextMessage, limits rooms.InvitationLimits) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: create invitation: %w", err)
	}
	if inv == nil || inv.ID == "" || inv.RoomID == "" || inv.Inviter == "" || link == nil ||
		link.ID != inv.LinkID || link.InvitationID != inv.ID || link.RoomID != inv.RoomID {
		return fmt.Errorf("store: create invitation: invitation and link do not match (use rooms.NewInvitation)")
	}
	switch {
	case inv.Via == rooms.ViaEmail && m != nil && t == nil && m.ID == inv.MessageID:
	case inv.Via == rooms.ViaSMS && t != nil && m == nil && t.ID == inv.MessageID:
	default:
		return fmt.Errorf("store: create invitation %s: needs its one message (a mail for email, a text for sms) with MessageID", inv.ID)
	}
	limits = limits.WithDefaults()
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		if err := checkInvitationLimits(tx, inv, limits); err != nil {
			return err
		}
		if err := createGuestLink(tx, link); err != nil {
			return err
		}
		if m != nil {
			if err := db.queueMail(tx, m); err != nil {
				return err
			}
		} else if err := db.queueText(tx, t); err != nil {
			return err
		}
		if tx.Bucket(bucketInvitations).Get([]byte(inv.ID)) != nil {
			return fmt.Errorf("invitation %s already exists", inv.ID)
		}
		if err := putInvitation(tx, inv); err != nil {
			return err
		}
		at := dueKey(inv.CreatedAt, []byte(inv.ID))
		if err := tx.Bucket(bucketInvitationsByRoom).Put(append([]byte(inv.RoomID+"/"), at...), nil); err != nil {
			return err
		}
		return tx.Bucket(bucketInvitationsByMember).Put(append([]byte(inv.Inviter+"/"), at...), nil)
	})
	if err != nil {
		return fmt.Errorf("store: create invitation: %w", err)
	}
	return nil
}

// checkInvitationLimits counts the invitations of inv's inviter and room
// created in the window up to inv.CreatedAt.
func checkInvitationLimits(tx *bolt.Tx, inv *rooms.Invitation, l rooms.InvitationLimits) error {
	since := inv.CreatedAt.Add(-l.Window)
	for _, c := range []struct {
		bucket  []byte
		prefix  string
		limit   int
		perRoom bool
	}{
		{bucketInvitationsByMember, inv.Inviter + "/", l.PerMember, false},
		{bucketInvitationsByRoom, inv.RoomID + "/", l.PerRoom, true},
	} {
		n, oldest := countSince(tx.Bucket(c.bucket), []byte(c.prefix), since)
		if n >= c.limit {
			return &rooms.InvitationLimitError{PerRoom: c.perRoom, Limit: c.limit, Window: l.Window, RetryAt: oldest.Add(l.Window)}
		}
	}
	return nil
}

// countSince counts the index keys under prefix whose time is after
// since, and returns the earliest such time.
func countSince(b *bolt.Bucket, prefix []byte, since time.Time) (int, time.Time) {
	c := b.Cursor()
	n := 0
	var oldest time.Time
	start := append(bytes.Clone(prefix), dueKey(since.Add(time.Nanosecond), nil)...)
	for k, _ := c.Seek(start); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		if len(k) < len(prefix)+dueKeyTimeLen {
			continue
		}
		if n == 0 {
			oldest = dueKeyTime(k[len(prefix):])
		}
		n++
	}
	return n, oldest
}

func putInvitation(tx *bolt.Tx, inv *rooms.Invitation) error {
	val, err := json.Marshal(inv)
	if err != nil {
		return fmt.Errorf("encode invitation %s: %w", inv.ID, err)
	}
	return tx.Bucket(bucketInvitations).Put([]byte(inv.ID), val)
}

// getInvitation decodes the invitation inside tx and fills in its link's
// revocation and its message's progress.
func getInvitation(tx *bolt.Tx, id []byte) (*rooms.Invitation, error) {
	val := tx.Bucket(bucketInvitations).Get(id)
	if val == nil {
		return nil, fmt.Errorf("%s: %w", id, rooms.ErrInvitationNotFound)
	}
	inv := new(rooms.Invitation)
	if err := json.Unmarshal(val, inv); err != nil {
		return nil, fmt.Errorf("decode invitation %s: %w", id, err)
	}
	if l, err := guestLinkByID(tx, inv.LinkID); err == nil {
		inv.RevokedAt = l.RevokedAt
	}
	switch inv.Via {
	case rooms.ViaEmail:
		if m, err := getMail(tx, []byte(inv.MessageID)); err == nil {
			inv.Message = rooms.MessageProgress{State: string(m.State), Attempts: m.Attempts, LastError: m.LastError, SentAt: m.SentAt}
		}
	case rooms.ViaSMS:
		if t, err := getText(tx, []byte(inv.MessageID)); err == nil {
			inv.Message = rooms.MessageProgress{State: string(t.State), Attempts: t.Attempts, LastError: t.LastError, SentAt: t.SentAt, DeliveredAt: t.DeliveredAt}
		}
	}
	return inv, nil
}

// Invitation returns the invitation with this ID. See rooms.InvitationStore.
func (db *DB) Invitation(ctx context.Context, id string) (*rooms.Invitation, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("store: invitation %s: %w", id, err)
	}
	var inv *rooms.Invitation
	err := db.bolt.View(func(tx *bolt.Tx) error {
		var err error
		inv, err = getInvitation(tx, []byte(id))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: invitation: %w", err)
	}
	return inv, nil
}

// RoomInvitations returns the room's invitations, newest first. See
// rooms.InvitationStore.
func (db *DB) RoomInvitations(ctx context.Context, roomID string, limit int) ([]*rooms.Invitation, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("store: invitations of room %s: %w", roomID, err)
	}
	out := []*rooms.Invitation{}
	prefix := []byte(roomID + "/")
	err := db.bolt.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketInvitationsByRoom).Cursor()
		// Walk back from the end of the room's keys: newest first.
		end := append(bytes.Clone(prefix), 0xff)
		k, _ := c.Seek(end)
		if k == nil {
			k, _ = c.Last()
		} else {
			k, _ = c.Prev()
		}
		for ; k != nil && bytes.HasPrefix(k, prefix) && (limit <= 0 || len(out) < limit); k, _ = c.Prev() {
			if len(k) <= len(prefix)+dueKeyTimeLen {
				continue
			}
			inv, err := getInvitation(tx, k[len(prefix)+dueKeyTimeLen:])
			if err != nil {
				return err
			}
			out = append(out, inv)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: invitations of room %s: %w", roomID, err)
	}
	return out, nil
}

// MarkInvitationOpened records the first look-up of the link. See
// rooms.InvitationStore.
func (db *DB) MarkInvitationOpened(ctx context.Context, id string, at time.Time) error {
	return db.updateInvitation(ctx, "mark invitation opened", id, func(inv *rooms.Invitation) bool {
		if !inv.OpenedAt.IsZero() {
			return false
		}
		inv.OpenedAt = at.UTC()
		return true
	})
}

// MarkInvitationJoined records the first guest to join through the link.
// See rooms.InvitationStore.
func (db *DB) MarkInvitationJoined(ctx context.Context, id, name string, at time.Time) error {
	return db.updateInvitation(ctx, "mark invitation joined", id, func(inv *rooms.Invitation) bool {
		if !inv.JoinedAt.IsZero() {
			return false
		}
		if inv.OpenedAt.IsZero() {
			inv.OpenedAt = at.UTC() // joined by a page that never looked first: it was opened too
		}
		inv.JoinedAt, inv.JoinedName = at.UTC(), name
		return true
	})
}

func (db *DB) updateInvitation(ctx context.Context, what, id string, change func(*rooms.Invitation) bool) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: %s %s: %w", what, id, err)
	}
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		inv, err := getInvitation(tx, []byte(id))
		if err != nil {
			return err
		}
		if !change(inv) {
			return nil
		}
		return putInvitation(tx, inv)
	})
	if err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	return nil
}

// deleteRoomInvitations removes the room's invitations inside tx (the room
// is being deleted). Their messages stay in the outboxes, as records; the
// per-member index entries go too, so a deleted room's invitations no
// longer count against their senders.
func deleteRoomInvitations(tx *bolt.Tx, roomID string) error {
	prefix := []byte(roomID + "/")
	byRoom := tx.Bucket(bucketInvitationsByRoom)
	var keys [][]byte
	c := byRoom.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		keys = append(keys, bytes.Clone(k))
	}
	for _, k := range keys {
		if len(k) > len(prefix)+dueKeyTimeLen {
			id := k[len(prefix)+dueKeyTimeLen:]
			if val := tx.Bucket(bucketInvitations).Get(id); val != nil {
				var inv rooms.Invitation
				if json.Unmarshal(val, &inv) == nil {
					mk := append([]byte(inv.Inviter+"/"), k[len(prefix):]...)
					if err := tx.Bucket(bucketInvitationsByMember).Delete(mk); err != nil {
						return err
					}
				}
				if err := tx.Bucket(bucketInvitations).Delete(id); err != nil {
					return err
				}
			}
		}
		if err := byRoom.Delete(k); err != nil {
			return err
		}
	}
	return nil
}
