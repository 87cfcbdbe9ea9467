package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/parley-dev/parley/rooms"
	bolt "go.etcd.io/bbolt"
)

// EnqueueMail stores m in the outbox on its own. A change that must tell
// someone writes its Mail with putMail inside its own transaction instead.
func (db *DB) EnqueueMail(ctx context.Context, m *rooms.Mail) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: enqueue mail: %w", err)
	}
	if err := db.bolt.Update(func(tx *bolt.Tx) error { return putMail(tx, m) }); err != nil {
		return fmt.Errorf("store: enqueue mail: %w", err)
	}
	return nil
}

// putMail writes m (new or updated) to the outbox inside tx. m.ID and m.To
// are required (rooms.NewMail provides them).
func putMail(tx *bolt.Tx, m *rooms.Mail) error {
	if m == nil || m.ID == "" || m.To == "" {
		return fmt.Errorf("mail: ID and recipient are required (use rooms.NewMail)")
	}
	val, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode mail %s: %w", m.ID, err)
	}
	return tx.Bucket(bucketOutbox).Put([]byte(m.ID), val)
}

// getMail decodes the outbox message with this ID inside tx.
func getMail(tx *bolt.Tx, id []byte) (*rooms.Mail, error) {
	val := tx.Bucket(bucketOutbox).Get(id)
	if val == nil {
		return nil, fmt.Errorf("%s: %w", id, rooms.ErrMailNotFound)
	}
	m := new(rooms.Mail)
	if err := json.Unmarshal(val, m); err != nil {
		return nil, fmt.Errorf("decode mail %s: %w", id, err)
	}
	return m, nil
}
