package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parley-dev/parley/internal/bidi"
)

// firefoxPath finds Debian's firefox-esr. make test installs it; without
// it the Firefox tests skip, unless PARLEY_REQUIRE_BROWSERS is set.
func firefoxPath(t *testing.T) string {
	t.Helper()
	if os.Getenv("PARLEY_SKIP_BROWSER") == "1" {
		t.Skip("PARLEY_SKIP_BROWSER=1")
	}
	for _, name := range []string{os.Getenv("FIREFOX"), "firefox-esr", "firefox"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("PARLEY_REQUIRE_BROWSERS") != "" {
		t.Fatal("no firefox-esr on PATH and PARLEY_REQUIRE_BROWSERS is set: run `make browser`, which installs Debian's firefox-esr")
	}
	t.Skip("no firefox-esr on PATH: `make test` installs it (PARLEY_REQUIRE_BROWSERS=1 makes this a failure)")
	return ""
}

// firefoxPage is one headless Firefox with a fake camera and microphone,
// driven over WebDriver BiDi, showing one page.
type firefoxPage struct {
	*bidi.Page
	b *bidi.Browser

	mu       sync.Mutex // guards the fields below, written by the BiDi reader
	console  []string   // the page's warnings and errors, at most maxConsole
	dropped  int        // console lines beyond maxConsole
	output   []byte     // the tail of Firefox's own output
	outLimit int
}

const maxConsole = 50

func newFirefox(t *testing.T, ctx context.Context, exe string) *firefoxPage {
	t.Helper()
	f := &firefoxPage{outLimit: 16 << 10}
	b, err := bidi.Launch(ctx, bidi.Config{
		Exe:        exe,
		ProfileDir: t.TempDir(),
		Prefs:      bidi.FakeMediaPrefs(),
		Stderr:     f,
		OnEvent:    f.onEvent,
	})
	if err != nil {
		t.Fatalf("start firefox: %v\n%s", err, f.tail())
	}
	f.b = b
	t.Cleanup(func() {
		b.Close()
		f.logConsole(t)
	})
	if err := b.Subscribe(ctx, "log.entryAdded"); err != nil {
		t.Fatalf("firefox: subscribe to the console: %v", err)
	}
	if err := b.AddPreloadScript(ctx, "() => {"+recordPeerConnections+"}"); err != nil {
		t.Fatalf("firefox: preload script: %v", err)
	}
	pages, err := b.Pages(ctx)
	if err != nil || len(pages) == 0 {
		t.Fatalf("firefox: no page: %v", err)
	}
	f.Page = pages[0]
	if err := f.SetViewport(ctx, 1280, 800); err != nil {
		t.Fatalf("firefox: viewport: %v", err)
	}
	return f
}

// Write keeps the tail of Firefox's output, to show when a test fails.
func (f *firefoxPage) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.output = append(f.output, p...)
	if over := len(f.output) - f.outLimit; over > 0 {
		f.output = append(f.output[:0], f.output[over:]...)
	}
	return len(p), nil
}

func (f *firefoxPage) tail() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return string(f.output)
}

// onEvent keeps the page's console warnings and errors (log.entryAdded).
func (f *firefoxPage) onEvent(e bidi.Event) {
	if e.Method != "log.entryAdded" {
		return
	}
	var entry struct {
		Level string `json:"level"`
		Text  string `json:"text"`
		Type  string `json:"type"`
	}
	if json.Unmarshal(e.Params, &entry) != nil || (entry.Level != "error" && entry.Level != "warn") {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.console) >= maxConsole {
		f.dropped++
		return
	}
	f.console = append(f.console, fmt.Sprintf("%s %s: %s", entry.Type, entry.Level, entry.Text))
}

func (f *firefoxPage) logConsole(t *testing.T) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, line := range f.console {
		t.Logf("firefox console: %s", line)
	}
	if f.dropped > 0 {
		t.Logf("firefox console: %d more lines", f.dropped)
	}
	if t.Failed() {
		t.Logf("firefox output (tail):\n%s", f.output)
	}
}

func (f *firefoxPage) screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := f.Screenshot(ctx)
	if err != nil {
		t.Errorf("firefox screenshot %s: %v", name, err)
		return
	}
	if err := os.MkdirAll(screenshotDir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(screenshotDir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// evalJSON evaluates expr in f's page and returns its value, for poll.
func evalJSON[T any](ctx context.Context, f *firefoxPage, expr string) (T, error) {
	var v T
	err := f.Eval(ctx, expr, &v)
	return v, err
}

// callMedia is what a page reports about the remote media it plays:
// mediaState, with the frames presented counted by requestVideoFrameCallback
// too (Firefox's totalVideoFrames stays 0 for a MediaStream), the frames
// decoded, and whether the remote audio element plays.
type callMedia struct {
	mediaState
	QualityFrames  int    `json:"qualityFrames"`  // getVideoPlaybackQuality().totalVideoFrames
	CallbackFrames int    `json:"callbackFrames"` // counted by requestVideoFrameCallback
	FramesDecoded  int    `json:"framesDecoded"`  // inbound-rtp video statistics
	MLines         int    `json:"mLines"`         // in the server's last offer
	AudioPlaying   bool   `json:"audioPlaying"`
	SoundButton    bool   `json:"soundButton"`
	Connection     string `json:"connection"`
}

const readCallMedia = `(async () => {
	const v = document.querySelector('.tile.remote video');
	// Count presented frames. Re-arm when no callback came for a second:
	// without that the count stalled in Firefox while frames played (a
	// pending callback can be lost, e.g. when the page sets srcObject again).
	if (v && v.requestVideoFrameCallback && !(v.__lastFrame > performance.now() - 1000)) {
		const gen = (v.__gen || 0) + 1;
		v.__gen = gen;
		v.__frames = v.__frames || 0;
		v.__lastFrame = performance.now();
		const count = () => {
			if (v.__gen !== gen) return;
			v.__frames++;
			v.__lastFrame = performance.now();
			v.requestVideoFrameCallback(count);
		};
		v.requestVideoFrameCallback(count);
	}
	const out = await ` + readMediaState + `;
	out.names = [...document.querySelectorAll('.tile.remote')]
		.map(t => (t.querySelector('.tile-name') || t).textContent.trim()).join('|');
	out.framesDecoded = 0;
	out.mLines = 0;
	for (const pc of (window.__pcs || [])) {
		if (pc.signalingState === 'closed') continue; // the join page's WebRTC probe, or a session before a rejoin
		const sdp = pc.remoteDescription ? pc.remoteDescription.sdp : '';
		out.mLines += (sdp.match(/^m=/gm) || []).length;
		(await pc.getStats()).forEach(s => {
			if (s.type === 'inbound-rtp' && s.kind === 'video') out.framesDecoded += s.framesDecoded || 0;
		});
	}
	out.qualityFrames = out.frames;
	out.callbackFrames = v ? v.__frames || 0 : 0;
	out.frames = Math.max(out.frames, out.callbackFrames);
	const a = document.querySelector('.tile.remote audio');
	out.audioPlaying = !!a && !a.paused && !!a.srcObject && a.srcObject.getAudioTracks().length > 0;
	const sb = document.querySelector('#sound-button');
	out.soundButton = !!sb && !sb.hidden;
	const cs = document.querySelector('#connection-state');
	out.connection = cs ? cs.dataset.state || '' : '';
	return out;
})()`

// callPage is the part of a page the cross-browser test drives.
type callPage struct {
	name  string // for messages
	tag   string // for screenshot names
	media func(ctx context.Context) (callMedia, error)
	shot  func(name string)
}

// TestFirefoxChromiumCall puts a Chromium page and a Firefox page in one
// call: each decodes the other's video (frames advancing) and receives its
// audio, and still does after the Chromium page leaves and joins again,
// which renegotiates Firefox's session with departed and new tracks.
// Screenshots of both, at desktop size and at 390×844, are left in
// testdata/screenshots.
func TestFirefoxChromiumCall(t *testing.T) {
	ffExe := firefoxPath(t)
	chExe := chromiumPath(t)
	m := startServer(t, "")
	link := createRoom(t, m, "Firefox test")
	url := m.LocalURL() + "/r/" + link

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	ff := newFirefox(t, ctx, ffExe)
	ch := newBrowser(t, ctx, chExe)

	chromium := callPage{name: "Alice (Chromium)", tag: "chromium",
		media: func(ctx context.Context) (callMedia, error) {
			return chromedp.Run(ch.ctx, chromedp.Evaluate[callMedia](readCallMedia, chromedp.EvalAwaitPromise))
		},
		shot: func(name string) { ch.screenshot(t, name) },
	}
	firefox := callPage{name: "Bob (Firefox)", tag: "firefox",
		media: func(ctx context.Context) (callMedia, error) { return evalJSON[callMedia](ctx, ff, readCallMedia) },
		shot:  func(name string) { ff.screenshot(t, ctx, name) },
	}

	joinChromium(t, ctx, ch, url, "Alice Archer")
	joinFirefox(t, ctx, ff, url, "Bob Baker")
	checkDecoding(t, ctx, chromium, "Bob Baker")
	checkDecoding(t, ctx, firefox, "Alice Archer")

	chromium.shot("firefox-call-chromium-desktop")
	firefox.shot("firefox-call-firefox-desktop")
	if err := chromedp.Do(ch.ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile)); err != nil {
		t.Fatalf("chromium: mobile viewport: %v", err)
	}
	if err := ff.SetViewport(ctx, 390, 844); err != nil {
		t.Fatalf("firefox: mobile viewport: %v", err)
	}
	settle(t, ctx, chromium, firefox)
	chromium.shot("firefox-call-chromium-mobile")
	firefox.shot("firefox-call-firefox-mobile")
	if err := chromedp.Do(ch.ctx, chromedp.ResetViewport()); err != nil {
		t.Fatalf("chromium: reset viewport: %v", err)
	}
	if err := ff.SetViewport(ctx, 1280, 800); err != nil {
		t.Fatalf("firefox: viewport: %v", err)
	}

	// Alice leaves and comes back: Firefox's tile goes, then it is offered
	// Alice's new tracks beside the departed ones' transceivers.
	if err := chromedp.Do(ch.ctx, chromedp.Click(chromedp.CSS("#leave-button"))); err != nil {
		t.Fatalf("chromium: leave: %v", err)
	}
	err := poll(ctx, func() (bool, error) {
		st, err := firefox.media(ctx)
		return st.Tiles == 0, err
	})
	if err != nil {
		firefox.shot("firefox-call-firefox-leave-failed")
		t.Fatalf("Firefox still shows Alice after she left: %v", err)
	}
	joinChromium(t, ctx, ch, url, "Alice Again")
	checkDecoding(t, ctx, chromium, "Bob Baker")
	checkDecoding(t, ctx, firefox, "Alice Again")
	firefox.shot("firefox-call-firefox-rejoined")
}

// joinChromium opens the join link in ch, waits for the camera preview,
// types name and presses Join.
func joinChromium(t *testing.T, ctx context.Context, ch *browser, url, name string) {
	t.Helper()
	err := chromedp.Do(ch.ctx, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS("#join-name")))
	if err != nil {
		t.Fatalf("chromium: open join page: %v", err)
	}
	err = poll(ctx, func() (bool, error) {
		return chromedp.Run(ch.ctx, chromedp.Evaluate[bool](joinPageReady))
	})
	if err != nil {
		ch.screenshot(t, "firefox-chromium-join-failed")
		t.Fatalf("chromium: the join page never showed the room and the camera preview: %v", err)
	}
	err = chromedp.Do(ch.ctx,
		clearInput("#join-name"),
		chromedp.SendKeys(chromedp.CSS("#join-name"), name),
		chromedp.Click(chromedp.CSS("#join-button")),
	)
	if err != nil {
		t.Fatalf("chromium: join: %v", err)
	}
}

// joinPageReady is true once the join page shows the room's name, the
// camera preview plays and the devices are listed.
const joinPageReady = `(() => {
	const v = document.querySelector('#preview-video');
	const cams = document.querySelectorAll('#camera-select option');
	const button = document.querySelector('#join-button');
	return document.body.textContent.includes('Firefox test') && !!v && v.videoWidth > 0 &&
		cams.length > 0 && !/no camera/i.test(cams[0].textContent) && !!button && !button.disabled;
})()`

// joinFirefox does in Firefox what joinChromium does, with real mouse and
// keyboard input.
func joinFirefox(t *testing.T, ctx context.Context, ff *firefoxPage, url, name string) {
	t.Helper()
	if err := ff.Navigate(ctx, url); err != nil {
		t.Fatalf("firefox: open join page: %v", err)
	}
	err := poll(ctx, func() (bool, error) { return evalJSON[bool](ctx, ff, joinPageReady) })
	if err != nil {
		ff.screenshot(t, ctx, "firefox-join-failed")
		t.Fatalf("firefox: the join page never showed the room and the camera preview: %v", err)
	}
	ff.screenshot(t, ctx, "firefox-join-page")
	if err := ff.SetViewport(ctx, 390, 844); err != nil {
		t.Fatalf("firefox: mobile viewport: %v", err)
	}
	ff.screenshot(t, ctx, "firefox-join-page-mobile")
	if err := ff.SetViewport(ctx, 1280, 800); err != nil {
		t.Fatalf("firefox: viewport: %v", err)
	}
	if err := ff.Click(ctx, "#join-name"); err != nil {
		t.Fatalf("firefox: focus the name: %v", err)
	}
	if err := ff.Eval(ctx, `(() => { const e = document.querySelector('#join-name'); e.value = ''; e.dispatchEvent(new Event('input', {bubbles: true})); })()`, nil); err != nil {
		t.Fatalf("firefox: clear the name: %v", err)
	}
	if err := ff.Type(ctx, name); err != nil {
		t.Fatalf("firefox: type the name: %v", err)
	}
	if err := ff.Click(ctx, "#join-button"); err != nil {
		t.Fatalf("firefox: press Join: %v", err)
	}
}

// checkDecoding waits until p plays other's video and audio, then checks
// twice that within a few seconds the video's frames advance (decoded and
// presented) and audio packets and energy keep arriving, so media that
// starts and then stalls, or trickles, fails too.
func checkDecoding(t *testing.T, ctx context.Context, p callPage, other string) {
	t.Helper()
	var first callMedia
	start, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err := poll(start, func() (bool, error) {
		st, err := p.media(ctx)
		first = st
		return st.Tiles == 1 && st.VideoWidth > 0 && st.AudioPackets > 0 && strings.Contains(st.Names, other), err
	})
	if err != nil {
		p.shot("firefox-call-" + p.tag + "-failed")
		t.Fatalf("%s never played %s's media: %v (last %+v)", p.name, other, err, first)
	}
	var last callMedia
	for round := range 2 {
		// At least 2 frames and 10 audio packets a second.
		window, cancel := context.WithTimeout(ctx, 5*time.Second)
		err = poll(window, func() (bool, error) {
			st, err := p.media(ctx)
			last = st
			return st.Frames >= first.Frames+10 && st.FramesDecoded >= first.FramesDecoded+10 && st.CurrentTime > first.CurrentTime &&
				st.AudioPackets >= first.AudioPackets+50 && st.AudioEnergy > first.AudioEnergy, err
		})
		cancel()
		if err != nil {
			p.shot("firefox-call-" + p.tag + "-stalled")
			t.Fatalf("%s: %s's media is not advancing (round %d): %v (from %+v to %+v)", p.name, other, round+1, err, first, last)
		}
		first = last
	}
	if !last.AudioPlaying || last.SoundButton {
		t.Errorf("%s: %s's audio element is not playing (playing %v, sound button shown %v)", p.name, other, last.AudioPlaying, last.SoundButton)
	}
	t.Logf("%s decodes %s: %dpx wide, frames %d (quality %d, callbacks %d, decoded %d), %.1f s, %d audio packets, energy %.3f; %d m-lines",
		p.name, other, last.VideoWidth, last.Frames, last.QualityFrames, last.CallbackFrames, last.FramesDecoded, last.CurrentTime, last.AudioPackets, last.AudioEnergy, last.MLines)
}

// settle waits until both pages have laid out a viewport change and
// painted new video frames.
func settle(t *testing.T, ctx context.Context, pages ...callPage) {
	t.Helper()
	for _, p := range pages {
		var first callMedia
		err := poll(ctx, func() (bool, error) {
			st, err := p.media(ctx)
			if first.Frames == 0 {
				first = st
				return false, err
			}
			return st.Frames > first.Frames+2, err
		})
		if err != nil {
			t.Fatalf("%s: video stopped after the viewport changed: %v", p.name, err)
		}
	}
}
