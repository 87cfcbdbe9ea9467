package protocol

// Endpoints and direct calls (docs/protocol.md, "Endpoints and direct
// calls"). An endpoint (a member's client or a room system of a group)
// opens /ws and sends Register instead of Join: the connection becomes its
// presence connection, on which it sees the group's endpoints and their
// presence, rings another endpoint (CallEndpoint) and is rung
// (IncomingCall). An accepted ring gives both sides a join token for an
// ad-hoc call, which each joins with Join on a new connection, as for a
// room.

// Message types of presence connections, sent by the client.
const (
	TypeRegister     = "register"      // instead of join: this connection is the endpoint's presence connection
	TypeCallEndpoint = "call-endpoint" // ring another endpoint of the group (into a call you are in, with callId)
	TypeAcceptCall   = "accept-call"   // answer a ring
	TypeDeclineCall  = "decline-call"  // refuse a ring
	TypeCancelCall   = "cancel-call"   // stop your own rings in a call
)

// Message types of presence connections, sent by the server.
const (
	TypeRegistered    = "registered"     // answers register: who you are and the group's endpoints
	TypePresence      = "presence"       // an endpoint's presence changed
	TypeRinging       = "ringing"        // your call-endpoint rings the callee
	TypeIncomingCall  = "incoming-call"  // someone rings you
	TypeCallAccepted  = "call-accepted"  // a ring was accepted; carries a join token for the call
	TypeCallDeclined  = "call-declined"  // a ring was declined
	TypeCallCancelled = "call-cancelled" // a ring was cancelled by its caller (or its caller went offline)
	TypeCallMissed    = "call-missed"    // a ring went unanswered for 30 s (or its callee went offline)
)

// Error codes of presence connections.
const (
	// CodeNotRegistered: a direct-call message on a connection that has
	// not sent register.
	CodeNotRegistered = "not-registered"
	// CodeUnknownEndpoint: call-endpoint names no endpoint of your group.
	CodeUnknownEndpoint = "unknown-endpoint"
	// CodeEndpointOffline: the endpoint has no presence connection to
	// ring.
	CodeEndpointOffline = "endpoint-offline"
	// CodeEndpointBusy: the endpoint is being rung already.
	CodeEndpointBusy = "endpoint-busy"
	// CodeTooManyRings: you have as many rings waiting for an answer as
	// an endpoint may (3).
	CodeTooManyRings = "too-many-rings"
	// CodeUnknownCall: no ring or call with this callId is yours to
	// answer, cancel or add to (it was answered, declined, cancelled or
	// missed, or never was).
	CodeUnknownCall = "unknown-call"
	// CodeNotInCall: call-endpoint with the callId of a call you are not
	// in (join it first).
	CodeNotInCall = "not-in-call"
)

// Reasons of the bye that ends a presence connection.
const (
	ReasonSignedOut = "signed-out" // the endpoint's credentials were re-issued, or it was disabled or removed
	ReasonReplaced  = "replaced"   // the endpoint opened more presence connections than allowed: the oldest goes
)

// Kinds of endpoint (Endpoint.Kind).
const (
	KindMember     = "member"      // a member's client
	KindRoomSystem = "room-system" // a meeting room's screen
)

// Register is the first message of a presence connection, instead of Join.
type Register struct {
	Type    string `json:"type"`
	Version int    `json:"version"`
	// Token is the endpoint session token: the value of the
	// parley_endpoint cookie set by POST /api/v1/endpoint/login. Empty:
	// the server reads that cookie from the WebSocket upgrade request
	// (what a browser, whose cookie is HttpOnly, does).
	Token string `json:"token,omitempty"`
}

// Endpoint is one endpoint of a group, as others are shown it.
type Endpoint struct {
	ID      string `json:"id"`
	Name    string `json:"name"`    // its display name (the name its participants get in calls)
	Address string `json:"address"` // e.g. alice@choir
	Kind    string `json:"kind"`    // KindMember or KindRoomSystem
}

// EndpointStatus is an endpoint with its presence.
type EndpointStatus struct {
	Endpoint
	Online bool `json:"online"` // it has a presence connection, or is in a call
	InCall bool `json:"inCall"` // it is in a call (as this endpoint)
}

// Registered answers Register.
type Registered struct {
	Type      string           `json:"type"`
	Version   int              `json:"version"`
	Endpoint  Endpoint         `json:"endpoint"`  // you
	Endpoints []EndpointStatus `json:"endpoints"` // the group's other endpoints, by name
}

// Presence tells a presence connection that an endpoint of its group
// changed presence (or appeared: an endpoint not yet listed is new).
type Presence struct {
	Type     string         `json:"type"`
	Endpoint EndpointStatus `json:"endpoint"`
}

// CallEndpoint rings an endpoint of your group. With CallID, the id of a
// direct call you are in, it rings the endpoint into that call.
type CallEndpoint struct {
	Type       string `json:"type"`
	EndpointID string `json:"endpointId"`
	CallID     string `json:"callId,omitempty"`
}

// AcceptCall answers the ring of call CallID; DeclineCall refuses it;
// CancelCall stops the sender's own rings in it.
type AcceptCall struct {
	Type   string `json:"type"`
	CallID string `json:"callId"`
}

// DeclineCall refuses the ring of call CallID.
type DeclineCall struct {
	Type   string `json:"type"`
	CallID string `json:"callId"`
}

// CancelCall stops the sender's rings in call CallID.
type CancelCall struct {
	Type   string `json:"type"`
	CallID string `json:"callId"`
}

// Ring is what every message about one ring carries: the call it rings
// into, who rings (From) and who is rung (To). The server sends it as
// ringing, incoming-call, call-accepted, call-declined, call-cancelled
// and call-missed.
type Ring struct {
	Type   string   `json:"type"`
	CallID string   `json:"callId"`
	From   Endpoint `json:"from"`
	To     Endpoint `json:"to"`
	// Token, in call-accepted only, is the join token for the call, for
	// the connection that accepted and for the one that rang: send it in
	// Join on a new connection. It works until the call ends.
	Token string `json:"token,omitempty"`
	// Conference, in incoming-call and ringing, says that the ring is
	// into a call already under way.
	Conference bool `json:"conference,omitempty"`
}
