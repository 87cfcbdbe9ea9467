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

	// ErrNoDatabase means Open was told not to create the file
	// (Options.NoCreate) and there is none. The error also wraps
	// fs.ErrNotExist.
	ErrNoDatabase = errors.New("no database file")

	// ErrCorrupt means Check found the file's structure damaged; the
	// wrapping error lists what it found.
	ErrCorrupt = errors.New("database file is damaged")

	// ErrInvalidPublicURL means SetPublicURL was given something other than
	// an absolute http or https URL.
	ErrInvalidPublicURL = errors.New("invalid public URL")
)
