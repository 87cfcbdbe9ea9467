package signaling

import (
	"errors"
	"fmt"

	"github.com/pion/sdp/v3"

	"github.com/parley-dev/parley/sfu"
	"github.com/parley-dev/parley/signaling/protocol"
)

// The publisher connection of protocol version 2 (docs/protocol.md,
// "Simulcast: the publisher connection").
//
// A version-2 client publishes on a second RTCPeerConnection on which it
// makes the offers (publish-offer) and the server answers (publish-answer),
// so that a browser can send its camera as simulcast layers, which the
// server cannot ask for in an offer of its own. The main connection goes on
// as in version 1, the server offering, but carries only what the client
// receives: the peer is made with no publish transceivers, so media a
// version-2 client sends on it is dropped, and it publishes on the
// publisher connection alone. What it may publish there is what it said in
// join.publish. Both connections share the peer's candidate bounds; each
// message is rate-limited as any other; the reader does not wait for the
// answer, and one publish-offer at a time waits for it.

// publishesOnMain reports whether a client of protocol version v publishes
// on the main connection, as version 1 does.
func publishesOnMain(v int) bool { return v < protocol.VersionPublisher }

// handlePublishOffer hands a version-2 client's offer on its publisher
// connection to the media peer, which answers later (publishAnswered):
// the reader goes on with the next message meanwhile, as it does while
// the main connection's offers are made. The peer applies the offer
// before anything the reader hands it afterwards (a trickled candidate),
// and one publish-offer at a time is in hand: another before its
// publish-answer is refused.
func (s *session) handlePublishOffer(m *protocol.PublishOffer) {
	const ref = protocol.TypePublishOffer
	if publishesOnMain(s.part.version) {
		s.sendError(protocol.CodeBadRequest, fmt.Sprintf("publish-offer needs protocol version %d; this participant joined with version %d", protocol.VersionPublisher, s.part.version), ref)
		return
	}
	if m.SDP == "" {
		s.sendError(protocol.CodeBadRequest, "publish-offer.sdp is empty", ref)
		return
	}
	if err := checkPublishKinds(m.SDP, s.part.publish); err != nil {
		s.sendError(protocol.CodeBadRequest, err.Error(), ref)
		return
	}
	if !s.publishing.CompareAndSwap(false, true) {
		s.sendError(protocol.CodeBadRequest, "the previous publish-offer is still being answered: wait for its publish-answer, then offer again", ref)
		return
	}
	if err := s.part.mediaPeer().PublishAsync(m.SDP, s.publishAnswered); err != nil {
		s.publishAnswered("", err)
	}
}

// publishAnswered sends the answer to the publish-offer in hand, or says
// why it was refused. It runs on the peer's goroutines, or on run when the
// offer is refused at once, and only enqueues.
func (s *session) publishAnswered(answer string, err error) {
	const ref = protocol.TypePublishOffer
	// Cleared first: the client offers again only once it has the answer.
	s.publishing.Store(false)
	switch {
	case errors.Is(err, sfu.ErrClosed):
		// the participant is leaving
	case err != nil:
		s.sendError(mediaErrorCode(err), fmt.Sprintf("publish offer refused: %v", err), ref)
	default:
		s.sendMsg(protocol.PublishAnswer{Type: protocol.TypePublishAnswer, SDP: answer})
	}
}

// checkPublishKinds returns an error, in words for the client, if offer has
// an audio or video m-line for a kind that join.publish did not declare.
// An offer that does not parse is left for the sfu to refuse (bad-sdp).
func checkPublishKinds(offer string, declared protocol.Publish) error {
	var d sdp.SessionDescription
	if err := d.UnmarshalString(offer); err != nil {
		return nil
	}
	for _, md := range d.MediaDescriptions {
		switch kind := md.MediaName.Media; {
		case kind == "audio" && !declared.Audio, kind == "video" && !declared.Video:
			return fmt.Errorf("publish-offer has a %s m-line, but join.publish.%s was false", kind, kind)
		}
	}
	return nil
}

// handlePublishCandidate adds a candidate a version-2 client trickled for
// its publisher connection (m.Target is not the main connection's).
func (s *session) handlePublishCandidate(m *protocol.Candidate) {
	const ref = protocol.TypeCandidate
	switch {
	case m.Target != protocol.TargetPublisher:
		s.sendError(protocol.CodeBadRequest, fmt.Sprintf("candidate.target %q is not one of \"\" and %q", m.Target, protocol.TargetPublisher), ref)
		return
	case publishesOnMain(s.part.version):
		s.sendError(protocol.CodeBadRequest, fmt.Sprintf("a candidate for the publisher connection needs protocol version %d", protocol.VersionPublisher), ref)
		return
	}
	err := s.part.mediaPeer().AddPublishCandidate(toICECandidateInit(m.Candidate))
	switch {
	case err == nil, errors.Is(err, sfu.ErrClosed):
	case errors.Is(err, sfu.ErrNoOfferPending):
		s.sendError(protocol.CodeBadRequest, "a candidate for the publisher connection before its publish-offer: send the offer first", ref)
	default:
		s.sendError(mediaErrorCode(err), fmt.Sprintf("candidate refused: %v", err), ref)
	}
}

// handleSetLayer switches the layer the client receives of another
// participant's camera.
func (s *session) handleSetLayer(m *protocol.SetLayer) {
	const ref = protocol.TypeSetLayer
	switch {
	case m.ParticipantID == "":
		s.sendError(protocol.CodeBadRequest, "set-layer.participantId is empty", ref)
		return
	case m.ParticipantID == s.part.id:
		s.sendError(protocol.CodeBadRequest, "set-layer cannot name yourself: the server sends you no video of your own", ref)
		return
	case len(m.Layer) > protocol.MaxLayerBytes:
		s.sendError(protocol.CodeBadRequest, fmt.Sprintf("set-layer.layer is %d bytes long; a layer's RID is at most %d", len(m.Layer), protocol.MaxLayerBytes), ref)
		return
	}
	err := s.part.mediaPeer().SetLayer(m.ParticipantID, m.Layer)
	switch {
	case err == nil, errors.Is(err, sfu.ErrClosed):
	case errors.Is(err, sfu.ErrNoSuchLayer) && !s.inCall(m.ParticipantID):
		s.sendError(protocol.CodeUnknownParticipant, "no such participant in this call", ref)
	case errors.Is(err, sfu.ErrNoSuchLayer):
		s.sendError(protocol.CodeNoSuchLayer, fmt.Sprintf("%s sends you no camera layer %q", m.ParticipantID, m.Layer), ref)
	default:
		s.internal(ref, fmt.Errorf("set layer: %w", err))
	}
}

// inCall reports whether id is a participant of the session's call.
func (s *session) inCall(id string) bool {
	for _, p := range s.part.call.call.Info().Participants {
		if p.ID == id {
			return true
		}
	}
	return false
}
