package signaling

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/parley-dev/parley/client"
	"github.com/parley-dev/parley/signaling/protocol"
)

// joinAs starts a full client with the token role (host, member, guest).
func (ts *testServer) joinAs(role, name string) *client.Client {
	ts.t.Helper()
	link := "testlink"
	if role != "member" {
		link = role + ":testlink"
	}
	return ts.joinWith(client.Config{Link: link, Name: name})
}

// waitState waits until c's state satisfies cond.
func waitState(t *testing.T, c *client.Client, what string, cond func(client.State) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Wait(ctx, cond); err != nil {
		t.Fatalf("waiting for %s: %v (state %+v)", what, err, c.State())
	}
}

// waitError waits for c's n-th error (counting from 1) and returns it.
func waitError(t *testing.T, c *client.Client, n int) protocol.Error {
	t.Helper()
	waitState(t, c, "an error", func(s client.State) bool { return len(s.Errors) >= n })
	return c.State().Errors[n-1]
}

func TestRolesOnTheWire(t *testing.T) {
	ts := startTestServer(t, Config{}, 0)
	host := ts.joinAs("host", "Hana")
	member := ts.joinAs("member", "Max")
	guest := ts.joinAs("guest", "Gil")
	for c, want := range map[*client.Client]string{host: "host", member: "member", guest: "guest"} {
		if got := c.State().Self.Role; got != want {
			t.Errorf("%s: joined.role %q, want %q", c.ID, got, want)
		}
	}
	waitState(t, host, "both others", func(s client.State) bool { return len(s.Participants) == 2 })
	st := host.State()
	if st.Participants[member.ID].Role != "member" || st.Participants[guest.ID].Role != "guest" {
		t.Errorf("host sees %+v", st.Participants)
	}
	if r := guest.State().Participants[host.ID].Role; r != "host" {
		t.Errorf("guest sees the host as %q", r)
	}
}

// moderationMessages are one of each moderation message, naming target.
func moderationMessages(target string) []any {
	return []any{
		protocol.EndCall{Type: protocol.TypeEndCall},
		protocol.Remove{Type: protocol.TypeRemove, ParticipantID: target},
		protocol.MuteParticipant{Type: protocol.TypeMuteParticipant, ParticipantID: target},
		protocol.MuteAll{Type: protocol.TypeMuteAll},
		protocol.Lock{Type: protocol.TypeLock},
		protocol.Unlock{Type: protocol.TypeUnlock},
		protocol.SetHost{Type: protocol.TypeSetHost, ParticipantID: target},
	}
}

func msgType(msg any) string {
	data := mustJSON(msg)
	return envelopeType(data)
}

func mustJSON(msg any) []byte {
	data, err := encode(msg)
	if err != nil {
		panic(err)
	}
	return data
}

// Every moderation message from a member or a guest is refused with
// not-host, with the message's type as ref, and changes nothing anyone sees.
func TestModerationRefusedFromMemberAndGuest(t *testing.T) {
	ts := startTestServer(t, Config{}, 0)
	host := ts.joinAs("host", "Hana")
	member := ts.joinAs("member", "Max")
	guest := ts.joinAs("guest", "Gil")
	waitState(t, host, "both others", func(s client.State) bool { return len(s.Participants) == 2 })
	for _, from := range []*client.Client{member, guest} {
		n := 0
		for _, msg := range moderationMessages(host.ID) {
			if err := from.Send(msg); err != nil {
				t.Fatal(err)
			}
			n++
			e := waitError(t, from, n)
			if e.Code != protocol.CodeNotHost || e.Ref != msgType(msg) || e.Message == "" {
				t.Errorf("%s from a %s: error %+v, want not-host", msgType(msg), from.State().Self.Role, e)
			}
		}
	}
	// Nothing changed: a ping round trip after the refusals, then look.
	undisturbed(t, host)
	for _, c := range []*client.Client{member, guest} {
		c.Send(protocol.Ping{Type: protocol.TypePing})
		if st := c.State(); st.Bye != "" || st.Closed || len(st.Errors) != len(moderationMessages("")) {
			t.Errorf("%s after its refused requests: %+v", c.ID, st)
		}
	}
	st := member.State()
	if p := st.Participants[host.ID]; p.Role != "host" || p.AudioMutedByHost || st.Call.Locked {
		t.Errorf("after refused moderation the member sees host %+v, call %+v", p, st.Call)
	}
	if len(host.State().Errors) != 0 {
		t.Errorf("the host got errors: %+v", host.State().Errors)
	}
}

// A participantId that names no one is unknown-participant; an empty one
// is bad-request.
func TestModerationUnknownParticipant(t *testing.T) {
	ts := startTestServer(t, Config{}, 0)
	host := ts.joinAs("host", "Hana")
	n := 0
	for _, target := range []string{"p_nobody", ""} {
		for _, msg := range moderationMessages(target) {
			switch msg.(type) {
			case protocol.Remove, protocol.MuteParticipant, protocol.SetHost:
			default:
				continue
			}
			host.Send(msg)
			n++
			want := protocol.CodeUnknownParticipant
			if target == "" {
				want = protocol.CodeBadRequest
			}
			if e := waitError(t, host, n); e.Code != want || e.Ref != msgType(msg) {
				t.Errorf("%s %q: %+v, want %s", msgType(msg), target, e, want)
			}
		}
	}
	host.Send(protocol.Remove{Type: protocol.TypeRemove, ParticipantID: host.ID})
	if e := waitError(t, host, n+1); e.Code != protocol.CodeBadRequest {
		t.Errorf("remove of oneself: %+v", e)
	}
}

func TestHostRemoves(t *testing.T) {
	ts := startTestServer(t, Config{}, 0)
	host := ts.joinAs("host", "Hana")
	bob := ts.joinAs("member", "Bob")
	w := ts.watch()
	waitState(t, host, "bob and the watcher", func(s client.State) bool { return len(s.Participants) == 2 })
	host.Send(protocol.Remove{Type: protocol.TypeRemove, ParticipantID: bob.ID})
	waitState(t, bob, "bye", func(s client.State) bool { return s.Closed })
	if r := bob.State().Bye; r != protocol.ReasonRemoved {
		t.Errorf("bob's bye %q, want removed", r)
	}
	if r := w.waitLeft(t, bob.ID); r != protocol.ReasonRemoved {
		t.Errorf("the watcher saw bob leave with %q, want removed", r)
	}
	waitState(t, host, "bob gone", func(s client.State) bool { return len(s.Participants) == 1 })
	undisturbed(t, host)
}

// Lock refuses a member's join with call-locked and lets a host in;
// everyone sees call-updated; unlock lets members in again.
func TestHostLocks(t *testing.T) {
	ts := startTestServer(t, Config{}, 0)
	host := ts.joinAs("host", "Hana")
	bob := ts.joinAs("member", "Bob")
	host.Send(protocol.Lock{Type: protocol.TypeLock})
	waitState(t, bob, "call-updated locked", func(s client.State) bool { return s.Call.Locked })

	for _, role := range []string{"member", "guest"} {
		c := ts.dial(0)
		c.send(protocol.Join{Type: protocol.TypeJoin, Version: protocol.Version, Token: ts.tokenFor(role), Name: "late " + role})
		if e := c.expectError(protocol.CodeCallLocked); e.Ref != protocol.TypeJoin {
			t.Errorf("ref %q", e.Ref)
		}
		c.expectClose(1008, protocol.CodeCallLocked)
	}
	host2 := ts.joinAs("host", "Hugo")
	if !host2.State().Call.Locked {
		t.Errorf("a host joining a locked call is not told it is locked")
	}
	host.Send(protocol.Unlock{Type: protocol.TypeUnlock})
	waitState(t, bob, "call-updated unlocked", func(s client.State) bool { return !s.Call.Locked })
	ts.joinAs("member", "Mia")
	if s := ts.srv.Stats(); s.Participants != 4 {
		t.Errorf("%d participants, want 4", s.Participants)
	}
}

func TestHostHandsOver(t *testing.T) {
	ts := startTestServer(t, Config{}, 0)
	host := ts.joinAs("host", "Hana")
	bob := ts.joinAs("member", "Bob")
	guest := ts.joinAs("guest", "Gil")
	host.Send(protocol.SetHost{Type: protocol.TypeSetHost, ParticipantID: bob.ID})
	waitState(t, guest, "the roles swapped", func(s client.State) bool {
		return s.Participants[bob.ID].Role == "host" && s.Participants[host.ID].Role == "member"
	})
	waitState(t, bob, "bob told he is host", func(s client.State) bool { return s.Self.Role == "host" })
	waitState(t, host, "hana told she is a member", func(s client.State) bool { return s.Self.Role == "member" })
	host.Send(protocol.MuteParticipant{Type: protocol.TypeMuteParticipant, ParticipantID: guest.ID})
	if e := waitError(t, host, 1); e.Code != protocol.CodeNotHost {
		t.Errorf("the former host: %+v", e)
	}
	bob.Send(protocol.MuteAll{Type: protocol.TypeMuteAll})
	waitState(t, guest, "muted by the new host", func(s client.State) bool { return s.Self.AudioMutedByHost })
	waitState(t, guest, "hana muted too", func(s client.State) bool {
		return s.Participants[host.ID].AudioMutedByHost && !s.Participants[bob.ID].AudioMutedByHost
	})
}

// end-call ends the call for everyone, the host too, with ended-by-host;
// the room is free for a new call.
func TestHostEndsCall(t *testing.T) {
	ts := startTestServer(t, Config{}, 0)
	host := ts.joinAs("host", "Hana")
	others := []*client.Client{host, ts.joinAs("member", "Bob"), ts.joinAs("guest", "Gil")}
	host.Send(protocol.EndCall{Type: protocol.TypeEndCall})
	for _, c := range others {
		waitState(t, c, "the end", func(s client.State) bool { return s.Closed })
		if r := c.State().Bye; r != protocol.ReasonEndedByHost {
			t.Errorf("%s: bye %q, want ended-by-host", c.ID, r)
		}
	}
	waitFor(t, 10*time.Second, "the call to go", func() bool { return ts.srv.Stats().Calls == 0 })
	next := ts.joinAs("member", "Next")
	if n := len(next.State().Participants); n != 0 {
		t.Errorf("the new call has %d others", n)
	}
}

// audioCounter counts the audio RTP packets one participant receives from
// another, and checks that their sequence numbers have no gap.
type audioCounter struct {
	from string // the publisher's participant id; set before it publishes

	mu      sync.Mutex
	n       int
	lastSeq uint16
	gaps    int
}

func (a *audioCounter) onTrack(id string, track *webrtc.TrackRemote) {
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
				if a.n > 0 && pkt.SequenceNumber != a.lastSeq+1 {
					a.gaps++
				}
				a.n++
				a.lastSeq = pkt.SequenceNumber
			}
			a.mu.Unlock()
		}
	}()
}

func drainTrack(track *webrtc.TrackRemote) {
	buf := make([]byte, 1500)
	for {
		if _, _, err := track.Read(buf); err != nil {
			return
		}
	}
}

func (a *audioCounter) count() (n, gaps int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.n, a.gaps
}

// sendAudio writes an Opus-sized RTP packet every 20 ms until ctx ends.
func sendAudio(ctx context.Context, c *client.Client) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for seq := uint16(1); ; seq++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		c.Audio.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 960}, Payload: []byte(strings.Repeat("a", 60))})
	}
}

// A host's mute really stops the participant's audio reaching the others,
// whatever the participant's client keeps sending, and the participant's
// own unmute resumes it, with no gap in sequence numbers.
func TestHostMuteStopsAudio(t *testing.T) {
	ts := startTestServer(t, Config{}, 0)
	host := ts.joinAs("host", "Hana")
	counter := &audioCounter{}
	bystander := ts.joinWith(client.Config{Link: "testlink", Name: "Bea", OnTrack: counter.onTrack})
	pub := ts.joinWith(client.Config{Link: "testlink", Name: "Pat", PublishAudio: true})
	counter.mu.Lock()
	counter.from = pub.ID
	counter.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); sendAudio(ctx, pub) }()
	t.Cleanup(func() { cancel(); wg.Wait() })

	waitFor(t, 10*time.Second, "audio to reach the bystander", func() bool { n, _ := counter.count(); return n >= 20 })

	host.Send(protocol.MuteParticipant{Type: protocol.TypeMuteParticipant, ParticipantID: pub.ID})
	waitState(t, bystander, "pat shown muted by the host", func(s client.State) bool {
		p := s.Participants[pub.ID]
		return p.AudioMutedByHost && p.AudioMuted
	})
	waitState(t, pub, "pat told", func(s client.State) bool { return s.Self.AudioMutedByHost })
	time.Sleep(200 * time.Millisecond) // packets already on the wire arrive
	before, _ := counter.count()
	time.Sleep(600 * time.Millisecond) // pat keeps sending 30 packets
	if after, _ := counter.count(); after != before {
		t.Fatalf("the bystander received %d audio packets while pat was muted by the host", after-before)
	}

	pub.SetMute(false, false)
	waitState(t, bystander, "pat unmuted", func(s client.State) bool {
		p := s.Participants[pub.ID]
		return !p.AudioMutedByHost && !p.AudioMuted
	})
	waitFor(t, 10*time.Second, "audio to flow again", func() bool { n, _ := counter.count(); return n >= before+20 })
	if _, gaps := counter.count(); gaps != 0 {
		t.Errorf("%d gaps in the sequence numbers the bystander received", gaps)
	}
}

// A removed participant's media stops at once, not when its socket has
// closed: a client that never answers the close frame (the server waits
// closeGrace for it) is out of the media layer well before that.
func TestRemovedMediaStopsAtOnce(t *testing.T) {
	ts := startTestServer(t, Config{}, 0)
	host := ts.joinAs("host", "Hana")
	raw := ts.dial(0)
	id := raw.joinCall(ts, "Silent")
	waitFor(t, 10*time.Second, "two media peers", func() bool { return ts.sfuPeers() == 2 })
	// From here raw reads nothing: its bye and close frame go unanswered.
	start := time.Now()
	host.Send(protocol.Remove{Type: protocol.TypeRemove, ParticipantID: id})
	waitFor(t, closeGrace, "the removed participant's media peer closed", func() bool { return ts.sfuPeers() == 1 })
	if d := time.Since(start); d > closeGrace/2 {
		t.Errorf("the removed peer closed after %v; want well within the %v close grace", d, closeGrace)
	}
	if st := ts.srv.Stats(); st.Sessions != 2 {
		t.Logf("sessions %d (the silent client's socket may still be open, as intended)", st.Sessions)
	}
	undisturbed(t, host)
}
