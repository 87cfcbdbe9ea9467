// Package store is parley's persistence: one bbolt file holding rooms, the
// outbox, groups and their endpoints, guest links, invitations, meeting
// accounts and their bookings, plus server metadata such as the token
// signing key and the public URL. DB implements rooms.Store,
// rooms.GroupStore, rooms.BookingStore and the others of package rooms.
// This is the only package that imports bbolt; the schema and its
// migrations are described in schema.go.
package store

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/parley-dev/parley/rooms"
	bolt "go.etcd.io/bbolt"
)

// SigningKeySize is the length in bytes of the key SigningKey creates.
const SigningKeySize = 32

// Options configures Open. The zero value means the defaults.
type Options struct {
	// Timeout is how long Open waits for the file lock held by another
	// opener before failing with ErrLocked. Default 1s.
	Timeout time.Duration
	// Now is the clock used to fill in a zero Room.CreatedAt. Default time.Now.
	Now func() time.Time
	// NoCreate makes Open fail with an error wrapping ErrNoDatabase, and
	// create nothing, when the file does not exist: the CLI, working
	// without a server, must not make a fresh empty database in a
	// mistyped directory.
	NoCreate bool
	// OnMailQueued, if set, is called after each committed transaction
	// that put a message in the outbox (EnqueueMail, or a group change
	// that mails someone), so that a mail dispatcher can send it at once.
	// It must not block.
	OnMailQueued func()
	// OnTextQueued is OnMailQueued for the SMS outbox (an invitation
	// sent by text message), for the SMS dispatcher.
	OnTextQueued func()
}

// DB is an open parley database. Its methods are safe for concurrent use.
type DB struct {
	// Set at construction.
	bolt   *bolt.DB
	now    func() time.Time
	onMail func() // Options.OnMailQueued; nil for none
	onText func() // Options.OnTextQueued; nil for none
}

var _ rooms.Store = (*DB)(nil)

// Open opens (creating if needed) the database at path, creating its parent
// directory with mode 0700 and the file with mode 0600, and brings the schema
// up to date. If another opener holds the file, Open fails after
// opts.Timeout with an error wrapping ErrLocked; a file from a newer parley
// fails with ErrSchemaTooNew. With opts.NoCreate a missing file fails with
// ErrNoDatabase.
func Open(path string, opts Options) (*DB, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	bopts := &bolt.Options{Timeout: opts.Timeout}
	if opts.NoCreate {
		bopts.OpenFile = func(name string, flag int, perm os.FileMode) (*os.File, error) {
			return os.OpenFile(name, flag&^os.O_CREATE, perm)
		}
	} else if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("store: create directory for %s: %w", path, err)
	}
	bdb, err := bolt.Open(path, 0o600, bopts)
	if opts.NoCreate && errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("store: open %s: %w: %w", path, ErrNoDatabase, err)
	}
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("store: open %s: %w (gave up after %s): %w", path, ErrLocked, opts.Timeout, err)
	}
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if err := bdb.Update(migrate); err != nil {
		_ = bdb.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	return &DB{bolt: bdb, now: opts.Now, onMail: opts.OnMailQueued, onText: opts.OnTextQueued}, nil
}

// Close releases the file and its lock.
func (db *DB) Close() error {
	if err := db.bolt.Close(); err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}

// SchemaVersion returns the schema version recorded in the file.
func (db *DB) SchemaVersion() (int, error) {
	var v int
	err := db.bolt.View(func(tx *bolt.Tx) error {
		var err error
		v, err = schemaVersion(tx)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: schema version: %w", err)
	}
	return v, nil
}

// SigningKey returns the server's key for signing join tokens: 32 random
// bytes created on the first call and kept in the file, so tokens survive a
// restart. Rotating it (deleting meta/signing_key) invalidates every
// outstanding token.
func (db *DB) SigningKey() ([]byte, error) {
	var key []byte
	err := db.bolt.View(func(tx *bolt.Tx) error {
		key = bytes.Clone(tx.Bucket(bucketMeta).Get(keySigningKey))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: signing key: %w", err)
	}
	if key != nil {
		return key, nil
	}
	err = db.bolt.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if k := meta.Get(keySigningKey); k != nil { // created meanwhile
			key = bytes.Clone(k)
			return nil
		}
		key = make([]byte, SigningKeySize)
		_, _ = rand.Read(key) // never fails since Go 1.24
		return meta.Put(keySigningKey, key)
	})
	if err != nil {
		return nil, fmt.Errorf("store: create signing key: %w", err)
	}
	return key, nil
}

// PublicURL returns the base URL recorded by SetPublicURL, or "".
func (db *DB) PublicURL() (string, error) {
	var u string
	err := db.bolt.View(func(tx *bolt.Tx) error {
		u = string(tx.Bucket(bucketMeta).Get(keyPublicURL))
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("store: public URL: %w", err)
	}
	return u, nil
}

// SetPublicURL records the base URL the server serves join links on (such
// as "https://meet.example.org"), so the CLI can print links while the
// server is down. It must be an absolute http or https URL without query or
// fragment; a trailing "/" is dropped. "" clears it.
func (db *DB) SetPublicURL(u string) error {
	u = strings.TrimRight(strings.TrimSpace(u), "/")
	if u != "" {
		p, err := url.Parse(u)
		if err != nil {
			return fmt.Errorf("store: set public URL: %w: %w", ErrInvalidPublicURL, err)
		}
		if (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" || p.RawQuery != "" || p.Fragment != "" || p.User != nil {
			return fmt.Errorf("store: set public URL %q: %w: want http(s)://host[:port][/path]", u, ErrInvalidPublicURL)
		}
	}
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if u == "" {
			return meta.Delete(keyPublicURL)
		}
		return meta.Put(keyPublicURL, []byte(u))
	})
	if err != nil {
		return fmt.Errorf("store: set public URL: %w", err)
	}
	return nil
}
