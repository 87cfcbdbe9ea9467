package main

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// readLayerState is what a page knows of the simulcast layers: the width
// of the first remote tile, and what its own camera sends (the encodings
// of its publisher connection's outbound video).
const readLayerState = `(async () => {
	const tile = document.querySelector('.tile.remote');
	const out = {tileWidth: tile ? tile.getBoundingClientRect().width : 0, ratio: devicePixelRatio,
		asked: tile ? tile.dataset.layer || '' : '', sending: []};
	for (const pc of (window.__pcs || [])) {
		if (pc.signalingState === 'closed') continue;
		(await pc.getStats()).forEach(s => {
			if (s.type === 'outbound-rtp' && s.kind === 'video' && s.rid) out.sending.push(s.rid + ':' + (s.frameWidth || 0));
		});
	}
	out.sending.sort();
	return out;
})()`

type layerState struct {
	TileWidth float64  `json:"tileWidth"`
	Asked     string   `json:"asked"` // the layer the page asked for (layers.js)
	Ratio     float64  `json:"ratio"`
	Sending   []string `json:"sending"` // "rid:width" of each encoding sent
}

// layerWidths is the width of each layer of a 1280×720 camera sent as the
// web client sends it (media.js CAMERA_LAYERS), and layerFor the layer
// the web client asks for a tile (layers.js LAYER_MAX_WIDTH).
var layerWidths = map[string]int{"q": 320, "h": 640, "f": 1280}

func layerFor(tileWidth, ratio float64) string {
	switch w := tileWidth * ratio; {
	case w <= 360:
		return "q"
	case w <= 720:
		return "h"
	}
	return "f"
}

// TestBrowserSimulcastLayers: two Chromium pages join through the real
// server with protocol version 2. Each publishes its camera as three
// simulcast layers on its publisher connection, and the server's /metrics
// counts every layer arriving. Bob's page asks for the layer of Alice's
// camera that suits the size of her tile: as his window goes from a
// desktop's to a phone's to a smaller one and back, the tile shrinks and
// grows, his page sends set-layer, and his video keeps decoding at the
// width of each layer in turn.
func TestBrowserSimulcastLayers(t *testing.T) {
	exe := chromiumPath(t)
	m := startServer(t, "")
	url := m.LocalURL() + "/r/" + createRoom(t, m, "Simulcast test")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	alice := newBrowser(t, ctx, exe)
	bob := newBrowser(t, ctx, exe)
	joinAs(t, ctx, alice, url, "Alice Archer")
	joinAs(t, ctx, bob, url, "Bob Baker")

	// Two cameras of three layers and two microphones. Chromium starts its
	// upper layers once its bandwidth estimate allows, and on a busy
	// machine later still.
	var scrape string
	err := poll(withTimeout(ctx, 45*time.Second), func() (bool, error) {
		scrape = scrapeMetrics(t, m)
		return metricValue(scrape, "parley_layers_in") == 8 && metricValue(scrape, "parley_tracks_published") == 4, nil
	})
	if err != nil {
		alice.screenshot(t, "simulcast-no-layers")
		t.Fatalf("the server never received every layer: layers_in %v, tracks_published %v",
			metricValue(scrape, "parley_layers_in"), metricValue(scrape, "parley_tracks_published"))
	}
	if st, err := chromedp.Run(alice.ctx, chromedp.Evaluate[layerState](readLayerState, chromedp.EvalAwaitPromise)); err != nil || len(st.Sending) != 3 {
		t.Errorf("Alice's page sends encodings %v (%v), want three", st.Sending, err)
	} else {
		t.Logf("Alice sends %v", st.Sending)
	}

	viewportSteps(t, ctx, m, bob, "simulcast", desktopPhoneSmall)
	alice.screenshot(t, "simulcast-alice")

	// Alice's browser stops sending her top layer, as Chromium does when
	// its machine or network is short. Bob, whose large tile receives it,
	// is stepped down to the half layer and keeps decoding.
	const stopTopLayer = `(async () => {
		for (const pc of window.__pcs) {
			if (pc.signalingState === 'closed') continue;
			for (const s of pc.getSenders()) {
				const p = s.getParameters();
				if (!s.track || s.track.kind !== 'video' || !p.encodings || p.encodings.length !== 3) continue;
				p.encodings[2].active = false;
				await s.setParameters(p);
				return true;
			}
		}
		return false;
	})()`
	if ok, err := chromedp.Run(alice.ctx, chromedp.Evaluate[bool](stopTopLayer, chromedp.EvalAwaitPromise)); err != nil || !ok {
		t.Fatalf("stop Alice's top layer: %v, %v", ok, err)
	}
	var ls layerState
	var cs callState
	before := 0
	err = poll(withTimeout(ctx, 20*time.Second), func() (bool, error) {
		var err error
		if ls, err = chromedp.Run(bob.ctx, chromedp.Evaluate[layerState](readLayerState, chromedp.EvalAwaitPromise)); err != nil {
			return false, err
		}
		if cs, err = chromedp.Run(bob.ctx, chromedp.Evaluate[callState](readCallState)); err != nil {
			return false, err
		}
		if ls.Asked != "h" || cs.VideoWidth != layerWidths["h"] {
			return false, nil
		}
		if before == 0 {
			before = cs.Frames
		}
		return cs.Frames > before+10, nil
	})
	bob.screenshot(t, "simulcast-top-layer-stopped")
	if err != nil {
		t.Fatalf("Alice's top layer stopped: Bob asks for %q and decodes %d px, %d frames, want layer h at 640 px, advancing: %v", ls.Asked, cs.VideoWidth, cs.Frames, err)
	}
	t.Logf("top layer stopped: Bob stepped down to %s, decoding %d px", ls.Asked, cs.VideoWidth)
}

// A viewport step: the subscriber's window size.
type viewportStep struct {
	name          string
	width, height int
}

// desktopPhoneSmall are window sizes whose tiles ask for each layer: the
// full one on a desktop, the half on a phone, the quarter on a small one.
var desktopPhoneSmall = []viewportStep{
	{"desktop", 1280, 800},
	{"phone", 390, 844},
	{"small", 320, 480},
	{"desktop-again", 1280, 800},
}

// viewportSteps sets viewer's window to each size of steps in turn and
// checks that viewer then decodes the other participant's camera from the
// layer that suits the tile, at that layer's width and with frames
// advancing, and that each change of layer is one switch on the server.
// It checks that all three layers were used.
func viewportSteps(t *testing.T, ctx context.Context, m *Main, viewer *browser, tag string, steps []viewportStep) {
	t.Helper()
	var switches float64
	last := ""
	seen := map[string]bool{}
	for _, step := range steps {
		if err := chromedp.Do(viewer.ctx, chromedp.EmulateViewport(int64(step.width), int64(step.height))); err != nil {
			t.Fatalf("%s: viewport: %v", step.name, err)
		}
		var ls layerState
		var cs callState
		var before int
		// The tile is laid out, the layer asked for (after the page's
		// debounce) and switched to at its next keyframe; then frames of
		// that width go on being decoded.
		err := poll(withTimeout(ctx, 30*time.Second), func() (bool, error) {
			var err error
			if ls, err = chromedp.Run(viewer.ctx, chromedp.Evaluate[layerState](readLayerState, chromedp.EvalAwaitPromise)); err != nil {
				return false, err
			}
			if cs, err = chromedp.Run(viewer.ctx, chromedp.Evaluate[callState](readCallState)); err != nil {
				return false, err
			}
			rid := layerFor(ls.TileWidth, ls.Ratio)
			if ls.Asked != rid || cs.VideoWidth != layerWidths[rid] {
				before = 0
				return false, nil
			}
			if before == 0 {
				before = cs.Frames
			}
			return cs.Frames > before+10, nil
		})
		rid := layerFor(ls.TileWidth, ls.Ratio)
		viewer.screenshot(t, tag+"-"+step.name)
		if err != nil {
			t.Fatalf("%s (%dx%d): the tile is %.0f px wide, so layer %s (%d px); the page asked for %q and decodes %d px, %d frames: %v",
				step.name, step.width, step.height, ls.TileWidth, rid, layerWidths[rid], ls.Asked, cs.VideoWidth, cs.Frames, err)
		}
		t.Logf("%s (%dx%d): tile %.0f px → layer %s, decoding %d px (%d frames)", step.name, step.width, step.height, ls.TileWidth, rid, cs.VideoWidth, cs.Frames)
		// After the first step, each change of layer is a switch on the
		// server. More than one is allowed: on a starved machine Chrome
		// pauses a layer now and then, and the page steps a frozen tile
		// down and later up again (layers.js), each a switch of its own.
		if last != "" && rid != last {
			got := metricValue(scrapeMetrics(t, m), "parley_layer_switches_total")
			switch {
			case got < switches+1:
				t.Errorf("%s: layer_switches_total %v, want at least %v", step.name, got, switches+1)
			case got > switches+1:
				t.Logf("%s: %v layer switches for one change of tile size (frozen-layer steps under load)", step.name, got-switches)
			}
		}
		switches = metricValue(scrapeMetrics(t, m), "parley_layer_switches_total")
		last = rid
		seen[rid] = true
	}
	if len(seen) != 3 {
		t.Errorf("decoded layers %v; the window sizes should have asked for all three", seen)
	}
}

// TestFirefoxSimulcastLayers: Firefox ESR publishes its camera as the
// same three layers (addTransceiver with sendEncodings), and a Chromium
// subscriber is switched between them by its window's size.
func TestFirefoxSimulcastLayers(t *testing.T) {
	ffExe := firefoxPath(t)
	chExe := chromiumPath(t)
	m := startServer(t, "")
	url := m.LocalURL() + "/r/" + createRoom(t, m, "Firefox test") // joinChromium waits for this name
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ff := newFirefox(t, ctx, ffExe)
	ch := newBrowser(t, ctx, chExe)
	joinChromium(t, ctx, ch, url, "Alice Archer")
	joinFirefox(t, ctx, ff, url, "Bob Baker")
	var st layerState
	err := poll(withTimeout(ctx, 45*time.Second), func() (bool, error) {
		var err error
		st, err = evalJSON[layerState](ctx, ff, readLayerState)
		return len(st.Sending) == 3 && metricValue(scrapeMetrics(t, m), "parley_layers_in") == 8, err
	})
	if err != nil {
		ff.screenshot(t, ctx, "simulcast-firefox-no-layers")
		t.Fatalf("Firefox sends %v; the server has %v layers: %v", st.Sending, metricValue(scrapeMetrics(t, m), "parley_layers_in"), err)
	}
	t.Logf("Firefox sends %v", st.Sending)
	// Firefox drops its top layer when the machine is busy: the full
	// layer is asked for first, while it still comes.
	viewportSteps(t, ctx, m, ch, "simulcast-from-firefox", desktopPhoneSmall[:3])
	ff.screenshot(t, ctx, "simulcast-firefox")
}

// withTimeout is ctx with a shorter deadline, cancelled when ctx is.
func withTimeout(ctx context.Context, d time.Duration) context.Context {
	c, cancel := context.WithTimeout(ctx, d)
	context.AfterFunc(c, cancel)
	return c
}
