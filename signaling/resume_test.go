package signaling

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/parley-dev/parley/client"
	"github.com/parley-dev/parley/livecall/fakeclock"
	"github.com/parley-dev/parley/signaling/protocol"
)

// payloadCounter counts the audio packets a client receives from one
// publisher whose payload is exactly want.
type payloadCounter struct {
	want []byte

	mu      sync.Mutex
	from    string
	n, bad  int
	lastSeq uint16
}

func (a *payloadCounter) setFrom(id string) {
	a.mu.Lock()
	a.from = id
	a.mu.Unlock()
}

func (a *payloadCounter) onTrack(id string, track *webrtc.TrackRemote) {
	if track.Kind() != webrtc.RTPCodecTypeAudio {
		go drainTrack(track)
		return
	}
	go func() {
		for {
			pkt, _, err := track.ReadRTP()
			if err != nil {
				return
			}
			a.mu.Lock()
			if id == a.from {
				if bytes.Equal(pkt.Payload, a.want) {
					a.n++
				} else {
					a.bad++
				}
				a.lastSeq = pkt.SequenceNumber
			}
			a.mu.Unlock()
		}
	}()
}

func (a *payloadCounter) count() (n, bad int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.n, a.bad
}

// sendPayload writes an audio packet with payload every 20 ms until ctx ends.
func sendPayload(ctx context.Context, c *client.Client, payload []byte) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for seq := uint16(1); ; seq++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		c.Audio.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 960}, Payload: payload})
	}
}

// hasEntry reports whether c's history has entry.
func hasEntry(c *client.Client, entry string) bool {
	return slices.Contains(c.State().History, entry)
}

// resumeServer runs a test server on a fake clock with the default grace.
func resumeServer(t *testing.T, cfg Config) (*testServer, *fakeclock.Clock) {
	clock := fakeclock.New(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	cfg.Clock = clock
	return startTestServer(t, cfg, 0), clock
}

func resumeCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// A host whose WebSocket is cut resumes over a new one: same participant
// id and role; the other sees it reconnecting then connected, never leave
// and join; the server restarts ICE and media flows both ways after it.
func TestResumeAfterDrop(t *testing.T) {
	ts, _ := resumeServer(t, Config{})
	toBob := &payloadCounter{want: []byte(strings.Repeat("A", 40))}
	toAlice := &payloadCounter{want: []byte(strings.Repeat("B", 40))}
	alice := ts.joinWith(client.Config{Link: "host:testlink", Name: "Alice", PublishAudio: true, OnTrack: toAlice.onTrack})
	bob := ts.joinWith(client.Config{Link: "testlink", Name: "Bob", PublishAudio: true, OnTrack: toBob.onTrack})
	toBob.setFrom(alice.ID)
	toAlice.setFrom(bob.ID)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); sendPayload(ctx, alice, toBob.want) }()
	go func() { defer wg.Done(); sendPayload(ctx, bob, toAlice.want) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
	waitFor(t, 10*time.Second, "audio both ways", func() bool {
		a, _ := toAlice.count()
		b, _ := toBob.count()
		return a >= 10 && b >= 10
	})

	id, ufrag := alice.ID, alice.RemoteICEUfrag()
	alice.Drop()
	waitState(t, bob, "alice reconnecting", func(s client.State) bool {
		return s.Participants[id].Connection == protocol.ConnectionReconnecting
	})
	if st := ts.srv.Stats(); st.Participants != 2 {
		t.Errorf("%d participants while alice reconnects, want 2", st.Participants)
	}

	if err := alice.Resume(resumeCtx(t)); err != nil {
		t.Fatal(err)
	}
	if alice.ID != id {
		t.Errorf("resumed as %s, want %s", alice.ID, id)
	}
	st := alice.State()
	if st.Self.Role != protocol.RoleHost || st.Self.ID != id || st.Self.Connection != protocol.ConnectionConnected {
		t.Errorf("resumed record %+v, want host %s connected", st.Self, id)
	}
	if p, ok := st.Participants[bob.ID]; !ok || p.Name != "Bob" {
		t.Errorf("resumed snapshot lacks bob: %+v", st.Participants)
	}
	waitState(t, bob, "alice connected", func(s client.State) bool {
		return s.Participants[id].Connection == protocol.ConnectionConnected
	})
	waitState(t, alice, "ICE restarted", func(client.State) bool { u := alice.RemoteICEUfrag(); return u != "" && u != ufrag })
	if err := alice.WaitConnected(resumeCtx(t)); err != nil {
		t.Fatal(err)
	}
	a0, _ := toAlice.count()
	b0, _ := toBob.count()
	waitFor(t, 10*time.Second, "audio both ways after the ICE restart", func() bool {
		a, _ := toAlice.count()
		b, _ := toBob.count()
		return a >= a0+20 && b >= b0+20
	})
	if _, bad := toAlice.count(); bad > 0 {
		t.Errorf("alice received %d packets with a wrong payload", bad)
	}
	if _, bad := toBob.count(); bad > 0 {
		t.Errorf("bob received %d packets with a wrong payload", bad)
	}
	want := []string{"updated " + id + " reconnecting", "updated " + id + " connected"}
	var got []string
	for _, e := range bob.State().History {
		if strings.Contains(e, id) {
			got = append(got, e)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("bob saw %q about alice, want %q", got, want)
	}
	undisturbed(t, bob)
	// The resumed connection carries the call: a host's message works.
	alice.Send(protocol.Lock{Type: protocol.TypeLock})
	waitState(t, bob, "the lock", func(s client.State) bool { return s.Call.Locked })
}

// After the grace period the place is gone: the others saw
// participant-left with reason disconnected, and a resume fails with
// resume-failed.
func TestResumeAfterGrace(t *testing.T) {
	ts, clock := resumeServer(t, Config{})
	alice := ts.join("Alice", false)
	bob := ts.join("Bob", false)
	id := alice.ID
	alice.Drop()
	waitState(t, bob, "alice reconnecting", func(s client.State) bool {
		return s.Participants[id].Connection == protocol.ConnectionReconnecting
	})
	clock.Advance(DefaultResumeGrace - time.Second)
	if in := ts.callInfo(); len(in.Participants) != 2 {
		t.Fatalf("alice let go before the grace ended: %+v", in.Participants)
	}
	clock.Advance(time.Second)
	waitState(t, bob, "alice gone", func(s client.State) bool { return hasEntry(bob, "left "+id+" disconnected") })
	var re *client.ResumeError
	if err := alice.Resume(resumeCtx(t)); !errors.As(err, &re) || re.Code != protocol.CodeResumeFailed {
		t.Fatalf("resume after the grace: %v, want %s", err, protocol.CodeResumeFailed)
	}
	waitFor(t, 10*time.Second, "alice's media closed", func() bool { return ts.sfuPeers() == 1 })
	undisturbed(t, bob)
}

// sfuPeers counts the live media peers.
func (ts *testServer) sfuPeers() int { return ts.sfu.Stats().Peers }

// A resume token works once: the second use fails; the token the resume
// gave works.
func TestResumeTokenSingleUse(t *testing.T) {
	ts, _ := resumeServer(t, Config{})
	alice := ts.join("Alice", false)
	ts.join("Bob", false)
	first := alice.ResumeToken()
	if len(first) < 22 { // 128 bits in base64url
		t.Fatalf("resume token %q is shorter than 128 bits", first)
	}
	alice.Drop()
	if err := alice.Resume(resumeCtx(t)); err != nil {
		t.Fatal(err)
	}
	if alice.ResumeToken() == first {
		t.Fatal("resumed gave the same token again")
	}
	var re *client.ResumeError
	if err := alice.ResumeWith(resumeCtx(t), first); !errors.As(err, &re) || re.Code != protocol.CodeResumeFailed {
		t.Fatalf("second use of a token: %v, want %s", err, protocol.CodeResumeFailed)
	}
	if err := alice.Resume(resumeCtx(t)); err != nil {
		t.Fatalf("resume with the new token: %v", err)
	}
	if err := alice.WaitConnected(resumeCtx(t)); err != nil {
		t.Fatal(err)
	}
}

// Wrong tokens fail and, past the allowance, are answered rate-limited;
// the right token still works after them.
func TestResumeWrongTokenThrottled(t *testing.T) {
	ts, _ := resumeServer(t, Config{ResumeBurst: 3, ResumeRate: 0.001})
	alice := ts.join("Alice", false)
	bob := ts.join("Bob", false)
	alice.Drop()
	var codes []string
	for range 5 {
		var re *client.ResumeError
		if err := alice.ResumeWith(resumeCtx(t), "not-the-token-not-the-token"); !errors.As(err, &re) {
			t.Fatalf("wrong token: %v", err)
		} else {
			codes = append(codes, re.Code)
		}
	}
	want := []string{protocol.CodeResumeFailed, protocol.CodeResumeFailed, protocol.CodeResumeFailed, protocol.CodeRateLimited, protocol.CodeRateLimited}
	if !slices.Equal(codes, want) {
		t.Errorf("wrong tokens answered %q, want %q", codes, want)
	}
	if err := alice.Resume(resumeCtx(t)); err != nil {
		t.Fatalf("the right token after wrong ones: %v", err)
	}
	waitState(t, bob, "alice connected", func(s client.State) bool {
		return s.Participants[alice.ID].Connection == protocol.ConnectionConnected
	})
}

// A participant who said leave is gone at once and cannot resume; a
// resume-failed connection stays open and may join.
func TestLeaveIsNotResumable(t *testing.T) {
	ts, _ := resumeServer(t, Config{})
	bob := ts.join("Bob", false)
	raw := ts.dial(0)
	raw.send(protocol.Join{Type: protocol.TypeJoin, Version: protocol.Version, Token: ts.token(), Name: "Alice"})
	var joined *protocol.Joined
	for joined == nil {
		joined, _ = raw.next().(*protocol.Joined)
	}
	raw.send(protocol.Leave{Type: protocol.TypeLeave})
	waitState(t, bob, "alice left", func(client.State) bool { return hasEntry(bob, "left "+joined.ParticipantID+" left") })
	if slices.Contains(bob.State().History, "updated "+joined.ParticipantID+" reconnecting") {
		t.Error("a leave was shown as reconnecting")
	}
	again := ts.dial(0)
	again.send(protocol.Resume{Type: protocol.TypeResume, Version: protocol.Version, ParticipantID: joined.ParticipantID, Token: joined.ResumeToken})
	again.expectError(protocol.CodeResumeFailed)
	again.joinCall(ts, "Alice again")
}

// A resume while the server still believes the old connection open (a
// half-open TCP connection) takes the place over from it.
func TestResumeTakesOverHalfOpen(t *testing.T) {
	ts, _ := resumeServer(t, Config{})
	bob := ts.join("Bob", false)
	old := ts.dial(0)
	old.send(protocol.Join{Type: protocol.TypeJoin, Version: protocol.Version, Token: ts.token(), Name: "Alice"})
	var joined *protocol.Joined
	for joined == nil {
		joined, _ = old.next().(*protocol.Joined)
	}
	id := joined.ParticipantID
	waitState(t, bob, "alice joined", func(s client.State) bool { _, ok := s.Participants[id]; return ok })
	fresh := ts.dial(0)
	fresh.send(protocol.Resume{Type: protocol.TypeResume, Version: protocol.Version, ParticipantID: id, Token: joined.ResumeToken})
	var resumed *protocol.Resumed
	for resumed == nil {
		switch m := fresh.next().(type) {
		case *protocol.Resumed:
			resumed = m
		case *protocol.Error:
			t.Fatalf("resume: %s: %s", m.Code, m.Message)
		}
	}
	if resumed.ParticipantID != id || resumed.Role != protocol.RoleMember {
		t.Errorf("resumed %+v", resumed)
	}
	offer, _ := fresh.next().(*protocol.Offer)
	if offer == nil {
		t.Fatal("no offer after resumed")
	}
	old.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		if _, _, err := old.conn.ReadMessage(); err != nil {
			break // the old connection was ended
		}
	}
	waitState(t, bob, "alice back", func(s client.State) bool {
		return hasEntry(bob, "updated "+id+" connected")
	})
	if hasEntry(bob, "left "+id+" disconnected") {
		t.Error("the takeover was shown as a leave")
	}
	fresh.expectAlive()
}

// A reconnecting participant does not hold the server up: Shutdown lets
// it go at once rather than after its grace, and a call ended for
// everyone (the room deleted) ends with it.
func TestShutdownAndEndWithReconnecting(t *testing.T) {
	ts, _ := resumeServer(t, Config{})
	alice := ts.join("Alice", false)
	bob := ts.join("Bob", false)
	alice.Drop()
	waitState(t, bob, "alice reconnecting", func(s client.State) bool {
		return s.Participants[alice.ID].Connection == protocol.ConnectionReconnecting
	})
	ts.srv.EndCall(ts.room.ID, protocol.ReasonRoomDeleted)
	waitState(t, bob, "the end", func(s client.State) bool { return s.Bye == protocol.ReasonRoomDeleted })
	waitFor(t, 10*time.Second, "the call to end", func() bool { return ts.srv.Stats().Calls == 0 })
	waitFor(t, 10*time.Second, "alice's media closed", func() bool { return ts.sfuPeers() == 0 })

	carol := ts.join("Carol", false)
	carol.Drop()
	waitFor(t, 10*time.Second, "carol reconnecting", func() bool {
		in := ts.callInfo()
		return len(in.Participants) == 1 && in.Participants[0].Reconnecting
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ts.srv.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown with a reconnecting participant: %v", err)
	}
	if st := ts.srv.Stats(); st.Calls != 0 || st.Participants != 0 {
		t.Errorf("after shutdown: %+v", st)
	}
}

// An offer outstanding when the connection dropped does not time out
// while the participant reconnects (no one could answer it): after the
// resume it is sent again, with a fresh offer timeout.
func TestResumeResendsUnansweredOffer(t *testing.T) {
	ts, _ := resumeServer(t, Config{OfferTimeout: 300 * time.Millisecond})
	old := ts.dial(0)
	old.send(protocol.Join{Type: protocol.TypeJoin, Version: protocol.Version, Token: ts.token(), Name: "Alice"})
	var joined *protocol.Joined
	var first *protocol.Offer
	for first == nil {
		switch m := old.next().(type) {
		case *protocol.Joined:
			joined = m
		case *protocol.Offer:
			first = m
		}
	}
	old.conn.Close()
	waitFor(t, 10*time.Second, "alice reconnecting", func() bool {
		in := ts.callInfo()
		return len(in.Participants) == 1 && in.Participants[0].Reconnecting
	})
	time.Sleep(700 * time.Millisecond) // past the offer timeout, twice

	fresh := ts.dial(0)
	fresh.send(protocol.Resume{Type: protocol.TypeResume, Version: protocol.Version, ParticipantID: joined.ParticipantID, Token: joined.ResumeToken})
	if _, ok := fresh.next().(*protocol.Resumed); !ok {
		t.Fatal("no resumed")
	}
	switch m := fresh.next().(type) {
	case *protocol.Offer:
		if iceUfrag(m.SDP) != iceUfrag(first.SDP) {
			t.Errorf("the unanswered offer was not sent again: ufrag %q, first %q", iceUfrag(m.SDP), iceUfrag(first.SDP))
		}
	default:
		t.Fatalf("after resumed: %T %+v, want the offer again", m, m)
	}
	// Its timeout starts afresh: unanswered, it ends the connection.
	fresh.expectError(protocol.CodeOfferTimeout)
}

func iceUfrag(sdp string) string {
	for line := range strings.Lines(sdp) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "a=ice-ufrag:"); ok {
			return v
		}
	}
	return ""
}
