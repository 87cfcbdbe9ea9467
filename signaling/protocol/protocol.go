// Package protocol defines parley's signaling messages: the JSON objects a
// client and the server exchange over the /ws WebSocket. docs/protocol.md is
// the prose version of this file; the two change together.
//
// Every message is one JSON object in one WebSocket text frame, with a
// "type" field naming it. The negotiation rule that avoids glare: the server
// always makes the SDP offer, the client always answers.
package protocol

import (
	"encoding/json"
	"fmt"
)

// Version is the protocol version this server speaks. A client sends it in
// join; the server rejects any other value with CodeBadVersion.
const Version = 1

// MaxMessageBytes is the largest message the server reads. A larger one is
// answered with CodeTooLarge and the connection is closed (1009).
const MaxMessageBytes = 64 << 10

// Message types sent by the client.
const (
	TypeJoin      = "join"
	TypeAnswer    = "answer"
	TypeCandidate = "candidate" // both directions
	TypeMute      = "mute"
	TypePing      = "ping"
	TypeLeave     = "leave"
	TypeResume    = "resume" // instead of join, to take back a place after a dropped connection

	// Moderation, from hosts only (docs/protocol.md, "Moderation").
	TypeEndCall         = "end-call"
	TypeRemove          = "remove"
	TypeMuteParticipant = "mute-participant"
	TypeMuteAll         = "mute-all"
	TypeLock            = "lock"
	TypeUnlock          = "unlock"
	TypeSetHost         = "set-host"
)

// Message types sent by the server.
const (
	TypeJoined             = "joined"
	TypeOffer              = "offer"
	TypeParticipantJoined  = "participant-joined"
	TypeParticipantUpdated = "participant-updated"
	TypeParticipantLeft    = "participant-left"
	TypePong               = "pong"
	TypeError              = "error"
	TypeBye                = "bye"
	TypeCallUpdated        = "call-updated"
	TypeCallWarning        = "call-warning"
	TypeResumed            = "resumed"
)

// Error codes carried by Error.Code. They are stable: clients may switch on them.
const (
	CodeBadJSON       = "bad-json"       // not a JSON object, or a field of the wrong type
	CodeUnknownType   = "unknown-type"   // "type" missing or not one listed here
	CodeTooLarge      = "too-large"      // message over MaxMessageBytes; the connection closes
	CodeBadVersion    = "bad-version"    // join.version is not Version; the connection closes
	CodeBadToken      = "bad-token"      // join token malformed, forged or for another room; closes
	CodeTokenExpired  = "token-expired"  // join token past its expiry; closes
	CodeRoomNotFound  = "room-not-found" // the token's room no longer exists; closes
	CodeNotJoined     = "not-joined"     // a message other than join/ping before join
	CodeAlreadyJoined = "already-joined" // a second join on one connection
	CodeBadRequest    = "bad-request"    // a required field missing or out of range
	CodeBadSDP        = "bad-sdp"        // the answer or candidate was refused by the media layer (also: a candidate over 1 KiB)
	CodeRateLimited   = "rate-limited"   // too many messages; repeated flooding closes the connection
	CodeJoinTimeout   = "join-timeout"   // no successful join within the join deadline; closes (1008)
	CodeInternal      = "internal"       // the server failed; the message quotes an id from its log

	// CodeTooManyCandidates: the candidate (or the answer carrying
	// candidates) would pass the connection's bound of 64 distinct remote
	// candidates or 32 KiB of them; it is dropped, the connection stays.
	CodeTooManyCandidates = "too-many-candidates"
	// CodeOfferTimeout: an offer went unanswered for the offer timeout
	// (15 s by default); the connection closes (1008).
	CodeOfferTimeout = "offer-timeout"
	// CodeTooSlow: the client read its messages too slowly and more than
	// 1 MiB (or 256 messages) waited for it; what waited is dropped and
	// the connection closes (1008). A client reading nothing may only see
	// the connection drop.
	CodeTooSlow = "too-slow"
	// CodeTooManyStreams: the client's media named more SSRCs (in RTP,
	// or as the destinations of RTCP, such as receiver report blocks) than
	// its m-lines explain: 64 + 4 per m-line + 2 each time the server put
	// another track on an m-line, at once. The media connection is closed
	// and the connection closes (1008).
	CodeTooManyStreams = "too-many-streams"

	// CodeNotHost: a moderation message from a participant who is not a
	// host; nothing changed.
	CodeNotHost = "not-host"
	// CodeUnknownParticipant: the participantId of a moderation message
	// names no one in the call.
	CodeUnknownParticipant = "unknown-participant"
	// CodeCallLocked: a join refused because a host locked the call (hosts
	// may still join); closes (1008).
	CodeCallLocked = "call-locked"
	// CodeResumeFailed: a resume the server cannot honour (no such
	// participant, a wrong or used token, a grace period that has passed,
	// a call that has ended); the connection stays open and unjoined, so
	// the client may send join on it at once.
	CodeResumeFailed = "resume-failed"
)

// The states of Participant.Connection.
const (
	ConnectionConnected    = "connected"    // the participant's connection is up
	ConnectionReconnecting = "reconnecting" // it dropped; the place is kept for the grace period
)

// Reasons carried by Bye.Reason and ParticipantLeft.Reason.
const (
	ReasonLeft           = "left"            // the participant sent leave
	ReasonDisconnected   = "disconnected"    // the connection dropped or timed out
	ReasonServerShutdown = "server-shutdown" // the server is stopping
	ReasonRoomDeleted    = "room-deleted"    // the room was deleted while the call ran
	ReasonError          = "error"           // closed after a fatal error message
	ReasonMediaFailed    = "media-failed"    // the participant's media connection (ICE/DTLS) failed
	ReasonEndedByHost    = "ended-by-host"   // a host ended the call for everyone
	ReasonRemoved        = "removed"         // a host removed the participant
)

// Roles carried by Participant.Role and Joined.Role (the same strings as
// the join token's role).
const (
	RoleHost   = "host"   // may send the moderation messages
	RoleMember = "member" // an ordinary participant
	RoleGuest  = "guest"  // joined by a guest link
)

// Envelope is the part every message shares. The server decodes it first to
// pick the message struct.
type Envelope struct {
	Type string `json:"type"`
}

// Join is the first message a client sends.
type Join struct {
	Type    string  `json:"type"`
	Version int     `json:"version"`
	Token   string  `json:"token"`   // from POST /api/v1/join
	Name    string  `json:"name"`    // display name, 1-64 characters after trimming
	Publish Publish `json:"publish"` // what the client will send
}

// Publish says which media a participant sends.
type Publish struct {
	Audio bool `json:"audio"`
	Video bool `json:"video"`
}

// Joined answers a successful Join.
type Joined struct {
	Type          string        `json:"type"`
	Version       int           `json:"version"`
	ParticipantID string        `json:"participantId"`
	Room          Room          `json:"room"`
	Participants  []Participant `json:"participants"` // everyone else already in the call
	ICEServers    []ICEServer   `json:"iceServers"`   // for the client's RTCPeerConnection
	Role          string        `json:"role"`         // yours: RoleHost, RoleMember or RoleGuest
	Call          CallState     `json:"call"`         // the call's state as you join
	// ResumeToken takes this place back over a new connection if this
	// one drops (Resume). Single use; each Resumed carries the next.
	ResumeToken string `json:"resumeToken"`
}

// Resume, sent instead of Join as the first message of a new connection,
// takes back the place of a participant whose connection dropped, within
// the grace period, keeping its id, role and tracks. The server answers
// Resumed, then an offer that restarts ICE; or an Error with
// CodeResumeFailed, after which the client joins afresh.
type Resume struct {
	Type          string `json:"type"`
	Version       int    `json:"version"`
	ParticipantID string `json:"participantId"` // Joined.ParticipantID
	Token         string `json:"token"`         // the latest resume token: Joined.ResumeToken or Resumed.ResumeToken
}

// Resumed answers a successful Resume with the call as it is now: what
// changed while the client was away is not replayed, this replaces it.
type Resumed struct {
	Type          string        `json:"type"`
	Version       int           `json:"version"`
	ParticipantID string        `json:"participantId"` // unchanged
	Role          string        `json:"role"`          // yours now (a host may have handed it on)
	Self          Participant   `json:"self"`          // your record now (e.g. muted by a host meanwhile)
	Room          Room          `json:"room"`
	Participants  []Participant `json:"participants"` // everyone else, in join order
	ICEServers    []ICEServer   `json:"iceServers"`
	Call          CallState     `json:"call"`
	ResumeToken   string        `json:"resumeToken"` // the next resume token; the one just used is spent
}

// CallState is the state of the call every participant is shown.
type CallState struct {
	Locked bool `json:"locked"` // only hosts may join
	// EndsAt, when set, is when the server will end the call (RFC 3339,
	// UTC) unless something changes first, and EndReason why: the
	// reason its bye will carry (see docs/protocol.md, "Reasons").
	// Both are absent while the call has no deadline.
	EndsAt    string `json:"endsAt,omitempty"`
	EndReason string `json:"endReason,omitempty"`
}

// Room describes the call's room.
type Room struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Participant is one person (or device) in a call.
type Participant struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Role       string `json:"role"` // RoleHost, RoleMember or RoleGuest
	AudioMuted bool   `json:"audioMuted"`
	VideoMuted bool   `json:"videoMuted"`
	// AudioMutedByHost: a host muted this participant; the server does
	// not forward their audio until they unmute themselves (mute with
	// audioMuted false). AudioMuted is true meanwhile.
	AudioMutedByHost bool `json:"audioMutedByHost"`
	// Connection is ConnectionConnected or ConnectionReconnecting (its
	// connection dropped and the server keeps its place for the grace
	// period; it comes back as the same participant, or leaves with
	// ReasonDisconnected).
	Connection string `json:"connection"`
}

// ICEServer is one STUN or TURN server, shaped as RTCIceServer.
type ICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

// Offer carries the server's SDP offer. Publish names the mids of the
// transceivers on which the client must send its microphone and camera;
// every other m-line carries another participant's media, and its stream
// id (msid) is that participant's id.
type Offer struct {
	Type    string      `json:"type"`
	SDP     string      `json:"sdp"`
	Publish PublishMids `json:"publish"`
}

// PublishMids names the transceivers a client sends on; "" when it does not
// publish that kind.
type PublishMids struct {
	Audio string `json:"audio,omitempty"`
	Video string `json:"video,omitempty"`
}

// Answer is the client's SDP answer to the latest Offer.
type Answer struct {
	Type string `json:"type"`
	SDP  string `json:"sdp"`
}

// Candidate trickles one ICE candidate, in either direction.
type Candidate struct {
	Type      string       `json:"type"`
	Candidate ICECandidate `json:"candidate"`
}

// ICECandidate is shaped as RTCIceCandidateInit.
type ICECandidate struct {
	Candidate        string  `json:"candidate"`
	SDPMid           *string `json:"sdpMid,omitempty"`
	SDPMLineIndex    *uint16 `json:"sdpMLineIndex,omitempty"`
	UsernameFragment *string `json:"usernameFragment,omitempty"`
}

// Mute reports the sender's own microphone and camera state.
type Mute struct {
	Type       string `json:"type"`
	AudioMuted bool   `json:"audioMuted"`
	VideoMuted bool   `json:"videoMuted"`
}

// Ping asks for a Pong with the same ID (an application-level keepalive for
// clients, such as browsers, that cannot send WebSocket pings).
type Ping struct {
	Type string `json:"type"`
	ID   string `json:"id,omitempty"`
}

// Pong answers Ping.
type Pong struct {
	Type string `json:"type"`
	ID   string `json:"id,omitempty"`
}

// Leave ends the sender's participation; the server closes the connection.
type Leave struct {
	Type string `json:"type"`
}

// ParticipantJoined tells everyone else that a participant joined.
type ParticipantJoined struct {
	Type        string      `json:"type"`
	Participant Participant `json:"participant"`
}

// ParticipantUpdated tells everyone that a participant's state changed.
type ParticipantUpdated struct {
	Type        string      `json:"type"`
	Participant Participant `json:"participant"`
}

// ParticipantLeft tells everyone else that a participant left.
type ParticipantLeft struct {
	Type          string `json:"type"`
	ParticipantID string `json:"participantId"`
	Reason        string `json:"reason"`
}

// Error reports a problem with a message the client sent, or with the
// session. Ref is the type of the message it answers, when known.
type Error struct {
	Type    string `json:"type"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Ref     string `json:"ref,omitempty"`
}

// Bye is the server's last message before it closes the connection.
type Bye struct {
	Type   string `json:"type"`
	Reason string `json:"reason"`
}

// EndCall (hosts only) ends the call for everyone: each participant is
// sent Bye with ReasonEndedByHost.
type EndCall struct {
	Type string `json:"type"`
}

// Remove (hosts only) removes a participant: they are sent Bye with
// ReasonRemoved, the others ParticipantLeft with ReasonRemoved.
type Remove struct {
	Type          string `json:"type"`
	ParticipantID string `json:"participantId"`
}

// MuteParticipant (hosts only) mutes a participant: the server stops
// forwarding their audio until they unmute themselves.
type MuteParticipant struct {
	Type          string `json:"type"`
	ParticipantID string `json:"participantId"`
}

// MuteAll (hosts only) mutes, as MuteParticipant, everyone who is not a host.
type MuteAll struct {
	Type string `json:"type"`
}

// Lock (hosts only) refuses later joins by anyone but hosts.
type Lock struct {
	Type string `json:"type"`
}

// Unlock (hosts only) undoes Lock.
type Unlock struct {
	Type string `json:"type"`
}

// SetHost (hosts only) hands the host role to another participant; the
// sender becomes a member.
type SetHost struct {
	Type          string `json:"type"`
	ParticipantID string `json:"participantId"`
}

// CallUpdated tells everyone that the call's state changed.
type CallUpdated struct {
	Type string    `json:"type"`
	Call CallState `json:"call"`
}

// CallWarning tells everyone that the call will end soon: at EndsAt, for
// Reason (as in CallState). The call's rules send it, e.g. 5 minutes and
// 1 minute before a booked meeting's end.
type CallWarning struct {
	Type   string `json:"type"`
	EndsAt string `json:"endsAt"`
	Reason string `json:"reason"`
}

// Decode reads one message from data and returns a pointer to its typed
// struct (*Join, *Answer, ...). It returns an *Error (with Code set) for
// malformed JSON or an unknown type.
func Decode(data []byte) (any, *Error) {
	var env Envelope
	if err := json.Unmarshal(data, &env); err != nil {
		return nil, &Error{Type: TypeError, Code: CodeBadJSON, Message: fmt.Sprintf("malformed JSON: %v", err)}
	}
	var msg any
	switch env.Type {
	case TypeJoin:
		msg = &Join{}
	case TypeAnswer:
		msg = &Answer{}
	case TypeCandidate:
		msg = &Candidate{}
	case TypeMute:
		msg = &Mute{}
	case TypePing:
		msg = &Ping{}
	case TypeLeave:
		msg = &Leave{}
	case TypeResume:
		msg = &Resume{}
	case TypeResumed:
		msg = &Resumed{}
	case TypeEndCall:
		msg = &EndCall{}
	case TypeRemove:
		msg = &Remove{}
	case TypeMuteParticipant:
		msg = &MuteParticipant{}
	case TypeMuteAll:
		msg = &MuteAll{}
	case TypeLock:
		msg = &Lock{}
	case TypeUnlock:
		msg = &Unlock{}
	case TypeSetHost:
		msg = &SetHost{}
	case TypeCallUpdated:
		msg = &CallUpdated{}
	case TypeCallWarning:
		msg = &CallWarning{}
	case TypeJoined:
		msg = &Joined{}
	case TypeOffer:
		msg = &Offer{}
	case TypeParticipantJoined:
		msg = &ParticipantJoined{}
	case TypeParticipantUpdated:
		msg = &ParticipantUpdated{}
	case TypeParticipantLeft:
		msg = &ParticipantLeft{}
	case TypePong:
		msg = &Pong{}
	case TypeError:
		msg = &Error{}
	case TypeBye:
		msg = &Bye{}
	case TypeRegister:
		msg = &Register{}
	case TypeRegistered:
		msg = &Registered{}
	case TypePresence:
		msg = &Presence{}
	case TypeCallEndpoint:
		msg = &CallEndpoint{}
	case TypeAcceptCall:
		msg = &AcceptCall{}
	case TypeDeclineCall:
		msg = &DeclineCall{}
	case TypeCancelCall:
		msg = &CancelCall{}
	case TypeRinging, TypeIncomingCall, TypeCallAccepted, TypeCallDeclined, TypeCallCancelled, TypeCallMissed:
		msg = &Ring{}
	case "":
		return nil, &Error{Type: TypeError, Code: CodeUnknownType, Message: `message has no "type" field`}
	default:
		return nil, &Error{Type: TypeError, Code: CodeUnknownType, Message: fmt.Sprintf("unknown message type %q", env.Type), Ref: env.Type}
	}
	if err := json.Unmarshal(data, msg); err != nil {
		return nil, &Error{Type: TypeError, Code: CodeBadJSON, Message: fmt.Sprintf("malformed %s message: %v", env.Type, err), Ref: env.Type}
	}
	return msg, nil
}
