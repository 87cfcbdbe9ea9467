package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// screenshotDir is where browser tests leave their screenshots.
const screenshotDir = "testdata/screenshots"

// chromiumPath finds Debian's chromium. make test installs it when missing;
// PARLEY_SKIP_BROWSER=1 skips the browser tests explicitly.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if os.Getenv("PARLEY_SKIP_BROWSER") == "1" {
		t.Skip("PARLEY_SKIP_BROWSER=1")
	}
	for _, name := range []string{os.Getenv("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no chromium on PATH: run `make test`, which installs Debian's chromium (or set PARLEY_SKIP_BROWSER=1)")
	return ""
}

// recordPeerConnections runs in every page before its own scripts: it keeps
// each RTCPeerConnection the page makes, so the test can read its stats.
const recordPeerConnections = `(() => {
	const Orig = window.RTCPeerConnection;
	window.__pcs = [];
	window.RTCPeerConnection = function(...args) {
		const pc = new Orig(...args);
		window.__pcs.push(pc);
		return pc;
	};
	window.RTCPeerConnection.prototype = Orig.prototype;
	Object.setPrototypeOf(window.RTCPeerConnection, Orig);
})();`

// browser is one headless Chromium with a fake camera and microphone.
type browser struct {
	ctx    context.Context
	cancel func()
}

func newBrowser(t *testing.T, parent context.Context, exe string) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(parent, opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	b := &browser{ctx: ctx, cancel: func() { cancelCtx(); cancelAlloc() }}
	addScript := func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: recordPeerConnections})
		return chromedp.Void{}, err
	}
	if err := chromedp.Do(ctx, addScript); err != nil {
		b.cancel()
		t.Fatalf("start chromium: %v", err)
	}
	t.Cleanup(b.cancel)
	return b
}

func (b *browser) screenshot(t *testing.T, name string) {
	t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
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

// mediaState is what the page reports about the remote media it plays.
type mediaState struct {
	Tiles        int     `json:"tiles"`
	VideoWidth   int     `json:"videoWidth"`
	Frames       int     `json:"frames"`
	CurrentTime  float64 `json:"currentTime"`
	AudioPackets int     `json:"audioPackets"`
	AudioEnergy  float64 `json:"audioEnergy"`
	Names        string  `json:"names"`
}

const readMediaState = `(async () => {
	const tiles = [...document.querySelectorAll('.tile.remote')];
	const v = document.querySelector('.tile.remote video');
	const out = {tiles: tiles.length, videoWidth: 0, frames: 0, currentTime: 0, audioPackets: 0, audioEnergy: 0,
		names: tiles.map(t => t.textContent.trim()).join('|')};
	if (v) {
		out.videoWidth = v.videoWidth;
		out.currentTime = v.currentTime;
		const q = v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality() : null;
		out.frames = q ? q.totalVideoFrames : 0;
	}
	for (const pc of (window.__pcs || [])) {
		if (pc.signalingState === 'closed') continue; // the join page's WebRTC probe, or a session before a rejoin
		const stats = await pc.getStats();
		stats.forEach(s => {
			if (s.type === 'inbound-rtp' && s.kind === 'audio') {
				out.audioPackets += s.packetsReceived || 0;
				out.audioEnergy += s.totalAudioEnergy || 0;
			}
		});
	}
	return out;
})()`

func (b *browser) media(ctx context.Context) (mediaState, error) {
	return chromedp.Run(ctx, chromedp.Evaluate[mediaState](readMediaState, chromedp.EvalAwaitPromise))
}

// TestBrowserCall is the foundation's browser test: two headless Chromium
// pages with fake devices open the join link, type a name, press Join, and
// each plays the other's video (frames advancing) and receives its audio.
func TestBrowserCall(t *testing.T) {
	exe := chromiumPath(t)
	m := startServer(t, "")
	link := createRoom(t, m, "Browser test")
	url := m.LocalURL() + "/r/" + link

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	people := []string{"Alice Archer", "Bob Baker"}
	browsers := make([]*browser, len(people))
	for i, name := range people {
		b := newBrowser(t, ctx, exe)
		browsers[i] = b
		err := chromedp.Do(b.ctx,
			chromedp.Navigate(url),
			chromedp.WaitVisible(chromedp.CSS("#join-name")),
		)
		if err != nil {
			t.Fatalf("%s: open join page: %v", name, err)
		}
		// The room name is fetched for the join page.
		if err := waitText(b.ctx, "body", "Browser test"); err != nil {
			b.screenshot(t, fmt.Sprintf("join-%d-failed", i))
			t.Fatalf("%s: join page never showed the room name: %v", name, err)
		}
		// The join page previews the camera and lists the devices.
		err = poll(ctx, func() (bool, error) {
			return chromedp.Run(b.ctx, chromedp.Evaluate[bool](`(() => {
				const v = document.querySelector('#preview-video');
				const cams = document.querySelectorAll('#camera-select option');
				return !!v && v.videoWidth > 0 && cams.length > 0 && !/no camera/i.test(cams[0].textContent);
			})()`))
		})
		if err != nil {
			b.screenshot(t, fmt.Sprintf("join-%d-no-preview", i))
			t.Fatalf("%s: the join page never showed the camera preview: %v", name, err)
		}
		if i == 0 {
			b.screenshot(t, "join-page")
		}
		err = chromedp.Do(b.ctx,
			clearInput("#join-name"),
			chromedp.SendKeys(chromedp.CSS("#join-name"), name),
			chromedp.Click(chromedp.CSS("#join-button")),
		)
		if err != nil {
			t.Fatalf("%s: join: %v", name, err)
		}
	}

	for i, b := range browsers {
		other := people[1-i]
		var first mediaState
		err := poll(ctx, func() (bool, error) {
			st, err := b.media(b.ctx)
			first = st
			return st.Tiles == 1 && st.VideoWidth > 0 && st.AudioPackets > 0 && strings.Contains(st.Names, other), err
		})
		if err != nil {
			b.screenshot(t, fmt.Sprintf("call-%d-failed", i))
			t.Fatalf("%s never played %s's media: %v (last %+v)", people[i], other, err, first)
		}
		// Frames advance and audio energy accumulates: the media is live.
		err = poll(ctx, func() (bool, error) {
			st, err := b.media(b.ctx)
			return st.Frames > first.Frames+5 && st.CurrentTime > first.CurrentTime && st.AudioPackets > first.AudioPackets+20 && st.AudioEnergy > 0, err
		})
		if err != nil {
			b.screenshot(t, fmt.Sprintf("call-%d-stalled", i))
			t.Fatalf("%s: %s's media is not advancing: %v", people[i], other, err)
		}
	}
	browsers[0].screenshot(t, "call-alice")
	browsers[1].screenshot(t, "call-bob")

	// Bob leaves; Alice's page drops his tile.
	if err := chromedp.Do(browsers[1].ctx, chromedp.Click(chromedp.CSS("#leave-button"))); err != nil {
		t.Fatalf("leave: %v", err)
	}
	err := poll(ctx, func() (bool, error) {
		st, err := browsers[0].media(browsers[0].ctx)
		return st.Tiles == 0, err
	})
	if err != nil {
		t.Fatalf("Alice still shows Bob after he left: %v", err)
	}
	browsers[1].screenshot(t, "left")

	// The server going away is shown to Alice, who starts rejoining.
	m.Close()
	if err := waitText(browsers[0].ctx, "#banner", "restarting"); err != nil {
		browsers[0].screenshot(t, "shutdown-failed")
		t.Fatalf("Alice was not told the server stopped: %v", err)
	}
	browsers[0].screenshot(t, "server-gone")
}

// poll calls f every 200 ms until it reports true or ctx ends.
func poll(ctx context.Context, f func() (bool, error)) error {
	var last error
	for {
		ok, err := f()
		if ok {
			return nil
		}
		last = err
		select {
		case <-ctx.Done():
			if last != nil {
				return fmt.Errorf("%w (last error: %v)", ctx.Err(), last)
			}
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// waitText waits until the element matching sel contains text
// (case-insensitive).
func waitText(ctx context.Context, sel, text string) error {
	tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	js := fmt.Sprintf(`(() => { const e = document.querySelector(%q); return !!e && e.textContent.toLowerCase().includes(%q); })()`, sel, strings.ToLower(text))
	return poll(tctx, func() (bool, error) {
		return chromedp.Run(tctx, chromedp.Evaluate[bool](js))
	})
}

// clearInput empties a text field, as a person selecting its text and
// deleting it would.
func clearInput(sel string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		js := fmt.Sprintf(`(() => { const e = document.querySelector(%q); e.value = ''; e.dispatchEvent(new Event('input', {bubbles: true})); return true; })()`, sel)
		_, err := chromedp.Evaluate[bool](js)(ctx, t)
		return chromedp.Void{}, err
	}
}
