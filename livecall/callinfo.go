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

// Listener is implemented by a Policy whose rules depend on facts that
// change outside the call while it runs (a booked meeting cancelled or
// moved by the coordinator). Call.Notify hands it the news on the call's
// goroutine, with a Control valid during the method; it must not block.
type Listener interface {
	OnNotice(ctl *Control, notice any)
}

// Notify tells the call's policy notice, if the policy is a Listener,
// and waits until it has been told. It returns ErrEnded once the call has
// ended; a policy that is not a Listener ignores notice.
func (c *Call) Notify(notice any) error {
	l, ok := c.policy.(Listener)
	if !ok {
		return nil
	}
	return c.do(func() error {
		if c.state == StateOpen {
			l.OnNotice(&Control{c}, notice)
		}
		return nil
	})
}
