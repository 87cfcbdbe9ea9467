package rooms

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"strings"
	"time"
)

// Guest links (issue #13) let people outside a room's member list into its
// call as guests. Two kinds: the room's standing guest link (one at a time,
// no expiry; making a new one revokes the old) and invitation links (one
// per e-mailed or texted invitation, expiring after a configurable time,
// DefaultGuestLinkTTL). Any room member may revoke either. A link admits
// only to its own room.
//
// A link's token has 128 bits and is shown as /g/{token}: lower-case
// base32 without padding, 26 characters (GuestTokenLen), '-' allowed
// anywhere for grouping and ignored (ParseGuestToken). The store keeps
// only TokenHash(token) and the link's short, non-secret ID. The token is
// not random but derived (GuestToken): an HMAC-SHA256 of the link's random
// ID under the server's secret key, so a member can copy the standing link
// again without the token ever being stored. The key is the server's
// signing key, which the database file keeps (meta bucket): a copy of the
// file can derive the live links, as it can forge join tokens, so backups
// are as secret as the server; the store's records alone (without the
// meta bucket) admit nobody.

// GuestLinkKind says which kind of guest link a link is.
type GuestLinkKind string

// The kinds of guest link.
const (
	GuestLinkStanding   GuestLinkKind = "standing"
	GuestLinkInvitation GuestLinkKind = "invitation"
)

// DefaultGuestLinkTTL is how long an invitation link works when the
// operator configures nothing else (--guest-link-ttl).
const DefaultGuestLinkTTL = 24 * time.Hour

// GuestTokenLen is the length of a guest token, without '-'.
const GuestTokenLen = 26

// MinGuestKeyLen is the shortest key GuestToken accepts.
const MinGuestKeyLen = 32

// GuestLink is one guest link. A value, like Room.
type GuestLink struct {
	// ID is "gl_" and 16 random base32 characters (80 bits): not secret,
	// it names the link in lists, logs and revocations, and the token is
	// derived from it.
	ID string `json:"id"`
	// Hash is TokenHash of the token.
	Hash   string        `json:"hash"`
	RoomID string        `json:"roomId"`
	Kind   GuestLinkKind `json:"kind"`
	// InvitationID is the invitation an invitation link belongs to.
	InvitationID string `json:"invitationId,omitempty"`
	// CreatedBy says who made the link, for the record: "endpoint:<id>",
	// "participant:<name>", "group" (a PIN user), "admin" or "operator".
	CreatedBy string    `json:"createdBy"`
	CreatedAt time.Time `json:"createdAt"`
	// ExpiresAt is when an invitation link stops working; zero for none.
	ExpiresAt time.Time `json:"expiresAt,omitzero"`
	// RevokedAt is when a member revoked the link; zero while it works.
	RevokedAt time.Time `json:"revokedAt,omitzero"`
	// RevokedBy says who revoked it, as CreatedBy.
	RevokedBy string `json:"revokedBy,omitempty"`
}

// NewGuestLink returns a new link of this kind to roomID, and its token.
// key is the server's secret (at least MinGuestKeyLen bytes); ttl is an
// invitation link's lifetime (DefaultGuestLinkTTL if zero or negative) and
// is ignored for a standing link, which never expires.
func NewGuestLink(key []byte, roomID string, kind GuestLinkKind, createdBy string, now time.Time, ttl time.Duration) (*GuestLink, string, error) {
	if roomID == "" {
		return nil, "", fmt.Errorf("new guest link: empty room ID")
	}
	if kind != GuestLinkStanding && kind != GuestLinkInvitation {
		return nil, "", fmt.Errorf("new guest link: unknown kind %q", kind)
	}
	l := &GuestLink{
		ID:        "gl_" + strings.ToLower(b32.EncodeToString(randomBytes(10))),
		RoomID:    roomID,
		Kind:      kind,
		CreatedBy: createdBy,
		CreatedAt: now.UTC(),
	}
	if kind == GuestLinkInvitation {
		if ttl <= 0 {
			ttl = DefaultGuestLinkTTL
		}
		l.ExpiresAt = l.CreatedAt.Add(ttl)
	}
	token, err := GuestToken(key, l.ID)
	if err != nil {
		return nil, "", err
	}
	l.Hash = TokenHash(token)
	return l, token, nil
}

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// GuestToken derives the token of the guest link with this ID under key:
// the first 128 bits of HMAC-SHA256(key, "parley guest link\x00" + id), in
// lower-case unpadded base32.
func GuestToken(key []byte, linkID string) (string, error) {
	if len(key) < MinGuestKeyLen {
		return "", fmt.Errorf("guest token: key of %d bytes, need %d", len(key), MinGuestKeyLen)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("parley guest link\x00" + linkID))
	return strings.ToLower(b32.EncodeToString(mac.Sum(nil)[:16])), nil
}

// ParseGuestToken returns the canonical form of a token as typed or
// pasted: '-' and surrounding space dropped, lower-cased. The error wraps
// ErrInvalidGuestToken when what is left is not 26 base32 characters.
func ParseGuestToken(s string) (string, error) {
	s = strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), "-", ""))
	if len(s) != GuestTokenLen {
		return "", fmt.Errorf("%w: %d characters, want %d", ErrInvalidGuestToken, len(s), GuestTokenLen)
	}
	for _, r := range s {
		if !('a' <= r && r <= 'z' || '2' <= r && r <= '7') {
			return "", fmt.Errorf("%w: %q is not a letter or a digit 2-7", ErrInvalidGuestToken, r)
		}
	}
	// 26 characters carry 130 bits; the last holds 3 of them, which a
	// token we made always has zero (only 128 bits are encoded).
	if _, err := b32.DecodeString(strings.ToUpper(s)); err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalidGuestToken, err)
	}
	return s, nil
}

// GuestURL is the link's URL under publicURL: publicURL + "/g/" + token.
func GuestURL(publicURL, token string) string {
	return strings.TrimRight(publicURL, "/") + "/g/" + token
}

// Check says whether the link admits a guest at now: nil, or an error
// wrapping ErrGuestLinkRevoked or ErrGuestLinkExpired.
func (l *GuestLink) Check(now time.Time) error {
	switch {
	case !l.RevokedAt.IsZero():
		return fmt.Errorf("guest link %s: %w", l.ID, ErrGuestLinkRevoked)
	case !l.ExpiresAt.IsZero() && !now.Before(l.ExpiresAt):
		return fmt.Errorf("guest link %s: %w", l.ID, ErrGuestLinkExpired)
	}
	return nil
}

// GuestLinkState is a link's state at a moment: "active", "revoked" or
// "expired".
func (l *GuestLink) State(now time.Time) string {
	switch {
	case !l.RevokedAt.IsZero():
		return "revoked"
	case !l.ExpiresAt.IsZero() && !now.Before(l.ExpiresAt):
		return "expired"
	}
	return "active"
}

// GuestLinkStore keeps guest links. It is implemented by rooms/store.DB.
// Methods return copies.
type GuestLinkStore interface {
	// CreateGuestLink stores a new link (ID, Hash, RoomID, Kind required;
	// NewGuestLink provides them). For a standing link, the room's
	// current standing link, if any, is revoked in the same transaction.
	// ErrRoomNotFound if the room does not exist.
	CreateGuestLink(ctx context.Context, l *GuestLink) error
	// GuestLinkByHash returns the link whose token has this TokenHash, or
	// ErrGuestLinkNotFound. It does not check expiry or revocation
	// (GuestLink.Check does).
	GuestLinkByHash(ctx context.Context, hash string) (*GuestLink, error)
	// GuestLink returns the link with this ID, or ErrGuestLinkNotFound.
	GuestLink(ctx context.Context, id string) (*GuestLink, error)
	// GuestLinks returns the room's links, revoked and expired ones too,
	// newest first.
	GuestLinks(ctx context.Context, roomID string) ([]*GuestLink, error)
	// StandingGuestLink returns the room's standing link that is not
	// revoked, or ErrGuestLinkNotFound.
	StandingGuestLink(ctx context.Context, roomID string) (*GuestLink, error)
	// RevokeGuestLink marks the link revoked at at by who and returns it;
	// a link already revoked is returned as it is. ErrGuestLinkNotFound
	// if there is none.
	RevokeGuestLink(ctx context.Context, id string, at time.Time, who string) (*GuestLink, error)
	// UpdateGuestLinks runs fn inside one write transaction; what fn does
	// through tx is stored if it returns nil, and none of it otherwise.
	// An invitation and its link (and its message) are written together
	// this way.
	UpdateGuestLinks(ctx context.Context, fn func(tx GuestLinkTx) error) error
}

// GuestLinkTx is the guest links inside a GuestLinkStore.UpdateGuestLinks
// transaction, with the same rules as the store's methods.
type GuestLinkTx interface {
	CreateGuestLink(l *GuestLink) error
	GuestLink(id string) (*GuestLink, error)
	GuestLinks(roomID string) ([]*GuestLink, error)
	RevokeGuestLink(id string, at time.Time, who string) (*GuestLink, error)
	// PutMail adds a message to the outbox.
	PutMail(m *Mail) error
}
