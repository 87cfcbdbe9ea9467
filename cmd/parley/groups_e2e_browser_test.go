package main

import (
	"context"
	"encoding/base64"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"

	"github.com/parley-dev/parley/api"
	"github.com/parley-dev/parley/client"
	"github.com/parley-dev/parley/internal/mailtest"
	"github.com/parley-dev/parley/signaling/protocol"
)

// TestBrowserGroupEndToEnd is issue #12's whole path, as a new user meets
// it: in Chromium, the front page, "set up a group" and its four steps;
// the activation link from the message that reached the SMTP server; the
// console, where the administrator adds a member (whose credentials
// arrive by SMTP) and a room system (its secret shown once); a group user
// creating a room with the PIN. Then the member's Pion client registers
// with the mailed address and secret and joins that room publishing VP8
// and Opus, and the room system signs in at /endpoint in Chromium and
// joins it too: the Pion client receives the room system's video and
// audio, the page plays the Pion client's video (frames advancing), and
// its list of people shows both under their endpoint names as members.
func TestBrowserGroupEndToEnd(t *testing.T) {
	exe := chromiumPath(t)
	smtp := mailtest.Start(t, mailtest.Options{Username: "parley", Password: "smtp secret"})
	m := startServerConfig(t, Config{SMTP: smtpConfig(smtp)})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	run := signupRun{size: "e2e", group: "Choir", admin: "ada@example.org", members: []string{"alice@example.org", "bob@example.org"},
		added: "carol@example.org", password: "harmonies", pin: "2468"}
	s := &signupSession{t: t, ctx: ctx, b: newBrowser(t, ctx, exe), m: m, run: run, exe: exe}
	s.frontPage()
	frames := s.encodeVP8() // while the page is open: Chromium's own VP8 encoder makes the Pion client's video
	s.contactStep()
	s.loginStep()
	s.pinStep()
	s.membersStep()
	s.next()
	s.step(5)
	s.reviewAndCreate()

	activation := waitMessageTo(t, smtp, run.admin)
	var link string
	for _, l := range activation.Links() {
		if strings.Contains(l, "/activate/") {
			link = l
		}
	}
	if link == "" {
		t.Fatalf("the activation message has no activation link:\n%s", activation.Text)
	}
	if !activation.TLS || activation.User != "parley" {
		t.Errorf("the activation message came without TLS (%v) or as %q", activation.TLS, activation.User)
	}
	s.openActivation(link)
	s.do("choose Sign in to the console", chromedp.Click(chromedp.CSS("#console-link")))
	s.waitTrue("the console's sign-in", `location.pathname === '/admin' && !!document.getElementById('signin-form')?.checkVisibility()`)
	roomSystem, secret := s.console()
	s.groupRooms()

	// The member's client, with the credentials from the message.
	mailed := waitMessageTo(t, smtp, run.added)
	addr, sec := addressRE.FindStringSubmatch(mailed.Text), secretRE.FindStringSubmatch(mailed.Text)
	if addr == nil || sec == nil {
		t.Fatalf("the credentials message has no address or secret:\n%s", mailed.Text)
	}
	hc, err := client.Register(ctx, nil, m.LocalURL(), addr[1], sec[1])
	if err != nil {
		t.Fatalf("register the member's client with the mailed credentials: %v", err)
	}
	var me api.EndpointMe
	(&webUser{t: t, base: m.LocalURL(), hc: hc}).call("GET", "/api/v1/endpoint/me", nil, 200, &me)
	var roomID string
	for _, r := range me.Rooms {
		if r.Name == "Weekly rehearsal" {
			roomID = r.ID
		}
	}
	if roomID == "" {
		t.Fatalf("the member's client does not see the room: %+v", me)
	}
	got := &packetCounter{n: map[string]int{}}
	var keyframe atomic.Bool
	member, err := client.Join(ctx, client.Config{BaseURL: m.LocalURL(), Room: roomID, HTTPClient: hc, PublishAudio: true, PublishVideo: true,
		Logger: testLogger(), OnTrack: got.onTrack, OnKeyframeRequest: func() { keyframe.Store(true) }})
	if err != nil {
		t.Fatalf("the member's client joins: %v", err)
	}
	defer member.Close()
	pubCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); publishVP8(pubCtx, member, frames, &keyframe) }()
	defer wg.Wait()
	defer stop()

	// The room system, on the meeting room's screen.
	s.do("open the endpoint page", chromedp.Navigate(m.LocalURL()+"/endpoint"))
	s.waitShown("signin-form")
	s.signInEndpoint(roomSystem, secret)
	s.joinListedRoom("Weekly rehearsal", "Board Room")

	// The member's client receives the room system's audio and video.
	var board string
	err = member.Wait(stage(t, ctx), func(st client.State) bool {
		for _, p := range st.Participants {
			if p.Name == "Board Room" && p.Role == protocol.RoleMember {
				board = p.ID
			}
		}
		return board != "" && st.Self.Name == run.added && st.Self.Role == protocol.RoleMember
	})
	if err != nil {
		t.Fatalf("the member's client does not see the room system as a member, or itself under its address: %v (%+v)", err, member.State())
	}
	err = poll(stage(t, ctx), func() (bool, error) {
		return got.count(board, webrtc.RTPCodecTypeVideo) > 60 && got.count(board, webrtc.RTPCodecTypeAudio) > 50, nil
	})
	if err != nil {
		t.Fatalf("the member's client received %d video and %d audio packets from the room system: %v",
			got.count(board, webrtc.RTPCodecTypeVideo), got.count(board, webrtc.RTPCodecTypeAudio), err)
	}

	// The room system's page plays the member's video: our 320×240, frames advancing.
	var first mediaState
	err = poll(stage(t, ctx), func() (bool, error) {
		st, err := s.b.media(s.b.ctx)
		first = st
		return st.Tiles == 1 && st.VideoWidth == 320 && strings.Contains(st.Names, run.added), err
	})
	if err != nil {
		s.fatalf("e2e-call", "the room system never played the member's video: %v (last %+v)", err, first)
	}
	err = poll(stage(t, ctx), func() (bool, error) {
		st, err := s.b.media(s.b.ctx)
		return st.Frames > first.Frames+15 && st.CurrentTime > first.CurrentTime, err
	})
	if err != nil {
		s.fatalf("e2e-call", "the member's video is not advancing on the room system's page: %v", err)
	}

	s.do("open the list of people", chromedp.Click(chromedp.CSS("#people-button")))
	waitPeople(t, ctx, s.b, "both listed as members under their endpoint names", func(v peopleView) bool {
		names := map[string]string{}
		for _, p := range v.People {
			names[p.Name] = p.Role + "/" + p.Badge
		}
		return len(v.People) == 2 && names["Board Room (you)"] == "member/Member" && names[run.added] == "member/Member"
	})
	s.shot("call")
	// On a phone the call still plays the member's video.
	s.do("emulate a phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	err = poll(stage(t, ctx), func() (bool, error) {
		st, err := s.b.media(s.b.ctx)
		return st.VideoWidth == 320 && st.Frames > first.Frames+30, err
	})
	if err != nil {
		s.fatalf("e2e-call-phone", "on a phone the member's video does not play: %v", err)
	}
	s.b.screenshot(t, "call-e2e-phone")
}

// stage is a context for one step of the call, 20 s at most, so a step
// that never happens fails while there is time to say why.
func stage(t *testing.T, ctx context.Context) context.Context {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// waitMessageTo waits for the first message the SMTP server received for to.
func waitMessageTo(t *testing.T, srv *mailtest.Server, to string) mailtest.Message {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		for _, msg := range srv.Messages() {
			for _, rcpt := range msg.To {
				if rcpt == to {
					return msg
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no message for %s arrived at the SMTP server (%d others)", to, len(srv.Messages()))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// vp8Frame is one encoded VP8 frame.
type vp8Frame struct {
	data []byte
	key  bool
}

// encodeVP8 encodes two seconds of a moving picture, 320×240 at 30 frames
// a second with a keyframe each second, with the page's WebCodecs VP8
// encoder (libvpx), for a Pion client to send as its camera.
func (s *signupSession) encodeVP8() []vp8Frame {
	s.t.Helper()
	type chunk struct {
		Key  bool   `json:"key"`
		Data string `json:"data"`
	}
	ctx, cancel := context.WithTimeout(s.b.ctx, 20*time.Second)
	defer cancel()
	chunks, err := chromedp.Run(ctx, chromedp.Evaluate[[]chunk](`(async () => {
		const canvas = new OffscreenCanvas(320, 240), g = canvas.getContext('2d');
		const out = [];
		let failed = null;
		const enc = new VideoEncoder({
			output: (c) => {
				const b = new Uint8Array(c.byteLength);
				c.copyTo(b);
				let s = '';
				for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode(...b.subarray(i, i + 8192));
				out.push({key: c.type === 'key', data: btoa(s)});
			},
			error: (e) => { failed = e; },
		});
		enc.configure({codec: 'vp8', width: 320, height: 240, bitrate: 400000, framerate: 30});
		for (let i = 0; i < 60; i++) {
			g.fillStyle = 'hsl(' + (i * 6) + ', 70%, 45%)';
			g.fillRect(0, 0, 320, 240);
			g.fillStyle = '#fff';
			g.fillRect((i * 8) % 280, 100, 40, 40);
			const f = new VideoFrame(canvas, {timestamp: i * 33333});
			enc.encode(f, {keyFrame: i % 30 === 0});
			f.close();
		}
		await enc.flush();
		enc.close();
		if (failed) throw failed;
		return out;
	})()`, chromedp.EvalAwaitPromise))
	if err != nil || len(chunks) != 60 || !chunks[0].Key || !chunks[30].Key {
		s.t.Fatalf("encode VP8 in the page: %d frames, %v", len(chunks), err)
	}
	frames := make([]vp8Frame, len(chunks))
	for i, c := range chunks {
		data, err := base64.StdEncoding.DecodeString(c.Data)
		if err != nil {
			s.t.Fatalf("frame %d: %v", i, err)
		}
		frames[i] = vp8Frame{data: data, key: c.Key}
	}
	return frames
}

// publishVP8 sends frames over and over as c's video, 30 a second
// (skipping ahead to the next keyframe when one is asked for), and Opus
// silence as its audio, until ctx ends.
func publishVP8(ctx context.Context, c *client.Client, frames []vp8Frame, keyframe *atomic.Bool) {
	video := rtp.NewPacketizer(1200, 0, 0, &codecs.VP8Payloader{EnablePictureID: true}, rtp.NewRandomSequencer(), 90000)
	audio := rtp.NewPacketizer(1200, 0, 0, &codecs.OpusPayloader{}, rtp.NewRandomSequencer(), 48000)
	silence := []byte{0xf8, 0xff, 0xfe} // an Opus frame of 20 ms of silence
	vt, at := time.NewTicker(33*time.Millisecond), time.NewTicker(20*time.Millisecond)
	defer vt.Stop()
	defer at.Stop()
	i := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-at.C:
			for _, p := range audio.Packetize(silence, 960) {
				_ = c.Audio.WriteRTP(p)
			}
		case <-vt.C:
			if keyframe.Swap(false) {
				for !frames[i].key {
					i = (i + 1) % len(frames)
				}
			}
			for _, p := range video.Packetize(frames[i].data, 3000) {
				_ = c.Video.WriteRTP(p)
			}
			i = (i + 1) % len(frames)
		}
	}
}

// packetCounter counts the RTP packets a client receives, per publisher and kind.
type packetCounter struct {
	mu sync.Mutex
	n  map[string]int // "<participant id>/<kind>" → packets
}

func (pc *packetCounter) onTrack(participantID string, track *webrtc.TrackRemote) {
	key := participantID + "/" + track.Kind().String()
	go func() {
		for {
			if _, _, err := track.ReadRTP(); err != nil {
				return
			}
			pc.mu.Lock()
			pc.n[key]++
			pc.mu.Unlock()
		}
	}()
}

func (pc *packetCounter) count(participantID string, kind webrtc.RTPCodecType) int {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	return pc.n[participantID+"/"+kind.String()]
}
