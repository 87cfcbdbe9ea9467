package signaling

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"github.com/parley-dev/parley/sfu"
	"github.com/parley-dev/parley/signaling/protocol"
)

// TestOfferTimeout: a participant that never answers its offer gets error
// offer-timeout and close 1008, the others see it leave with reason
// error, and the call carries on. It keeps sending pings meanwhile: being
// active on the WebSocket does not buy an unanswered offer more time.
func TestOfferTimeout(t *testing.T) {
	const timeout = time.Second
	ts := startTestServer(t, Config{OfferTimeout: timeout}, 0)
	alice := ts.join("alice", true)
	bob := ts.join("bob", true)
	w := ts.watch()

	silent := ts.dial(0)
	start := time.Now()
	id := silent.joinCall(ts, "silent")
	stopPings := make(chan struct{})
	pinged := make(chan struct{})
	go func() {
		defer close(pinged)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stopPings:
				return
			case <-tick.C:
			}
			data, _ := json.Marshal(protocol.Ping{Type: protocol.TypePing})
			if silent.conn.WriteMessage(websocket.TextMessage, data) != nil {
				return // closed
			}
		}
	}()
	defer func() { close(stopPings); <-pinged }()
	if e := silent.expectError(protocol.CodeOfferTimeout); e.Ref != protocol.TypeOffer {
		t.Errorf("offer-timeout ref %q, want %q", e.Ref, protocol.TypeOffer)
	}
	if d := time.Since(start); d < timeout {
		t.Errorf("timed out after %v, before the %v timeout", d, timeout)
	}
	silent.expectClose(websocket.ClosePolicyViolation, protocol.CodeOfferTimeout)
	if reason := w.waitLeft(t, id); reason != protocol.ReasonError {
		t.Errorf("participant-left reason %q, want %q", reason, protocol.ReasonError)
	}
	waitFor(t, 5*time.Second, "the silent peer to leave the sfu", func() bool { return ts.sfu.Stats().Peers == 3 })

	undisturbed(t, alice)
	undisturbed(t, bob)
	if _, ok := alice.State().Participants[bob.ID]; !ok {
		t.Error("alice no longer sees bob")
	}
	if st := ts.srv.Stats(); st.Participants != 3 {
		t.Errorf("%d participants, want alice, bob and the watcher", st.Participants)
	}
}

// TestCandidateFlood: a participant that floods candidates gets error
// too-many-candidates past the bound and stays connected; a bystander
// notices nothing.
func TestCandidateFlood(t *testing.T) {
	ts := startTestServer(t, Config{RateBurst: 1000, RatePerSecond: 1000}, 0)
	alice := ts.join("alice", true)
	c := ts.dial(0)
	c.joinCall(ts, "flooder")
	mid := "0"
	for i := range sfu.MaxRemoteCandidates + 10 {
		c.send(protocol.Candidate{Type: protocol.TypeCandidate, Candidate: protocol.ICECandidate{
			Candidate: fmt.Sprintf("candidate:%d 1 udp 2130706431 192.0.2.1 %d typ host", i, 10000+i), SDPMid: &mid}})
	}
	if e := c.expectError(protocol.CodeTooManyCandidates); e.Ref != protocol.TypeCandidate {
		t.Errorf("ref %q, want %q", e.Ref, protocol.TypeCandidate)
	}
	c.send(protocol.Candidate{Type: protocol.TypeCandidate, Candidate: protocol.ICECandidate{
		Candidate: "candidate:1 1 udp 2130706431 192.0.2.1 9 typ host x-pad " + strings.Repeat("x", sfu.MaxCandidateBytes), SDPMid: &mid}})
	for {
		e, ok := c.next().(*protocol.Error)
		if !ok || e.Code == protocol.CodeTooManyCandidates {
			continue // the rest of the flood
		}
		if e.Code != protocol.CodeBadSDP {
			t.Fatalf("a candidate over %d bytes: error %q, want %q", sfu.MaxCandidateBytes, e.Code, protocol.CodeBadSDP)
		}
		break
	}
	c.expectAlive()
	undisturbed(t, alice)
}

// TestSlowReader: what waits for a client is bounded by bytes, far below
// the count bound. Under it nothing is lost; past it a client that reads
// nothing is dropped (without waiting for the write timeout) and one that
// reads slowly is told too-slow; the bystanders notice nothing.
func TestSlowReader(t *testing.T) {
	// Small socket buffers, so that what the client does not read waits in
	// the server's queue rather than in the kernel; a write timeout longer
	// than the test, so only the byte bound can end these sessions.
	ts := startTestServer(t, Config{WriteTimeout: time.Minute, OfferTimeout: time.Minute, RateBurst: 1000, RatePerSecond: 1000}, 16<<10)
	alice := ts.join("alice", true)
	w := ts.watch()
	// Each pong echoes a 48 KiB id: 40 of them are 1.9 MiB, 40 messages.
	pad := strings.Repeat("p", 48<<10)
	bigPings := func(c *rawConn, n int) {
		for i := range n {
			c.send(protocol.Ping{Type: protocol.TypePing, ID: fmt.Sprint(i, pad)})
		}
	}

	t.Run("under the bound nothing is lost", func(t *testing.T) {
		c := ts.dial(16 << 10)
		c.joinCall(ts, "reader")
		bigPings(c, 12)
		for got := 0; got < 12; {
			if _, ok := c.next().(*protocol.Pong); ok {
				got++
			}
		}
		c.expectAlive()
	})
	t.Run("a client reading nothing is dropped", func(t *testing.T) {
		c := ts.dial(16 << 10)
		id := c.joinCall(ts, "sink")
		bigPings(c, 40)
		if reason := w.waitLeft(t, id); reason != protocol.ReasonError {
			t.Errorf("participant-left reason %q, want %q", reason, protocol.ReasonError)
		}
	})
	t.Run("a slow client is told", func(t *testing.T) {
		c := ts.dial(16 << 10)
		id := c.joinCall(ts, "slow")
		// The client reads a message every 50 ms (1 MB/s of pongs) while
		// it sends pings as fast as it can: the queue passes the bound, and
		// since the client is reading, the message being written then
		// goes out, followed by too-slow and the close.
		type result struct {
			codes []string
			err   error
		}
		done := make(chan result, 1)
		go func() {
			var r result
			for {
				c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
				_, data, err := c.conn.ReadMessage()
				if err != nil {
					r.err = err
					done <- r
					return
				}
				if e, ok := decodeError(data); ok {
					r.codes = append(r.codes, e.Code)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}()
		for i := range 40 {
			if err := c.conn.WriteMessage(websocket.TextMessage, pingJSON(fmt.Sprint(i, pad))); err != nil {
				break // the server has closed
			}
		}
		r := <-done
		if !slices.Contains(r.codes, protocol.CodeTooSlow) {
			t.Errorf("the slow client got errors %v, want %q", r.codes, protocol.CodeTooSlow)
		}
		var ce *websocket.CloseError
		if !errors.As(r.err, &ce) || ce.Code != websocket.ClosePolicyViolation || ce.Text != protocol.CodeTooSlow {
			t.Errorf("the slow client's connection ended with %v, want close 1008 %q", r.err, protocol.CodeTooSlow)
		}
		if reason := w.waitLeft(t, id); reason != protocol.ReasonError {
			t.Errorf("participant-left reason %q, want %q", reason, protocol.ReasonError)
		}
	})

	undisturbed(t, alice)
	w.mu.Lock()
	if len(w.errs) > 0 {
		t.Errorf("the watcher got errors: %+v", w.errs)
	}
	w.mu.Unlock()
}

func pingJSON(id string) []byte {
	data, _ := json.Marshal(protocol.Ping{Type: protocol.TypePing, ID: id})
	return data
}

func decodeError(data []byte) (*protocol.Error, bool) {
	msg, perr := protocol.Decode(data)
	if perr != nil {
		return nil, false
	}
	e, ok := msg.(*protocol.Error)
	return e, ok
}

// TestSSRCFlood: a participant whose media sends receiver reports naming
// thousands of SSRCs gets error too-many-streams and its connection ends,
// the others see it leave with reason error, and the call carries on.
func TestSSRCFlood(t *testing.T) {
	ts := startTestServer(t, Config{}, 0)
	alice := ts.join("alice", true)
	observer := ts.watch()
	waitFor(t, 10*time.Second, "the observer to connect", func() bool {
		return observer.pc.ConnectionState() == webrtc.PeerConnectionStateConnected
	})
	flooder := ts.watch()
	waitFor(t, 10*time.Second, "the flooder to connect", func() bool {
		return flooder.pc.ConnectionState() == webrtc.PeerConnectionStateConnected
	})
	var id string
	waitFor(t, 5*time.Second, "the observer to see the flooder join", func() bool {
		observer.mu.Lock()
		defer observer.mu.Unlock()
		for p := range observer.joined {
			id = p
		}
		return id != ""
	})

	for i := range 2048 / 31 {
		rr := &rtcp.ReceiverReport{SSRC: 1}
		for j := range 31 {
			rr.Reports = append(rr.Reports, rtcp.ReceptionReport{SSRC: 1<<31 | uint32(i*31+j)})
		}
		if err := flooder.pc.WriteRTCP([]rtcp.Packet{rr}); err != nil {
			break
		}
		if i%32 == 31 {
			time.Sleep(time.Millisecond) // do not overrun loopback's socket buffers
		}
	}
	select {
	case <-flooder.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the flooder's connection did not end")
	}
	flooder.mu.Lock()
	errs := flooder.errs
	flooder.mu.Unlock()
	if len(errs) != 1 || errs[0].Code != protocol.CodeTooManyStreams || errs[0].Message == "" {
		t.Errorf("flooder got errors %+v, want one %q", errs, protocol.CodeTooManyStreams)
	}
	if reason := observer.waitLeft(t, id); reason != protocol.ReasonError {
		t.Errorf("participant-left reason %q, want %q", reason, protocol.ReasonError)
	}
	undisturbed(t, alice)
}

// A client that has used up its rate limit still gets its answers to the
// server's offers through (each offer lends one refused message a pass):
// without that, a talkative client in a busy room missed an answer, hit
// offer-timeout and was closed.
func TestAnswerPassesRateLimit(t *testing.T) {
	const timeout = time.Second
	ts := startTestServer(t, Config{RateBurst: 3, RatePerSecond: 0.01, MaxExcess: 1000, OfferTimeout: timeout}, 0)
	alice := ts.join("Alice", false)
	// Spend the burst: pings until one is refused.
	for i := 0; ; i++ {
		if err := alice.Send(protocol.Ping{Type: protocol.TypePing}); err != nil {
			t.Fatal(err)
		}
		st := alice.State()
		if n := len(st.Errors); n > 0 {
			if st.Errors[n-1].Code != protocol.CodeRateLimited {
				t.Fatalf("error %+v, want rate-limited", st.Errors[n-1])
			}
			break
		}
		if i > 100 {
			t.Fatal("100 pings and no rate-limited error")
		}
		time.Sleep(5 * time.Millisecond)
	}
	refused := len(alice.State().Errors)
	// Two publishers join: each makes the server offer alice their tracks.
	for _, name := range []string{"Bob", "Carol"} {
		p := ts.join(name, true)
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		go sendAudio(ctx, p)
		waitFor(t, 10*time.Second, "alice offered "+name+"'s tracks", func() bool {
			return strings.Contains(alice.RemoteSDP(), p.ID)
		})
	}
	time.Sleep(timeout + 500*time.Millisecond) // an answer refused would have timed out by now
	st := alice.State()
	for _, e := range st.Errors[refused:] {
		t.Errorf("after the limit was spent alice got error %+v", e)
	}
	if st.Closed || st.Bye != "" {
		t.Errorf("alice was closed: %+v", st)
	}
}
