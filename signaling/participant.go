package signaling

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/pion/webrtc/v4"

	"github.com/parley-dev/parley/rooms"
	"github.com/parley-dev/parley/signaling/protocol"
)

type (
	webrtcCandidate = webrtc.ICECandidateInit
	peerState       = webrtc.PeerConnectionState
)

var errRoomNotFound = rooms.ErrRoomNotFound

func isFailed(s peerState) bool    { return s == webrtc.PeerConnectionStateFailed }
func isConnected(s peerState) bool { return s == webrtc.PeerConnectionStateConnected }

// maxNameRunes bounds a display name.
const maxNameRunes = 64

// validDisplayName trims name and checks it is 1-64 characters of valid
// UTF-8 with no control characters (format characters such as U+200B and
// U+202E are allowed: emoji sequences need U+200D).
func validDisplayName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "", errors.New("name is empty: say who you are")
	}
	if !utf8.ValidString(name) {
		return "", errors.New("name is not valid UTF-8")
	}
	if n := utf8.RuneCountInString(name); n > maxNameRunes {
		return "", fmt.Errorf("name is %d characters long; the limit is %d", n, maxNameRunes)
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return "", errors.New("name contains control characters")
		}
	}
	return name, nil
}

func toICECandidateInit(c protocol.ICECandidate) webrtc.ICECandidateInit {
	return webrtc.ICECandidateInit{
		Candidate:        c.Candidate,
		SDPMid:           c.SDPMid,
		SDPMLineIndex:    c.SDPMLineIndex,
		UsernameFragment: c.UsernameFragment,
	}
}

func fromICECandidateInit(c webrtc.ICECandidateInit) protocol.ICECandidate {
	return protocol.ICECandidate{
		Candidate:        c.Candidate,
		SDPMid:           c.SDPMid,
		SDPMLineIndex:    c.SDPMLineIndex,
		UsernameFragment: c.UsernameFragment,
	}
}

// iceServers returns the configured STUN/TURN servers, never nil.
func (s *Server) iceServers() []protocol.ICEServer {
	if s.cfg.ICEServers == nil {
		return []protocol.ICEServer{}
	}
	return s.cfg.ICEServers
}
