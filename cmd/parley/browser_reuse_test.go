package main

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// joinPage opens url in a new headless Chromium and joins as name.
func joinPage(t *testing.T, ctx context.Context, exe, url, name string) *browser {
	t.Helper()
	b := newBrowser(t, ctx, exe)
	err := chromedp.Do(b.ctx,
		chromedp.Navigate(url),
		chromedp.WaitVisible(chromedp.CSS("#join-name")),
		clearInput("#join-name"),
		chromedp.SendKeys(chromedp.CSS("#join-name"), name),
		chromedp.Click(chromedp.CSS("#join-button")),
	)
	if err != nil {
		b.screenshot(t, "join-failed")
		t.Fatalf("%s: join: %v", name, err)
	}
	return b
}

// tileView is what a page shows of one remote participant: the
// participant id its tile is keyed by (the stream id of its tracks), the
// mids of the transceivers whose tracks it plays ("mid:kind"), and its
// video's progress.
type tileView struct {
	Found  bool     `json:"found"`
	Tiles  int      `json:"tiles"`
	ID     string   `json:"id"`
	Mids   []string `json:"mids"`
	Width  int      `json:"width"`
	Frames int      `json:"frames"`
	Time   float64  `json:"time"`
}

const readTileView = `(() => {
	const tiles = [...document.querySelectorAll('.tile.remote')];
	const tile = tiles.find(t => t.textContent.includes(%q));
	if (!tile) return {found: false, tiles: tiles.length, mids: []};
	const v = tile.querySelector('video');
	const tracks = v && v.srcObject ? v.srcObject.getTracks() : [];
	const pcs = window.__pcs || [];
	const pc = pcs[pcs.length - 1];
	const mids = [];
	if (pc) {
		for (const tr of pc.getTransceivers()) {
			if (tracks.includes(tr.receiver.track)) mids.push(tr.mid + ':' + tr.receiver.track.kind);
		}
	}
	const q = v && v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality() : null;
	return {found: true, tiles: tiles.length, id: tile.dataset.participantId || '', mids: mids.sort(),
		width: v ? v.videoWidth : 0, frames: q ? q.totalVideoFrames : 0, time: v ? v.currentTime : 0};
})()`

func (b *browser) tile(ctx context.Context, name string) (tileView, error) {
	return chromedp.Run(ctx, chromedp.Evaluate[tileView](fmt.Sprintf(readTileView, name)))
}

// waitPlaying waits until b shows name's tile alone, playing video with
// frames advancing and both tracks attached, and returns the view.
func waitPlaying(t *testing.T, ctx context.Context, b *browser, who, name string) tileView {
	t.Helper()
	var first tileView
	err := poll(ctx, func() (bool, error) {
		v, err := b.tile(b.ctx, name)
		first = v
		return v.Found && v.Tiles == 1 && v.Width > 0 && len(v.Mids) == 2, err
	})
	if err != nil {
		b.screenshot(t, "reuse-"+who+"-failed")
		t.Fatalf("%s never played %s's video: %v (last %+v)", who, name, err, first)
	}
	var now tileView
	err = poll(ctx, func() (bool, error) {
		v, err := b.tile(b.ctx, name)
		now = v
		return v.Frames > first.Frames+5 && v.Time > first.Time, err
	})
	if err != nil {
		b.screenshot(t, "reuse-"+who+"-stalled")
		t.Fatalf("%s: %s's video is not advancing: %v (first %+v, last %+v)", who, name, err, first, now)
	}
	return now
}

// TestBrowserReusedMLine: Alice's page stays while Bob's page leaves and
// Carol's joins. The server puts Carol's tracks on the m-lines that
// carried Bob's (same mids, new msid and SSRC), and Alice's page plays
// Carol's video, frames advancing, in Carol's tile, keyed by her
// participant id, with no tile left for Bob.
func TestBrowserReusedMLine(t *testing.T) {
	exe := chromiumPath(t)
	m := startServer(t, "")
	link := createRoom(t, m, "Reuse test")
	url := m.LocalURL() + "/r/" + link
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()

	alice := joinPage(t, ctx, exe, url, "Alice Archer")
	bob := joinPage(t, ctx, exe, url, "Bob Baker")
	withBob := waitPlaying(t, ctx, alice, "alice", "Bob Baker")

	if err := chromedp.Do(bob.ctx, chromedp.Click(chromedp.CSS("#leave-button"))); err != nil {
		t.Fatalf("Bob leaves: %v", err)
	}
	err := poll(ctx, func() (bool, error) {
		v, err := alice.tile(alice.ctx, "Bob Baker")
		return !v.Found && v.Tiles == 0, err
	})
	if err != nil {
		t.Fatalf("Alice still shows Bob after he left: %v", err)
	}
	bob.cancel() // one browser fewer on a small machine

	carol := joinPage(t, ctx, exe, url, "Carol Clark")
	withCarol := waitPlaying(t, ctx, alice, "alice", "Carol Clark")
	alice.screenshot(t, "reuse-alice-sees-carol")
	t.Logf("Bob on %v as %s; Carol on %v as %s", withBob.Mids, withBob.ID, withCarol.Mids, withCarol.ID)
	if !slices.Equal(withCarol.Mids, withBob.Mids) {
		t.Errorf("Carol's tracks on Alice's mids %v, want Bob's old %v (reused m-lines)", withCarol.Mids, withBob.Mids)
	}
	if withCarol.ID == "" || withCarol.ID == withBob.ID {
		t.Errorf("Carol's tile is keyed %q, Bob's was %q: want Carol's own participant id", withCarol.ID, withBob.ID)
	}
	if v, err := alice.tile(alice.ctx, "Bob Baker"); err != nil || v.Found {
		t.Errorf("Alice shows a tile for Bob after Carol joined (%+v, %v)", v, err)
	}
	carol.screenshot(t, "reuse-carol")
}
