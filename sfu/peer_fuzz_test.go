package sfu

import (
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
)

// newFuzzSFU returns an SFU for fuzz targets: loopback only, no ICE-TCP,
// and a logger that drops everything (a fuzzer makes Pion warn a lot).
func newFuzzSFU(f *testing.F) *SFU {
	f.Helper()
	s, err := New(Config{Loopback: true, TCPPort: -1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = s.Close() })
	return s
}

// fuzzPeer adds a peer publishing what the low two bits of publish say
// (audio, video) to a new router and waits for its first offer. The
// router is closed by t.Cleanup.
func fuzzPeer(t *testing.T, s *SFU, publish uint8) *Peer {
	t.Helper()
	r := s.NewRouter("fuzz")
	t.Cleanup(r.Close)
	offers := make(chan Offer, 1)
	p, err := r.AddPeer(PeerConfig{
		ID: "p", PublishAudio: publish&1 != 0, PublishVideo: publish&2 != 0,
		OnOffer: func(o Offer) {
			select {
			case offers <- o:
			default:
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-offers:
	case <-time.After(5 * time.Second):
		t.Fatal("no offer within 5s")
	}
	return p
}

// FuzzSetAnswer applies an answer to the outstanding offer of a real Peer
// (publishing audio and video as the low bits of publish say), as
// signaling does with a client's answer. The seeds
// (testdata/fuzz/FuzzSetAnswer) are answers Pion clients made to such
// offers, publishing and not, and the protocol's documented example.
//
// Its candidate lines are dropped first: once an answer is applied, ICE
// would send checks to any address they name. ice.UnmarshalCandidate is
// fuzzed by FuzzAddCandidate.
//
// Properties: an answer is accepted, or refused with an error wrapping
// ErrBadDescription; once one is accepted no offer is pending (a second
// answer gets ErrNoOfferPending) and the peer still takes candidates.
func FuzzSetAnswer(f *testing.F) {
	s := newFuzzSFU(f)
	f.Fuzz(func(t *testing.T, publish uint8, sdp string) {
		p := fuzzPeer(t, s, publish)
		sdp = stripCandidateLines(sdp)
		err := p.SetAnswer(sdp)
		if err != nil {
			if !errors.Is(err, ErrBadDescription) {
				t.Fatalf("SetAnswer refused with %v, want ErrBadDescription", err)
			}
			return
		}
		if err := p.SetAnswer(sdp); !errors.Is(err, ErrNoOfferPending) {
			t.Fatalf("second SetAnswer = %v, want ErrNoOfferPending", err)
		}
		// A candidate on the loopback (never sent to: the peer closes first).
		c := webrtc.ICECandidateInit{Candidate: "candidate:1 1 udp 2130706431 127.0.0.1 9 typ host"}
		if err := p.AddCandidate(c); err != nil && !errors.Is(err, ErrBadDescription) {
			t.Fatalf("AddCandidate after an accepted answer = %v", err)
		}
	})
}

// FuzzAddCandidate trickles one remote candidate to a real Peer whose offer
// is outstanding (so the candidate is parsed and held, and no ICE check is
// sent), as signaling does with a client's candidate message. The seeds
// (testdata/fuzz/FuzzAddCandidate) are candidates gathered by Pion and
// browsers' forms of host, srflx, relay, TCP, IPv6 and mDNS candidates.
//
// Properties: AddCandidate accepts exactly what ice.UnmarshalCandidate
// parses within MaxCandidateBytes (and "", the end of candidates), and
// refuses the rest with an error wrapping ErrBadDescription.
func FuzzAddCandidate(f *testing.F) {
	s := newFuzzSFU(f)
	f.Fuzz(func(t *testing.T, cand string) {
		p := fuzzPeer(t, s, 3)
		mid := "0"
		err := p.AddCandidate(webrtc.ICECandidateInit{Candidate: cand, SDPMid: &mid})
		_, perr := ice.UnmarshalCandidate(cand)
		switch {
		case cand == "":
			if err != nil {
				t.Fatalf("end-of-candidates refused: %v", err)
			}
		case perr != nil || len(cand)+len(mid) > MaxCandidateBytes:
			if !errors.Is(err, ErrBadDescription) {
				t.Fatalf("AddCandidate(%q) = %v; UnmarshalCandidate refused it (%v) or it is too long", cand, err, perr)
			}
		case err != nil:
			t.Fatalf("AddCandidate(%q) = %v; UnmarshalCandidate accepted it", cand, err)
		}
	})
}

// stripCandidateLines drops every line of sdp that mentions "candidate",
// in any case; with a lone CR inside a line, more than that line goes.
func stripCandidateLines(sdp string) string {
	lines := strings.SplitAfter(sdp, "\n")
	kept := lines[:0]
	for _, l := range lines {
		if !strings.Contains(strings.ToLower(l), "candidate") {
			kept = append(kept, l)
		}
	}
	return strings.Join(kept, "")
}
