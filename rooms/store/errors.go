package store

import "errors"

// Errors returned by Open and DB methods, wrapped with context; test with
// errors.Is. Room lookups return the rooms package's sentinels
// (rooms.ErrRoomNotFound, rooms.ErrRoomExists, rooms.ErrInvalidName).
var (
	// ErrLocked means another process (or another DB in this process) has
	// the database file open; Open gave up after Options.Timeout. The error
	// also wraps bbolt's own timeout error.
	ErrLocked = errors.New("database is locked by another process")

	// ErrSchemaTooNew means the file was written by a newer parley whose
	// schema this build does not know. Open refuses it rather than risk
	// damaging data it cannot read; run the newer version or restore a
	// backup.
	ErrSchemaTooNew = errors.New("database schema is newer than this build of parley")

	// ErrInvalidPublicURL means SetPublicURL was given something other than
	// an absolute http or https URL.
	ErrInvalidPublicURL = errors.New("invalid public URL")

	// ErrCorrupt means Check found the file inconsistent: pages lost or
	// used twice, a free list that disagrees with the tree, keys out of
	// order. Restore a backup.
	ErrCorrupt = errors.New("database file is inconsistent")
)
