package sfu

import "github.com/pion/webrtc/v4"

// transceiverSlots keeps a peer's down-track transceivers whose down-track
// has gone, so that a new down-track of the same kind reuses one rather
// than adding an m-line: the peer's m-lines stay bounded by the most
// down-tracks it has had at once, plus its publish transceivers (or
// anchor), however many tracks come and go.
//
// A transceiver moves through three states. released: its sender was
// stopped (RemoveTrack), which turns the sendrecv transceiver recvonly, so
// the next offer carries no track on it. offered: it is recvonly in the
// outstanding offer. free: the client has answered an offer in which it
// was recvonly, so the client has seen its last track stop (a browser
// mutes it and removes it from its stream), and it may carry a new track,
// which reaches the client as a new msid and SSRC on the same mid (see
// docs/protocol.md, "The negotiation rule").
//
// Not inactive: a Pion answerer stops the receiver of an m-line offered
// inactive, and one offered inactive twice can never receive again
// (pion/webrtc#2226); recvonly leaves it alone.
//
// It is owned by the peer's run goroutine.
type transceiverSlots struct {
	released []*webrtc.RTPTransceiver
	inOffer  []*webrtc.RTPTransceiver
	free     map[webrtc.RTPCodecType][]*webrtc.RTPTransceiver // by kind
}

// release records that tr's down-track was removed.
func (s *transceiverSlots) release(tr *webrtc.RTPTransceiver) {
	s.released = append(s.released, tr)
}

// offered records that an offer went out: the transceivers released so
// far carry no track in it.
func (s *transceiverSlots) offered() {
	s.inOffer = append(s.inOffer, s.released...)
	clear(s.released)
	s.released = s.released[:0]
}

// answered records that the client answered the outstanding offer: the
// transceivers that carried no track in it are free.
func (s *transceiverSlots) answered() {
	for _, tr := range s.inOffer {
		s.putBack(tr)
	}
	clear(s.inOffer)
	s.inOffer = s.inOffer[:0]
}

// take returns a free transceiver of kind, removing it from the free
// list, or nil if there is none.
func (s *transceiverSlots) take(kind webrtc.RTPCodecType) *webrtc.RTPTransceiver {
	free := s.free[kind]
	if len(free) == 0 {
		return nil
	}
	tr := free[len(free)-1]
	free[len(free)-1] = nil
	s.free[kind] = free[:len(free)-1]
	return tr
}

// putBack makes tr free again.
func (s *transceiverSlots) putBack(tr *webrtc.RTPTransceiver) {
	if s.free == nil {
		s.free = make(map[webrtc.RTPCodecType][]*webrtc.RTPTransceiver)
	}
	s.free[tr.Kind()] = append(s.free[tr.Kind()], tr)
}
