package rooms

import "errors"

// Errors returned by this package and by every Store implementation. Callers
// test for them with errors.Is; the returned errors wrap them with context.
var (
	// ErrRoomNotFound means no room has the requested ID, name or link.
	ErrRoomNotFound = errors.New("room not found")

	// ErrRoomExists means another room already has the name (compared
	// case-insensitively, see NameKey). A Store also returns it in the
	// astronomically unlikely case of a colliding random ID or link.
	ErrRoomExists = errors.New("room already exists")

	// ErrInvalidName means a room name breaks the rules in ValidateName. The
	// wrapping error says which rule.
	ErrInvalidName = errors.New("invalid room name")
)

// Errors about outgoing mail.
var (
	// ErrInvalidEmail means an e-mail address breaks the rules in
	// ValidateEmail. The wrapping error says which rule.
	ErrInvalidEmail = errors.New("invalid email address")

	// ErrMailNotFound means no outbox message has the requested ID.
	ErrMailNotFound = errors.New("mail not found")
)
