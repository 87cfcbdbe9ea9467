package main

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/parley-dev/parley/auth"
	"github.com/parley-dev/parley/livecall"
	"github.com/parley-dev/parley/livecall/fakeclock"
	"github.com/parley-dev/parley/rooms"
)

// addScript runs src in every document b loads from now on, before the
// page's own scripts.
func (b *browser) addScript(t *testing.T, src string) {
	t.Helper()
	add := func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: src})
		return chromedp.Void{}, err
	}
	if err := chromedp.Do(b.ctx, add); err != nil {
		t.Fatalf("add a page script: %v", err)
	}
}

// recordSockets keeps each WebSocket the page opens in window.__sockets,
// so the test can send on it as the page would.
const recordSockets = `(() => {
	const Orig = window.WebSocket;
	window.__sockets = [];
	window.WebSocket = function(...args) {
		const ws = new Orig(...args);
		window.__sockets.push(ws);
		return ws;
	};
	window.WebSocket.prototype = Orig.prototype;
	Object.setPrototypeOf(window.WebSocket, Orig);
})();`

// withToken makes the page's HTTP join step hand it token instead of the
// member token the API issues: the test's way to be a host or a guest,
// since no public way exists yet (host keys and guest links come in later
// issues).
func withToken(token string) string {
	return fmt.Sprintf(`(() => {
	const orig = window.fetch;
	window.fetch = async (input, init) => {
		const res = await orig(input, init);
		if (!String(input).includes('/api/v1/join') || !res.ok) return res;
		const body = await res.json();
		body.token = %q;
		return new Response(JSON.stringify(body), {status: res.status, headers: {'Content-Type': 'application/json'}});
	};
})();`, token)
}

// roleToken mints a join token with role for the room with link, signed
// with the server's own key.
func roleToken(t *testing.T, m *Main, link, role string) string {
	t.Helper()
	key, err := m.DB().SigningKey()
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := auth.NewTokens(auth.TokenConfig{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	rm, err := m.DB().RoomByLink(context.Background(), link)
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := tokens.IssueJoin(rm.ID, role)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// peopleView is what a page's list of people shows.
type peopleView struct {
	Open         bool     `json:"open"`       // the panel is on screen
	OnScreen     bool     `json:"onScreen"`   // …wholly inside the viewport
	Badge        string   `json:"badge"`      // the count on the people button
	Count        string   `json:"count"`      // the count in the header
	CountShown   bool     `json:"countShown"` // …wholly on screen
	Locked       bool     `json:"locked"`     // the header's lock indicator shows
	HostControls bool     `json:"hostControls"`
	LockButton   string   `json:"lockButton"`
	People       []person `json:"people"`
	MuteButton   string   `json:"muteButton"` // aria-pressed of the page's own mute button
	MicEnabled   bool     `json:"micEnabled"` // the page's microphone track is enabled
}

type person struct {
	ID      string   `json:"id"`
	Name    string   `json:"name"`
	Role    string   `json:"role"`
	Badge   string   `json:"badge"`
	Status  string   `json:"status"`
	Self    bool     `json:"self"`
	Actions []string `json:"actions"` // the host buttons shown, enabled ones only
}

const readPeople = `(() => {
	const panel = document.querySelector('#people-panel');
	const r = panel.getBoundingClientRect();
	const visible = (sel) => { const e = document.querySelector(sel); return !!e && e.checkVisibility(); };
	const people = [...document.querySelectorAll('#people-list .person')].map((li) => ({
		id: li.dataset.participantId, role: li.dataset.role,
		name: li.querySelector('.person-name').textContent,
		badge: li.querySelector('.role-badge').textContent,
		status: li.querySelector('.person-status').textContent,
		self: li.classList.contains('self'),
		actions: [...li.querySelectorAll('.person-actions button')].filter((b) => !b.disabled).map((b) => b.dataset.action),
	}));
	const mic = (window.__pcs || []).filter((pc) => pc.signalingState !== 'closed')
		.flatMap((pc) => pc.getSenders()).map((s) => s.track).find((t) => t && t.kind === 'audio');
	return {open: panel.checkVisibility(), onScreen: r.width > 0 && r.left >= 0 && r.top >= 0 && r.right <= innerWidth + 0.5 && r.bottom <= innerHeight + 0.5,
		badge: document.querySelector('#people-count-badge').textContent,
		count: document.querySelector('#participant-count').textContent,
		countShown: (() => { const c = document.querySelector('#participant-count'), cr = c.getBoundingClientRect();
			return c.checkVisibility() && cr.width > 0 && cr.left >= 0 && cr.top >= 0 && cr.right <= innerWidth + 0.5 && cr.bottom <= innerHeight + 0.5; })(),
		locked: visible('#lock-indicator'), hostControls: visible('#host-controls'),
		lockButton: document.querySelector('#lock-button').textContent, people,
		muteButton: document.querySelector('#mute-button').getAttribute('aria-pressed'),
		micEnabled: !!mic && mic.enabled};
})()`

// waitPeople waits up to 20 s until b's list of people satisfies ok.
func waitPeople(t *testing.T, ctx context.Context, b *browser, what string, ok func(peopleView) bool) peopleView {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	var last peopleView
	err := pollEvery(tctx, 100*time.Millisecond, func() (bool, error) {
		v, err := chromedp.Run(b.ctx, chromedp.Evaluate[peopleView](readPeople))
		last = v
		return err == nil && ok(v), err
	})
	if err != nil {
		b.screenshot(t, "moderation-failed")
		t.Fatalf("%s: %v (last %+v)", what, err, last)
	}
	return last
}

// find is the person named name (a prefix of the shown name), or nil.
func (v peopleView) find(name string) *person {
	for i := range v.People {
		if strings.HasPrefix(v.People[i].Name, name) {
			return &v.People[i]
		}
	}
	return nil
}

// click clicks the element matching sel in b.
func click(t *testing.T, b *browser, sel string) {
	t.Helper()
	if err := chromedp.Do(b.ctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
		b.screenshot(t, "moderation-click-failed")
		t.Fatalf("click %s: %v", sel, err)
	}
}

// hostAction is the selector of a host's button in someone's row.
func hostAction(id, action string) string {
	return fmt.Sprintf(`#people-list .person[data-participant-id=%q] button[data-action=%q]`, id, action)
}

// audioFlow reports how many audio packets b received in d.
func audioFlow(t *testing.T, b *browser, d time.Duration) int {
	t.Helper()
	before, err := b.media(b.ctx)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(d)
	after, err := b.media(b.ctx)
	if err != nil {
		t.Fatal(err)
	}
	return after.AudioPackets - before.AudioPackets
}

// atPhoneSize photographs b at 390×844 under name, then returns to the
// desktop size.
func atPhoneSize(t *testing.T, b *browser, name string, check func()) {
	t.Helper()
	if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile)); err != nil {
		t.Fatalf("emulate a phone: %v", err)
	}
	time.Sleep(400 * time.Millisecond) // the layout follows the resize
	b.screenshot(t, name)
	if check != nil {
		check()
	}
	if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(1280, 800)); err != nil {
		t.Fatalf("back to desktop: %v", err)
	}
}

// TestBrowserModeration: Alice joins as a host, Bob as a member. Both
// lists show both with their roles, only Alice has host controls, and a
// moderation message from Bob is refused in plain words. Alice mutes Bob
// (his page says so, turns his microphone off, and his audio stops
// reaching her until he unmutes), locks the call (Carol's join is refused
// with the locked text) and unlocks it, hands the host role to Bob (the
// controls move), and Bob removes Alice and then ends the call: each
// page shows its text, and none of them rejoins by itself.
func TestBrowserModeration(t *testing.T) {
	exe := chromiumPath(t)
	m := startServer(t, "")
	link := createRoom(t, m, "Moderation test")
	url := m.LocalURL() + "/r/" + link
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	alice := newBrowser(t, ctx, exe)
	alice.addScript(t, recordSockets)
	alice.addScript(t, withToken(roleToken(t, m, link, auth.RoleHost)))
	joinAs(t, ctx, alice, url, "Alice Archer")
	bob := newBrowser(t, ctx, exe)
	bob.addScript(t, recordSockets)
	joinAs(t, ctx, bob, url, "Bob Baker")
	for _, b := range []*browser{alice, bob} {
		if st, err := waitDecoding(ctx, b, ""); err != nil {
			b.screenshot(t, "moderation-no-call")
			t.Fatalf("the call never came up: %v (last %+v)", err, st)
		}
	}

	// The list: both, with roles; host controls for Alice only.
	click(t, alice, "#people-button")
	click(t, bob, "#people-button")
	av := waitPeople(t, ctx, alice, "Alice's list", func(v peopleView) bool {
		a, b := v.find("Alice Archer"), v.find("Bob Baker")
		return v.Open && v.Badge == "2" && len(v.People) == 2 && a != nil && b != nil && v.HostControls
	})
	aliceID, bobID := av.find("Alice").ID, av.find("Bob").ID
	if a := av.find("Alice"); !a.Self || a.Name != "Alice Archer (you)" || a.Role != "host" || a.Badge != "Host" {
		t.Errorf("Alice's own row is %+v, want her, marked (you), as Host", a)
	}
	if b := av.find("Bob"); b.Role != "member" || b.Badge != "Member" || strings.Join(b.Actions, ",") != "mute-participant,set-host,remove" {
		t.Errorf("Bob's row on Alice's page is %+v, want a Member with mute, make host and remove", b)
	}
	bv := waitPeople(t, ctx, bob, "Bob's list", func(v peopleView) bool { return v.Open && len(v.People) == 2 })
	if bv.HostControls || len(bv.find("Alice").Actions) > 0 {
		t.Errorf("Bob, a member, sees host controls: %+v", bv)
	}
	if a, b := bv.find("Alice"), bv.find("Bob"); a.Role != "host" || a.Self || !b.Self || b.Role != "member" {
		t.Errorf("Bob's list is %+v, want Alice the host, then him as a member", bv.People)
	}
	alice.screenshot(t, "moderation-host-desktop")
	bob.screenshot(t, "moderation-member-desktop")
	atPhoneSize(t, alice, "moderation-host-mobile", func() {
		v := waitPeople(t, ctx, alice, "Alice's list at phone size", func(v peopleView) bool { return v.Open })
		if !v.OnScreen || !v.HostControls {
			t.Errorf("at 390×844 the list is not wholly on screen with its host controls: %+v", v)
		}
		if !v.CountShown || v.Count != "2 people" {
			t.Errorf("at 390×844 with the list open the count reads %q, shown %v: want \"2 people\" on screen", v.Count, v.CountShown)
		}
	})

	// A member's moderation message is refused, in plain words.
	if _, err := chromedp.Run(bob.ctx, chromedp.Evaluate[bool](`(window.__sockets.at(-1).send('{"type":"lock"}'), true)`)); err != nil {
		t.Fatal(err)
	}
	if err := waitBanner(ctx, bob, "only a host can do that"); err != nil {
		bob.screenshot(t, "moderation-not-host")
		t.Fatalf("Bob's refused lock was not explained: %v (last %+v)", err, readCall(t, bob))
	}

	// A host's command about someone not in the call, in plain words too.
	if _, err := chromedp.Run(alice.ctx, chromedp.Evaluate[bool](`(window.__sockets.at(-1).send('{"type":"remove","participantId":"p_nobody"}'), true)`)); err != nil {
		t.Fatal(err)
	}
	if err := waitBanner(ctx, alice, "that person is no longer in the call"); err != nil {
		t.Fatalf("Alice's remove of no one was not explained: %v (last %+v)", err, readCall(t, alice))
	}

	// Alice mutes Bob.
	if n := audioFlow(t, alice, 2*time.Second); n < 20 {
		t.Fatalf("Alice received %d audio packets from Bob in 2 s before the mute, want a flow", n)
	}
	click(t, alice, hostAction(bobID, "mute-participant"))
	if err := waitBanner(ctx, bob, "a host muted you"); err != nil {
		bob.screenshot(t, "moderation-no-muted-banner")
		t.Fatalf("Bob was not told a host muted him: %v", err)
	}
	waitPeople(t, ctx, bob, "Bob's page mutes his microphone", func(v peopleView) bool {
		return v.MuteButton == "true" && !v.MicEnabled && strings.Contains(v.find("Bob").Status, "Muted by host")
	})
	waitPeople(t, ctx, alice, "Alice sees Bob muted by host", func(v peopleView) bool {
		b := v.find("Bob")
		return strings.Contains(b.Status, "Muted by host") && !strings.Contains(strings.Join(b.Actions, ","), "mute")
	})
	bob.screenshot(t, "moderation-muted-by-host")
	alice.screenshot(t, "moderation-host-muted-bob")
	time.Sleep(500 * time.Millisecond) // packets already on the way
	if n := audioFlow(t, alice, 2*time.Second); n > 3 {
		t.Errorf("Alice still received %d audio packets from Bob in 2 s after muting him", n)
	}
	// Bob unmutes himself: mute {audioMuted: false} lifts the host's mute.
	click(t, bob, "#mute-button")
	waitPeople(t, ctx, alice, "Alice sees Bob unmuted", func(v peopleView) bool {
		b := v.find("Bob")
		return b.Status == "" && strings.Contains(strings.Join(b.Actions, ","), "mute-participant")
	})
	if n := audioFlow(t, alice, 2*time.Second); n < 20 {
		t.Errorf("after Bob unmuted, Alice received %d audio packets in 2 s, want his audio back", n)
	}

	// Alice locks the call: everyone sees it, and Carol cannot join.
	click(t, alice, "#lock-button")
	for _, b := range []*browser{alice, bob} {
		waitPeople(t, ctx, b, "the call shows locked", func(v peopleView) bool { return v.Locked })
	}
	waitPeople(t, ctx, alice, "the lock button says unlock", func(v peopleView) bool { return v.LockButton == "Unlock call" })
	alice.screenshot(t, "moderation-locked-host")
	atPhoneSize(t, bob, "moderation-locked-member-mobile", nil)
	carol := newBrowser(t, ctx, exe) // a guest
	carol.addScript(t, withToken(roleToken(t, m, link, auth.RoleGuest)))
	joinAs(t, ctx, carol, url, "Carol Carpenter")
	if err := waitText(carol.ctx, "#join-error", "This call is locked by its host"); err != nil {
		carol.screenshot(t, "moderation-locked-join-failed")
		t.Fatalf("Carol's join of the locked call did not say so: %v", err)
	}
	carol.screenshot(t, "moderation-locked-join")
	click(t, alice, "#lock-button")
	waitPeople(t, ctx, bob, "the call shows unlocked", func(v peopleView) bool { return !v.Locked })
	click(t, carol, "#join-button")
	waitPeople(t, ctx, alice, "Carol joins the unlocked call, marked a guest", func(v peopleView) bool {
		c := v.find("Carol")
		return len(v.People) == 3 && v.Badge == "3" && c != nil && c.Role == "guest" && c.Badge == "Guest"
	})
	if role, err := chromedp.Run(bob.ctx, chromedp.Evaluate[string](`(() => {
		const tile = [...document.querySelectorAll('.tile.remote')].find((t) => t.textContent.includes('Carol'));
		const r = tile && tile.querySelector('.tile-role');
		return r && r.checkVisibility() ? r.textContent : '';
	})()`)); err != nil || role != "Guest" {
		t.Errorf("Carol's tile on Bob's page is marked %q (%v), want Guest", role, err)
	}
	// Refused once, admitted now: her video plays for the others.
	for who, b := range map[string]*browser{"Alice": alice, "Bob": bob} {
		var last tileView
		err := poll(ctx, func() (bool, error) {
			v, err := b.tile(b.ctx, "Carol")
			last = v
			return v.Found && v.Width > 0 && v.Frames > 0, err
		})
		if err != nil {
			b.screenshot(t, "moderation-carol-no-video")
			t.Fatalf("%s never played Carol's video after she was let in: %v (last %+v)", who, err, last)
		}
	}
	alice.screenshot(t, "moderation-guest-desktop")

	// Alice hands the host role to Bob: the controls move.
	click(t, alice, hostAction(bobID, "set-host"))
	waitPeople(t, ctx, bob, "Bob has the host controls", func(v peopleView) bool {
		a, b := v.find("Alice"), v.find("Bob")
		return v.HostControls && b.Role == "host" && a.Role == "member" && len(a.Actions) == 3
	})
	waitPeople(t, ctx, alice, "Alice lost the host controls", func(v peopleView) bool {
		return !v.HostControls && v.find("Alice").Role == "member" && v.find("Bob").Role == "host" && len(v.find("Bob").Actions) == 0
	})
	bob.screenshot(t, "moderation-new-host")
	atPhoneSize(t, bob, "moderation-new-host-mobile", nil)

	// The new host mutes everyone who is not a host.
	click(t, bob, "#mute-all-button")
	for who, b := range map[string]*browser{"Alice": alice, "Carol": carol} {
		if err := waitBanner(ctx, b, "a host muted you"); err != nil {
			b.screenshot(t, "moderation-mute-all-failed")
			t.Fatalf("%s was not told a host muted her: %v", who, err)
		}
	}
	waitPeople(t, ctx, bob, "Bob sees everyone else muted by host", func(v peopleView) bool {
		return strings.Contains(v.find("Alice").Status, "Muted by host") && strings.Contains(v.find("Carol").Status, "Muted by host") &&
			!strings.Contains(v.find("Bob").Status, "Muted")
	})

	// Bob removes Alice, after saying yes.
	click(t, bob, hostAction(aliceID, "remove"))
	if err := waitText(bob.ctx, "#confirm-title", "Remove Alice Archer"); err != nil {
		t.Fatalf("no question before removing Alice: %v", err)
	}
	bob.screenshot(t, "moderation-confirm-remove")
	atPhoneSize(t, bob, "moderation-confirm-remove-mobile", nil)
	click(t, bob, "#confirm-ok")
	waitCall(t, ctx, alice, "Alice is told she was removed", func(st callState) bool {
		return st.Screen == "left" && st.LeftTitle == "A host removed you from the call"
	})
	alice.screenshot(t, "moderation-removed")
	waitPeople(t, ctx, bob, "Alice is gone from Bob's list", func(v peopleView) bool { return len(v.People) == 2 && v.find("Alice") == nil })

	// Ending the call asks first; Cancel keeps it.
	click(t, bob, "#end-call-button")
	if err := waitText(bob.ctx, "#confirm-title", "End the call for everyone"); err != nil {
		t.Fatalf("no question before ending the call: %v", err)
	}
	bob.screenshot(t, "moderation-confirm-end")
	click(t, bob, "#confirm-cancel")
	time.Sleep(500 * time.Millisecond)
	if st := readCall(t, carol); st.Screen != "call" {
		t.Fatalf("Cancel ended the call: Carol's page shows %q", st.Screen)
	}
	click(t, bob, "#end-call-button")
	click(t, bob, "#confirm-ok")
	for who, b := range map[string]*browser{"Bob": bob, "Carol": carol} {
		waitCall(t, ctx, b, who+" is told the host ended the call", func(st callState) bool {
			return st.Screen == "left" && st.LeftTitle == "The host ended the call for everyone"
		})
	}
	carol.screenshot(t, "moderation-ended")

	// These are final: nobody comes back by themselves, and no Rejoin is offered.
	time.Sleep(3 * time.Second)
	for who, b := range map[string]*browser{"Alice": alice, "Bob": bob, "Carol": carol} {
		st := readCall(t, b)
		rejoin, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`document.querySelector('#rejoin-button').checkVisibility()`))
		if err != nil {
			t.Fatal(err)
		}
		if st.Screen != "left" || rejoin {
			t.Errorf("%s's page shows %q (rejoin button %v) 3 s after the end, want the left page without Rejoin", who, st.Screen, rejoin)
		}
	}
}

// TestBrowserKeepalive: Alice's WebSocket goes silent (the proxy it goes
// through drops everything, in both directions, with no RST or FIN: no
// close event ever comes). Her page must notice by its ping going
// unanswered, resume over a new WebSocket with the same participant id,
// and Bob must see her reconnecting, then connected, never a leave — well
// before the 60 s after which the server would give up on the silent
// connection and so close it.
func TestBrowserKeepalive(t *testing.T) {
	exe := chromiumPath(t)
	m := startServer(t, "")
	link := createRoom(t, m, "Keepalive test")
	u, err := url.Parse(m.LocalURL())
	if err != nil {
		t.Fatal(err)
	}
	proxy := newCutProxy(t, u.Host)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	alice := newBrowser(t, ctx, exe)
	joinAs(t, ctx, alice, proxy.URL()+"/r/"+link, "Alice Archer")
	bob := newBrowser(t, ctx, exe)
	joinAs(t, ctx, bob, m.LocalURL()+"/r/"+link, "Bob Baker")
	for _, b := range []*browser{alice, bob} {
		if st, err := waitDecoding(ctx, b, ""); err != nil {
			t.Fatalf("the call never came up: %v (last %+v)", err, st)
		}
	}
	before := readPeer(t, alice)
	if _, err := chromedp.Run(bob.ctx, chromedp.Evaluate[bool](recordTiles)); err != nil {
		t.Fatal(err)
	}

	proxy.stall()
	stalledAt := time.Now()
	// Ping every 10 s, 10 s to answer: noticed within 20 s, resumed soon after.
	tctx, tcancel := context.WithTimeout(ctx, 35*time.Second)
	defer tcancel()
	err = pollEvery(tctx, 50*time.Millisecond, func() (bool, error) {
		st, err := chromedp.Run(alice.ctx, chromedp.Evaluate[callState](readCallState))
		return strings.Contains(strings.ToLower(st.Banner), "back in the call"), err
	})
	if err != nil {
		alice.screenshot(t, "keepalive-not-back")
		t.Fatalf("Alice's page did not resume after its WebSocket went silent: %v (last %+v)", err, readCall(t, alice))
	}
	took := time.Since(stalledAt)
	t.Logf("Alice's page resumed %v after its WebSocket went silent", took.Round(time.Millisecond))
	if took > 30*time.Second {
		t.Errorf("resumed %v after the WebSocket went silent, want within 30 s (ping 10 s + pong timeout 10 s + the resume)", took)
	}
	waitCall(t, ctx, bob, "Bob sees Alice connected again", func(st callState) bool {
		n, err := chromedp.Run(bob.ctx, chromedp.Evaluate[int](
			`window.__tileLog.filter((e) => e.kind === 'connection' && e.connection === 'connected').length`))
		return err == nil && n > 0
	})
	if _, err := waitDecoding(ctx, bob, ""); err != nil {
		t.Fatalf("Bob does not decode Alice after her resume: %v", err)
	}
	after := readPeer(t, alice)
	if after.Self != before.Self || after.PCs != before.PCs {
		t.Errorf("after the resume Alice is %+v, was %+v: want the same participant and RTCPeerConnection", after, before)
	}
	checkTileLog(t, bob, before.Self, "the silent WebSocket")
}

// deadlinePolicy is a call's rules as a test drives them on a fake clock:
// at the first join a deadline 9:41 away (no-member); a minute later one
// 90 minutes away with a reason no client knows; a minute later one 5 minutes
// away, with a warning; a minute later none; a minute later one a minute
// away, which ends the call when the clock gets there. The deadlines
// shown to the page are reckoned from the real time, as the page counts
// down on its own clock; only the timers run on the fake one.
type deadlinePolicy struct {
	livecall.DefaultPolicy
}

func (deadlinePolicy) OnEvent(ctl *livecall.Control, e livecall.Event) {
	if e.Kind != livecall.EventFirstJoin {
		return
	}
	ctl.SetDeadline(time.Now().Add(9*time.Minute+41*time.Second+500*time.Millisecond), "no-member")
	ctl.AfterFunc(time.Minute, func(ctl *livecall.Control) {
		// 90 minutes: far enough that the fake clock's next minutes do not reach it.
		ctl.SetDeadline(time.Now().Add(90*time.Minute), "something-new")
	})
	ctl.AfterFunc(2*time.Minute, func(ctl *livecall.Control) {
		ctl.SetDeadline(time.Now().Add(5*time.Minute+time.Second), "no-member")
		ctl.Warn()
	})
	ctl.AfterFunc(3*time.Minute, func(ctl *livecall.Control) { ctl.ClearDeadline() })
	ctl.AfterFunc(4*time.Minute, func(ctl *livecall.Control) { ctl.SetDeadline(ctl.Now().Add(time.Minute), "no-member") })
}

// TestBrowserCallDeadline: a call whose rules (deadlinePolicy) give it a
// deadline. The page counts down to it with the reason in words, a
// generic text for a reason it does not know, shows the notice of each
// call-warning, hides the countdown when the deadline is lifted, and when
// the deadline comes says why the call ended and does not rejoin.
func TestBrowserCallDeadline(t *testing.T) {
	exe := chromiumPath(t)
	clock := fakeclock.New(time.Now())
	m := startServerWith(t, nil, func(c *Config) {
		c.Signaling.Clock = clock
		c.Signaling.Policy = func(*rooms.Room) livecall.Policy { return deadlinePolicy{} }
	})
	url := m.LocalURL() + "/r/" + createRoom(t, m, "Deadline test")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	b := newBrowser(t, ctx, exe)
	joinAs(t, ctx, b, url, "Alice Archer")
	waitCall(t, ctx, b, "Alice is in the call", func(st callState) bool { return st.Screen == "call" && st.State == "connected" })

	deadline := func() string {
		s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`(() => { const e = document.querySelector('#call-deadline'); return e.checkVisibility() ? e.textContent.trim() : ''; })()`))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	waitDeadline := func(what string, ok func(string) bool) string {
		t.Helper()
		var last string
		tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		err := pollEvery(tctx, 100*time.Millisecond, func() (bool, error) { last = deadline(); return ok(last), nil })
		if err != nil {
			b.screenshot(t, "deadline-failed")
			t.Fatalf("%s: %v (last %q)", what, err, last)
		}
		return last
	}

	got := waitDeadline("the countdown", func(s string) bool { return strings.HasPrefix(s, "This call will end in 9:") })
	if want := "— no member of the room has joined"; !strings.HasSuffix(got, want) {
		t.Errorf("countdown %q, want it to end %q", got, want)
	}
	first := got
	waitDeadline("the countdown ticks", func(s string) bool { return s != first && strings.HasPrefix(s, "This call will end in 9:") })
	b.screenshot(t, "deadline-desktop")
	atPhoneSize(t, b, "deadline-mobile", nil)

	clock.Advance(time.Minute)
	waitDeadline("a generic text for an unknown reason", func(s string) bool {
		return strings.HasPrefix(s, "This call will end in 1:29:") && !strings.Contains(s, "—")
	})

	clock.Advance(time.Minute)
	waitDeadline("the countdown moved", func(s string) bool { return strings.HasPrefix(s, "This call will end in 5:0") })
	if err := waitBanner(ctx, b, "the call ends in 5 minutes — no member of the room has joined"); err != nil {
		t.Fatalf("no notice for call-warning: %v (last %+v)", err, readCall(t, b))
	}
	b.screenshot(t, "deadline-warning")

	clock.Advance(time.Minute)
	waitDeadline("no countdown once the deadline is lifted", func(s string) bool { return s == "" })

	clock.Advance(time.Minute) // a deadline a minute away…
	waitDeadline("the last deadline", func(s string) bool { return s != "" })
	clock.Advance(time.Minute) // …reached
	waitCall(t, ctx, b, "Alice is told why the call ended", func(st callState) bool {
		return st.Screen == "left" && st.LeftTitle == "The call has ended: no member of the room joined"
	})
	b.screenshot(t, "deadline-ended")
	time.Sleep(3 * time.Second)
	if st := readCall(t, b); st.Screen != "left" {
		t.Errorf("3 s after the deadline ended the call the page shows %q: want no rejoin", st.Screen)
	}
}
