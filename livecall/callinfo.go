package livecall

import "github.com/parley-dev/parley/signaling/protocol"

// CallInfo is implemented by a Policy whose rules add facts to the call's
// state every participant is shown (protocol.CallState, in joined,
// resumed and call-updated): a booked meeting's times, say. The call
// calls it on its goroutine each time it describes its state; it must
// only fill in st.
type CallInfo interface {
	CallInfo(ctl *Control, st *protocol.CallState)
}
