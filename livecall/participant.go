package livecall

import (
	"github.com/parley-dev/parley/signaling/protocol"
)

// Role is what a participant may do in a call. It comes from the join
// token (auth.RoleHost, RoleMember, RoleGuest have the same strings) and
// the Policy may change it at admission; hosts may hand it on.
type Role string

// The roles.
const (
	RoleHost   Role = "host"   // may moderate
	RoleMember Role = "member" // an ordinary participant
	RoleGuest  Role = "guest"  // let in by a guest link; does not keep the call alive on their own (see EventLastMemberLeft)
)

// Valid reports whether r is one of the three roles.
func (r Role) Valid() bool { return r == RoleHost || r == RoleMember || r == RoleGuest }

// Participant is one participant's record, as the call keeps it. Values
// handed out are copies.
type Participant struct {
	ID   string
	Name string
	Role Role
	// AudioMuted and VideoMuted are the participant's microphone and
	// camera as everyone is shown them. AudioMuted is also true while
	// MutedByHost.
	AudioMuted bool
	VideoMuted bool
	// MutedByHost: a host muted this participant and the server is not
	// forwarding their audio. It ends when the participant unmutes
	// themselves (a mute with audioMuted false).
	MutedByHost bool
	// Reconnecting: the participant's connection dropped and the call
	// keeps its place until it is reattached or its grace period ends
	// (Call.Detach). Nothing is sent to it meanwhile.
	Reconnecting bool
}

// Wire returns p as the protocol's participant object.
func (p Participant) Wire() protocol.Participant {
	return protocol.Participant{
		ID:               p.ID,
		Name:             p.Name,
		Role:             string(p.Role),
		AudioMuted:       p.AudioMuted,
		VideoMuted:       p.VideoMuted,
		AudioMutedByHost: p.MutedByHost,
		Connection:       p.connection(),
	}
}

func (p Participant) connection() string {
	if p.Reconnecting {
		return protocol.ConnectionReconnecting
	}
	return protocol.ConnectionConnected
}

// Conn is how the call reaches one participant: package signaling's
// WebSocket session implements it. The call calls these from its own
// goroutine, one at a time; none may block or call back into the Call.
type Conn interface {
	// Send queues one encoded protocol message for the participant.
	Send(data []byte)
	// Close sends bye with reason and closes the participant's
	// connection. The session then calls Call.Leave as usual (a no-op
	// for a participant the call has already let go).
	Close(reason string)
	// SetAudioForwarding turns the forwarding of the participant's
	// audio to the others on or off (sfu.Peer.SetAudioForwarding).
	SetAudioForwarding(on bool)
}
