package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/parley-dev/parley/client"
)

// Synthetic media. Every payload carries its publisher's index and a
// counter, and the rest of it is derived from them, so a receiver can check
// that every byte arrived intact.

func audioPayload(pub int, n uint32) []byte {
	p := make([]byte, 0, 80)
	p = append(p, 0xfc) // Opus TOC: CELT fullband 20 ms
	p = binary.BigEndian.AppendUint32(p, uint32(pub))
	p = binary.BigEndian.AppendUint32(p, n)
	for i := len(p); i < 80; i++ {
		p = append(p, byte(int(n)*7+i+pub))
	}
	return p
}

// vp8Payload is one VP8 frame in one packet: a payload descriptor (RFC 7741
// §4.2, S=1, partition 0) and a frame header that marks every 10th frame as
// a keyframe (RFC 6386 §9.1).
func vp8Payload(pub int, n uint32) []byte {
	p := make([]byte, 0, 1100)
	p = append(p, 0x10) // descriptor: S=1, PID=0
	if n%10 == 0 {
		p = append(p, 0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00) // keyframe, 320x240
	} else {
		p = append(p, 0x11, 0x02, 0x00) // interframe
	}
	p = binary.BigEndian.AppendUint32(p, uint32(pub))
	p = binary.BigEndian.AppendUint32(p, n)
	for i := len(p); i < 1100; i++ {
		p = append(p, byte(int(n)*13+i+pub))
	}
	return p
}

// checkPayload reports whether payload is one that publisher pub made.
func checkPayload(kind webrtc.RTPCodecType, pub int, payload []byte) error {
	off := 1
	if kind == webrtc.RTPCodecTypeVideo {
		off = 4
		if len(payload) > 1 && payload[1]&1 == 0 {
			off = 11
		}
	}
	if len(payload) < off+8 {
		return fmt.Errorf("payload of %d bytes is too short", len(payload))
	}
	gotPub := int(binary.BigEndian.Uint32(payload[off:]))
	n := binary.BigEndian.Uint32(payload[off+4:])
	if gotPub != pub {
		return fmt.Errorf("payload from publisher %d on publisher %d's track", gotPub, pub)
	}
	want := audioPayload(pub, n)
	if kind == webrtc.RTPCodecTypeVideo {
		want = vp8Payload(pub, n)
	}
	if !bytes.Equal(payload, want) {
		return fmt.Errorf("payload %d of publisher %d corrupted", n, pub)
	}
	return nil
}

// publish sends audio at 50 packets/s and video at 30 frames/s until ctx ends.
func publish(ctx context.Context, c *client.Client, pub int) {
	audio := time.NewTicker(20 * time.Millisecond)
	video := time.NewTicker(33 * time.Millisecond)
	defer audio.Stop()
	defer video.Stop()
	var na, nv uint32
	for {
		select {
		case <-ctx.Done():
			return
		case <-audio.C:
			na++
			c.Audio.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(na), Timestamp: na * 960, Marker: false}, Payload: audioPayload(pub, na)})
		case <-video.C:
			nv++
			c.Video.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(nv), Timestamp: nv * 3000, Marker: true}, Payload: vp8Payload(pub, nv)})
		}
	}
}

// receiver counts intact packets per publisher and kind.
type receiver struct {
	mu      sync.Mutex
	got     map[string]int // "<participant id>/<kind>" → intact packets
	bad     []error
	ended   map[string]bool // tracks whose reads have ended
	indexOf func(participantID string) (int, bool)
}

func (r *receiver) onTrack(participantID string, track *webrtc.TrackRemote) {
	go func() {
		key := participantID + "/" + track.Kind().String()
		for {
			pkt, _, err := track.ReadRTP()
			if err != nil {
				r.mu.Lock()
				r.ended[key] = true
				r.mu.Unlock()
				return
			}
			pub, ok := r.indexOf(participantID)
			r.mu.Lock()
			if !ok {
				r.bad = append(r.bad, fmt.Errorf("track from unknown participant %q", participantID))
			} else if err := checkPayload(track.Kind(), pub, pkt.Payload); err != nil {
				r.bad = append(r.bad, err)
			} else {
				r.got[key]++
			}
			r.mu.Unlock()
		}
	}()
}

func (r *receiver) count(key string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.got[key]
}

// TestCallFourPionClients is the foundation's integration test: four Pion
// clients join one room through the real HTTP and WebSocket path, publish
// Opus and VP8, and each receives the other three's media intact; then one
// leaves and the others see it go.
func TestCallFourPionClients(t *testing.T) {
	m := startServer(t, "")
	link := createRoom(t, m, "four")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	const n = 4
	var idsMu sync.Mutex
	ids := map[string]int{}
	indexOf := func(id string) (int, bool) {
		idsMu.Lock()
		defer idsMu.Unlock()
		i, ok := ids[id]
		return i, ok
	}
	clients := make([]*client.Client, n)
	recvs := make([]*receiver, n)
	pubCtx, stopPub := context.WithCancel(ctx)
	var pubs sync.WaitGroup
	defer func() {
		stopPub()
		pubs.Wait()
		for _, c := range clients {
			if c != nil {
				c.Close()
			}
		}
	}()
	for i := range n {
		recvs[i] = &receiver{got: map[string]int{}, ended: map[string]bool{}, indexOf: indexOf}
		c, err := client.Join(ctx, client.Config{
			BaseURL: m.LocalURL(), Link: link, Name: fmt.Sprintf("pion %d", i),
			PublishAudio: true, PublishVideo: true, OnTrack: recvs[i].onTrack, Logger: testLogger(),
		})
		if err != nil {
			t.Fatalf("client %d join: %v", i, err)
		}
		idsMu.Lock()
		ids[c.ID] = i
		idsMu.Unlock()
		clients[i] = c
		pubs.Add(1)
		go func() {
			defer pubs.Done()
			publish(pubCtx, c, i)
		}()
	}
	for i, c := range clients {
		if err := c.WaitConnected(ctx); err != nil {
			t.Fatalf("client %d media: %v", i, err)
		}
	}

	// Everyone receives enough intact audio and video from everyone else.
	const enough = 20
	waitFor(t, ctx, "all media flowing", func() bool {
		for i := range n {
			for j, other := range clients {
				if i == j {
					continue
				}
				if recvs[i].count(other.ID+"/audio") < enough || recvs[i].count(other.ID+"/video") < enough {
					return false
				}
			}
		}
		return true
	})
	for i, r := range recvs {
		r.mu.Lock()
		if len(r.bad) > 0 {
			t.Errorf("client %d received bad packets: %v (and %d more)", i, r.bad[0], len(r.bad)-1)
		}
		r.mu.Unlock()
	}

	// Mute state reaches the others.
	if err := clients[0].SetMute(true, false); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < n; i++ {
		id := clients[0].ID
		if err := clients[i].Wait(ctx, func(s client.State) bool { return s.Participants[id].AudioMuted }); err != nil {
			t.Fatalf("client %d never saw client 0 mute: %v", i, err)
		}
	}

	// /metrics counts the call.
	scrape := scrapeMetrics(t, m)
	for _, want := range []string{"parley_participants 4", "parley_rooms_active 1", "parley_websocket_sessions 4", "parley_join_seconds_count 4"} {
		if !strings.Contains(scrape, want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	for _, name := range []string{"parley_rtp_packets_in_total", "parley_rtp_packets_out_total", "parley_plis_sent_total"} {
		if v := metricValue(scrape, name); v <= 0 {
			t.Errorf("/metrics %s = %v, want > 0 after a call", name, v)
		}
	}
	if v := metricValue(scrape, "parley_tracks_published"); v != 8 {
		t.Errorf("parley_tracks_published = %v, want 8", v)
	}
	if v := metricValue(scrape, "parley_tracks_subscribed"); v != 24 {
		t.Errorf("parley_tracks_subscribed = %v, want 24", v)
	}

	// Client 3 leaves; the others see it go and its tracks end.
	gone := clients[3]
	goneID := gone.ID
	if err := gone.Leave(); err != nil {
		t.Fatalf("leave: %v", err)
	}
	clients[3] = nil
	for i := range 3 {
		c := clients[i]
		if err := c.Wait(ctx, func(s client.State) bool { _, there := s.Participants[goneID]; return !there }); err != nil {
			t.Fatalf("client %d never saw %s leave: %v", i, goneID, err)
		}
		if len(c.State().Participants) != 2 {
			t.Errorf("client %d sees %d others, want 2", i, len(c.State().Participants))
		}
	}
	waitFor(t, ctx, "the leaver's tracks removed", func() bool {
		for i := range 3 {
			recvs[i].mu.Lock()
			ended := recvs[i].ended[goneID+"/audio"] && recvs[i].ended[goneID+"/video"]
			recvs[i].mu.Unlock()
			if !ended {
				return false
			}
		}
		return true
	})
	// The remaining three still hear each other.
	before := recvs[0].count(clients[1].ID + "/audio")
	waitFor(t, ctx, "media still flowing", func() bool {
		return recvs[0].count(clients[1].ID+"/audio") > before+10
	})
}

// scrapeMetrics reads /metrics as Prometheus would.
func scrapeMetrics(t *testing.T, m *Main) string {
	t.Helper()
	resp, err := http.Get(m.LocalURL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %s", resp.Status)
	}
	return string(body)
}

// metricValue reads one unlabelled sample from a scrape; -1 if absent.
func metricValue(scrape, name string) float64 {
	for _, line := range strings.Split(scrape, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err == nil {
				return f
			}
		}
	}
	return -1
}

func waitFor(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, ctx.Err())
		case <-tick.C:
		}
	}
}
