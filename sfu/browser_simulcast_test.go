package sfu

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pion/webrtc/v4"
)

// chromium finds Debian's chromium, as cmd/parley's browser test does:
// make test installs it when missing; PARLEY_SKIP_BROWSER=1 skips.
func chromium(t *testing.T) string {
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

// browserPublishJS publishes a 1280x720 canvas with three simulcast
// encodings on a publisher connection, as a version-2 client will
// (docs/protocol.md), and resolves to the offer once its candidates are
// gathered into it.
const browserPublishJS = `(async () => {
  const pc = new RTCPeerConnection();
  window.pc = pc;
  const cv = document.createElement('canvas'); cv.width = 1280; cv.height = 720; document.body.appendChild(cv);
  const ctx = cv.getContext('2d'); let n = 0;
  setInterval(() => { n++; ctx.fillStyle = 'hsl(' + (n % 360) + ',80%,50%)'; ctx.fillRect(0, 0, 1280, 720);
    ctx.fillStyle = '#000'; ctx.font = '80px sans-serif'; ctx.fillText('frame ' + n, 100 + (n * 7) % 800, 300); }, 33);
  pc.addTransceiver(cv.captureStream(30).getVideoTracks()[0], {direction: 'sendonly', sendEncodings: [
    {rid: 'q', scaleResolutionDownBy: 4}, {rid: 'h', scaleResolutionDownBy: 2}, {rid: 'f'}]});
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise(r => { pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && r();
    if (pc.iceGatheringState === 'complete') r(); });
  return pc.localDescription.sdp;
})()`

// browserSubscribeJS sets up a subscriber page: the server's offers are
// applied by answerJS, its candidates kept in window.cands, and the video
// it receives played in window.v.
const browserSubscribeJS = `(() => {
  const pc = new RTCPeerConnection();
  window.pc = pc; window.cands = [];
  pc.onicecandidate = e => { if (e.candidate) window.cands.push(e.candidate.toJSON()); };
  pc.ontrack = e => { if (e.track.kind !== 'video') return;
    const v = document.createElement('video'); v.muted = true; v.autoplay = true;
    v.srcObject = new MediaStream([e.track]); document.body.appendChild(v); window.v = v; };
  return true;
})()`

// browserVideoJS reports the subscriber's decoded video: its width and
// the frames decoded so far.
const browserVideoJS = `(async () => {
  let frames = 0;
  (await pc.getStats()).forEach(s => { if (s.type === 'inbound-rtp' && s.kind === 'video') frames = s.framesDecoded; });
  return {width: window.v ? window.v.videoWidth : 0, frames};
})()`

type browserVideo struct {
	Width  int `json:"width"`
	Frames int `json:"frames"`
}

// A Chromium page publishing its camera as three simulcast encodings on
// the publisher connection arrives as one track with three layers; a
// Chromium subscriber switched between them keeps decoding, at the size
// of each layer in turn.
func TestBrowserSimulcast(t *testing.T) {
	exe := chromium(t)
	s := newTestSFU(t)
	r := s.NewRouter("room")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.UserDataDir(t.TempDir()), chromedp.Flag("autoplay-policy", "no-user-gesture-required"))
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	pubPage, cancelPub := chromedp.NewContext(actx)
	defer cancelPub()
	if err := chromedp.Do(pubPage, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	// Cancel the browser and wait for it before the SFU closes.
	defer func() { _ = chromedp.Cancel(pubPage) }()
	subPage, cancelSub := chromedp.NewContext(pubPage) // a second tab
	defer cancelSub()
	if err := chromedp.Do(subPage, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("open a second tab: %v", err)
	}

	// The publisher: its main connection is left unanswered (its offers
	// carry only the anchor m-line); it publishes on the other.
	pub, err := r.AddPeer(PeerConfig{ID: "pub", OfferTimeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	offer, err := chromedp.Run(pubPage, chromedp.Evaluate[string](browserPublishJS, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("publisher offer: %v", err)
	}
	answer, err := pub.Publish(offer)
	if err != nil {
		t.Fatalf("Publish: %v", err)
	}
	js, _ := json.Marshal(answer)
	if _, err := chromedp.Run(pubPage, chromedp.Evaluate[bool](`pc.setRemoteDescription({type: 'answer', sdp: `+string(js)+`}).then(() => true)`, chromedp.EvalAwaitPromise)); err != nil {
		t.Fatalf("publisher answer: %v", err)
	}

	sub := newBrowserSubscriber(t, r, subPage)
	waitFor(t, 45*time.Second, "three incoming layers", func() bool {
		st := s.Stats()
		return st.Layers == 3 && st.PublishedTracks == 1
	})
	video := func() browserVideo {
		v, err := chromedp.Run(subPage, chromedp.Evaluate[browserVideo](browserVideoJS, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("subscriber stats: %v", err)
		}
		return v
	}
	waitFor(t, 20*time.Second, "the subscriber decoding layer q", func() bool {
		v := video()
		return v.Width == 320 && v.Frames > 10
	})
	for _, step := range []struct {
		rid   string
		width int
	}{{"f", 1280}, {"h", 640}, {"q", 320}, {"f", 1280}} {
		before := video().Frames
		start := time.Now()
		if err := sub.SetLayer("pub", step.rid); err != nil {
			t.Fatalf("SetLayer(%s): %v", step.rid, err)
		}
		waitFor(t, 15*time.Second, "decoding layer "+step.rid, func() bool {
			v := video()
			return v.Width == step.width && v.Frames > before+10
		})
		if rid, _ := sub.Layer("pub"); rid != step.rid {
			t.Errorf("Layer = %q, want %q", rid, step.rid)
		}
		t.Logf("layer %s (%d px wide) decoded %v after SetLayer", step.rid, step.width, time.Since(start).Round(10*time.Millisecond))
	}
	st := s.Stats()
	if st.LayerSwitches != 4 {
		t.Errorf("LayerSwitches = %d, want 4", st.LayerSwitches)
	}
	t.Logf("stats: %d layers in, %d switches, %d PLIs out, %d dropped", st.Layers, st.LayerSwitches, st.PLIsOut, st.Dropped)
}

// newBrowserSubscriber adds peer "sub" to r, played by the page: the
// server's offers are answered and the candidates exchanged by a
// goroutine that ends with the test.
func newBrowserSubscriber(t *testing.T, r *Router, page context.Context) *Peer {
	t.Helper()
	if _, err := chromedp.Run(page, chromedp.Evaluate[bool](browserSubscribeJS)); err != nil {
		t.Fatalf("subscriber page: %v", err)
	}
	var mu sync.Mutex
	var offers []Offer
	var cands []webrtc.ICECandidateInit
	wake := make(chan struct{}, 1)
	poke := func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	sub, err := r.AddPeer(PeerConfig{
		ID:          "sub",
		OnOffer:     func(o Offer) { mu.Lock(); offers = append(offers, o); mu.Unlock(); poke() },
		OnCandidate: func(c webrtc.ICECandidateInit) { mu.Lock(); cands = append(cands, c); mu.Unlock(); poke() },
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		browserPump(page, sub, &mu, &offers, &cands, wake, done)
	}()
	t.Cleanup(func() { close(done); wg.Wait(); _ = sub.Close() })
	return sub
}

// browserPump applies the server's offers and candidates to the page and
// hands the page's answers and candidates to sub, until done.
func browserPump(page context.Context, sub *Peer, mu *sync.Mutex, offers *[]Offer, cands *[]webrtc.ICECandidateInit, wake, done chan struct{}) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	sent := 0 // page candidates handed to sub
	for {
		select {
		case <-done:
			return
		case <-wake:
		case <-tick.C:
		}
		mu.Lock()
		ofs, cs := *offers, *cands
		*offers, *cands = nil, nil
		mu.Unlock()
		for _, o := range ofs {
			js, _ := json.Marshal(o.SDP)
			a, err := chromedp.Run(page, chromedp.Evaluate[string](`(async () => { await pc.setRemoteDescription({type: 'offer', sdp: `+
				string(js)+`}); const a = await pc.createAnswer(); await pc.setLocalDescription(a); return a.sdp; })()`, chromedp.EvalAwaitPromise))
			if err == nil {
				_ = sub.SetAnswer(a)
			}
		}
		for _, c := range cs {
			js, _ := json.Marshal(c)
			_, _ = chromedp.Run(page, chromedp.Evaluate[bool](`pc.addIceCandidate(`+string(js)+`).then(() => true, () => false)`, chromedp.EvalAwaitPromise))
		}
		raw, err := chromedp.Run(page, chromedp.Evaluate[string](`JSON.stringify(window.cands)`))
		var pcs []webrtc.ICECandidateInit
		if err != nil || json.Unmarshal([]byte(raw), &pcs) != nil {
			continue
		}
		for _, c := range pcs[min(sent, len(pcs)):] {
			_ = sub.AddCandidate(c)
		}
		sent = len(pcs)
	}
}
