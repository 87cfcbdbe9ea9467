package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/parley-dev/parley/auth"
	"github.com/parley-dev/parley/bookings"
	"github.com/parley-dev/parley/internal/mailtest"
	"github.com/parley-dev/parley/livecall/fakeclock"
	"github.com/parley-dev/parley/signaling"
)

var (
	meetingLinkRE = regexp.MustCompile(`https?://[^\s"]+/m/[A-Za-z0-9_-]{22,}`)
	hostKeyRE     = regexp.MustCompile(`(?i)host key[^0-9]{0,60}\b(\d{8})\b`)
)

// TestBrowserBooking is issue #14's "done when", on the real clock and a
// real server with the SMTP test server and auto-approve off. A group
// leader signs in on /group with the PIN and books, in Chromium, a
// twice-monthly meeting on Meeting account 1 whose first occurrence
// starts about 14 minutes from now (the week of the month and the weekday
// chosen from today's date), the preview listing its dates in UK time. A
// one-off request that conflicts with it is refused with the taken date
// and alternatives; choosing "the same times on Meeting account 2" fills
// the form and books it. The coordinator (the administrator of a group
// the operator granted the role) approves both on /coordinator; the
// leader's mails from the SMTP server have each link and its 8-digit host
// key. The one-off's link opened before it opens (its start ~15 min and
// some seconds ahead) shows "Opens at …" and a countdown, and opens by
// itself. Two pages join the twice-monthly meeting with its link, over 10
// minutes before the start, and play each other's video; the leader
// claims host with the key (a wrong key first, refused in plain words)
// and ends the meeting for everyone: both pages see it end. Screenshots
// at desktop and 390×844 of the booking form, the conflict, the
// coordinator page, the waiting page and the host key dialog.
func TestBrowserBooking(t *testing.T) {
	exe := chromiumPath(t)
	smtp := mailtest.Start(t, mailtest.Options{Username: "parley", Password: "smtp secret"})
	m := startServerConfig(t, Config{SMTP: smtpConfig(smtp)})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	activeGroup(t, m, "Choir")
	activeGroup(t, m, "Coordinators")
	grantCoordinator(t, m, "Coordinators")
	uk, err := time.LoadLocation(bookings.DefaultTimeZone)
	if err != nil {
		t.Fatal(err)
	}
	const leaderEmail = "lee@example.org"

	// The leader signs in on /group with the PIN.
	leader := &signupSession{t: t, ctx: ctx, b: newBrowser(t, ctx, exe), m: m, run: signupRun{size: "desktop"}}
	leader.do("open the group page", chromedp.Navigate(m.LocalURL()+"/group"))
	leader.waitShown("signin-form")
	leader.do("sign in with the PIN", typeInto("#signin-group", "Choir"), typeInto("#signin-pin", "2468"),
		chromedp.Click(chromedp.CSS("#signin-button")))
	leader.waitShown("book-form")
	leader.waitTrue("both accounts to choose from", `document.querySelectorAll('#bk-account option').length === 3`)

	// A twice-monthly meeting whose first occurrence starts ~14 minutes from now.
	start := time.Now().In(uk).Add(14 * time.Minute).Truncate(time.Minute).Add(time.Minute)
	nth, pair := (start.Day()-1)/7+1, [2]int{}
	switch {
	case nth <= 2:
		pair = [2]int{nth, nth + 2}
	case nth <= 4:
		pair = [2]int{nth - 2, nth}
	default:
		pair = [2]int{3, -1}
	}
	weekday := strings.ToLower(start.Weekday().String())
	// Mistakes are shown beside their fields: the page's own, and the server's.
	leader.do("request with nothing filled in", chromedp.Click(chromedp.CSS("#book-button")))
	leader.wantError("bk-leader-name", "enter the group leader’s name", true)
	yesterday := time.Now().In(uk).AddDate(0, 0, -1)
	leader.do("a first date in the past", typeInto("#bk-leader-name", "Lee Leader"), typeInto("#bk-leader-email", leaderEmail),
		setInput("#bk-first-date", yesterday.Format("2006-01-02")), setInput("#bk-start-time", "19:00"), chromedp.Click(chromedp.CSS("#book-button")))
	leader.wantError("bk-first-date", "in the past", true)
	account1 := eval[string](leader, `[...document.querySelectorAll('#bk-account option')].find((o) => o.textContent === 'Meeting account 1').value`)
	leader.do("fill in the booking", typeInto("#bk-title", "Choir practice"), typeInto("#bk-leader-name", "Lee Leader"), typeInto("#bk-leader-email", leaderEmail),
		setSelect("#bk-account", account1), setInput("#bk-first-date", start.Format("2006-01-02")),
		setInput("#bk-start-time", start.Format("15:04")), typeInto("#bk-hours", "1"), setSelect("#bk-minutes", "0"),
		chromedp.Click(chromedp.CSS(`input[name="bk-frequency"][value="twice-monthly"]`)),
		setSelect("#bk-nth1", fmt.Sprint(pair[0])), setSelect("#bk-nth2", fmt.Sprint(pair[1])), setSelect("#bk-twice-weekday", weekday),
		chromedp.Click(chromedp.CSS(`input[name="bk-ends"][value="count"]`)), typeInto("#bk-count", "6"))
	first := fmt.Sprintf("%s %d %s %d, %s–%s", start.Format("Mon"), start.Day(), start.Format("Jan"), start.Year(),
		start.Format("15:04"), start.Add(time.Hour).Format("15:04"))
	leader.waitTrue("the preview lists six dates in UK time, the first today", fmt.Sprintf(`(() => {
		const dates = [...document.querySelectorAll('#preview-dates li')].map((li) => li.textContent);
		return dates.length === 6 && dates[0] === %q && document.getElementById('preview-summary').textContent !== '';
	})()`, first))
	leader.shot("booking-form")
	atPhoneSize(t, leader.b, "booking-form-phone", nil)
	leader.do("request the booking", chromedp.Click(chromedp.CSS("#book-button")))
	leader.waitTrue("the booking listed as pending", `!!document.querySelector('#booking-list .booking[data-frequency="twice-monthly"][data-state="requested"]')`)

	// A one-off at a time that conflicts on Meeting account 1; it will
	// open some seconds after the booking is done (for the waiting page).
	oneOff := time.Now().In(uk).Add(15*time.Minute + 80*time.Second).Truncate(time.Minute).Add(time.Minute)
	leader.do("fill in a conflicting one-off", typeInto("#bk-title", "Concert planning"), setSelect("#bk-account", account1), setInput("#bk-first-date", oneOff.Format("2006-01-02")),
		setInput("#bk-start-time", oneOff.Format("15:04")), typeInto("#bk-hours", "0"), setSelect("#bk-minutes", "30"),
		chromedp.Click(chromedp.CSS(`input[name="bk-frequency"][value="once"]`)))
	leader.do("request it", chromedp.Click(chromedp.CSS("#book-button")))
	leader.waitTrue("the conflict named, with alternatives", `(() => {
		const c = document.querySelector('#preview-conflict .conflict');
		return !!c && c.querySelector('.conflict-list li')?.textContent.includes('Choir') && c.querySelectorAll('button.alternative').length > 0;
	})()`)
	leader.shot("booking-conflict")
	atPhoneSize(t, leader.b, "booking-conflict-phone", nil)
	account2 := eval[string](leader, `[...document.querySelectorAll('#bk-account option')].find((o) => o.textContent === 'Meeting account 2').value`)
	same := fmt.Sprintf(`#preview-conflict button.alternative[data-account=%q][data-start-time=%q]`, account2, oneOff.Format("15:04"))
	leader.waitTrue("the same time on Meeting account 2 proposed", fmt.Sprintf(`!!document.querySelector(%q)`, same))
	leader.do("choose it", chromedp.Click(chromedp.CSS(same)))
	leader.waitTrue("the form has it", fmt.Sprintf(`document.getElementById('bk-account').value === %q && document.getElementById('bk-start-time').value === %q`,
		account2, oneOff.Format("15:04")))
	leader.do("book the alternative", chromedp.Click(chromedp.CSS("#book-button")))
	leader.waitTrue("both bookings pending", `document.querySelectorAll('#booking-list .booking[data-state="requested"]').length === 2`)

	// The coordinator approves both.
	coord := &signupSession{t: t, ctx: ctx, b: newBrowser(t, ctx, exe), m: m, run: signupRun{size: "desktop"}}
	coord.do("open the coordinator page", chromedp.Navigate(m.LocalURL()+"/coordinator"))
	coord.waitTrue("a hint to sign in at /admin", `!document.getElementById('signin-view').hidden && document.getElementById('signin-link').getAttribute('href') === '/admin'`)
	coord.do("sign in as the administrator", chromedp.Navigate(m.LocalURL()+"/admin"))
	coord.waitShown("signin-form")
	coord.do("sign in", typeInto("#signin-group", "Coordinators"), typeInto("#signin-password", "harmonies"), chromedp.Click(chromedp.CSS("#signin-button")))
	coord.waitTrue("signed in", `document.getElementById('signin-view').hidden`)
	coord.do("back to the coordinator page", chromedp.Navigate(m.LocalURL()+"/coordinator"))
	coord.waitTrue("two requests waiting, auto-approve off", `document.querySelectorAll('#pending-list .coord-series').length === 2 && !document.getElementById('auto-approve').checked`)
	coord.shot("coordinator")
	atPhoneSize(t, coord.b, "coordinator-phone", nil)
	for n := 1; n >= 0; n-- {
		coord.do("approve", chromedp.Click(chromedp.CSS("#pending-list .coord-approve")))
		coord.waitTrue("approved", fmt.Sprintf(`document.querySelectorAll('#pending-list .coord-series').length === %d`, n))
	}
	coord.waitTrue("both listed by account", `document.querySelectorAll('#accounts .coord-series[data-state="approved"]').length === 2`)

	// The leader's page shows the links; the mails have each with its host key.
	leader.do("reload the group page", chromedp.Reload())
	leader.waitTrue("both confirmed, with links", `document.querySelectorAll('#booking-list .booking[data-state="approved"] .booking-link input').length === 2`)
	linkOf := func(freq string) string {
		return eval[string](leader, fmt.Sprintf(`document.querySelector('#booking-list .booking[data-frequency=%q] .booking-link input').value`, freq))
	}
	twice, once := linkOf("twice-monthly"), linkOf("once")
	feed := eval[string](leader, `document.getElementById('calendar-row').checkVisibility() ? document.getElementById('calendar-url').value : ''`)
	if resp, err := http.Get(feed); err != nil {
		t.Errorf("the group's calendar feed %q: %v", feed, err)
	} else {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), "BEGIN:VCALENDAR") || !strings.Contains(string(body), "RRULE:") {
			t.Errorf("the group's calendar feed %q: %d %.200s", feed, resp.StatusCode, body)
		}
	}
	keys := map[string]string{}
	deadline := time.Now().Add(20 * time.Second)
	for len(keys) < 2 && time.Now().Before(deadline) {
		for _, msg := range smtp.Messages() {
			if len(msg.To) == 0 || msg.To[0] != leaderEmail {
				continue
			}
			link, key := meetingLinkRE.FindString(msg.Text), hostKeyRE.FindStringSubmatch(msg.Text)
			if link != "" && key != nil {
				keys[link] = key[1]
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	if keys[twice] == "" || keys[once] == "" {
		t.Fatalf("the leader's mails have links and host keys %v; want %s and %s", keys, twice, once)
	}

	// The one-off's link before it opens: "Opens at …", a countdown, then open by itself.
	member := &signupSession{t: t, ctx: ctx, b: newBrowser(t, ctx, exe), m: m, run: signupRun{size: "desktop"}}
	member.do("open the one-off's link", chromedp.Navigate(once))
	opens := oneOff.Add(-bookings.EarlyJoin)
	want := fmt.Sprintf("Opens at %s UK time, %s %d %s — members may join up to 15 minutes before the start.",
		opens.Format("15:04"), opens.Format("Monday"), opens.Day(), opens.Format("January"))
	member.waitTrue("the waiting page", fmt.Sprintf(`document.getElementById('meeting-view').dataset.state === 'waiting' &&
		document.getElementById('meeting-title').textContent === 'Concert planning' && document.getElementById('meeting-group').textContent === 'A meeting of Choir' &&
		document.getElementById('meeting-opens').textContent === %q && /second/.test(document.getElementById('meeting-countdown').textContent)`, want))
	member.shot("meeting-waiting")
	atPhoneSize(t, member.b, "meeting-waiting-phone", nil)
	if time.Until(opens) < 0 {
		t.Fatalf("the one-off opened at %v, before the test saw its waiting page", opens)
	}
	// Mo asks to join as soon as it opens. The computer sleeps (the page
	// frozen: no timers run) until shortly before the meeting opens; on
	// waking the countdown is right at once, and the page opens by itself
	// when the time comes, and joins.
	member.do("join when it opens", typeInto("#meeting-name", "Mo Member"), chromedp.Click(chromedp.CSS("#meeting-button")))
	member.waitTrue("told it will join then", `document.getElementById('meeting-message').textContent.includes('You will join as Mo Member as soon as the meeting opens') &&
		document.getElementById('meeting-button').textContent === 'Joining when it opens…'`)
	member.do("freeze the page, as a computer asleep", lifecycle(page.SetWebLifecycleStateStateFrozen))
	countdown := `document.getElementById('meeting-countdown').textContent`
	asleep := eval[string](member, countdown)
	time.Sleep(2500 * time.Millisecond)
	if now := eval[string](member, countdown); now != asleep {
		t.Fatalf("the frozen page's countdown went on (%q, then %q): the page is not asleep", asleep, now)
	}
	time.Sleep(time.Until(opens) - 8*time.Second)
	member.do("wake it", lifecycle(page.SetWebLifecycleStateStateActive))
	member.waitTrue("the countdown right after waking", `(() => {
		const m = /^(\d+) seconds?$/.exec(document.getElementById('meeting-countdown').textContent);
		return !!m && +m[1] <= 9 && document.getElementById('meeting-view').dataset.state === 'waiting';
	})()`)
	wait, stop := context.WithTimeout(member.b.ctx, time.Until(opens)+20*time.Second)
	defer stop()
	err = poll(wait, func() (bool, error) {
		return chromedp.Run(wait, chromedp.Evaluate[bool](`location.pathname === '/meeting/call' || document.getElementById('meeting-view').dataset.state === 'open'`))
	})
	if err != nil {
		member.fatalf("meeting-opened", "the waiting page did not open by itself at %v: %v", opens, err)
	}
	if early := time.Until(opens); early > time.Second {
		t.Errorf("the waiting page opened %v before the meeting opens", early)
	}
	member.waitTrue("in the one-off's call by itself", `location.pathname === '/meeting/call' && document.body.dataset.screen === 'call' &&
		document.getElementById('connection-state').dataset.state === 'connected'`)

	// Two pages join the twice-monthly meeting, 14 minutes before its start.
	join := func(s *signupSession, name string) {
		s.t.Helper()
		s.do("open the meeting link", chromedp.Navigate(twice))
		s.waitTrue("the meeting open", `document.getElementById('meeting-view').dataset.state === 'open'`)
		s.do("join", typeInto("#meeting-name", name), chromedp.Click(chromedp.CSS("#meeting-button")))
		s.waitTrue("in the call, no token in the URL", `location.pathname === '/meeting/call' && !location.search && !location.hash &&
			document.body.dataset.screen === 'call' && document.getElementById('connection-state').dataset.state === 'connected'`)
	}
	join(leader, "Lee Leader")
	join(member, "Mo Member")
	if early := time.Until(start); early < time.Minute {
		t.Errorf("the members joined only %v before the start", early)
	} else {
		t.Logf("the members joined %v before the start", early.Round(time.Second))
	}
	checkDecoding(t, ctx, leader.callPage("Lee Leader"), "Mo Member")
	checkDecoding(t, ctx, member.callPage("Mo Member"), "Lee Leader")
	leader.waitTrue("the meeting's end counted down", `!document.getElementById('call-deadline').hidden &&
		document.getElementById('call-deadline-text').textContent.includes('booked meeting')`)

	// The leader claims host: a wrong key is refused in plain words, the right one works.
	leader.do("open the list of people", chromedp.Click(chromedp.CSS("#people-button")))
	leader.waitShown("claim-host-button")
	if eval[bool](leader, `document.getElementById('host-controls').checkVisibility()`) {
		leader.fatalf("claim-host", "host controls before claiming host")
	}
	leader.do("Claim host", chromedp.Click(chromedp.CSS("#claim-host-button")))
	leader.waitTrue("the host key dialog", `document.getElementById('host-key-dialog').open && document.activeElement === document.getElementById('host-key')`)
	wrong := "00000000"
	if keys[twice] == wrong {
		wrong = "11111111"
	}
	leader.do("a wrong key", typeInto("#host-key", wrong), chromedp.Click(chromedp.CSS("#host-key-submit")))
	leader.waitTrue("refused in plain words", `document.getElementById('host-key-error').textContent.includes('not this meeting’s host key')`)
	leader.shot("host-key-dialog")
	atPhoneSize(t, leader.b, "host-key-dialog-phone", nil)
	leader.do("the right key", typeInto("#host-key", keys[twice]), chromedp.Click(chromedp.CSS("#host-key-submit")))
	leader.waitTrue("a host now, with the host controls", `!document.getElementById('host-key-dialog').open &&
		document.getElementById('host-controls').checkVisibility() && document.getElementById('claim-host').hidden`)
	member.do("Mo's list of people", chromedp.Click(chromedp.CSS("#people-button")))
	member.waitTrue("Lee shown as the host", `[...document.querySelectorAll('#people-list .person')].some((li) =>
		li.querySelector('.person-name').textContent === 'Lee Leader' && li.dataset.role === 'host')`)
	leader.do("end the meeting for everyone", chromedp.Click(chromedp.CSS("#end-call-button")))
	leader.do("confirm", chromedp.Click(chromedp.CSS("#confirm-ok")))
	for _, s := range []*signupSession{leader, member} {
		s.waitTrue("the call ended for everyone", `document.body.dataset.screen === 'left' &&
			document.getElementById('left-title').textContent === 'The host ended the call for everyone' && document.getElementById('rejoin-button').hidden`)
	}
	member.shot("meeting-ended")

	// The coordinator moves the second meeting an hour later and cancels
	// the third; then cancels the one-off, whose link then says so.
	coord.do("reload the coordinator page", chromedp.Navigate(m.LocalURL()+"/coordinator"))
	coord.waitTrue("both listed by account", `document.querySelectorAll('#accounts .coord-series[data-state="approved"]').length === 2`)
	series := `#accounts .coord-series[data-frequency="twice-monthly"]`
	coord.do("open its meetings", chromedp.Click(chromedp.CSS(series+" details summary")))
	coord.do("Move the second", chromedp.Click(chromedp.CSS(series+` .occurrence[data-index="1"] .occurrence-move`)))
	moved := start.Add(time.Hour)
	coord.do("an hour later", setInput(series+` .occurrence[data-index="1"] .move-form input[type="time"]`, moved.Format("15:04")),
		chromedp.Click(chromedp.CSS(series+` .occurrence[data-index="1"] .move-submit`)))
	coord.waitTrue("moved", fmt.Sprintf(`(() => {
		const li = document.querySelector(%q);
		return !!li && li.dataset.state === 'moved' && li.querySelector('.occurrence-when').textContent.includes(%q);
	})()`, series+` .occurrence[data-index="1"]`, moved.Format("15:04")+"–"+moved.Add(time.Hour).Format("15:04")))
	coord.do("Cancel the third", chromedp.Click(chromedp.CSS(series+` .occurrence[data-index="2"] .occurrence-cancel`)))
	coord.waitTrue("asked for a reason", `document.getElementById('reason-dialog').open`)
	coord.do("give it", typeInto("#reason-input", "The hall is closed that week."), chromedp.Click(chromedp.CSS("#reason-ok")))
	coord.waitTrue("the third gone from the meetings to come", fmt.Sprintf(`!document.querySelector(%q) && document.querySelectorAll(%q).length === 5`,
		series+` .occurrence[data-index="2"]`, series+` .occurrence`))
	coord.shot("coordinator-changed")
	coord.do("Cancel the one-off", chromedp.Click(chromedp.CSS(`#accounts .coord-series[data-frequency="once"] .coord-cancel`)))
	coord.waitTrue("asked for a reason", `document.getElementById('reason-dialog').open`)
	coord.do("give it", typeInto("#reason-input", "Not needed after all."), chromedp.Click(chromedp.CSS("#reason-ok")))
	coord.waitTrue("the one-off gone", `document.querySelectorAll('#accounts .coord-series[data-state="approved"]').length === 1`)
	member.do("open the cancelled meeting's link", chromedp.Navigate(once))
	member.waitTrue("the page says it is cancelled", `!document.getElementById('meeting-failed').hidden &&
		document.getElementById('meeting-failed-title').textContent === 'This meeting is cancelled' && document.getElementById('meeting-view').hidden`)
	member.shot("meeting-cancelled")
	member.do("open an unknown link", chromedp.Navigate(m.LocalURL()+"/m/AAAAAAAAAAAAAAAAAAAAAA"))
	member.waitTrue("the page says it is not valid", `!document.getElementById('meeting-failed').hidden &&
		document.getElementById('meeting-failed-title').textContent === 'This link is not valid'`)

	// The leader withdraws the twice-monthly booking.
	leader.do("back to the group page", chromedp.Navigate(m.LocalURL()+"/group"))
	withdraw := `#booking-list .booking[data-frequency="twice-monthly"] .booking-withdraw`
	leader.waitTrue("Withdraw offered", fmt.Sprintf(`!!document.querySelector(%q)`, withdraw))
	leader.do("withdraw", chromedp.Click(chromedp.CSS(withdraw)))
	leader.confirm("")
	leader.waitTrue("withdrawn: cancelled, without a link", `(() => {
		const li = document.querySelector('#booking-list .booking[data-frequency="twice-monthly"]');
		return !!li && li.dataset.state === 'cancelled' && !li.querySelector('.booking-link') && !li.querySelector('.booking-withdraw');
	})()`)

	// An administrator whose group is not a coordinator is told so on /coordinator.
	member.do("sign in as Choir's administrator", chromedp.Navigate(m.LocalURL()+"/admin"))
	member.waitShown("signin-form")
	member.do("sign in", typeInto("#signin-group", "Choir"), typeInto("#signin-password", "harmonies"), chromedp.Click(chromedp.CSS("#signin-button")))
	member.waitTrue("signed in", `document.getElementById('signin-view').hidden`)
	member.do("open the coordinator page", chromedp.Navigate(m.LocalURL()+"/coordinator"))
	member.waitTrue("told it is not a coordinator", `!document.getElementById('signin-view').hidden &&
		document.getElementById('signin-title').textContent === 'You are not a bookings coordinator' && document.getElementById('main-view').hidden`)
	member.shot("coordinator-not")
}

// setInput sets an input's value as a date or time picker does, with
// the input and change events a person's choice fires.
func setInput(sel, v string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		js := fmt.Sprintf(`(() => { const e = document.querySelector(%q); e.value = %q;
			e.dispatchEvent(new Event('input', {bubbles: true})); e.dispatchEvent(new Event('change', {bubbles: true})); return e.value === %q; })()`, sel, v, v)
		ok, err := chromedp.Evaluate[bool](js)(ctx, t)
		if err == nil && !ok {
			err = fmt.Errorf("%s does not take the value %q", sel, v)
		}
		return chromedp.Void{}, err
	}
}

// lifecycle sets the page's web lifecycle state: frozen stops its timers
// and tasks, as a computer asleep does; active resumes them.
func lifecycle(state page.SetWebLifecycleStateState) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, t, page.SetWebLifecycleState, page.SetWebLifecycleStateParams{State: state})
		return chromedp.Void{}, err
	}
}

// setSelect chooses an option of a select, as a person's choice does.
func setSelect(sel, v string) chromedp.Action[chromedp.Void] { return setInput(sel, v) }

// grantCoordinator gives the administrator of group the coordinator
// role, as parley coordinator grant does.
func grantCoordinator(t *testing.T, m *Main, group string) {
	t.Helper()
	g, err := m.DB().GroupByName(context.Background(), group)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.DB().UpdateBookingSettings(context.Background(), func(s *bookings.Settings) error {
		s.Coordinators = append(s.Coordinators, g.ID)
		return nil
	}); err != nil {
		t.Fatalf("grant the coordinator role: %v", err)
	}
}

// TestBrowserBookingHostKeyThrottled: in a booked meeting's call, wrong
// host keys are refused in plain words until the server throttles this
// address; the dialog then says how long to wait.
func TestBrowserBookingHostKeyThrottled(t *testing.T) {
	exe := chromiumPath(t)
	m := startServer(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	activeGroup(t, m, "Choir")
	activeGroup(t, m, "Coordinators")
	grantCoordinator(t, m, "Coordinators")
	uk, err := time.LoadLocation(bookings.DefaultTimeZone)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().In(uk).Add(10 * time.Minute).Truncate(time.Minute)
	leader, coord := bookingCallers(t, m)
	coord.call("POST", "/api/v1/coordinator/bookings/"+bookOneOff(leader, start, bookings.AnyAccount)+"/approve", map[string]string{}, nil)
	text := mailText(t, m, "lee@example.org", "booking-confirmed")
	link, key := meetingLinkRE.FindString(text), hostKeyRE.FindStringSubmatch(text)
	if link == "" || key == nil {
		t.Fatalf("the confirmation has no link or host key:\n%s", text)
	}

	s := &signupSession{t: t, ctx: ctx, b: newBrowser(t, ctx, exe), m: m, run: signupRun{size: "desktop"}}
	s.do("open the meeting link", chromedp.Navigate(link))
	s.waitTrue("the meeting open", `document.getElementById('meeting-view').dataset.state === 'open'`)
	s.do("join", typeInto("#meeting-name", "Gus Guesser"), chromedp.Click(chromedp.CSS("#meeting-button")))
	s.waitTrue("in the call", `document.body.dataset.screen === 'call' && document.getElementById('connection-state').dataset.state === 'connected'`)
	s.do("open the list of people", chromedp.Click(chromedp.CSS("#people-button")))
	s.do("Claim host", chromedp.Click(chromedp.CSS("#claim-host-button")))
	wrong := 10000000
	for n := 1; ; n++ {
		guess := fmt.Sprint(wrong + n)
		if guess == key[1] {
			continue
		}
		s.do("a wrong key", typeInto("#host-key", guess), chromedp.Click(chromedp.CSS("#host-key-submit")))
		s.waitTrue("answered", `!document.getElementById('host-key-submit').disabled && !document.getElementById('host-key-error').hidden`)
		got := eval[string](s, `document.getElementById('host-key-error').textContent`)
		if strings.Contains(got, "Too many wrong host keys") {
			if !regexp.MustCompile(`Wait \d+ (seconds?|minutes), then try again\.$`).MatchString(got) {
				s.fatalf("host-key-throttled", "the throttled key's words: %q", got)
			}
			t.Logf("wrong key %d: %s", n, got)
			break
		}
		if !strings.Contains(got, "not this meeting’s host key") {
			s.fatalf("host-key-wrong", "wrong key %d: %q", n, got)
		}
		if n > 12 {
			s.fatalf("host-key-throttled", "%d wrong keys and no throttle", n)
		}
	}
	if eval[bool](s, `document.getElementById('host-controls').checkVisibility()`) {
		s.fatalf("host-key-throttled", "host controls after wrong keys")
	}
	s.shot("host-key-throttled")
}

// bookingCallers signs in Choir's group user (with the PIN) and the
// Coordinators' administrator through the API.
func bookingCallers(t *testing.T, m *Main) (leader, coord *apiCaller) {
	t.Helper()
	leader = newAPICaller(t, m)
	leader.call("POST", "/api/v1/group/login", map[string]string{"groupName": "Choir", "pin": "2468"}, nil)
	coord = newAPICaller(t, m)
	coord.call("POST", "/api/v1/admin/login", map[string]string{"groupName": "Coordinators", "password": "harmonies"}, nil)
	return leader, coord
}

// bookOneOff books a one-hour one-off meeting at start on account and
// returns the booking's ID.
func bookOneOff(leader *apiCaller, start time.Time, account string) string {
	var booked struct {
		Booking struct {
			ID string `json:"id"`
		} `json:"booking"`
	}
	leader.call("POST", "/api/v1/group/bookings", bookings.Request{LeaderName: "Lee Leader", LeaderEmail: "lee@example.org", Account: account,
		FirstDate: start.Format(bookings.DateLayout), StartTime: start.Format("15:04"), DurationMinutes: 60,
		Recurrence: bookings.Recurrence{Frequency: bookings.Once}}, &booked)
	return booked.Booking.ID
}

// TestBrowserBookingCoordinator: on /coordinator, moving a meeting into
// another's slot on its account is refused with the meeting in the way
// and alternatives; choosing one fills the move form and moving there
// works. A request is declined only with a reason; with auto-approve
// switched on, the next request that fits is approved at once.
// Screenshots at desktop and 390×844.
func TestBrowserBookingCoordinator(t *testing.T) {
	exe := chromiumPath(t)
	m := startServer(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	activeGroup(t, m, "Choir")
	activeGroup(t, m, "Coordinators")
	grantCoordinator(t, m, "Coordinators")
	uk, err := time.LoadLocation(bookings.DefaultTimeZone)
	if err != nil {
		t.Fatal(err)
	}
	leader, coordAPI := bookingCallers(t, m)
	var accounts struct {
		Accounts []struct{ ID, Name string } `json:"accounts"`
	}
	leader.call("GET", "/api/v1/group/bookings", nil, &accounts)
	day := time.Now().In(uk).AddDate(0, 0, 7)
	first := time.Date(day.Year(), day.Month(), day.Day(), 18, 0, 0, 0, uk)
	a := bookOneOff(leader, first, accounts.Accounts[0].ID)
	b := bookOneOff(leader, first.Add(3*time.Hour), accounts.Accounts[0].ID)
	for _, id := range []string{a, b} {
		coordAPI.call("POST", "/api/v1/coordinator/bookings/"+id+"/approve", map[string]string{}, nil)
	}
	declined := bookOneOff(leader, first.AddDate(0, 0, 1), bookings.AnyAccount)

	s := &signupSession{t: t, ctx: ctx, b: newBrowser(t, ctx, exe), m: m, run: signupRun{size: "desktop"}}
	s.do("open the administrator's page", chromedp.Navigate(m.LocalURL()+"/admin"))
	s.waitShown("signin-form")
	s.do("sign in", typeInto("#signin-group", "Coordinators"), typeInto("#signin-password", "harmonies"), chromedp.Click(chromedp.CSS("#signin-button")))
	s.waitTrue("signed in", `document.getElementById('signin-view').hidden`)
	s.do("open the coordinator page", chromedp.Navigate(m.LocalURL()+"/coordinator"))
	row := fmt.Sprintf(`#accounts .coord-series[data-id=%q] .occurrence[data-index="0"]`, b)
	s.waitTrue("the later meeting listed", fmt.Sprintf(`!!document.querySelector(%q)`, row))
	s.do("open its meetings", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#accounts .coord-series[data-id=%q] details summary`, b))))
	s.do("Move", chromedp.Click(chromedp.CSS(row+" .occurrence-move")))
	s.do("into the earlier one's slot", setInput(row+` .move-form input[type="time"]`, first.Add(30*time.Minute).Format("15:04")),
		chromedp.Click(chromedp.CSS(row+" .move-submit")))
	s.waitTrue("refused, naming the meeting in the way, with alternatives", fmt.Sprintf(`(() => {
		const c = document.querySelector(%q);
		return !!c && c.querySelector('.conflict-list li').textContent.includes('Choir’s meeting (%s–%s)') && c.querySelectorAll('button.alternative').length > 0;
	})()`, row+" .move-form .conflict", first.Format("15:04"), first.Add(time.Hour).Format("15:04")))
	s.shot("coordinator-move-conflict")
	atPhoneSize(t, s.b, "coordinator-move-conflict-phone", nil)
	alt := eval[string](s, fmt.Sprintf(`document.querySelector(%q).dataset.startTime`, row+" .move-form button.alternative"))
	s.do("choose the first alternative", chromedp.Click(chromedp.CSS(row+" .move-form button.alternative")))
	s.waitTrue("the move form has it", fmt.Sprintf(`document.querySelector(%q).value === %q`, row+` .move-form input[type="time"]`, alt))
	s.do("move there", chromedp.Click(chromedp.CSS(row+" .move-submit")))
	s.waitTrue("moved", fmt.Sprintf(`(() => {
		const li = document.querySelector(%q);
		return !!li && li.dataset.state === 'moved' && li.querySelector('.occurrence-when').textContent.includes(', %s–');
	})()`, row, alt))

	// Decline needs a reason for the group leader.
	pending := fmt.Sprintf(`#pending-list .coord-series[data-id=%q]`, declined)
	s.do("Decline", chromedp.Click(chromedp.CSS(pending+" .coord-decline")))
	s.waitTrue("asked for a reason", `document.getElementById('reason-dialog').open`)
	s.do("decline without one", chromedp.Click(chromedp.CSS("#reason-ok")))
	s.wantError("reason-input", "give the group leader a reason", true)
	s.do("with one", typeInto("#reason-input", "The hall is closed that day."), chromedp.Click(chromedp.CSS("#reason-ok")))
	s.waitTrue("declined", fmt.Sprintf(`!document.querySelector(%q) && document.getElementById('pending-empty').checkVisibility()`, pending))
	var list struct {
		Bookings []struct{ ID, State, Reason string } `json:"bookings"`
	}
	leader.call("GET", "/api/v1/group/bookings", nil, &list)
	for _, b := range list.Bookings {
		if b.ID == declined && (b.State != "declined" || b.Reason != "The hall is closed that day.") {
			t.Errorf("the declined request: %+v", b)
		}
	}

	// Auto-approve: the next request that fits is approved at once.
	s.do("switch auto-approve on", chromedp.Click(chromedp.CSS("#auto-approve")))
	s.waitTrue("said so", `document.getElementById('console-message').textContent.includes('approved at once')`)
	s.do("reload", chromedp.Reload())
	s.waitTrue("still on", `document.getElementById('auto-approve').checked`)
	auto := bookOneOff(leader, first.AddDate(0, 0, 2), bookings.AnyAccount)
	leader.call("GET", "/api/v1/group/bookings", nil, &list)
	for _, b := range list.Bookings {
		if b.ID == auto && b.State != "approved" {
			t.Errorf("with auto-approve on, a request that fits is %s", b.State)
		}
	}

}

// TestBrowserBookingLinkExpired: a meeting link whose meetings are over
// gets a page saying so, with no way in: for a series that goes on, that
// the group leader has been sent a new link (a weekly series whose first
// link's six meetings are past), else that its meetings have taken place
// (last month's one-off). Screenshots at desktop and 390×844.
func TestBrowserBookingLinkExpired(t *testing.T) {
	exe := chromiumPath(t)
	m := startServer(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	activeGroup(t, m, "Choir")
	g, err := m.DB().GroupByName(ctx, "Choir")
	if err != nil {
		t.Fatal(err)
	}
	accounts, err := m.DB().Accounts(ctx)
	if err != nil || len(accounts) == 0 {
		t.Fatalf("accounts: %v %v", accounts, err)
	}
	// past books a series from first (days ago) as it was then, approved, with its first link.
	past := func(daysAgo int, rec bookings.Recurrence) string {
		t.Helper()
		then := time.Now().AddDate(0, 0, -daysAgo)
		s, errs := bookings.NewSeries(bookings.Request{LeaderName: "Lee Leader", LeaderEmail: "lee@example.org", Account: accounts[0].ID,
			FirstDate: then.Format(bookings.DateLayout), StartTime: "06:00", DurationMinutes: 60, Recurrence: rec},
			g.ID, g.Name, bookings.Limits{Now: then.Add(-24 * time.Hour), LinkEvery: 6}, then.Add(-24*time.Hour))
		if len(errs) > 0 {
			t.Fatalf("a series from %d days ago: %v", daysAgo, errs)
		}
		hash, err := auth.HashSecret(bookings.NewHostKey())
		if err != nil {
			t.Fatal(err)
		}
		s.State, s.DecidedAt = bookings.Approved, then
		s.Links = []bookings.Link{{First: 0, Token: bookings.NewLinkToken(), HostKeyHash: hash, CreatedAt: then}}
		if err := m.DB().Book(ctx, s, nil); err != nil {
			t.Fatalf("book the series from %d days ago: %v", daysAgo, err)
		}
		return m.LocalURL() + "/m/" + s.Links[0].Token
	}
	goesOn := past(36, bookings.Recurrence{Frequency: bookings.Weekly, Count: 7}) // the 7th, next week, needs the next link
	over := past(40, bookings.Recurrence{Frequency: bookings.Once})
	for _, c := range []struct{ link, text, ask, shot string }{
		{goesOn, "The group leader has been sent a new link for the meetings to come.", "Ask the group leader for the new link.", "meeting-link-expired"},
		{over, "All the meetings this link was for have taken place.", "Ask the group leader when the group meets next.", "meeting-link-over"},
	} {
		for _, size := range []string{"desktop", "phone"} {
			p := &signupSession{t: t, ctx: ctx, b: newBrowser(t, ctx, exe), m: m, run: signupRun{size: size}}
			if size == "phone" {
				p.do("a phone's screen", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
			}
			p.do("open the old link", chromedp.Navigate(c.link))
			p.waitTrue("the page says its meetings are over", fmt.Sprintf(`!document.getElementById('meeting-failed').hidden &&
				document.getElementById('meeting-failed-title').textContent === 'This link’s meetings are over' &&
				document.getElementById('meeting-failed-text').textContent === %q && document.getElementById('meeting-failed-ask').textContent === %q &&
				document.getElementById('meeting-view').hidden && !document.getElementById('meeting-form').checkVisibility()`, c.text, c.ask))
			p.shot(c.shot)
			if c.shot == "meeting-link-over" {
				break
			}
		}
	}
}

// TestBrowserBookingTimes: the booking pages' times (pages/bookings.js)
// are wall-clock in the meeting's zone on both sides of the DST changes,
// whatever the browser's own zone, and named "UK time" for Europe/London.
func TestBrowserBookingTimes(t *testing.T) {
	exe := chromiumPath(t)
	m := startServer(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s := &signupSession{t: t, ctx: ctx, b: newBrowser(t, ctx, exe), m: m, run: signupRun{size: "desktop"}}
	s.do("the browser in New York", func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, tg, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "America/New_York"})
		return chromedp.Void{}, err
	})
	s.do("open a page of the site", chromedp.Navigate(m.LocalURL()+"/coordinator"))
	if tz := eval[string](s, `Intl.DateTimeFormat().resolvedOptions().timeZone`); tz != "America/New_York" {
		t.Fatalf("the browser's zone is %s", tz)
	}
	got, err := chromedp.Run(s.b.ctx, chromedp.Evaluate[[]string](`(async () => {
		const b = await import('/assets/pages/bookings.js');
		const o = (start, end) => ({start, end});
		return [
			b.span(o('2026-12-01T19:00:00Z', '2026-12-01T20:30:00Z'), 'Europe/London'),
			b.span(o('2027-06-01T19:00:00+01:00', '2027-06-01T20:30:00+01:00'), 'Europe/London'),
			b.longDate('2027-03-28T00:30:00Z', 'Europe/London', {year: true}) + ' ' + b.clockTime('2027-03-28T00:30:00Z', 'Europe/London'),
			b.longDate('2027-03-28T01:30:00Z', 'Europe/London', {year: true}) + ' ' + b.clockTime('2027-03-28T01:30:00Z', 'Europe/London'),
			b.clockTime('2027-10-31T00:30:00Z', 'Europe/London') + ' ' + b.clockTime('2027-10-31T01:30:00Z', 'Europe/London'),
			b.span(o('2026-12-31T23:00:00Z', '2027-01-01T00:30:00Z'), 'Europe/London'),
			b.zoneName('Europe/London') + ', ' + b.zoneName('America/New_York'),
			b.dayOf('2027-02-28'),
			b.countdownText(14 * 60000 + 5000) + '; ' + b.countdownText(1000) + '; ' + b.countdownText(26 * 3600000),
		];
	})()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"Tue 1 Dec 2026, 19:00–20:30",
		"Tue 1 Jun 2027, 19:00–20:30",
		"Sunday 28 March 2027 00:30", // GMT until 01:00 UTC
		"Sunday 28 March 2027 02:30", // then BST
		"01:30 01:30",                // the hour that happens twice in October
		"Thu 31 Dec 2026, 23:00–00:30",
		"UK time, America/New_York",
		"Sun 28 Feb 2027",
		"14 minutes 5 seconds; 1 second; 1 day 2 hours",
	}
	for i := range want {
		if i >= len(got) || got[i] != want[i] {
			t.Errorf("time %d: %q, want %q", i, got, want)
			break
		}
	}
}

// TestBrowserBookingMeetingOver: a booked meeting's call on the meeting
// clock (a fake one the test advances): the page counts down to the close
// (the end and its 15 minutes' grace), warns 5 minutes before in words
// naming the booked meeting, and at the close says the meeting has ended,
// with no Rejoin.
func TestBrowserBookingMeetingOver(t *testing.T) {
	exe := chromiumPath(t)
	clock := fakeclock.New(time.Now())
	m := startServerConfig(t, Config{Signaling: signaling.Config{Clock: clock}})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	activeGroup(t, m, "Choir")
	activeGroup(t, m, "Coordinators")
	grantCoordinator(t, m, "Coordinators")
	uk, err := time.LoadLocation(bookings.DefaultTimeZone)
	if err != nil {
		t.Fatal(err)
	}
	start := clock.Now().In(uk).Add(10 * time.Minute).Truncate(time.Minute)
	leader, coord := bookingCallers(t, m)
	coord.call("POST", "/api/v1/coordinator/bookings/"+bookOneOff(leader, start, bookings.AnyAccount)+"/approve", map[string]string{}, nil)
	link := meetingLinkRE.FindString(mailText(t, m, "lee@example.org", "booking-confirmed"))

	s := &signupSession{t: t, ctx: ctx, b: newBrowser(t, ctx, exe), m: m, run: signupRun{size: "desktop"}}
	s.do("open the meeting link", chromedp.Navigate(link))
	s.waitTrue("the meeting open", `document.getElementById('meeting-view').dataset.state === 'open'`)
	s.do("join", typeInto("#meeting-name", "Mo Member"), chromedp.Click(chromedp.CSS("#meeting-button")))
	s.waitTrue("in the call, the close counted down", `document.body.dataset.screen === 'call' &&
		document.getElementById('connection-state').dataset.state === 'connected' &&
		document.getElementById('call-deadline-text').textContent.includes('the end of the booked meeting, with its 15 minutes’ grace')`)
	closes := start.Add(time.Hour + bookings.Grace)
	clock.Advance(closes.Add(-5 * time.Minute).Sub(clock.Now()))
	s.waitTrue("warned", `!document.getElementById('banner').hidden &&
		/^The call ends in .* — the end of the booked meeting, with its 15 minutes’ grace$/.test(document.getElementById('banner-text').textContent)`)
	clock.Advance(5 * time.Minute)
	s.waitTrue("the meeting over, no Rejoin", `document.body.dataset.screen === 'left' &&
		document.getElementById('left-title').textContent === 'The meeting has ended: its booked time is over' &&
		document.getElementById('rejoin-button').hidden`)
	s.shot("meeting-over")
}

// TestBrowserBookingCancelledInCall: the coordinator cancels a booked
// meeting while its call runs; the page says so, with no Rejoin, and the
// link's page then says the meeting is cancelled.
func TestBrowserBookingCancelledInCall(t *testing.T) {
	exe := chromiumPath(t)
	m := startServer(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	activeGroup(t, m, "Choir")
	activeGroup(t, m, "Coordinators")
	grantCoordinator(t, m, "Coordinators")
	uk, err := time.LoadLocation(bookings.DefaultTimeZone)
	if err != nil {
		t.Fatal(err)
	}
	leader, coord := bookingCallers(t, m)
	id := bookOneOff(leader, time.Now().In(uk).Add(10*time.Minute).Truncate(time.Minute), bookings.AnyAccount)
	coord.call("POST", "/api/v1/coordinator/bookings/"+id+"/approve", map[string]string{}, nil)
	link := meetingLinkRE.FindString(mailText(t, m, "lee@example.org", "booking-confirmed"))

	s := &signupSession{t: t, ctx: ctx, b: newBrowser(t, ctx, exe), m: m, run: signupRun{size: "desktop"}}
	s.do("open the meeting link", chromedp.Navigate(link))
	s.do("join", typeInto("#meeting-name", "Mo Member"), chromedp.Click(chromedp.CSS("#meeting-button")))
	s.waitTrue("in the call", `document.body.dataset.screen === 'call' && document.getElementById('connection-state').dataset.state === 'connected'`)
	coord.call("POST", "/api/v1/coordinator/bookings/"+id+"/cancel", map[string]string{"reason": "The hall is flooded."}, nil)
	s.waitTrue("told the coordinator cancelled it, no Rejoin", `document.body.dataset.screen === 'left' &&
		document.getElementById('left-title').textContent === 'The coordinator cancelled this meeting — the call has ended' &&
		document.getElementById('rejoin-button').hidden && document.getElementById('home-link').textContent === 'Back to the meeting link'`)
	s.do("back to the meeting link", chromedp.Click(chromedp.CSS("#home-link")))
	s.waitTrue("the link's page says it is cancelled", `!document.getElementById('meeting-failed').hidden &&
		document.getElementById('meeting-failed-title').textContent === 'This meeting is cancelled'`)
}
