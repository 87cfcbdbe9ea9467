package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// layoutState is what a call page shows, as TestBrowserMobileLayout
// checks it.
type layoutState struct {
	Tiles        int       `json:"tiles"`        // remote tiles
	Decoding     int       `json:"decoding"`     // remote tiles playing video
	Crops        []float64 `json:"crops"`        // per remote video: how many times it is cropped (1: whole)
	Covered      []string  `json:"covered"`      // names the self-view covers
	Offscreen    []string  `json:"offscreen"`    // tiles or names not wholly in the viewport
	CountText    string    `json:"countText"`    // the participant count
	CountVisible bool      `json:"countVisible"` // …and whether it is on screen
}

const readLayout = `(() => {
	const vw = innerWidth, vh = innerHeight;
	const inView = (r) => r.width > 0 && r.height > 0 && r.left >= 0 && r.top >= 0 && r.right <= vw + 0.5 && r.bottom <= vh + 0.5;
	const meets = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
	const out = {tiles: 0, decoding: 0, crops: [], covered: [], offscreen: [], countText: '', countVisible: false};
	const count = document.querySelector('#participant-count');
	out.countText = count.textContent.trim();
	out.countVisible = count.checkVisibility() && inView(count.getBoundingClientRect());
	const self = document.querySelector('.tile.local');
	const selfRect = self ? self.getBoundingClientRect() : null;
	for (const tile of document.querySelectorAll('.tile')) {
		const name = tile.querySelector('.tile-name');
		if (!inView(tile.getBoundingClientRect()) || !inView(name.getBoundingClientRect())) out.offscreen.push(name.textContent);
		if (tile === self) continue;
		out.tiles++;
		if (selfRect && meets(selfRect, name.getBoundingClientRect())) out.covered.push(name.textContent);
		const v = tile.querySelector('video');
		if (!v.videoWidth) continue;
		out.decoding++;
		const r = v.getBoundingClientRect();
		const va = v.videoWidth / v.videoHeight, ta = r.width / r.height;
		out.crops.push(getComputedStyle(v).objectFit === 'contain' ? 1 : Math.max(va / ta, ta / va));
	}
	return out;
})()`

// TestBrowserMobileLayout joins a phone-sized page (390×844) to a call of
// two, then three: the others' videos are not cropped to a sliver (at most
// 1.25 times), the self-view covers no name, every tile and name is on
// screen, and the participant count stays visible.
func TestBrowserMobileLayout(t *testing.T) {
	exe := chromiumPath(t)
	m := startServer(t, "")
	url := m.LocalURL() + "/r/" + createRoom(t, m, "Phone test")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	phone := newBrowser(t, ctx, exe)
	if err := chromedp.Do(phone.ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile)); err != nil {
		t.Fatalf("emulate a phone: %v", err)
	}
	joinAs(t, ctx, phone, url, "Carol Carpenter")
	for i, name := range []string{"Alice Archer", "Bob Baker"} {
		joinAs(t, ctx, newBrowser(t, ctx, exe), url, name)
		others := i + 1
		var st layoutState
		err := poll(ctx, func() (bool, error) {
			var err error
			st, err = chromedp.Run(phone.ctx, chromedp.Evaluate[layoutState](readLayout))
			return st.Tiles == others && st.Decoding == others, err
		})
		shot := fmt.Sprintf("mobile-%d-people", others+1)
		phone.screenshot(t, shot)
		if err != nil {
			t.Fatalf("%s: the phone never played %d videos: %v (last %+v)", shot, others, err, st)
		}
		time.Sleep(300 * time.Millisecond) // one more layout pass after the last video's size
		st, err = chromedp.Run(phone.ctx, chromedp.Evaluate[layoutState](readLayout))
		if err != nil {
			t.Fatal(err)
		}
		phone.screenshot(t, shot)
		for j, c := range st.Crops {
			if c > 1.25 {
				t.Errorf("%s: remote video %d is cropped %.2f times (want ≤ 1.25)", shot, j, c)
			}
		}
		if len(st.Covered) > 0 {
			t.Errorf("%s: the self-view covers %q", shot, st.Covered)
		}
		if len(st.Offscreen) > 0 {
			t.Errorf("%s: not wholly on screen: %q", shot, st.Offscreen)
		}
		if want := fmt.Sprintf("%d people", others+1); !st.CountVisible || st.CountText != want {
			t.Errorf("%s: participant count %q visible=%v, want %q visible", shot, st.CountText, st.CountVisible, want)
		}
	}
}

// noWebRTC runs before the page's scripts, as in a browser without WebRTC
// (or with it turned off).
const noWebRTC = `delete window.RTCPeerConnection; delete window.webkitRTCPeerConnection;`

// TestBrowserNoWebRTC opens the join page in a Chromium whose
// RTCPeerConnection is gone: the page says plainly that this browser
// cannot make video calls, Join stays disabled, and neither the form nor
// the protocol library joins the call half-way (the page already in the
// call never sees a silent tile).
func TestBrowserNoWebRTC(t *testing.T) {
	exe := chromiumPath(t)
	m := startServer(t, "")
	link := createRoom(t, m, "No WebRTC test")
	url := m.LocalURL() + "/r/" + link
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	alice := newBrowser(t, ctx, exe)
	joinAs(t, ctx, alice, url, "Alice Archer")

	old := newBrowser(t, ctx, exe)
	addScript := func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: noWebRTC})
		return chromedp.Void{}, err
	}
	if err := chromedp.Do(old.ctx, addScript, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS("#join-name"))); err != nil {
		t.Fatalf("open join page: %v", err)
	}
	tctx, tcancel := context.WithTimeout(ctx, 20*time.Second)
	defer tcancel()
	err := poll(tctx, func() (bool, error) {
		return chromedp.Run(old.ctx, chromedp.Evaluate[bool](`(() => {
			const u = document.querySelector('#unsupported');
			return !!u && u.checkVisibility() && /cannot make video calls/i.test(u.textContent) && /chrome, edge, firefox or safari/i.test(u.textContent);
		})()`))
	})
	old.screenshot(t, "join-no-webrtc")
	if err != nil {
		t.Fatalf("the join page never said this browser cannot make calls: %v", err)
	}
	disabled, err := chromedp.Run(old.ctx, chromedp.Evaluate[bool](`document.querySelector('#join-button').disabled`))
	if err != nil || !disabled {
		t.Errorf("Join button disabled = %v, %v; want disabled", disabled, err)
	}

	// Submitting the form anyway (Enter in the name field) stays put.
	err = chromedp.Do(old.ctx, chromedp.SendKeys(chromedp.CSS("#join-name"), "Old Browser"))
	if err == nil {
		_, err = chromedp.Run(old.ctx, chromedp.Evaluate[bool](`(document.querySelector('#join-form').requestSubmit(), true)`))
	}
	if err != nil {
		t.Fatalf("submit: %v", err)
	}
	// The protocol library refuses too, before it connects.
	code, err := chromedp.Run(old.ctx, chromedp.Evaluate[string](fmt.Sprintf(`import('/assets/protocol.js').then(
		(p) => new p.ParleyClient({link: %q}).join({name: 'Old Browser'}).then(() => 'joined', (e) => e.code))`, link),
		chromedp.EvalAwaitPromise))
	if err != nil || code != "no-webrtc" {
		t.Errorf("ParleyClient.join without WebRTC = %q, %v; want the error no-webrtc", code, err)
	}
	time.Sleep(time.Second) // a half-way join would show up on Alice's page by now
	screen, err := chromedp.Run(old.ctx, chromedp.Evaluate[string](`document.body.dataset.screen`))
	if err != nil || screen != "join" {
		t.Errorf("after submitting, the page shows %q (%v), want the join page", screen, err)
	}
	st, err := chromedp.Run(alice.ctx, chromedp.Evaluate[callState](readCallState))
	if err != nil || st.Tiles != 0 {
		t.Errorf("Alice's page shows %d other tiles (%v): the browser without WebRTC joined half-way", st.Tiles, err)
	}
	if names := strings.TrimSpace(st.RemoteID); names != "" {
		t.Errorf("Alice sees participant %s", names)
	}
}
