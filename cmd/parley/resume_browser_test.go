package main

import (
	"context"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// cutProxy is a TCP proxy in front of the server that a page connects
// through (HTTP and WebSocket; its media goes to the server directly). The
// test severs every connection through it at once, with a TCP reset and no
// WebSocket close frame, as a network that drops does, and may keep it
// down for a while: connections made meanwhile are reset at once.
type cutProxy struct {
	ln     net.Listener
	target string
	wg     sync.WaitGroup // the accept loop and each connection's pipes

	mu      sync.Mutex
	down    bool
	conns   map[net.Conn]struct{} // both ends of every proxied connection
	stalled map[net.Conn]struct{} // ends whose data the proxy drops (stall)
}

// newCutProxy listens on 127.0.0.1:0 and forwards to target (host:port);
// it stops when the test ends.
func newCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}, stalled: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() {
		ln.Close()
		p.cut(true)
		p.wg.Wait()
	})
	return p
}

// URL is the proxy's http URL.
func (p *cutProxy) URL() string { return "http://" + p.ln.Addr().String() }

// serve accepts until the listener closes.
func (p *cutProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		down := p.down
		p.mu.Unlock()
		if down {
			reset(c)
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			reset(c)
			continue
		}
		p.mu.Lock()
		if p.down {
			p.mu.Unlock()
			reset(c)
			reset(up)
			continue
		}
		p.conns[c], p.conns[up] = struct{}{}, struct{}{}
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(up, c)
		go p.pipe(c, up)
	}
}

// pipe copies from src to dst until either ends, then resets both. What
// it reads from a stalled src it drops.
func (p *cutProxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		p.mu.Lock()
		_, stalled := p.stalled[src]
		p.mu.Unlock()
		if n > 0 && !stalled {
			if _, err := dst.Write(buf[:n]); err != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	p.mu.Lock()
	delete(p.conns, dst)
	delete(p.conns, src)
	delete(p.stalled, dst)
	delete(p.stalled, src)
	p.mu.Unlock()
	reset(dst)
	reset(src)
}

// cut resets every connection through the proxy; down says whether new
// ones are reset too until the next cut(false).
func (p *cutProxy) cut(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	for c := range p.conns {
		reset(c)
		delete(p.conns, c)
	}
}

// stall makes every connection now open through the proxy go silent, in
// both directions, without closing it: a network path that died with no
// RST or FIN reaching either end. Connections made later pass as usual.
func (p *cutProxy) stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		p.stalled[c] = struct{}{}
	}
}

// reset closes c with a TCP RST: no FIN, no close frame.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.Close()
}

// recordTiles runs in a page: it keeps, in window.__tileLog, every remote
// tile added or removed and every change of a tile's data-connection from
// now on (run again, it empties the log).
const recordTiles = `(() => {
	const fresh = !window.__tileLog;
	window.__tileLog = [];
	if (!fresh) return true;
	const log = (kind, el, extra) => window.__tileLog.push(Object.assign({kind, id: el.dataset.participantId || ''}, extra));
	new MutationObserver((records) => {
		for (const r of records) {
			if (r.type === 'attributes') {
				const now = r.target.getAttribute('data-connection');
				if (r.target.classList.contains('remote') && now !== r.oldValue) log('connection', r.target, {connection: now});
				continue;
			}
			for (const n of r.addedNodes) if (n.classList && n.classList.contains('remote')) log('added', n, {});
			for (const n of r.removedNodes) if (n.classList && n.classList.contains('remote')) log('removed', n, {});
		}
	}).observe(document.querySelector('#grid'), {childList: true, subtree: true, attributes: true,
		attributeFilter: ['data-connection'], attributeOldValue: true});
	return true;
})()`

type tileEvent struct {
	Kind       string `json:"kind"`
	ID         string `json:"id"`
	Connection string `json:"connection"`
}

// peerView is what a page's latest RTCPeerConnection shows: how many the
// page made, and the ICE username fragment of the server's last offer.
type peerView struct {
	PCs   int    `json:"pcs"`
	Ufrag string `json:"ufrag"`
	Self  string `json:"self"` // the self tile's participant id
}

const readPeerView = `(() => {
	const pcs = window.__pcs || [];
	const pc = pcs[pcs.length - 1];
	const sdp = pc && pc.remoteDescription ? pc.remoteDescription.sdp : '';
	const m = /a=ice-ufrag:(\S+)/.exec(sdp);
	const self = document.querySelector('.tile.local');
	return {pcs: pcs.length, ufrag: m ? m[1] : '', self: self ? self.dataset.participantId : ''};
})()`

// TestBrowserResume: Alice's page reaches the server through a proxy that
// the test severs mid-call (TCP reset, no close frame) and keeps down for
// a few seconds. Her page must resume on its own over a new WebSocket:
// the same participant id and the same RTCPeerConnection, ICE restarted
// (a new ufrag in the server's offer). Bob's page must show her tile as
// reconnecting, then connected, and never remove it; both pages decode
// each other's video again afterwards.
func TestBrowserResume(t *testing.T) {
	exe := chromiumPath(t)
	m := startServer(t, "")
	link := createRoom(t, m, "Resume test")
	u, err := url.Parse(m.LocalURL())
	if err != nil {
		t.Fatal(err)
	}
	proxy := newCutProxy(t, u.Host)
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()

	alice := newBrowser(t, ctx, exe)
	joinAs(t, ctx, alice, proxy.URL()+"/r/"+link, "Alice Archer")
	bob := newBrowser(t, ctx, exe)
	joinAs(t, ctx, bob, m.LocalURL()+"/r/"+link, "Bob Baker")
	aliceSees, err := waitDecoding(ctx, alice, "")
	if err != nil {
		alice.screenshot(t, "resume-alice-first-call-failed")
		t.Fatalf("Alice never decoded Bob's video: %v (last %+v)", err, aliceSees)
	}
	bobSees, err := waitDecoding(ctx, bob, "")
	if err != nil {
		bob.screenshot(t, "resume-bob-first-call-failed")
		t.Fatalf("Bob never decoded Alice's video: %v (last %+v)", err, bobSees)
	}
	before := readPeer(t, alice)
	if before.Self == "" || before.Self != bobSees.RemoteID {
		t.Fatalf("Alice's self tile is %q, Bob shows her as %q", before.Self, bobSees.RemoteID)
	}
	if _, err := chromedp.Run(bob.ctx, chromedp.Evaluate[bool](recordTiles)); err != nil {
		t.Fatal(err)
	}

	// The network drops for a while.
	proxy.cut(true)
	cutAt := time.Now()
	waitCall(t, ctx, bob, "Bob sees Alice reconnecting", func(st callState) bool {
		return st.Tiles == 1 && st.RemoteID == before.Self && tileConnection(t, bob) == "reconnecting"
	})
	if err := waitBanner(ctx, alice, "reconnecting"); err != nil {
		alice.screenshot(t, "resume-alice-no-banner")
		t.Fatalf("Alice was not told the call is reconnecting: %v", err)
	}
	bob.screenshot(t, "resume-reconnecting-desktop")
	alice.screenshot(t, "resume-alice-reconnecting")
	if err := chromedp.Do(bob.ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile)); err != nil {
		t.Fatalf("emulate a phone: %v", err)
	}
	time.Sleep(300 * time.Millisecond) // the layout follows the resize
	bob.screenshot(t, "resume-reconnecting-mobile")
	if err := chromedp.Do(bob.ctx, chromedp.EmulateViewport(1280, 800)); err != nil {
		t.Fatalf("back to desktop: %v", err)
	}
	if d := time.Until(cutAt.Add(4 * time.Second)); d > 0 {
		time.Sleep(d) // down for 4 s in all: a few failed attempts
	}
	proxy.cut(false)
	backAt := time.Now()

	if err := waitBanner(ctx, alice, "back in the call"); err != nil {
		alice.screenshot(t, "resume-alice-not-back")
		t.Fatalf("Alice was not told she is back in the call: %v (last %+v)", err, readCall(t, alice))
	}
	tctx, tcancel := context.WithTimeout(ctx, 30*time.Second)
	defer tcancel()
	bobSees, err = waitDecoding(tctx, bob, "")
	if err != nil || bobSees.RemoteID != before.Self {
		bob.screenshot(t, "resume-bob-not-decoding")
		t.Fatalf("after the resume Bob decodes %q, want Alice %q: %v (last %+v)", bobSees.RemoteID, before.Self, err, bobSees)
	}
	aliceSees2, err := waitDecoding(tctx, alice, "")
	if err != nil || aliceSees2.RemoteID != aliceSees.RemoteID {
		alice.screenshot(t, "resume-alice-not-decoding")
		t.Fatalf("after the resume Alice decodes %q, want Bob %q: %v (last %+v)", aliceSees2.RemoteID, aliceSees.RemoteID, err, aliceSees2)
	}
	waitCall(t, ctx, bob, "Bob sees Alice connected", func(st callState) bool {
		return tileConnection(t, bob) == "connected"
	})
	t.Logf("both pages decode each other again %v after the network came back", time.Since(backAt).Round(time.Millisecond))

	after := readPeer(t, alice)
	if after.Self != before.Self {
		t.Errorf("Alice is %q after the resume, was %q: want the same participant", after.Self, before.Self)
	}
	if after.PCs != before.PCs {
		t.Errorf("Alice's page made %d RTCPeerConnections, had %d before the cut: want the same one kept", after.PCs, before.PCs)
	}
	if after.Ufrag == "" || after.Ufrag == before.Ufrag {
		t.Errorf("the server's offer has ufrag %q after the resume, %q before: want an ICE restart", after.Ufrag, before.Ufrag)
	}
	if st := readCall(t, alice); st.State != "connected" {
		t.Errorf("Alice's header shows %q after the resume, want connected", st.State)
	}
	checkTileLog(t, bob, before.Self, "the network drop")

	// The media connection fails while the WebSocket stays up. (Chromium
	// cannot be made to fail ICE on loopback at will: the page's
	// RTCPeerConnection reads "failed" until an ICE restart, as a failed one
	// would.) Her page must drop the WebSocket without leave and resume,
	// which restarts ICE, and not drop the resumed one before the restart.
	if _, err := chromedp.Run(bob.ctx, chromedp.Evaluate[bool](recordTiles)); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(alice.ctx, chromedp.Evaluate[bool](failMediaOnce)); err != nil {
		t.Fatal(err)
	}
	// Her place is kept: Bob's log has her reconnecting, then connected.
	waitCall(t, ctx, bob, "Bob sees Alice back after her media resume", func(st callState) bool {
		n, err := chromedp.Run(bob.ctx, chromedp.Evaluate[int](
			`window.__tileLog.filter((e) => e.kind !== 'connection' || e.connection === 'connected').length`))
		return err == nil && n > 0
	})
	mctx, mcancel := context.WithTimeout(ctx, 30*time.Second)
	defer mcancel()
	if _, err := waitDecoding(mctx, bob, ""); err != nil {
		t.Fatalf("Bob does not decode Alice after her media resume: %v", err)
	}
	again := readPeer(t, alice)
	if again.Self != before.Self || again.PCs != before.PCs || again.Ufrag == after.Ufrag {
		t.Errorf("after a media failure Alice is %+v, was %+v: want the same participant and RTCPeerConnection, a new ufrag", again, after)
	}
	checkTileLog(t, bob, before.Self, "the media failure")
}

// checkTileLog checks b's tile log (recordTiles): id's tile went
// reconnecting, then connected, and no tile was added or removed.
func checkTileLog(t *testing.T, b *browser, id, what string) {
	t.Helper()
	log, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]tileEvent](`window.__tileLog`))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Bob's tiles during %s: %+v", what, log)
	var seen []string
	for _, e := range log {
		if e.Kind != "connection" {
			t.Errorf("during %s Bob's page %s a tile (%s): want Alice's tile kept", what, e.Kind, e.ID)
			continue
		}
		if e.ID != id {
			t.Errorf("during %s: connection change for %q, want only Alice's %q", what, e.ID, id)
		}
		seen = append(seen, e.Connection)
	}
	if strings.Join(seen, ",") != "reconnecting,connected" {
		t.Errorf("during %s Bob saw Alice's connection go %v, want reconnecting then connected", what, seen)
	}
}

// failMediaOnce makes the page's RTCPeerConnection report "failed", as
// a real failed one does, until the next offer (the ICE restart) is
// applied; then it reads the real state again.
const failMediaOnce = `(() => {
	const pc = window.__pcs[window.__pcs.length - 1];
	Object.defineProperty(pc, 'connectionState', {configurable: true, get: () => 'failed'});
	pc.setRemoteDescription = async function(desc) {
		delete pc.setRemoteDescription;
		try { return await RTCPeerConnection.prototype.setRemoteDescription.call(pc, desc); } finally { delete pc.connectionState; }
	};
	pc.onconnectionstatechange(new Event('connectionstatechange'));
	return true;
})()`

func readPeer(t *testing.T, b *browser) peerView {
	t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[peerView](readPeerView))
	if err != nil {
		t.Fatalf("read the peer connection: %v", err)
	}
	return v
}

// tileConnection is the data-connection of b's one remote tile.
func tileConnection(t *testing.T, b *browser) string {
	t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](
		`(() => { const el = document.querySelector('.tile.remote'); return el ? el.dataset.connection || '' : ''; })()`))
	if err != nil {
		t.Fatalf("read the tile: %v", err)
	}
	return s
}
