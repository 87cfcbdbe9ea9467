package livecall

import "errors"

// Errors returned by Call's methods. Package signaling maps each to a
// protocol error code (docs/protocol.md).
var (
	// ErrEnded: the call is ending or has ended; it takes no one and
	// changes no more. A joiner should start a new call.
	ErrEnded = errors.New("livecall: the call has ended")
	// ErrNotHost: a moderation request from a participant who is not a
	// host (protocol code not-host).
	ErrNotHost = errors.New("livecall: only a host may do this")
	// ErrUnknownParticipant: the participant named is not in the call
	// (protocol code unknown-participant).
	ErrUnknownParticipant = errors.New("livecall: no such participant in the call")
	// ErrLocked: the call is locked and the joiner is not a host
	// (protocol code call-locked).
	ErrLocked = errors.New("livecall: the call is locked")
	// ErrSelf: a host named themselves where only another participant
	// makes sense (remove, set-host) (protocol code bad-request).
	ErrSelf = errors.New("livecall: a participant cannot do this to themselves")
	// ErrDuplicateParticipant: a join with the id of a participant
	// already in the call.
	ErrDuplicateParticipant = errors.New("livecall: participant id already in the call")
)

// Refusal is a Policy's reason to refuse a join. Code is the protocol
// error code the joiner is shown (e.g. "not-yet-open"); each policy that
// refuses documents its codes in docs/protocol.md.
type Refusal struct {
	Code    string
	Message string // human-readable English, for the joiner's logs
}

func (r *Refusal) Error() string { return "livecall: join refused: " + r.Code + ": " + r.Message }
