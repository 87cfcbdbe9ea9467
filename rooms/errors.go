package rooms

import (
	"errors"
	"fmt"
)

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

// Errors about groups and endpoints.
var (
	// ErrGroupNotFound means no group has the requested ID, name or
	// activation link.
	ErrGroupNotFound = errors.New("group not found")

	// ErrGroupExists means another group already has the name (compared
	// by GroupKey).
	ErrGroupExists = errors.New("group name already taken")

	// ErrEmailTaken means a member e-mail address already belongs to an
	// endpoint (of another group, or earlier in the same list). The
	// error is an *EmailTakenError saying which address.
	ErrEmailTaken = errors.New("email address already in a group")

	// ErrEndpointNotFound means no endpoint has the requested ID or
	// address (in the group asked about).
	ErrEndpointNotFound = errors.New("endpoint not found")

	// ErrInvalidGroupName, ErrInvalidPersonName, ErrInvalidPassword,
	// ErrInvalidPIN and ErrInvalidEndpointName mean a field breaks its
	// rule; the wrapping error says which, in plain words.
	ErrInvalidGroupName    = errors.New("invalid group name")
	ErrInvalidPersonName   = errors.New("invalid name")
	ErrInvalidPassword     = errors.New("invalid password")
	ErrInvalidPIN          = errors.New("invalid PIN")
	ErrInvalidEndpointName = errors.New("invalid endpoint name")
)

// EmailTakenError is the error for a member e-mail address already in
// use; errors.Is(err, ErrEmailTaken) holds.
type EmailTakenError struct {
	Email string
}

func (e *EmailTakenError) Error() string { return fmt.Sprintf("%q: %v", e.Email, ErrEmailTaken) }

// Is makes errors.Is(err, ErrEmailTaken) true.
func (e *EmailTakenError) Is(target error) bool { return target == ErrEmailTaken }

// Errors about guest links.
var (
	// ErrGuestLinkNotFound means no guest link has the requested token or
	// ID (or it belongs to another room).
	ErrGuestLinkNotFound = errors.New("guest link not found")

	// ErrGuestLinkExpired means an invitation link's time ran out.
	ErrGuestLinkExpired = errors.New("guest link expired")

	// ErrGuestLinkRevoked means a room member revoked the guest link (or,
	// for a standing link, made a new one).
	ErrGuestLinkRevoked = errors.New("guest link revoked")

	// ErrInvalidGuestToken means a guest token is not 26 base32
	// characters (after dropping '-'); the wrapping error says why.
	ErrInvalidGuestToken = errors.New("invalid guest link")

	// ErrNotGroupEndpoint means a room's member list names an endpoint
	// that is not one of the room's group.
	ErrNotGroupEndpoint = errors.New("not an endpoint of the room's group")
)

// Errors about meeting accounts and bookings (BookingStore).
var (
	// ErrAccountNotFound means no meeting account has the requested ID.
	ErrAccountNotFound = errors.New("meeting account not found")
	// ErrAccountExists means another meeting account has the name.
	ErrAccountExists = errors.New("meeting account name already taken")
	// ErrAccountInUse means a live series is booked on the account.
	ErrAccountInUse = errors.New("meeting account has bookings")
	// ErrSeriesNotFound means no booking has the requested ID or link.
	ErrSeriesNotFound = errors.New("booking not found")
)
