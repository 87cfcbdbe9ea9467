// Package protocol defines parley's signaling messages: the JSON objects a
// client and the server exchange over the /ws WebSocket. docs/protocol.md is
// the prose version of this file; the two change together.
//
// Every message is one JSON object in one WebSocket text frame, with a
// "type" field naming it. The negotiation rule that avoids glare: each
// connection has one offerer. On the main connection the server always
// makes the SDP offer and the client answers; on a version-2 client's
// publisher connection the client always offers and the server answers.
package protocol

import (
	"encoding/json"
	"fmt"
)

// Version is the newest protocol version this server speaks. A client
// sends its version in join (or resume): MinVersion up to Version are
// accepted, anything else is refused with CodeBadVersion. Version 2 adds
// the publisher connection (PublishOffer, PublishAnswer, Candidate.Target),
// on which the client offers what it publishes, so that a browser can
// publish its camera as simulcast layers; version 1 is unchanged.
const Version = 2

// MinVersion is the oldest protocol version the server still speaks.
const MinVersion = 1

// VersionPublisher is the first version with the publisher connection.
const VersionPublisher = 2

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

	// A booked meeting's host key (docs/protocol.md, "Booked meetings"),
	// from any participant.
	TypeClaimHost = "claim-host"

	// Simulcast (docs/protocol.md, "Simulcast: the publisher connection").
	TypePublishOffer = "publish-offer" // version 2: the client's offer on its publisher connection
	TypeSetLayer     = "set-layer"     // a subscriber picks a layer of someone's camera
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
	TypePublishAnswer      = "publish-answer" // version 2: the answer to publish-offer
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
	// CodeNoSuchLayer: a set-layer naming a layer the participant's camera
	// does not have (no such RID offered, or no camera sent to you).
	CodeNoSuchLayer = "no-such-layer"

	// CodeWrongHostKey: a claim-host whose key is not the meeting's host
	// key; nothing changed. Failed attempts are throttled (rate-limited).
	CodeWrongHostKey = "wrong-host-key"
	// CodeNoHostKey: a claim-host in a call that has no host key (not a
	// booked meeting's).
	CodeNoHostKey = "no-host-key"
)

// Candidate targets (Candidate.Target): which of the client's connections a
// candidate belongs to.
const (
	TargetSubscriber = ""          // the main connection, where the server offers (all of version 1)
	TargetPublisher  = "publisher" // version 2: the publisher connection, where the client offers
)

// MaxLayerBytes bounds SetLayer.Layer: a RID is at most 16 characters
// (RFC 8851 allows longer ones; clients use one letter).
const MaxLayerBytes = 16

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
	Publish Publish `json:"publish"` // what the client will send: on the main connection in version 1, on the publisher connection in version 2
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
	// Booking, in a booked meeting's call only, is the occurrence the
	// call is for; HostKey says the meeting has a host key, which any
	// participant may send (ClaimHost) to become a host.
	Booking *Booking `json:"booking,omitempty"`
	HostKey bool     `json:"hostKey,omitempty"`
}

// Booking is a booked meeting's occurrence as its call shows it: its
// start and end, and when the server closes the call (the end and the
// 15 minutes' grace). RFC 3339 with the meeting zone's offset.
type Booking struct {
	Start    string `json:"start"`
	End      string `json:"end"`
	ClosesAt string `json:"closesAt"`
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
// transceivers on which the client must send its microphone and camera
// (none for a version-2 client, which sends on its publisher connection);
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

// Candidate trickles one ICE candidate, in either direction. Target says
// which connection it is for: TargetSubscriber (absent) or, from a
// version-2 client only, TargetPublisher. The server's candidates are all
// for the main connection (the publisher connection's are in its
// PublishAnswer).
type Candidate struct {
	Type      string       `json:"type"`
	Candidate ICECandidate `json:"candidate"`
	Target    string       `json:"target,omitempty"`
}

// PublishOffer (version 2) is the client's SDP offer on its publisher
// connection: at most one audio and one video m-line, sendonly, the video
// with up to 3 simulcast encodings (a=rid, lowest quality first). A later
// one renegotiates the connection (an ICE restart after a resume, or a
// change of what is published).
type PublishOffer struct {
	Type string `json:"type"`
	SDP  string `json:"sdp"`
}

// PublishAnswer (version 2) answers PublishOffer. Its SDP carries the
// server's ICE candidates; none are trickled for the publisher connection.
type PublishAnswer struct {
	Type string `json:"type"`
	SDP  string `json:"sdp"`
}

// SetLayer asks that the sender receive ParticipantID's camera from the
// simulcast layer Layer (one of the RIDs of that participant's
// publish-offer, e.g. "q", "h" or "f"). The switch happens at the layer's
// next keyframe; a camera with no simulcast has the one layer "".
type SetLayer struct {
	Type          string `json:"type"`
	ParticipantID string `json:"participantId"`
	Layer         string `json:"layer"`
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
	// RetryAfter, with CodeRateLimited where the server says so (a
	// throttled claim-host), is how many seconds until another attempt
	// is allowed.
	RetryAfter int `json:"retryAfter,omitempty"`
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

// ClaimHost asks to become a host of a booked meeting's call with its
// host key (HostKeyDigits decimal digits, from the group leader's mail).
// Right: the sender's role becomes host (participant-updated to
// everyone). Wrong: CodeWrongHostKey; throttled: CodeRateLimited with
// RetryAfter; a call without a host key: CodeNoHostKey.
type ClaimHost struct {
	Type string `json:"type"`
	Key  string `json:"key"`
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
	case TypeClaimHost:
		msg = &ClaimHost{}
	case TypeCallUpdated:
		msg = &CallUpdated{}
	case TypePublishOffer:
		msg = &PublishOffer{}
	case TypePublishAnswer:
		msg = &PublishAnswer{}
	case TypeSetLayer:
		msg = &SetLayer{}
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
