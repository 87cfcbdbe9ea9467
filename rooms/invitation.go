package rooms

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// An Invitation is a room member's invitation of a guest to the room's
// call, sent during the call by e-mail or by text message (issue #13). It
// owns one invitation guest link (GuestLink.InvitationID is its ID) and
// one outgoing message (a Mail or a TextMessage), all three written in one
// store transaction (InvitationStore.CreateInvitation), so none can exist
// without the others.
//
// Its state, as the inviter sees it, is derived when it is read: queued
// until the mail server or the SMS gateway accepts the message (sent),
// delivered where the gateway reports it, opened once the guest's page has
// looked the link up, joined once a guest has joined the call through it;
// revoked when a member revoked its link, expired when its link's time ran
// out before anyone joined, failed when the gateway reported the text
// undeliverable.
type Invitation struct {
	// ID is "inv_" and 26 base32 characters (128 random bits).
	ID     string        `json:"id"`
	RoomID string        `json:"roomId"`
	Via    InvitationVia `json:"via"`
	// To is the e-mail address, or the mobile number in E.164.
	To string `json:"to"`
	// LinkID is the invitation's guest link; MessageID its Mail's or
	// TextMessage's ID.
	LinkID    string `json:"linkId"`
	MessageID string `json:"messageId"`
	// Inviter identifies who sent it, for the per-member rate limit:
	// "endpoint:<id>" for a registered endpoint, otherwise
	// "participant:<room ID>:<name>" (a member who came by the member
	// link has no other identity). InviterName is the name the guest is
	// told.
	Inviter     string    `json:"inviter"`
	InviterName string    `json:"inviterName"`
	CreatedAt   time.Time `json:"createdAt"`
	ExpiresAt   time.Time `json:"expiresAt"`
	// OpenedAt is when the guest's page first looked the link up;
	// JoinedAt when a guest first joined the call through it, as
	// JoinedName.
	OpenedAt   time.Time `json:"openedAt,omitzero"`
	JoinedAt   time.Time `json:"joinedAt,omitzero"`
	JoinedName string    `json:"joinedName,omitempty"`

	// Filled in when read, from the link and the message (not stored).
	RevokedAt time.Time       `json:"-"`
	Message   MessageProgress `json:"-"`
}

// MessageProgress is how far an invitation's message has got, read from
// the outbox.
type MessageProgress struct {
	// State is the Mail's or TextMessage's state ("queued", "sent",
	// "delivered", "failed"); "" if the message is gone.
	State       string
	Attempts    int
	LastError   string
	SentAt      time.Time
	DeliveredAt time.Time
}

// InvitationVia is how an invitation is sent.
type InvitationVia string

// The ways of sending an invitation.
const (
	ViaEmail InvitationVia = "email"
	ViaSMS   InvitationVia = "sms"
)

// InvitationState is an invitation's state as the inviter sees it.
type InvitationState string

// The states of an invitation (see Invitation).
const (
	InvitationQueued    InvitationState = "queued"
	InvitationSent      InvitationState = "sent"
	InvitationDelivered InvitationState = "delivered"
	InvitationOpened    InvitationState = "opened"
	InvitationJoined    InvitationState = "joined"
	InvitationFailed    InvitationState = "failed"
	InvitationRevoked   InvitationState = "revoked"
	InvitationExpired   InvitationState = "expired"
)

// State is the invitation's state at now. What the guest did comes first
// (joined, then revoked or expired, then opened), then what became of the
// message.
func (inv *Invitation) State(now time.Time) InvitationState {
	switch {
	case !inv.JoinedAt.IsZero():
		return InvitationJoined
	case !inv.RevokedAt.IsZero():
		return InvitationRevoked
	case !now.Before(inv.ExpiresAt):
		return InvitationExpired
	case !inv.OpenedAt.IsZero():
		return InvitationOpened
	}
	switch inv.Message.State {
	case string(TextDelivered):
		return InvitationDelivered
	case string(TextFailed):
		return InvitationFailed
	case string(MailSent): // TextSent too
		return InvitationSent
	}
	return InvitationQueued
}

// NewInvitation returns an invitation to roomID sent via to (an address
// ValidateEmail accepts, or an E.164 number), by inviter, with its guest
// link (made with key and ttl as by NewGuestLink) and the link's token.
// The caller writes the message (with the link's URL) and sets MessageID,
// then stores all three with CreateInvitation.
func NewInvitation(key []byte, roomID string, via InvitationVia, to, inviter, inviterName string, now time.Time, ttl time.Duration) (*Invitation, *GuestLink, string, error) {
	switch via {
	case ViaEmail:
		addr, err := ValidateEmail(to)
		if err != nil {
			return nil, nil, "", err
		}
		to = addr
	case ViaSMS:
		if !isE164(to) {
			return nil, nil, "", fmt.Errorf("%w: %q is not in international form", ErrInvalidPhone, to)
		}
	default:
		return nil, nil, "", fmt.Errorf("invitation: unknown way of sending %q (email or sms)", via)
	}
	if inviter == "" {
		return nil, nil, "", errors.New("invitation: no inviter")
	}
	link, token, err := NewGuestLink(key, roomID, GuestLinkInvitation, inviter, now, ttl)
	if err != nil {
		return nil, nil, "", err
	}
	inv := &Invitation{
		ID:          "inv_" + newID()[2:],
		RoomID:      roomID,
		Via:         via,
		To:          to,
		LinkID:      link.ID,
		Inviter:     inviter,
		InviterName: inviterName,
		CreatedAt:   link.CreatedAt,
		ExpiresAt:   link.ExpiresAt,
	}
	link.InvitationID = inv.ID
	return inv, link, token, nil
}

// InvitationLimits bound how many invitations can be sent: at most
// PerMember by one inviter and PerRoom in one room within any Window.
// Zero fields mean the defaults (DefaultInvitationLimits).
type InvitationLimits struct {
	PerMember int
	PerRoom   int
	Window    time.Duration
}

// DefaultInvitationLimits: 10 per member and 30 per room in an hour.
var DefaultInvitationLimits = InvitationLimits{PerMember: 10, PerRoom: 30, Window: time.Hour}

// WithDefaults returns l with its zero fields set from DefaultInvitationLimits.
func (l InvitationLimits) WithDefaults() InvitationLimits {
	if l.PerMember <= 0 {
		l.PerMember = DefaultInvitationLimits.PerMember
	}
	if l.PerRoom <= 0 {
		l.PerRoom = DefaultInvitationLimits.PerRoom
	}
	if l.Window <= 0 {
		l.Window = DefaultInvitationLimits.Window
	}
	return l
}

// InvitationLimitError is CreateInvitation's refusal when a limit is
// reached; errors.Is(err, ErrInvitationLimit) holds.
type InvitationLimitError struct {
	// PerRoom is true when the room's limit was reached, false for the
	// inviter's own.
	PerRoom bool
	Limit   int
	Window  time.Duration
	// RetryAt is when the oldest invitation counted leaves the window.
	RetryAt time.Time
}

func (e *InvitationLimitError) Error() string {
	who := "you have"
	if e.PerRoom {
		who = "this room has"
	}
	return fmt.Sprintf("%s sent %d invitations in the last %s, the most allowed", who, e.Limit, windowWords(e.Window))
}

// Is makes errors.Is(err, ErrInvitationLimit) true.
func (e *InvitationLimitError) Is(target error) bool { return target == ErrInvitationLimit }

func windowWords(d time.Duration) string {
	switch {
	case d == time.Hour:
		return "hour"
	case d%time.Hour == 0:
		return fmt.Sprintf("%d hours", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%d minutes", d/time.Minute)
	}
	return d.String()
}

// Errors about invitations.
var (
	// ErrInvitationNotFound means no invitation has the ID (in the room
	// asked about).
	ErrInvitationNotFound = errors.New("invitation not found")
	// ErrInvitationLimit means an invitation limit is reached; the error
	// is an *InvitationLimitError.
	ErrInvitationLimit = errors.New("invitation limit reached")
)

// InvitationStore keeps invitations. It is implemented by rooms/store.DB.
// Methods return copies, with RevokedAt and Message filled in.
type InvitationStore interface {
	// CreateInvitation stores inv with its link and its message (exactly
	// one of mail and text, matching inv.Via) in one transaction, after
	// checking limits against the invitations of inv's room and inviter
	// created in the window before inv.CreatedAt: over a limit it stores
	// nothing and returns an *InvitationLimitError. ErrRoomNotFound if
	// the room does not exist.
	CreateInvitation(ctx context.Context, inv *Invitation, link *GuestLink, mail *Mail, text *TextMessage, limits InvitationLimits) error
	// Invitation returns the invitation with this ID, or
	// ErrInvitationNotFound.
	Invitation(ctx context.Context, id string) (*Invitation, error)
	// RoomInvitations returns up to limit of the room's invitations,
	// newest first (all of them if limit <= 0).
	RoomInvitations(ctx context.Context, roomID string, limit int) ([]*Invitation, error)
	// MarkInvitationOpened records that the guest's page looked up the
	// link at at (the first time only).
	MarkInvitationOpened(ctx context.Context, id string, at time.Time) error
	// MarkInvitationJoined records that a guest joined the call through
	// the link at at as name (the first time only).
	MarkInvitationJoined(ctx context.Context, id, name string, at time.Time) error
}
