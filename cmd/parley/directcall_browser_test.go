package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parley-dev/parley/livecall/fakeclock"
	"github.com/parley-dev/parley/signaling"
)

// TestBrowserDirectCall: two room systems' endpoint pages, signed in as a
// person would, list each other online; one calls, the other rings (the
// caller's name, a sound) and accepts, and both decode each other's video
// in the direct call. At desktop size, also a call declined, a call
// missed after 30 s on the server's clock, and a third endpoint rung into
// the call with "Add someone" (a conference of three). Screenshots of the directory,
// the incoming call, the ringing caller, "Add someone" and the call, at
// desktop and phone (390×844) sizes.
func TestBrowserDirectCall(t *testing.T) {
	exe := chromiumPath(t)
	clock := fakeclock.New(time.Now())
	m := startServerConfig(t, Config{Signaling: signaling.Config{Clock: clock}})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	for _, size := range []string{"desktop", "phone"} {
		t.Run(size, func(t *testing.T) {
			group := map[string]string{"desktop": "Choir", "phone": "Brass Band"}[size]
			eps := activeGroup(t, m, group, "Board Room", "Rehearsal Hall", "Studio")
			board := endpointPage(t, ctx, exe, m, size, eps[0])
			hall := endpointPage(t, ctx, exe, m, size, eps[1])
			var studio *signupSession // at desktop size, a third endpoint joins the call
			if size == "desktop" {
				studio = endpointPage(t, ctx, exe, m, size, eps[2])
			}
			board.waitTrue("the hall online in the board room's directory", rowState(eps[1].id, "online"))
			hall.waitTrue("the board room online in the hall's directory", rowState(eps[0].id, "online"))
			board.shot("directory")

			board.call(eps[1].id)
			hall.waitIncoming("Board Room")
			board.waitTrue("the board room's row says ringing", rowState(eps[1].id, "ringing"))
			board.shot("directory-ringing")
			hall.shot("incoming-call")
			if size == "desktop" {
				board.decline(hall, eps[1].id)
				board.missed(hall, clock, eps[1].id)
				board.call(eps[1].id)
				hall.waitIncoming("Board Room")
			}

			hall.do("accept", chromedp.Click(chromedp.CSS("#accept-button")))
			for _, p := range []*signupSession{board, hall} {
				p.waitTrue("the direct call page", `location.pathname.startsWith('/call/') && document.body.dataset.screen === 'call'`)
			}
			checkDecoding(t, ctx, board.callPage("Board Room"), "Rehearsal Hall")
			checkDecoding(t, ctx, hall.callPage("Rehearsal Hall"), "Board Room")
			board.shot("direct-call")
			hall.shot("direct-call-hall")

			board.do("open Add someone", chromedp.Click(chromedp.CSS("#add-button")))
			board.waitTrue("the group listed to add", fmt.Sprintf(`document.getElementById('add-dialog').open &&
				[...document.querySelectorAll('#add-list li')].some((li) => li.dataset.id === %q && li.dataset.state === 'in-call' &&
					li.textContent.includes('In this call') && !li.querySelector('.call-button'))`, eps[1].id))
			board.shot("add-someone")
			if studio != nil {
				// A third endpoint rung into the call: a conference.
				board.waitTrue("the studio callable", fmt.Sprintf(`!!document.querySelector('#add-list li[data-id=%q] .call-button:not([disabled])')`, eps[2].id))
				board.do("ring the studio", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#add-list li[data-id=%q] .call-button`, eps[2].id))))
				studio.waitIncoming("Board Room")
				if got := eval[string](studio, `document.getElementById('incoming-from').textContent`); !strings.Contains(got, "call under way") {
					studio.fatalf("conference-ring", "the studio's ring says %q", got)
				}
				studio.shot("incoming-conference")
				studio.do("accept", chromedp.Click(chromedp.CSS("#accept-button")))
				board.do("close Add someone", chromedp.Click(chromedp.CSS("#add-close")))
				for _, p := range []*signupSession{board, hall, studio} {
					p.waitTrue("three in the call, each seeing two others' video", `(() => {
						const vs = [...document.querySelectorAll('.tile.remote video')];
						return document.body.dataset.screen === 'call' && vs.length === 2 && vs.every((v) => v.videoWidth > 0);
					})()`)
				}
				board.shot("conference")
				studio.shot("conference-studio")
			} else {
				board.do("close Add someone", chromedp.Click(chromedp.CSS("#add-close")))
			}

			if studio != nil {
				studio.do("leave", chromedp.Click(chromedp.CSS("#leave-button")))
			}
			hall.do("leave", chromedp.Click(chromedp.CSS("#leave-button")))
			board.do("leave", chromedp.Click(chromedp.CSS("#leave-button")))
			board.waitTrue("the page after the call leads back", `document.body.dataset.screen === 'left' &&
				document.getElementById('home-link').getAttribute('href') === '/endpoint'`)
		})
	}
}

// endpointPage opens /endpoint in a new browser and signs ep in.
func endpointPage(t *testing.T, ctx context.Context, exe string, m *Main, size string, ep endpointCred) *signupSession {
	t.Helper()
	b := newBrowser(t, ctx, exe)
	if size == "phone" {
		if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile)); err != nil {
			t.Fatalf("emulate a phone: %v", err)
		}
	}
	who := strings.ToLower(strings.Fields(ep.name)[0])
	s := &signupSession{t: t, ctx: ctx, b: b, m: m, run: signupRun{size: who + "-" + size}}
	s.do("open the endpoint page", chromedp.Navigate(m.LocalURL()+"/endpoint"))
	s.waitShown("signin-form")
	s.do("sign in", typeInto("#signin-address", ep.address), typeInto("#signin-secret", ep.secret),
		chromedp.Click(chromedp.CSS("#signin-button")))
	s.waitShown("directory-list")
	return s
}

// rowState is true when the directory's row of endpoint id is in state.
func rowState(id, state string) string {
	return fmt.Sprintf(`!!document.querySelector('#directory-list li[data-id=%q][data-state=%q]')`, id, state)
}

func (s *signupSession) call(id string) {
	s.t.Helper()
	s.waitTrue("the Call button enabled", fmt.Sprintf(`(() => { const b = document.querySelector('#directory-list li[data-id=%q] .call-button'); return !!b && !b.disabled; })()`, id))
	s.do("call", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#directory-list li[data-id=%q] .call-button`, id))))
}

// waitIncoming waits for the incoming-call dialog with the caller's name,
// and the ring playing.
func (s *signupSession) waitIncoming(caller string) {
	s.t.Helper()
	s.waitTrue("the incoming call with the caller's name, ringing", fmt.Sprintf(`(() => {
		const d = document.getElementById('incoming-dialog');
		return !!d && d.open && document.getElementById('incoming-title').textContent === %q && document.body.dataset.ring === 'playing';
	})()`, caller))
}

// decline: the callee declines, the caller is told.
func (s *signupSession) decline(callee *signupSession, id string) {
	s.t.Helper()
	callee.do("decline", chromedp.Click(chromedp.CSS("#decline-button")))
	s.waitTrue("the caller told of the decline", `document.getElementById('directory-notice').textContent.includes('declined')`)
	callee.waitTrue("the ring stopped", `!document.getElementById('incoming-dialog').open && !document.body.dataset.ring`)
	s.waitTrue("the row online again", rowState(id, "online"))
	s.shot("declined")
}

// missed: nobody answers for 30 s of the server's clock.
func (s *signupSession) missed(callee *signupSession, clock *fakeclock.Clock, id string) {
	s.t.Helper()
	s.call(id)
	callee.waitIncoming("Board Room")
	clock.Advance(29 * time.Second)
	time.Sleep(300 * time.Millisecond)
	if !eval[bool](callee, `document.getElementById('incoming-dialog').open`) {
		callee.fatalf("missed-early", "the ring ended before 30 s")
	}
	clock.Advance(time.Second)
	s.waitTrue("the caller told no answer", `document.getElementById('directory-notice').textContent.includes('No answer from Rehearsal Hall')`)
	callee.waitTrue("the callee told of the missed call", `!document.getElementById('incoming-dialog').open &&
		document.getElementById('directory-notice').textContent.includes('missed a call from Board Room')`)
	s.shot("no-answer")
	callee.shot("missed")
}

// callPage is the page as checkDecoding drives it.
func (s *signupSession) callPage(name string) callPage {
	return callPage{name: name, tag: s.run.size,
		media: func(ctx context.Context) (callMedia, error) {
			return chromedp.Run(s.b.ctx, chromedp.Evaluate[callMedia](readCallMedia, chromedp.EvalAwaitPromise))
		},
		shot: s.shot,
	}
}
