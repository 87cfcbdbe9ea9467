package rooms

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// EndpointKind says what an endpoint is.
type EndpointKind string

// The kinds of endpoint. A member is a person's client (desktop or
// browser), named by the person's e-mail address, to which its credentials
// are mailed. A room system is a hardware system or a meeting-room screen,
// named freely; its secret is shown once to the administrator.
const (
	EndpointMember     EndpointKind = "member"
	EndpointRoomSystem EndpointKind = "room-system"
)

// MaxAddressLocalLen bounds the part of an endpoint address before "@".
const MaxAddressLocalLen = 40

// Endpoint is one member's client or one room system of a group: what
// registers (signs in) with an address and a secret and then joins the
// group's rooms under its name, with the member role. A value, like Room.
type Endpoint struct {
	// ID is random ("e_" + 26 base32 characters) and stable; join tokens
	// issued to the endpoint carry it.
	ID      string       `json:"id"`
	GroupID string       `json:"groupId"`
	Kind    EndpointKind `json:"kind"`
	// Name is the member's e-mail address, or the room system's name.
	Name string `json:"name"`
	// Address is what the endpoint signs in with, "alice@choir": a local
	// part from the name (AddressLocal, with "-2", "-3", ... added when the
	// group already has it), "@", and the group's slug. Unique, compared
	// lower-case (it is always stored lower-case).
	Address string `json:"address"`
	// SecretHash is the auth.HashSecret of the endpoint's secret; "" until
	// the first one is issued (member endpoints of a pending group).
	SecretHash string `json:"secretHash,omitempty"`
	// Generation is raised each time a secret is issued: sessions carry
	// the generation they were made under, so re-issuing signs them out.
	Generation int       `json:"generation"`
	Disabled   bool      `json:"disabled,omitempty"`
	CreatedAt  time.Time `json:"createdAt"`
}

// NewMember returns a member endpoint of the group for an e-mail address
// (checked by ValidateEmail). Its Address is assigned by the store.
func NewMember(groupID, email string, now time.Time) (*Endpoint, error) {
	email, err := ValidateEmail(email)
	if err != nil {
		return nil, err
	}
	return &Endpoint{ID: "e_" + newID()[2:], GroupID: groupID, Kind: EndpointMember, Name: email, CreatedAt: now.UTC()}, nil
}

// NewRoomSystem returns a room-system endpoint of the group, named by
// ValidateEndpointName's rules (no e-mail format required).
func NewRoomSystem(groupID, name string, now time.Time) (*Endpoint, error) {
	name, err := ValidateEndpointName(name)
	if err != nil {
		return nil, err
	}
	return &Endpoint{ID: "e_" + newID()[2:], GroupID: groupID, Kind: EndpointRoomSystem, Name: name, CreatedAt: now.UTC()}, nil
}

// ValidateEndpointName checks a room system's name: 1 to 64 characters
// after trimming and collapsing spaces, no control characters. Any script
// is fine; the address is made of its ASCII letters and digits.
func ValidateEndpointName(name string) (string, error) {
	if !utf8.ValidString(name) {
		return "", fmt.Errorf("%w: not valid text", ErrInvalidEndpointName)
	}
	name = strings.Join(strings.Fields(name), " ")
	n := utf8.RuneCountInString(name)
	switch {
	case n == 0:
		return "", fmt.Errorf("%w: enter a name", ErrInvalidEndpointName)
	case n > MaxNameLen:
		return "", fmt.Errorf("%w: %d characters, at most %d allowed", ErrInvalidEndpointName, n, MaxNameLen)
	}
	for _, r := range name {
		if r < ' ' || r == 0x7f {
			return "", fmt.Errorf("%w: control characters are not allowed", ErrInvalidEndpointName)
		}
	}
	return name, nil
}

// AddressLocal is the local part an endpoint's address starts from: the
// slug of a member's e-mail local part ("Alice.Smith@x.org" →
// "alice-smith"), or of a room system's name ("Board Room 2" →
// "board-room-2"), at most MaxAddressLocalLen characters; "endpoint" when
// the slug is empty (a name in a script without ASCII letters).
func (ep *Endpoint) AddressLocal() string {
	name := ep.Name
	if ep.Kind == EndpointMember {
		if at := strings.LastIndexByte(name, '@'); at > 0 {
			name = name[:at]
		}
	}
	s := slug(name)
	if len(s) > MaxAddressLocalLen {
		s = strings.TrimRight(s[:MaxAddressLocalLen], "-")
	}
	if s == "" {
		s = "endpoint"
	}
	return s
}

// AddressKey is the form in which endpoint addresses are compared and
// looked up: trimmed and lower-cased.
func AddressKey(address string) string { return strings.ToLower(strings.TrimSpace(address)) }

// EmailKey is the form in which member e-mail addresses are compared for
// uniqueness across groups: trimmed and lower-cased (whole address).
func EmailKey(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// Registration is what a successful endpoint registration (sign-in with
// address and secret) yields: who the endpoint is, under which credential
// generation, in which group. The HTTP sign-in (POST
// /api/v1/endpoint/login) turns it into a session cookie; another way in,
// such as a SIP registrar, would turn it into its own binding.
type Registration struct {
	Endpoint *Endpoint
	Group    *Group
}
