package signaling

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"github.com/parley-dev/parley/auth"
	"github.com/parley-dev/parley/rooms"
	"github.com/parley-dev/parley/sfu"
	"github.com/parley-dev/parley/signaling/protocol"
)

// The fuzz harness's join tokens are signed with this key at this time,
// so the tokens in testdata/fuzz/FuzzSessionHandle stay valid: fuzzTokenNow
// is also the harness's clock.
var (
	fuzzTokenKey = bytes.Repeat([]byte("fuzz-signing-key"), 2)
	fuzzTokenNow = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
)

const (
	fuzzRoomID     = "r_fuzzroom"
	fuzzGoneRoomID = "r_deleted" // a token's room that no longer exists
	fuzzRoomName   = "Fuzz Room"
)

// fuzzRooms is a RoomFinder holding one room.
type fuzzRooms struct{}

func (fuzzRooms) Room(_ context.Context, id string) (*rooms.Room, error) {
	if id != fuzzRoomID {
		return nil, rooms.ErrRoomNotFound
	}
	return &rooms.Room{ID: fuzzRoomID, Name: fuzzRoomName, Link: "fuzzlink", CreatedAt: fuzzTokenNow}, nil
}

// sessionHarness runs sessions without their reader and writer: the fuzz
// target calls session.handle directly and reads what it queued on out.
// The sessions share one real server-side WebSocket connection, which the
// session code only uses for deadlines (and to drop a client whose queue
// overflows); nothing is written to it, since no writeLoop runs.
type sessionHarness struct {
	srv       *Server
	conn      *websocket.Conn
	joinToken string // valid for fuzzRoomID
}

func newSessionHarness(f testing.TB) *sessionHarness {
	f.Helper()
	f.Cleanup(func() { goleak.VerifyNone(f) })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	media, err := sfu.New(sfu.Config{Loopback: true, TCPPort: -1, Logger: log})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = media.Close() })
	tokens, err := auth.NewTokens(auth.TokenConfig{Key: fuzzTokenKey, Now: func() time.Time { return fuzzTokenNow }})
	if err != nil {
		f.Fatal(err)
	}
	srv, err := New(Config{SFU: media, Tokens: tokens, Rooms: fuzzRooms{}, Logger: log, Directory: choir})
	if err != nil {
		f.Fatal(err)
	}
	return &sessionHarness{srv: srv, conn: wsPair(f), joinToken: fuzzToken(fuzzRoomID, fuzzTokenNow)}
}

// fuzzToken returns a join token for room issued at iat, signed with
// fuzzTokenKey, as auth.Tokens.IssueJoin makes one but with a fixed jti:
// the same in every fuzzing process, and in the seed corpus.
func fuzzToken(room string, iat time.Time) string {
	claims := &auth.JoinClaims{RoomID: room, Role: auth.RoleMember, RegisteredClaims: jwt.RegisteredClaims{
		Issuer: "parley", Subject: room, Audience: jwt.ClaimStrings{"parley-ws"},
		IssuedAt: jwt.NewNumericDate(iat), ExpiresAt: jwt.NewNumericDate(iat.Add(10 * time.Minute)), ID: "fuzz-jti",
	}}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(fuzzTokenKey)
	if err != nil {
		panic(err) // HS256 with a []byte key cannot fail
	}
	return tok
}

// wsPair returns the server side of a real WebSocket connection on
// 127.0.0.1, closed (with its client side and server) by f.Cleanup.
func wsPair(f testing.TB) *websocket.Conn {
	conns := make(chan *websocket.Conn, 1)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err == nil {
			conns <- c
		}
	}))
	f.Cleanup(hs.Close)
	client, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(hs.URL, "http"), nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { client.Close() })
	c := <-conns
	f.Cleanup(func() { c.Close() })
	return c
}

// fuzzClient is the client key of the harness's sessions.
var fuzzClient = netip.MustParsePrefix("192.0.2.7/32")

// newSession returns a session holding an unjoined slot, as ServeHTTP
// makes one.
func (h *sessionHarness) newSession(t *testing.T) *session {
	t.Helper()
	if err := h.srv.takeUnjoined(fuzzClient); err != nil {
		t.Fatalf("unjoined slot: %v", err)
	}
	return newSession(h.srv, h.conn, "192.0.2.7", fuzzClient)
}

// endSession does what run and ServeHTTP do once a connection has ended.
func (h *sessionHarness) endSession(s *session) {
	s.cleanup()
	s.releaseSlot()
}

// joinMsg is a join of protocol version v the harness makes for a joined
// session.
func (h *sessionHarness) joinMsg(v int) []byte {
	b, _ := json.Marshal(protocol.Join{Type: protocol.TypeJoin, Version: v, Token: h.joinToken,
		Name: "Fuzzy", Publish: protocol.Publish{Audio: true, Video: true}})
	return b
}

// sent is what a session queued for its writer.
type sent struct {
	msgs  []any // decoded messages sent by the session itself, in order
	media []any // offers, candidates and publish-answers, sent by the sfu's goroutines at any time
	close []outMsg
}

// drain takes what s has queued; with waitOffer set it first waits (up to
// 5s) for the offer the sfu sends after a join.
func drain(t *testing.T, s *session, waitOffer bool) sent {
	t.Helper()
	var out sent
	deadline := time.After(5 * time.Second)
	for {
		var m outMsg
		if waitOffer {
			select {
			case m = <-s.out:
			case <-deadline:
				t.Fatal("no offer within 5s of join")
			}
		} else {
			select {
			case m = <-s.out:
			default:
				return out
			}
		}
		if out.add(t, m) {
			waitOffer = false
		}
	}
}

// add checks one queued item: a close frame with a reason, or a message
// of a type the server sends that decodes, with a documented error code.
// It reports whether the item was an offer.
func (o *sent) add(t *testing.T, m outMsg) (offer bool) {
	t.Helper()
	if m.closeCode != 0 {
		if m.closeReason == "" {
			t.Fatalf("close frame %d without a reason", m.closeCode)
		}
		o.close = append(o.close, m)
		return false
	}
	if len(o.close) > 0 {
		t.Fatalf("message %s queued after a close frame", m.data)
	}
	msg, perr := protocol.Decode(m.data)
	if perr != nil {
		t.Fatalf("session sent %s, which does not decode: %s", m.data, perr.Message)
	}
	switch msg := msg.(type) {
	case *protocol.Error:
		if !knownCodes[msg.Code] || msg.Message == "" {
			t.Fatalf("error with undocumented code or no message: %s", m.data)
		}
	case *protocol.Offer, *protocol.Candidate, *protocol.PublishAnswer:
		o.media = append(o.media, msg)
		_, offer = msg.(*protocol.Offer)
		return offer
	case *protocol.Joined, *protocol.ParticipantJoined,
		*protocol.ParticipantUpdated, *protocol.ParticipantLeft, *protocol.Pong, *protocol.Bye,
		*protocol.Registered, *protocol.Presence, *protocol.Ring:
	default:
		t.Fatalf("session sent %T, a client's message: %s", msg, m.data)
	}
	o.msgs = append(o.msgs, msg)
	return false
}

var knownCodes = map[string]bool{
	protocol.CodeBadJSON: true, protocol.CodeUnknownType: true, protocol.CodeTooLarge: true,
	protocol.CodeBadVersion: true, protocol.CodeBadToken: true, protocol.CodeTokenExpired: true,
	protocol.CodeRoomNotFound: true, protocol.CodeNotJoined: true, protocol.CodeAlreadyJoined: true,
	protocol.CodeBadRequest: true, protocol.CodeBadSDP: true, protocol.CodeRateLimited: true,
	protocol.CodeJoinTimeout: true, protocol.CodeInternal: true, protocol.CodeTooManyCandidates: true,
	protocol.CodeOfferTimeout: true, protocol.CodeTooSlow: true, protocol.CodeTooManyStreams: true,
	protocol.CodeNotRegistered: true, protocol.CodeUnknownEndpoint: true, protocol.CodeEndpointOffline: true,
	protocol.CodeEndpointBusy: true, protocol.CodeTooManyRings: true, protocol.CodeUnknownCall: true,
	protocol.CodeNotInCall: true,
	protocol.CodeNotHost:   true, protocol.CodeUnknownParticipant: true, protocol.CodeCallLocked: true,
	protocol.CodeResumeFailed: true, protocol.CodeNoSuchLayer: true,
}

// FuzzSessionHandle dispatches one message, as a client sends it, to a
// fresh session that is either not joined yet or joined (with its media
// peer up and its first offer sent; with protocol version 1 for a message
// of even length, 2 for one of odd length, so that both versions' paths,
// such as the publisher connection's, are reached), exactly as the session's reader does
// once the message has passed the size and rate checks. The seeds
// (testdata/fuzz/FuzzSessionHandle) are the protocol's golden examples in
// both states; joins with a good, expired, forged and foreign-room token
// and with bad names; candidates; a Pion client's answer to the
// harness's offer; and a Pion client's publish-offer.
//
// Properties: everything the session queues is a server message that
// decodes, errors carry documented codes, nothing follows a close frame;
// a message that does not decode gets exactly its decode error and
// changes nothing; a session becomes joined only by a join of a version the server
// speaks (1 or 2) whose token verifies and whose name is valid, under that name; a joined
// session stays joined; ping gets a pong with its id; mute updates the
// participant and tells everyone; leave and every fatal error end with a
// close frame.
//
// An answer's or publish-offer's candidate lines are dropped before it is
// handled: once it is applied, Pion would send ICE checks to whatever
// addresses they name. ice.UnmarshalCandidate is fuzzed by the sfu's FuzzAddCandidate.
func FuzzSessionHandle(f *testing.F) {
	h := newSessionHarness(f)
	f.Fuzz(func(t *testing.T, joined bool, data []byte) {
		s := h.newSession(t)
		defer h.endSession(s)
		if joined {
			s.handle(h.joinMsg(protocol.MinVersion + len(data)%2))
			drain(t, s, true)
			if joinedCall(s) == nil || s.part.mediaPeer() == nil {
				t.Fatal("the harness's join failed")
			}
		}
		data = withoutSDPCandidates(data)
		before := wireSelf(s)
		call := joinedCall(s)
		s.handle(data)
		out := drain(t, s, false)
		checkHandled(t, h, s, call, before, data, out)
	})
}

// checkHandled checks the properties of FuzzSessionHandle for one message.
func checkHandled(t *testing.T, h *sessionHarness, s *session, call *liveCall, before protocol.Participant, data []byte, out sent) {
	t.Helper()
	if s.closing && len(out.close) == 0 {
		t.Fatalf("%q: session is closing but queued no close frame", data)
	}
	if len(out.close) > 1 {
		t.Fatalf("%q: %d close frames", data, len(out.close))
	}
	msg, perr := protocol.Decode(data)
	if perr != nil {
		if len(out.msgs) != 1 || !errorIs(out.msgs[0], perr.Code) || joinedCall(s) != call || s.closing {
			t.Fatalf("%q: undecodable message gave %#v and changed the session", data, out.msgs)
		}
		return
	}
	if call != nil && joinedCall(s) != call {
		t.Fatalf("%q: a joined session left or changed its call", data)
	}
	switch m := msg.(type) {
	case *protocol.Join:
		checkJoin(t, h, s, call, m, out)
	case *protocol.Register:
		checkRegister(t, s, call, m, out)
	case *protocol.CallEndpoint, *protocol.AcceptCall, *protocol.DeclineCall, *protocol.CancelCall:
		// Neither a call's participant nor a fresh connection has
		// registered: refused, and nothing changes.
		if len(out.msgs) != 1 || !errorIs(out.msgs[0], protocol.CodeNotRegistered) || s.pres != nil {
			t.Fatalf("%q: a direct-call message before register gave %#v", data, out.msgs)
		}
	case *protocol.Ping:
		if p, ok := first[*protocol.Pong](out); !ok || p.ID != m.ID {
			t.Fatalf("%q: ping answered with %#v", data, out.msgs)
		}
	case *protocol.Mute:
		if call == nil {
			break
		}
		want := before
		want.AudioMuted, want.VideoMuted = m.AudioMuted, m.VideoMuted
		if got := wireSelf(s); got != want {
			t.Fatalf("%q: participant %+v, want %+v", data, got, want)
		}
		if u, ok := first[*protocol.ParticipantUpdated](out); !ok || u.Participant != want {
			t.Fatalf("%q: mute broadcast %#v", data, out.msgs)
		}
	case *protocol.Leave:
		if len(out.close) != 1 || out.close[0].closeCode != websocket.CloseNormalClosure || s.leftReason != protocol.ReasonLeft {
			t.Fatalf("%q: leave gave close %+v, reason %q", data, out.close, s.leftReason)
		}
	}
	if call == nil && joinedCall(s) == nil && len(out.msgs) == 0 && len(out.close) == 0 {
		t.Fatalf("%q: no answer at all to a client that has not joined", data)
	}
}

// checkJoin checks a join: it succeeds only with a valid version, token and
// name, and only once.
func checkJoin(t *testing.T, h *sessionHarness, s *session, call *liveCall, m *protocol.Join, out sent) {
	t.Helper()
	if call != nil {
		if len(out.msgs) != 1 || !errorIs(out.msgs[0], protocol.CodeAlreadyJoined) {
			t.Fatalf("second join gave %#v", out.msgs)
		}
		return
	}
	name, nameErr := validDisplayName(m.Name)
	ok := m.Version >= protocol.MinVersion && m.Version <= protocol.Version && m.Token == h.joinToken && nameErr == nil
	if (joinedCall(s) != nil) != ok {
		t.Fatalf("join %+v: joined=%v, want %v", m, joinedCall(s) != nil, ok)
	}
	if !ok {
		if len(out.msgs) == 0 || !errorIs(out.msgs[0], "") {
			t.Fatalf("refused join %+v answered with %#v", m, out.msgs)
		}
		return
	}
	self := wireSelf(s)
	joined, isJoined := first[*protocol.Joined](out)
	if !isJoined || joined.ParticipantID != self.ID || self.Name != name ||
		joined.Room.ID != fuzzRoomID || s.part.mediaPeer() == nil {
		t.Fatalf("join %+v: sent %#v, participant %+v", m, out.msgs, self)
	}
	if self.AudioMuted == m.Publish.Audio || self.VideoMuted == m.Publish.Video {
		t.Fatalf("join %+v: participant %+v", m, self)
	}
}

// checkRegister checks a register: it succeeds only on a fresh
// connection, with version 1 and a session token the Directory signs in
// (the harness's is directory_test.go's choir), and answers registered.
func checkRegister(t *testing.T, s *session, call *liveCall, m *protocol.Register, out sent) {
	t.Helper()
	if call != nil {
		if len(out.msgs) != 1 || !errorIs(out.msgs[0], protocol.CodeAlreadyJoined) || s.pres != nil {
			t.Fatalf("register on a joined session gave %#v", out.msgs)
		}
		return
	}
	ep, err := choir.Authenticate(context.Background(), m.Token)
	ok := m.Version >= protocol.MinVersion && m.Version <= protocol.Version && err == nil
	if (s.pres != nil) != ok {
		t.Fatalf("register %+v: registered=%v, want %v", m, s.pres != nil, ok)
	}
	if !ok {
		if len(out.msgs) != 1 || !errorIs(out.msgs[0], "") || len(out.close) != 1 {
			t.Fatalf("refused register %+v answered with %#v, close %+v", m, out.msgs, out.close)
		}
		return
	}
	reg, isReg := first[*protocol.Registered](out)
	if !isReg || reg.Endpoint != ep.wire() || s.pres.ep != ep {
		t.Fatalf("register %+v: sent %#v", m, out.msgs)
	}
}

// joinedCall is the call s has joined, or nil.
func joinedCall(s *session) *liveCall {
	if s.part == nil {
		return nil
	}
	return s.part.call
}

// wireSelf is s's participant as the call shows it to everyone; the zero
// Participant before s has joined.
func wireSelf(s *session) protocol.Participant {
	lc := joinedCall(s)
	if lc == nil {
		return protocol.Participant{}
	}
	for _, p := range lc.call.Info().Participants {
		if p.ID == s.part.id {
			return p.Wire()
		}
	}
	return protocol.Participant{}
}

// first returns the first message sent, if it is a T.
func first[T any](out sent) (T, bool) {
	var zero T
	if len(out.msgs) == 0 {
		return zero, false
	}
	m, ok := out.msgs[0].(T)
	return m, ok
}

// errorIs reports whether msg is an error message with code ("" for any).
func errorIs(msg any, code string) bool {
	e, ok := msg.(*protocol.Error)
	return ok && (code == "" || e.Code == code)
}

// withoutSDPCandidates returns data with the candidate lines of an
// answer's or publish-offer's SDP removed, re-encoded; any other data is
// returned unchanged.
func withoutSDPCandidates(data []byte) []byte {
	msg, perr := protocol.Decode(data)
	if perr != nil {
		return data
	}
	switch m := msg.(type) {
	case *protocol.Answer:
		if strings.Contains(strings.ToLower(m.SDP), "candidate") {
			m.SDP = stripCandidateLines(m.SDP)
			b, _ := json.Marshal(m) // cannot fail: two strings
			return b
		}
	case *protocol.PublishOffer:
		if strings.Contains(strings.ToLower(m.SDP), "candidate") {
			m.SDP = stripCandidateLines(m.SDP)
			b, _ := json.Marshal(m)
			return b
		}
	}
	return data
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
