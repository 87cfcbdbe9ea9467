package rooms

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// A group account (issue #12): one administrator manages a collection of
// endpoints (members' clients and room systems) and the group's rooms.
// Group users have no personal accounts: they sign in with the group's
// name and its meeting PIN.
//
// The life of a group: sign-up stores it pending, with its member
// endpoints and the activation Mail, in one transaction; the administrator
// opens the single-use activation link (ActivationTTL) and the group turns
// active, each member being mailed its endpoint credentials; a pending
// group whose link expired is swept away, freeing its name and e-mail
// addresses. The operator may disable a group (its sign-ins and joins are
// refused, nothing is deleted).

// GroupState is where a group is in its life.
type GroupState string

// The states of a group.
const (
	GroupPending  GroupState = "pending"
	GroupActive   GroupState = "active"
	GroupDisabled GroupState = "disabled"
)

// ActivationTTL is how long an activation link stays valid.
const ActivationTTL = 48 * time.Hour

// Group name rules (ValidateGroupName).
const (
	MinGroupNameLen = 2
	MaxGroupNameLen = 40
)

// Password and PIN rules. The minimum password length is configurable
// upward (SignUpRules.MinPasswordLen), never below MinPasswordLen.
const (
	MinPasswordLen = 5
	MaxPasswordLen = 128
	MinPINLen      = 4
	MaxPINLen      = 8
	// MaxPersonNameLen bounds the administrator's name, in characters.
	MaxPersonNameLen = 64
)

// Limits are what the operator allows a group: endpoints (members and room
// systems together), rooms, and participants in the group's rooms at once.
type Limits struct {
	Endpoints    int `json:"endpoints"`
	Rooms        int `json:"rooms"`
	Participants int `json:"participants"`
}

// DefaultLimits are a new group's limits when the operator sets none.
var DefaultLimits = Limits{Endpoints: 50, Rooms: 20, Participants: 50}

// OrDefault returns l with each zero or negative field replaced by def's.
func (l Limits) OrDefault(def Limits) Limits {
	if l.Endpoints <= 0 {
		l.Endpoints = def.Endpoints
	}
	if l.Rooms <= 0 {
		l.Rooms = def.Rooms
	}
	if l.Participants <= 0 {
		l.Participants = def.Participants
	}
	return l
}

// Group is a group account. Like Room it is a value: a Store hands out
// copies. Secrets are kept only as auth.HashSecret strings, the activation
// token only as its SHA-256 (TokenHash).
type Group struct {
	// ID is random ("g_" + 26 base32 characters) and stable.
	ID string `json:"id"`
	// Name is as the administrator typed it (normalised by
	// ValidateGroupName). Names are unique by GroupKey.
	Name string `json:"name"`
	// Slug is GroupKey(Name): the part after "@" in endpoint addresses.
	Slug string `json:"slug"`

	AdminName  string `json:"adminName"`
	AdminEmail string `json:"adminEmail"`

	// PasswordHash is the administrator's password, PINHash the group
	// users' meeting PIN. Each generation is raised when its secret
	// changes, which signs out the sessions issued under the old one.
	PasswordHash string `json:"passwordHash"`
	PasswordGen  int    `json:"passwordGen"`
	PINHash      string `json:"pinHash"`
	PINGen       int    `json:"pinGen"`

	State GroupState `json:"state"`
	// ActivationHash is TokenHash of the activation link's token while
	// the group is pending (and kept after activation, so that a second
	// use of the link is told it was used); ActivationExpires is when the
	// link stops working and a pending group is swept.
	ActivationHash    string    `json:"activationHash,omitempty"`
	ActivationExpires time.Time `json:"activationExpires,omitzero"`

	Limits      Limits    `json:"limits"`
	CreatedAt   time.Time `json:"createdAt"`
	ActivatedAt time.Time `json:"activatedAt,omitzero"`
}

// NewGroup returns a pending group with a fresh ID, the validated name and
// its slug, created at now. The secrets' hashes and the activation are
// filled in by the caller.
func NewGroup(name string, limits Limits, now time.Time) (*Group, error) {
	name, err := ValidateGroupName(name)
	if err != nil {
		return nil, err
	}
	return &Group{
		ID:        "g_" + newID()[2:],
		Name:      name,
		Slug:      GroupKey(name),
		State:     GroupPending,
		Limits:    limits.OrDefault(DefaultLimits),
		CreatedAt: now.UTC(),
	}, nil
}

// PendingExpired reports whether g is pending with its activation link
// expired at now: the sweeper removes such a group.
func (g *Group) PendingExpired(now time.Time) bool {
	return g.State == GroupPending && !g.ActivationExpires.IsZero() && !now.Before(g.ActivationExpires)
}

// TokenHash is how a single-use link's token (activation) is stored: the
// hex SHA-256 of the token. The token itself has >= 128 random bits, so a
// fast hash suffices; a leaked database does not reveal working links.
func TokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// ValidateGroupName checks a group name and returns it normalised
// (trimmed, inner runs of spaces collapsed). The rules: 2 to 40
// characters; ASCII letters, digits, spaces, '-', '_' and '.'; starting
// with a letter or digit and holding at least one letter. ASCII only,
// because the name's slug (GroupKey) is the domain part of the group's
// endpoint addresses ("alice@choir"), which other ways in (SIP) must be
// able to carry. The error wraps ErrInvalidGroupName with plain words.
func ValidateGroupName(name string) (string, error) {
	name = normalise(name)
	n := utf8.RuneCountInString(name)
	switch {
	case n == 0:
		return "", fmt.Errorf("%w: enter a group name", ErrInvalidGroupName)
	case n < MinGroupNameLen:
		return "", fmt.Errorf("%w: a group name needs at least %d characters", ErrInvalidGroupName, MinGroupNameLen)
	case n > MaxGroupNameLen:
		return "", fmt.Errorf("%w: %d characters, at most %d allowed", ErrInvalidGroupName, n, MaxGroupNameLen)
	}
	letters := 0
	for i, r := range name {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z':
			letters++
		case '0' <= r && r <= '9':
		case r == ' ' || r == '-' || r == '_' || r == '.':
			if i == 0 {
				return "", fmt.Errorf("%w: start the name with a letter or a digit", ErrInvalidGroupName)
			}
		default:
			return "", fmt.Errorf("%w: %q is not allowed; use letters a-z, digits, spaces, '-', '_' and '.'", ErrInvalidGroupName, r)
		}
	}
	if letters == 0 {
		return "", fmt.Errorf("%w: a group name needs at least one letter", ErrInvalidGroupName)
	}
	return name, nil
}

// GroupKey is the form in which group names are compared for uniqueness
// and looked up, and the group's slug in endpoint addresses: lower-cased,
// each run of spaces, '-', '_' and '.' made one '-', and '-' trimmed from
// the ends. So "Choir", "CHOIR" and " choir " are one name, and so are
// "St Mary", "st-mary" and "St. Mary" (all "st-mary"). Defined for any
// string.
func GroupKey(name string) string { return slug(name) }

// slug lower-cases s, keeps ASCII letters and digits, and turns every run
// of anything else into one '-', trimmed from the ends.
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if ('a' <= r && r <= 'z') || ('0' <= r && r <= '9') {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
			continue
		}
		dash = true
	}
	return b.String()
}

// ValidatePersonName checks the administrator's name: 1 to 64 characters
// after trimming, no control characters. It returns it normalised.
func ValidatePersonName(name string) (string, error) {
	if !utf8.ValidString(name) {
		return "", fmt.Errorf("%w: not valid text", ErrInvalidPersonName)
	}
	name = strings.Join(strings.Fields(name), " ")
	n := utf8.RuneCountInString(name)
	switch {
	case n == 0:
		return "", fmt.Errorf("%w: enter your name", ErrInvalidPersonName)
	case n > MaxPersonNameLen:
		return "", fmt.Errorf("%w: %d characters, at most %d allowed", ErrInvalidPersonName, n, MaxPersonNameLen)
	}
	for _, r := range name {
		if r < ' ' || r == 0x7f {
			return "", fmt.Errorf("%w: control characters are not allowed", ErrInvalidPersonName)
		}
	}
	return name, nil
}

// ValidatePassword checks the administrator's password against a minimum
// length (in characters) of at least MinPasswordLen. Passwords are not
// trimmed: what is typed is what counts.
func ValidatePassword(pw string, minLen int) error {
	minLen = max(minLen, MinPasswordLen)
	n := utf8.RuneCountInString(pw)
	switch {
	case pw == "":
		return fmt.Errorf("%w: enter a password", ErrInvalidPassword)
	case !utf8.ValidString(pw):
		return fmt.Errorf("%w: not valid text", ErrInvalidPassword)
	case n < minLen:
		return fmt.Errorf("%w: the password must have at least %d characters (this one has %d)", ErrInvalidPassword, minLen, n)
	case n > MaxPasswordLen:
		return fmt.Errorf("%w: at most %d characters allowed", ErrInvalidPassword, MaxPasswordLen)
	}
	return nil
}

// ValidatePIN checks a meeting PIN: 4 to 8 digits 0-9, nothing else.
func ValidatePIN(pin string) error {
	if pin == "" {
		return fmt.Errorf("%w: enter a PIN", ErrInvalidPIN)
	}
	for _, r := range pin {
		if r < '0' || r > '9' {
			return fmt.Errorf("%w: the PIN must be digits only (0-9), with no letters, spaces or other signs", ErrInvalidPIN)
		}
	}
	if len(pin) < MinPINLen || len(pin) > MaxPINLen {
		return fmt.Errorf("%w: the PIN must have %d to %d digits (this one has %d)", ErrInvalidPIN, MinPINLen, MaxPINLen, len(pin))
	}
	return nil
}

// GroupStore keeps groups, their endpoints and their rooms. It is
// implemented by rooms/store.DB. Changes that must e-mail someone take the
// Mails to write in the same transaction, so the change and its message
// are stored together or not at all.
type GroupStore interface {
	// CreateGroup stores a new pending group g with its member endpoints
	// and mails, in one transaction. It fails with an error wrapping
	// ErrGroupExists if another group has g's GroupKey, or an
	// *EmailTakenError (Is ErrEmailTaken) if a member's e-mail belongs to
	// an endpoint of another group (or appears twice). Endpoint addresses
	// are assigned here (ep.Address is set on return).
	CreateGroup(ctx context.Context, g *Group, members []*Endpoint, mails []*Mail) error
	// Group returns the group with this ID, or ErrGroupNotFound.
	Group(ctx context.Context, id string) (*Group, error)
	// GroupByName returns the group whose GroupKey matches, or ErrGroupNotFound.
	GroupByName(ctx context.Context, name string) (*Group, error)
	// GroupByActivation returns the group whose ActivationHash is this
	// TokenHash, or ErrGroupNotFound.
	GroupByActivation(ctx context.Context, tokenHash string) (*Group, error)
	// Groups returns every group, sorted by GroupKey.
	Groups(ctx context.Context) ([]*Group, error)
	// UpdateGroup runs fn on the group with this ID inside one write
	// transaction; the changes fn makes through tx are stored if it
	// returns nil, and none of them otherwise. fn must be quick (no slow
	// hashing: hash before calling). ErrGroupNotFound if there is no
	// such group.
	UpdateGroup(ctx context.Context, id string, fn func(tx GroupTx) error) error
	// DeleteGroup removes the group, its endpoints and its rooms (and
	// their indexes), freeing the name and e-mail addresses. It returns
	// the IDs of the rooms removed, so their live calls can be ended. If
	// check is not nil it runs first, inside the transaction, on the
	// group as stored: its error cancels the delete and is returned.
	DeleteGroup(ctx context.Context, id string, check func(*Group) error) (roomIDs []string, err error)
	// Endpoint returns the endpoint with this ID, or ErrEndpointNotFound.
	Endpoint(ctx context.Context, id string) (*Endpoint, error)
	// EndpointByAddress returns the endpoint with this address (compared
	// case-insensitively), or ErrEndpointNotFound.
	EndpointByAddress(ctx context.Context, address string) (*Endpoint, error)
	// EndpointByEmail returns the member endpoint with this e-mail
	// (compared case-insensitively), or ErrEndpointNotFound.
	EndpointByEmail(ctx context.Context, email string) (*Endpoint, error)
	// Endpoints returns the group's endpoints sorted by address.
	Endpoints(ctx context.Context, groupID string) ([]*Endpoint, error)
	// GroupRooms returns the group's rooms sorted by NameKey.
	GroupRooms(ctx context.Context, groupID string) ([]*Room, error)
}

// GroupTx is one group's records inside a GroupStore.UpdateGroup
// transaction. Methods return copies; Put methods store what they are
// given.
type GroupTx interface {
	// Group returns the group as it is in the transaction.
	Group() *Group
	// PutGroup stores g, which must keep the group's ID and GroupKey.
	PutGroup(g *Group) error
	// Endpoints returns the group's endpoints sorted by address.
	Endpoints() ([]*Endpoint, error)
	// Endpoint returns the group's endpoint with this ID, or
	// ErrEndpointNotFound (also when it belongs to another group).
	Endpoint(id string) (*Endpoint, error)
	// AddEndpoint stores a new endpoint of the group, assigning it a free
	// address (ep.Address is set on return); *EmailTakenError if a member
	// endpoint anywhere has its e-mail.
	AddEndpoint(ep *Endpoint) error
	// PutEndpoint stores changes to an existing endpoint of the group;
	// its kind, name and address must not change.
	PutEndpoint(ep *Endpoint) error
	// DeleteEndpoint removes the group's endpoint with this ID.
	DeleteEndpoint(id string) error
	// Rooms returns the group's rooms sorted by NameKey.
	Rooms() ([]*Room, error)
	// CreateRoom stores a new room of the group (r.GroupID is set);
	// ErrRoomExists if the group has a room of the same NameKey. Group
	// room names are unique within their group, not among all rooms.
	CreateRoom(r *Room) error
	// DeleteRoom removes the group's room with this ID, or ErrRoomNotFound.
	DeleteRoom(id string) error
	// SetRoomMembers replaces the member list of the group's room with
	// this ID (ErrRoomNotFound) and returns the room. Each ID must be an
	// endpoint of the group (ErrNotGroupEndpoint); duplicates are dropped;
	// an empty list opens the room to every endpoint of the group again.
	// DeleteEndpoint takes the endpoint off every member list.
	SetRoomMembers(roomID string, endpointIDs []string) (*Room, error)
	// PutMail adds a message to the outbox.
	PutMail(m *Mail) error
}
