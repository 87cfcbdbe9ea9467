package store

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Backup writes a consistent copy of the whole database to w while the
// server keeps running (a read transaction; writers are not blocked). The
// copy is a bbolt file that Open accepts. It returns the bytes written.
func (db *DB) Backup(w io.Writer) (int64, error) {
	return db.BackupTo(w, nil)
}

// BackupTo is Backup for a writer that must know the copy's length before
// the first byte, such as an HTTP response with a Content-Length: inside
// the read transaction it calls size (if not nil) with the exact number of
// bytes it is about to write, then writes them.
//
// The read transaction lasts until w has taken the whole copy, and while
// it lasts a write that needs the file to grow waits for it; a caller
// writing to a slow reader should bound the time with a deadline.
func (db *DB) BackupTo(w io.Writer, size func(int64)) (int64, error) {
	var n int64
	err := db.bolt.View(func(tx *bolt.Tx) error {
		if size != nil {
			size(tx.Size())
		}
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	if err != nil {
		return n, fmt.Errorf("store: backup: %w", err)
	}
	return n, nil
}

// BackupFile copies the database file at path to w as BackupTo does, for
// when no server has it open: it opens the file read-only (waiting up to
// timeout, default 1s, for another opener's lock, then failing with
// ErrLocked), runs no migrations and writes nothing to it. A missing file
// fails with ErrNoDatabase.
func BackupFile(path string, w io.Writer, size func(int64), timeout time.Duration) (int64, error) {
	if timeout <= 0 {
		timeout = time.Second
	}
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: timeout})
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return 0, fmt.Errorf("store: backup %s: %w: %w", path, ErrNoDatabase, err)
	case errors.Is(err, bolt.ErrTimeout):
		return 0, fmt.Errorf("store: backup %s: %w: %w", path, ErrLocked, err)
	case err != nil:
		return 0, fmt.Errorf("store: backup %s: %w", path, err)
	}
	defer bdb.Close()
	return (&DB{bolt: bdb}).BackupTo(w, size)
}

// Check runs bbolt's consistency check over the whole file in a read
// transaction: every page reachable or free, none twice, keys in order.
// It returns nil for a sound file, or an error wrapping ErrCorrupt that
// lists the first problems found.
func (db *DB) Check() error {
	var errs []error
	err := db.bolt.View(func(tx *bolt.Tx) error {
		errs = collectCheck(tx)
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: check: %w", err)
	}
	return checkResult(db.bolt.Path(), errs)
}

// CheckFile opens the bbolt file at path read-only (waiting up to timeout
// for a writer's lock; default 1s) and runs Check on it, without touching
// its schema. It is how a fresh backup is verified before it replaces
// anything. A file that is not a bbolt database fails with ErrCorrupt.
func CheckFile(path string, timeout time.Duration) error {
	if timeout <= 0 {
		timeout = time.Second
	}
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: timeout})
	switch {
	case errors.Is(err, bolt.ErrTimeout):
		return fmt.Errorf("store: check %s: %w: %w", path, ErrLocked, err)
	case errors.Is(err, bolt.ErrInvalid), errors.Is(err, bolt.ErrVersionMismatch), errors.Is(err, bolt.ErrChecksum):
		return fmt.Errorf("store: check %s: %w: %w", path, ErrCorrupt, err)
	case err != nil:
		return fmt.Errorf("store: check %s: %w", path, err)
	}
	defer bdb.Close()
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("store: check %s: %w", path, err)
	}
	var errs []error
	err = bdb.View(func(tx *bolt.Tx) error {
		// A truncated copy has sound meta pages that point past its end;
		// reading those pages would fault, so measure before walking.
		if want := tx.Size(); fi.Size() < want {
			return fmt.Errorf("%w: the file has %d bytes, its header says %d (truncated)", ErrCorrupt, fi.Size(), want)
		}
		errs = collectCheck(tx)
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: check %s: %w", path, err)
	}
	return checkResult(path, errs)
}

// maxCheckErrors bounds what Check reports of a badly damaged file.
const maxCheckErrors = 10

// collectCheck drains tx.Check, keeping the first maxCheckErrors problems.
func collectCheck(tx *bolt.Tx) []error {
	var errs []error
	for err := range tx.Check() {
		if len(errs) < maxCheckErrors {
			errs = append(errs, err)
		}
	}
	return errs
}

func checkResult(path string, errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("store: check %s: %w: %w", path, ErrCorrupt, errors.Join(errs...))
}
