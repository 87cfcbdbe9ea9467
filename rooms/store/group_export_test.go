package store

import (
	"github.com/parley-dev/parley/rooms"
	bolt "go.etcd.io/bbolt"
)

// MigrateTo runs the first n migrations inside tx and records version n,
// for the external tests to make a file as an older build left it.
func MigrateTo(tx *bolt.Tx, n int) error {
	for i := range n {
		if err := migrations[i](tx); err != nil {
			return err
		}
	}
	return tx.Bucket(bucketMeta).Put(keySchemaVersion, []byte{byte('0' + n)})
}

// PutMail is putMail for the external tests.
func PutMail(tx *bolt.Tx, m *rooms.Mail) error { return putMail(tx, m) }
