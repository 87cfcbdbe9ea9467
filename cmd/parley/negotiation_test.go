package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/webrtc/v4"

	"github.com/parley-dev/parley/client"
	"github.com/parley-dev/parley/signaling/protocol"
)

// sdpMedia is one m-line of an offer: its mid and its msid stream id ("" if
// it carries no track).
type sdpMedia struct{ mid, stream string }

func sdpMediaLines(sdp string) []sdpMedia {
	var ms []sdpMedia
	for line := range strings.Lines(sdp) {
		line = strings.TrimRight(line, "\r\n")
		switch {
		case strings.HasPrefix(line, "m="):
			ms = append(ms, sdpMedia{})
		case len(ms) == 0:
		case strings.HasPrefix(line, "a=mid:"):
			ms[len(ms)-1].mid = strings.TrimPrefix(line, "a=mid:")
		case strings.HasPrefix(line, "a=msid:"):
			ms[len(ms)-1].stream, _, _ = strings.Cut(strings.TrimPrefix(line, "a=msid:"), " ")
		}
	}
	return ms
}

// streamMids returns the mids of the m-lines of ms that carry stream's
// tracks.
func streamMids(ms []sdpMedia, stream string) []string {
	var mids []string
	for _, m := range ms {
		if m.stream == stream {
			mids = append(mids, m.mid)
		}
	}
	return mids
}

// caller is a Pion client publishing synthetic media that receivers check.
type caller struct {
	*client.Client
	stop context.CancelFunc
	done sync.WaitGroup
}

// call joins link as publisher pub, registered in ids, and publishes
// until leave.
func call(t *testing.T, ctx context.Context, m *Main, link string, pub int, ids *idRegistry, onTrack *receiver) *caller {
	t.Helper()
	cfg := client.Config{
		BaseURL: m.LocalURL(), Link: link, Name: fmt.Sprintf("pion %d", pub),
		PublishAudio: true, PublishVideo: true, Logger: testLogger(),
	}
	if onTrack != nil {
		cfg.OnTrack = func(participantID string, track *webrtc.TrackRemote) {
			if participantID == "" {
				// A packet of a departed track that was on its way when
				// the offer removing its SSRC was applied: Pion, which
				// without the MID header extension guesses an unknown
				// SSRC's m-line by payload type, makes it a track of no
				// stream. It is not on a forwarded m-line; drain it.
				go func() {
					for {
						if _, _, err := track.ReadRTP(); err != nil {
							return
						}
					}
				}()
				return
			}
			onTrack.onTrack(participantID, track)
		}
	}
	c, err := client.Join(ctx, cfg)
	if err != nil {
		t.Fatalf("publisher %d join: %v", pub, err)
	}
	ids.add(c.ID, pub)
	pctx, stop := context.WithCancel(ctx)
	cl := &caller{Client: c, stop: stop}
	cl.done.Add(1)
	go func() {
		defer cl.done.Done()
		publish(pctx, c, pub)
	}()
	t.Cleanup(cl.close)
	return cl
}

// leave stops publishing and leaves the call.
func (c *caller) leave(t *testing.T) {
	c.stop()
	c.done.Wait()
	if err := c.Leave(); err != nil {
		t.Errorf("%s leave: %v", c.ID, err)
	}
}

func (c *caller) close() {
	c.stop()
	c.done.Wait()
	_ = c.Close()
}

// idRegistry maps participant ids to publisher indexes for checkPayload.
type idRegistry struct {
	mu  sync.Mutex
	ids map[string]int
}

func (r *idRegistry) add(id string, pub int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ids[id] = pub
}

func (r *idRegistry) indexOf(id string) (int, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	i, ok := r.ids[id]
	return i, ok
}

// TestLongCallStaysSmall: through the real HTTP and WebSocket path, 200
// Pion clients join a call a few at a time, publish audio and video and
// leave, while alice stays. Her offers keep no m-line per departed track:
// with one other participant left, her last offer has no more m-lines than
// she ever received tracks at once, plus her own two, and is under 8 KiB;
// and the last joiner's media reaches her intact, on m-lines that carried
// departed participants' tracks, under his participant id.
func TestLongCallStaysSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("200 WebRTC clients")
	}
	const (
		cycles = 200
		batch  = 5 // in the call at once, besides alice
		bound  = 2 + 2*batch
	)
	m := startServer(t, "")
	link := createRoom(t, m, "long")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	ids := &idRegistry{ids: map[string]int{}}
	recv := &receiver{got: map[string]int{}, ended: map[string]bool{}, indexOf: ids.indexOf}
	alice := call(t, ctx, m, link, 0, ids, recv)

	used := map[string]bool{} // mids that have carried someone's tracks
	most := 0
	for b := range cycles / batch {
		var others []*caller
		for i := range batch {
			others = append(others, call(t, ctx, m, link, 1+b*batch+i, ids, nil))
		}
		waitFor(t, ctx, fmt.Sprintf("batch %d in alice's offer", b), func() bool {
			ms := sdpMediaLines(alice.RemoteSDP())
			for _, o := range others {
				if len(streamMids(ms, o.ID)) != 2 {
					return false
				}
			}
			return true
		})
		ms := sdpMediaLines(alice.RemoteSDP())
		most = max(most, len(ms))
		if most > bound {
			t.Fatalf("after %d joins alice's offer has %d m-lines, want at most %d", (b+1)*batch, most, bound)
		}
		for _, o := range others {
			for _, mid := range streamMids(ms, o.ID) {
				used[mid] = true
			}
		}
		var wg sync.WaitGroup
		for _, o := range others {
			wg.Add(1)
			go func() {
				defer wg.Done()
				o.leave(t)
			}()
		}
		wg.Wait()
		waitFor(t, ctx, fmt.Sprintf("batch %d gone from alice's offer", b), func() bool {
			ms := sdpMediaLines(alice.RemoteSDP())
			for _, o := range others {
				if len(streamMids(ms, o.ID)) != 0 {
					return false
				}
			}
			return true
		})
	}

	zed := call(t, ctx, m, link, cycles+1, ids, nil)
	waitFor(t, ctx, "alice to receive zed", func() bool {
		return recv.count(zed.ID+"/audio") >= 20 && recv.count(zed.ID+"/video") >= 20
	})
	sdp := alice.RemoteSDP()
	ms := sdpMediaLines(sdp)
	t.Logf("after %d joins and leaves: alice's offer has %d m-lines, %d bytes (at most %d m-lines before)", cycles, len(ms), len(sdp), most)
	if len(ms) > bound || most > bound {
		t.Errorf("alice's offer has %d m-lines, at most %d before; want at most %d", len(ms), most, bound)
	}
	if len(sdp) >= 8<<10 {
		t.Errorf("alice's offer is %d bytes with one other participant, want under 8 KiB", len(sdp))
	}
	zedMids := streamMids(ms, zed.ID)
	for _, mid := range zedMids {
		if !used[mid] {
			t.Errorf("zed's track on mid %s, which no departed participant's track used: not a reused m-line", mid)
		}
	}
	if len(zedMids) != 2 {
		t.Errorf("zed's tracks on mids %v, want two", zedMids)
	}
	recv.mu.Lock()
	if len(recv.bad) > 0 {
		t.Errorf("alice received bad packets: %v (and %d more)", recv.bad[0], len(recv.bad)-1)
	}
	recv.mu.Unlock()
	zed.leave(t)
	alice.leave(t)
}

// TestOfferTimeoutThenRejoin: through the real WebSocket path, a
// participant that never answers its offer is told offer-timeout and
// closed, and that jams nothing: alice, who stays, negotiates again when
// bob joins afterwards, and the two receive each other's media intact.
func TestOfferTimeoutThenRejoin(t *testing.T) {
	m := startServerWith(t, nil, func(c *Config) { c.Signaling.OfferTimeout = time.Second })
	link := createRoom(t, m, "hung")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ids := &idRegistry{ids: map[string]int{}}
	aliceRecv := &receiver{got: map[string]int{}, ended: map[string]bool{}, indexOf: ids.indexOf}
	alice := call(t, ctx, m, link, 0, ids, aliceRecv)
	if err := alice.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "alice's tracks published", func() bool { return m.sfu.Stats().PublishedTracks == 2 })

	silent := joinFrom(t, m, "127.0.0.1", link)
	for {
		if _, ok := silent.next().(*protocol.Offer); ok {
			break // and never answered
		}
	}
	silent.expectError(protocol.CodeOfferTimeout)
	silent.expectClose(websocket.ClosePolicyViolation)
	if err := alice.Wait(ctx, func(s client.State) bool { return len(s.Participants) == 0 }); err != nil {
		t.Fatalf("alice still sees the silent participant: %v", err)
	}

	bobRecv := &receiver{got: map[string]int{}, ended: map[string]bool{}, indexOf: ids.indexOf}
	bob := call(t, ctx, m, link, 1, ids, bobRecv)
	waitFor(t, ctx, "alice and bob to receive each other", func() bool {
		return aliceRecv.count(bob.ID+"/video") >= 20 && aliceRecv.count(bob.ID+"/audio") >= 20 &&
			bobRecv.count(alice.ID+"/video") >= 20 && bobRecv.count(alice.ID+"/audio") >= 20
	})
	for who, r := range map[string]*receiver{"alice": aliceRecv, "bob": bobRecv} {
		r.mu.Lock()
		if len(r.bad) > 0 {
			t.Errorf("%s received bad packets: %v", who, r.bad[0])
		}
		r.mu.Unlock()
	}
	bob.leave(t)
	alice.leave(t)
}
