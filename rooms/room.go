// Package rooms is parley's room domain: what a room is, how its name is
// validated, how its unguessable join link is made, and the Store interface
// that persistence implements (see rooms/store). It imports no storage and
// no transport, so handlers and the CLI can share it and tests can fake it.
//
// Groups and their endpoints (group.go, endpoint.go: the sign-up's
// validation, the GroupStore interface) hang off rooms by ID: a room off
// a group by GroupID, never by name or link, which may change. Guest links
// (guestlink.go) hang off a room. Bookings of the shared meeting accounts
// (issue #14) are package bookings' values behind the BookingStore
// interface (booking.go); a series hangs off its group by GroupID.
package rooms

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// MaxNameLen is the longest room name, in characters (runes), after trimming.
const MaxNameLen = 64

// Room is a meeting room. Rooms are values: a Store hands out copies, and
// changing one changes nothing stored.
type Room struct {
	// ID identifies the room inside parley (records, tokens, logs). It is
	// random and stable, and never appears in a URL.
	ID string `json:"id"`
	// Name is unique among rooms, compared case-insensitively (NameKey).
	Name string `json:"name"`
	// Link is the secret part of the join URL: 128 random bits,
	// base64url without padding. Anyone who has it can join.
	Link string `json:"link"`
	// GroupID is the owning group, "" for a room the operator created.
	GroupID string `json:"groupId,omitempty"`
	// Members is a group room's member list: IDs of endpoints of its
	// group, who see the room on their endpoint page and manage its guest
	// links. Empty means every endpoint of the group (a new room, and
	// rooms made before member lists). Who joins by the member link (Link)
	// joins as a member either way.
	Members   []string  `json:"members,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
}

// HasMember reports whether the endpoint with this ID is on the room's
// member list (every endpoint is, while the list is empty).
func (r *Room) HasMember(endpointID string) bool {
	if len(r.Members) == 0 {
		return true
	}
	for _, id := range r.Members {
		if id == endpointID {
			return true
		}
	}
	return false
}

// New returns a room with a validated, normalised name, fresh random ID and
// link, and CreatedAt set to now (in UTC). The only error is one wrapping
// ErrInvalidName.
func New(name string, now time.Time) (*Room, error) {
	name, err := ValidateName(name)
	if err != nil {
		return nil, err
	}
	return &Room{
		ID:        newID(),
		Name:      name,
		Link:      newLink(),
		CreatedAt: now.UTC(),
	}, nil
}

// URL is the room's join URL under publicURL, the base URL the server
// serves on (e.g. "https://meet.example.org").
func (r *Room) URL(publicURL string) string {
	return strings.TrimRight(publicURL, "/") + "/r/" + r.Link
}

// ValidateName checks a room name and returns it normalised: surrounding
// white space trimmed and each inner run of spaces collapsed to one. A valid name
// has 1 to MaxNameLen characters, each a letter or digit (any script, so
// "Café Zürich" is fine), a space, '-', '_' or '.'; a combining mark may
// follow a letter, so decomposed accents are accepted too. Tabs, newlines,
// other punctuation, symbols and emoji are not. The error wraps
// ErrInvalidName and says which rule failed.
func ValidateName(name string) (string, error) {
	if !utf8.ValidString(name) {
		return "", fmt.Errorf("%w: not valid UTF-8", ErrInvalidName)
	}
	name = normalise(name)
	n := utf8.RuneCountInString(name)
	switch {
	case n == 0:
		return "", fmt.Errorf("%w: empty", ErrInvalidName)
	case n > MaxNameLen:
		return "", fmt.Errorf("%w: %d characters, at most %d allowed", ErrInvalidName, n, MaxNameLen)
	}
	prevLetter := false
	for _, r := range name {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			prevLetter = unicode.IsLetter(r)
		case unicode.Is(unicode.M, r) && prevLetter:
			// A combining accent on the letter before it.
		case r == ' ' || r == '-' || r == '_' || r == '.':
			prevLetter = false
		default:
			return "", fmt.Errorf("%w: character %q not allowed (use letters, digits, space, '-', '_', '.')", ErrInvalidName, r)
		}
	}
	return name, nil
}

// NameKey is the form in which names are compared for uniqueness and
// looked up: normalised as by ValidateName, then lower-cased. A Store
// indexes rooms by it. It is defined for any string, valid or not.
func NameKey(name string) string {
	return strings.ToLower(normalise(name))
}

// normalise trims surrounding white space and collapses each inner run of
// spaces to one space.
func normalise(name string) string {
	return strings.Join(strings.FieldsFunc(strings.TrimSpace(name), func(r rune) bool { return r == ' ' }), " ")
}

// Store keeps rooms, and outgoing mail (Outbox). It is implemented by
// rooms/store.DB and by fakes in tests. Methods return copies; callers may
// modify what they get.
type Store interface {
	Outbox
	// CreateRoom stores a new room; r.ID, r.Link and a valid, normalised
	// r.Name are required (New provides them). ErrRoomExists if another
	// room has the same NameKey.
	CreateRoom(ctx context.Context, r *Room) error
	// Room returns the room with this ID, or ErrRoomNotFound.
	Room(ctx context.Context, id string) (*Room, error)
	// RoomByName returns the room whose name matches case-insensitively
	// (NameKey), or ErrRoomNotFound.
	RoomByName(ctx context.Context, name string) (*Room, error)
	// RoomByLink returns the room with this join link, or ErrRoomNotFound.
	RoomByLink(ctx context.Context, link string) (*Room, error)
	// Rooms returns every room, sorted by NameKey.
	Rooms(ctx context.Context) ([]*Room, error)
	// DeleteRoom removes the room with this ID, or returns ErrRoomNotFound.
	DeleteRoom(ctx context.Context, id string) error
}

// newID returns "r_" and 128 random bits in lower-case unpadded base32
// (26 characters): safe in logs, file names and JSON keys.
func newID() string {
	return "r_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(randomBytes(16)))
}

// newLink returns 128 random bits, base64url without padding (22 characters).
func newLink() string {
	return base64.RawURLEncoding.EncodeToString(randomBytes(16))
}

// randomBytes returns n bytes from crypto/rand. Since Go 1.24 rand.Read
// never returns an error (the runtime aborts the program if the kernel
// cannot supply randomness), so there is nothing to handle here.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}
