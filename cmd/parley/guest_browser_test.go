package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parley-dev/parley/internal/mailtest"
	"github.com/parley-dev/parley/sms"
	"github.com/parley-dev/parley/sms/smstest"
)

// guestLinkRE finds a guest link (/g/{token}) in a page's text or a mail.
var guestLinkRE = regexp.MustCompile(`https?://[^\s"]+/g/[a-z0-9-]+`)

// TestBrowserGuestInvite: a group user's Meeting Rooms list on /group
// (search as you type, the action menu, Members, "Copy meeting room link"
// and its banner); the room's member, in a call from the endpoint page,
// opens More → Invite guest and copies the instructions; a second Chromium
// page opens their link, enters a name, joins with no waiting room, and
// the two decode each other's video; the guest has no More menu and is
// marked as a guest in the member's list of people. The member emails an
// invitation (the SMTP test server receives it) and watches it go to
// sent, then to opened and joined as a third page, at phone size, opens
// the mailed link; a landline is refused with the server's words; a
// revoked invitation link and an unknown link show pages saying so.
// Screenshots of the Meeting Rooms list, the invite panel, the guest's
// join page and the link-ended page, at desktop and at 390×844.
func TestBrowserGuestInvite(t *testing.T) {
	exe := chromiumPath(t)
	smtp := mailtest.Start(t, mailtest.Options{Username: "parley", Password: "smtp secret"})
	gw := smstest.Start(t)
	m := startServerConfig(t, Config{SMTP: smtpConfig(smtp), SMS: SMSConfig{Gateway: sms.GatewayConfig{
		URL: gw.URL() + "/messages", AuthHeader: "X-Api-Key: gateway-key", Client: gw.Client(),
		BodyTemplate: `{"recipient":"{{.To}}","body":"{{.Text}}","ref":"{{.ID}}"}`,
	}}})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	eps := activeGroup(t, m, "Choir", "Board Room")

	// The group user: Meeting Rooms, with its search and action menu.
	group := &signupSession{t: t, ctx: ctx, b: newBrowser(t, ctx, exe), m: m, run: signupRun{size: "desktop"}}
	group.do("open the group page", chromedp.Navigate(m.LocalURL()+"/group"))
	group.waitShown("signin-form")
	group.do("sign in with the PIN", typeInto("#signin-group", "Choir"), typeInto("#signin-pin", "2468"),
		chromedp.Click(chromedp.CSS("#signin-button")))
	group.waitShown("create-form")
	for _, name := range []string{"Weekly rehearsal", "Committee", "Weekend workshop"} {
		group.do("create "+name, typeInto("#room-name", name), chromedp.Click(chromedp.CSS("#create-button")))
		group.waitTrue(name+" listed", fmt.Sprintf(`[...document.querySelectorAll('#room-list > .room')].some((r) => r.dataset.name === %q)`, name))
	}
	shown := `[...document.querySelectorAll('#room-list > .room')].filter((r) => !r.hidden).map((r) => r.dataset.name).join('|')`
	group.do("search", typeInto("#room-search", "week"))
	if got := eval[string](group, shown); got != "Weekend workshop|Weekly rehearsal" {
		group.fatalf("meeting-rooms-search", "searching for week shows %q", got)
	}
	group.do("search further", chromedp.SendKeys(chromedp.CSS("#room-search"), "ly"))
	group.waitTrue("one room left", `document.querySelectorAll('#room-list > .room:not([hidden])').length === 1`)
	group.do("open its menu from the search", chromedp.SendKeys(chromedp.CSS("#room-search"), "\r"))
	room := `#room-list > .room[data-name="Weekly rehearsal"]`
	group.waitTrue("the action menu open, nothing copied yet", fmt.Sprintf(`!document.querySelector(%q).hidden &&
		!document.querySelector(%q + ' .room-menu').hidden && document.getElementById('rooms-banner').hidden &&
		document.activeElement === document.getElementById('room-search')`, room, room))
	group.do("search for nothing", typeInto("#room-search", "zzz"))
	group.waitTrue("no room matches, said so", `document.querySelectorAll('#room-list > .room:not([hidden])').length === 0 &&
		document.getElementById('rooms-nomatch').textContent.includes('zzz')`)
	group.do("clear the search", typeInto("#room-search", ""))
	group.waitTrue("all rooms again", `document.querySelectorAll('#room-list > .room:not([hidden])').length === 3`)
	// A new room's member list is empty: every endpoint of the group (the
	// signed-up member and the board room), shown picked. The board room
	// comes off the committee's list, so its endpoint page lists the other two rooms.
	board := fmt.Sprintf(`#members-list input[value=%q]`, eps[0].id)
	members := func(r, want string) {
		group.do("edit the members of "+r, chromedp.Click(chromedp.CSS(r+" .menu-members")))
		group.waitTrue("the group's endpoints to pick from", fmt.Sprintf(`document.getElementById('members-dialog').open && !!document.querySelector(%q)`, board))
		if !eval[bool](group, fmt.Sprintf(`document.querySelector(%q).checked`, board)) {
			group.fatalf("members", "the board room is not a member of a new room")
		}
		group.do("take the board room off", chromedp.Click(chromedp.CSS(board)))
		group.shot("meeting-rooms-members")
		group.do("save the members", chromedp.Click(chromedp.CSS("#members-save")))
		group.waitTrue(want, fmt.Sprintf(`!document.getElementById('members-dialog').open &&
			document.querySelector(%q + ' .room-members').textContent === %q`, r, want))
	}
	committee := `#room-list > .room[data-name="Committee"]`
	group.do("select the committee", chromedp.Click(chromedp.CSS(committee+" .room-select")))
	members(committee, "1 member")
	if got := eval[string](group, fmt.Sprintf(`document.querySelector(%q + ' .room-members').textContent`, room)); got != "All endpoints" {
		group.fatalf("meeting-rooms", "the rehearsal's members: %q, want every endpoint", got)
	}
	group.do("select the rehearsal", chromedp.Click(chromedp.CSS(room+" .room-select")))
	group.waitTrue("the action menu still open", fmt.Sprintf(`!document.querySelector(%q + ' .room-menu').hidden`, room))
	group.do("copy the meeting room link", chromedp.Click(chromedp.CSS(room+" .menu-copy")))
	group.waitTrue("the copy confirmed, or the link shown selected", fmt.Sprintf(`(() => {
		const li = document.querySelector(%q);
		const b = document.getElementById('rooms-banner');
		const out = li.querySelector('.room-link-out input');
		return /\/g\/[a-z0-9-]+$/.test(li.dataset.guestLink || '') && ((!b.hidden && b.textContent.startsWith('The meeting room link has been copied')) ||
			(!!out && out.value === li.dataset.guestLink && document.activeElement === out && out.selectionEnd === out.value.length));
	})()`, room))
	standing := eval[string](group, fmt.Sprintf(`document.querySelector(%q).dataset.guestLink`, room))
	group.shot("meeting-rooms")
	group.do("a phone's screen", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	group.run.size = "phone"
	group.shot("meeting-rooms")

	// The member, in the call from the endpoint page.
	member := endpointPage(t, ctx, exe, m, "desktop", eps[0])
	member.waitTrue("the rooms it is a member of listed", `(() => {
		const names = [...document.querySelectorAll('#room-list > .room')].map((r) => r.dataset.name).join('|');
		return names === 'Weekend workshop|Weekly rehearsal';
	})()`)
	member.do("join the room", chromedp.Click(chromedp.CSS(`#room-list > .room[data-name="Weekly rehearsal"] a`)))
	member.waitTrue("the join page", `location.pathname.startsWith('/r/') && document.getElementById('preview-video').videoWidth > 0 &&
		!document.getElementById('join-button').disabled`)
	member.do("join the call", chromedp.Click(chromedp.CSS("#join-button")))
	member.waitTrue("in the call with More", `document.body.dataset.screen === 'call' &&
		document.getElementById('connection-state').dataset.state === 'connected' && !document.getElementById('more-button').hidden`)
	member.do("open More", chromedp.Click(chromedp.CSS("#more-button")))
	member.do("Invite guest", chromedp.Click(chromedp.CSS("#invite-guest-item")))
	member.waitTrue("the instructions with the room's guest link", `document.getElementById('invite-dialog').open &&
		/\/g\/[a-z0-9-]+$/.test(document.getElementById('invite-text').dataset.url || '') && !document.getElementById('invite-copy').disabled`)
	text := eval[string](member, `document.getElementById('invite-text').value`)
	const instructions = "Remember, always use the latest version of Google Chrome, Microsoft Edge or Apple Safari. You are invited to join me in a video call at "
	if !strings.HasPrefix(text, instructions) {
		member.fatalf("invite-panel", "the instructions read %q", text)
	}
	link := strings.TrimPrefix(text, instructions)
	if link != standing {
		t.Errorf("the call's guest link %q is not the room's standing one %q", link, standing)
	}
	member.do("copy the instructions", chromedp.Click(chromedp.CSS("#invite-copy")))
	member.waitTrue("copied, or selected for copying", `document.getElementById('invite-copy').textContent === 'Copied' ||
		(!document.getElementById('invite-text-error').hidden && document.activeElement === document.getElementById('invite-text'))`)
	member.shot("invite-panel")

	// The guest opens the copied link and joins at once.
	guest := &signupSession{t: t, ctx: ctx, b: newBrowser(t, ctx, exe), m: m, run: signupRun{size: "desktop"}}
	guest.do("open the guest link", chromedp.Navigate(link))
	guest.waitTrue("the guest page with the room's name", `!document.getElementById('guest-join').hidden &&
		document.getElementById('guest-room').textContent === 'Weekly rehearsal' &&
		document.getElementById('guest-admit').textContent.includes('As soon as you enter your details you are admitted to the call')`)
	guest.do("join without a name", chromedp.Click(chromedp.CSS("#guest-button")))
	guest.wantError("guest-name", "enter your name", true)
	guest.shot("guest-join")
	guest.do("join", typeInto("#guest-name", "Gina Guest"), chromedp.Click(chromedp.CSS("#guest-button")))
	guest.waitTrue("in the call, no waiting room", `location.pathname === '/guest/call' && !location.search && !location.hash &&
		document.body.dataset.screen === 'call' && document.getElementById('connection-state').dataset.state === 'connected'`)
	checkDecoding(t, ctx, member.callPage("Board Room"), "Gina Guest")
	checkDecoding(t, ctx, guest.callPage("Gina Guest"), "Board Room")
	if eval[bool](guest, `['more-button', 'copy-link-button', 'host-controls', 'invite-dialog'].some((id) => {
		const e = document.getElementById(id);
		return !!e && (e.open || e.checkVisibility());
	})`) {
		guest.fatalf("guest-call", "the guest sees More, the room link or host controls")
	}
	guest.shot("guest-call")
	member.do("close the panel", chromedp.Click(chromedp.CSS("#invite-close")))
	member.do("open the people list", chromedp.Click(chromedp.CSS("#people-button")))
	member.waitTrue("the guest marked as a guest", `[...document.querySelectorAll('#people-list .person')].some((li) =>
		li.querySelector('.person-name').textContent === 'Gina Guest' && li.dataset.role === 'guest' &&
		li.querySelector('.role-badge').textContent === 'Guest')`)
	member.shot("guest-in-people")
	member.do("close the people list", chromedp.Click(chromedp.CSS("#people-close")))

	// An email invitation: sent, opened, joined.
	member.do("open More again", chromedp.Click(chromedp.CSS("#more-button")), chromedp.Click(chromedp.CSS("#invite-guest-item")))
	member.do("send an email invitation", typeInto("#invite-email", "hana@example.org"), chromedp.Click(chromedp.CSS("#invite-email-send")))
	invitation := `#invitation-list li[data-state=%q]`
	member.waitTrue("the invitation sent", fmt.Sprintf(`[...document.querySelectorAll('#invitation-list li')].some((li) =>
		li.textContent.includes('hana@example.org') && li.dataset.state === 'sent')`))
	hana := eval[string](member, `[...document.querySelectorAll('#invitation-list li')].find((li) => li.textContent.includes('hana@example.org')).dataset.id`)
	invitation = fmt.Sprintf(`#invitation-list li[data-id=%q][data-state=%%q]`, hana)
	mailed := waitMailTo(t, smtp, "hana@example.org")
	mailedLink := guestLinkRE.FindString(mailed.Text)
	if mailedLink == "" || mailedLink == link {
		t.Fatalf("the mailed invitation has no link of its own: %q", mailed.Text)
	}
	third := &signupSession{t: t, ctx: ctx, b: newBrowser(t, ctx, exe), m: m, run: signupRun{size: "phone"}}
	third.do("a phone's screen", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	third.do("open the mailed link", chromedp.Navigate(mailedLink))
	third.waitShown("guest-join")
	third.shot("guest-join")
	member.waitTrue("the invitation opened", fmt.Sprintf(`!!document.querySelector(%q)`, fmt.Sprintf(invitation, "opened")))
	third.do("join", typeInto("#guest-name", "Hana Guest"), chromedp.Click(chromedp.CSS("#guest-button")))
	third.waitTrue("in the call", `document.body.dataset.screen === 'call' && document.getElementById('connection-state').dataset.state === 'connected'`)

	// A landline is refused, with the server's words beside the field.
	member.do("send a text to a landline", typeInto("#invite-sms", "020 7946 0000"), chromedp.Click(chromedp.CSS("#invite-sms-send")))
	member.wantError("invite-sms", "not a mobile", true)
	member.waitTrue("the invitation joined", fmt.Sprintf(`!!document.querySelector(%q)`, fmt.Sprintf(invitation, "joined")))
	member.shot("invite-panel-sms-refused")

	// A UK mobile as people type it: the gateway is asked to text it, in
	// E.164, with a guest link of its own, and the list shows it sent.
	member.do("send a text to a mobile", typeInto("#invite-sms", "07700 900 123"), chromedp.Click(chromedp.CSS("#invite-sms-send")))
	texted := gw.Wait(t, 1, 15*time.Second)[0]
	if !strings.Contains(texted.Body, `"recipient":"+447700900123"`) || guestLinkRE.FindString(texted.Body) == "" ||
		texted.Header.Get("X-Api-Key") != "gateway-key" {
		t.Errorf("the gateway got %s %s with key %q; want the E.164 number and a guest link", texted.Method, texted.Body, texted.Header.Get("X-Api-Key"))
	}
	member.waitTrue("the text invitation sent", `[...document.querySelectorAll('#invitation-list li')].some((li) => li.dataset.state === 'sent')`)
	showList := `(document.getElementById('invitations-title').scrollIntoView(), true)`
	eval[bool](member, showList)
	member.shot("invite-panel-invitations")
	member.do("a phone's screen", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	member.run.size = "phone"
	member.shot("invite-panel")
	eval[bool](member, showList)
	member.shot("invite-panel-invitations")

	// Revoked: the mailed link no longer admits; its page says so and who to ask.
	member.do("revoke the email invitation", chromedp.Click(chromedp.CSS(fmt.Sprintf(invitation, "joined")+" .invitation-revoke")))
	// Joined stays joined (the API's order), marked as revoked, with no Revoke left.
	member.waitTrue("the invitation revoked", fmt.Sprintf(`(() => {
		const li = document.querySelector(%q);
		return !!li && li.dataset.revoked === 'true' && !li.querySelector('.invitation-revoke') && li.textContent.includes('Joined: Hana Guest · link revoked');
	})()`, fmt.Sprintf(invitation, "joined")))
	for _, p := range []*signupSession{guest, third} {
		p.do("leave", chromedp.Click(chromedp.CSS("#leave-button")))
	}
	third.do("open the revoked link", chromedp.Navigate(mailedLink))
	third.waitTrue("the page says so and who to ask", `!document.getElementById('guest-failed').hidden &&
		document.getElementById('guest-failed-title').textContent === 'This invitation was withdrawn' &&
		document.getElementById('guest-failed-ask').textContent === 'Ask the person who invited you for a new link.' &&
		document.getElementById('guest-join').hidden`)
	third.shot("guest-link-ended")
	guest.do("open an unknown link", chromedp.Navigate(m.LocalURL()+"/g/aaaa-bbbb-cccc-dddd-eeee-ffff-gg"))
	guest.waitTrue("the unknown link's page", `!document.getElementById('guest-failed').hidden &&
		document.getElementById('guest-failed-title').textContent === 'This link is not valid'`)
	guest.shot("guest-link-ended")
}

// waitMailTo waits for the SMTP test server's message to addr.
func waitMailTo(t *testing.T, srv *mailtest.Server, addr string) mailtest.Message {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for n := 1; ; n++ {
		msgs, _ := srv.Wait(n, time.Until(deadline))
		for _, msg := range msgs {
			for _, to := range msg.To {
				if to == addr {
					return msg
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no mail to %s arrived (%d messages)", addr, len(msgs))
		}
		n = len(msgs)
	}
}

// TestBrowserGuestLinkExpired: an invitation's link past its time (one
// second here) shows a page saying it has expired and who to ask, with
// no way in. Screenshots at desktop and at 390×844.
func TestBrowserGuestLinkExpired(t *testing.T) {
	exe := chromiumPath(t)
	m := startServerConfig(t, Config{GuestLinkTTL: time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	link := createRoom(t, m, "Weekly rehearsal")
	member := newAPICaller(t, m)
	var ticket struct {
		Token string `json:"token"`
	}
	member.call("POST", "/api/v1/join", map[string]string{"link": link}, &ticket)
	body, _ := json.Marshal(map[string]string{"via": "email", "to": "ivy@example.org", "name": "Ada"})
	req, _ := http.NewRequest("POST", m.LocalURL()+"/api/v1/invitations", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+ticket.Token)
	resp, err := member.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var created struct {
		Invitation struct {
			URL       string    `json:"url"`
			ExpiresAt time.Time `json:"expiresAt"`
		} `json:"invitation"`
	}
	err = json.NewDecoder(resp.Body).Decode(&created)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusCreated || !guestLinkRE.MatchString(created.Invitation.URL) {
		t.Fatalf("invite: %d %v %+v", resp.StatusCode, err, created)
	}
	time.Sleep(time.Until(created.Invitation.ExpiresAt) + 100*time.Millisecond) // a second of real time
	for _, size := range []string{"desktop", "phone"} {
		s := &signupSession{t: t, ctx: ctx, b: newBrowser(t, ctx, exe), m: m, run: signupRun{size: size}}
		if size == "phone" {
			s.do("a phone's screen", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
		}
		s.do("open the expired link", chromedp.Navigate(created.Invitation.URL))
		s.waitTrue("the page says it expired and who to ask", `!document.getElementById('guest-failed').hidden &&
			document.getElementById('guest-failed-title').textContent === 'This invitation has expired' &&
			document.getElementById('guest-failed-ask').textContent === 'Ask the person who invited you for a new link.' &&
			document.getElementById('guest-join').hidden && !document.getElementById('guest-form').checkVisibility()`)
		s.shot("guest-link-expired")
	}
}
