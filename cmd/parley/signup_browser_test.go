package main

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// signupRun is one person setting up a group in TestBrowserSignup.
type signupRun struct {
	size     string // "desktop" or "phone" (390×844): the screenshots' suffix
	group    string
	taken    string // a group name already taken (another case), tried first; "" for none
	admin    string // the administrator's e-mail address
	members  []string
	added    string // the member added in the console
	password string
	pin      string
}

// TestBrowserSignup sets up a group in Chromium as a person would, at
// desktop size and then on a phone: the four steps (an error beside its
// field for each kind of mistake, from the page's own checks and from the
// server's, each fixed), Back and a reload keeping what was typed except
// the secrets, the review, "check your email" and its "send the link
// again"; the console of the pending group; then the activation links from the server's outbox (the
// replaced one refused as expired, the new one activating, then refused
// as used); the administrator's console (add a member and a room system,
// whose secret is shown once; re-issue it; disable, enable and remove the
// member; change the contact name, the PIN and the password); the group
// users' page (sign-in with the new PIN, create and delete rooms, sign
// out); and the room system's endpoint sign-in (the replaced secret
// refused), which survives a reload, lists the room and joins its call,
// where the console shows it online. Screenshots of each page.
func TestBrowserSignup(t *testing.T) {
	exe := chromiumPath(t)
	m := startServer(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	runs := []signupRun{
		{size: "desktop", group: "Choir", admin: "ada@example.org", members: []string{"alice@example.org", "bob@example.org"},
			added: "carol@example.org", password: "harmonies", pin: "2468"},
		{size: "phone", group: "Brass Band", taken: "CHOIR", admin: "grace@example.org", members: []string{"dan@example.org", "erin@example.org"},
			added: "frank@example.org", password: "trombones", pin: "13579"},
	}
	for _, run := range runs {
		t.Run(run.size, func(t *testing.T) {
			b := newBrowser(t, ctx, exe)
			if run.size == "phone" {
				if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile)); err != nil {
					t.Fatalf("emulate a phone: %v", err)
				}
			}
			s := &signupSession{t: t, ctx: ctx, b: b, m: m, run: run, exe: exe}
			s.frontPage()
			s.contactStep()
			s.loginStep()
			s.pinStep()
			s.membersStep()
			s.backAndReload()
			s.reviewAndCreate()
			s.pendingConsole()
			s.activate()
			addr, first := s.console()
			secret := s.manage(first)
			s.groupRooms()
			s.endpoint(addr, first, secret)
		})
	}
}

// signupSession drives one browser through TestBrowserSignup.
type signupSession struct {
	t   *testing.T
	ctx context.Context
	b   *browser
	m   *Main
	run signupRun
	exe string // chromium, for another browser
}

// shot saves a screenshot, and checks that every control shown has a
// name a screen reader can say (a label, aria-label or text).
func (s *signupSession) shot(name string) {
	s.t.Helper()
	s.b.screenshot(s.t, name+"-"+s.run.size)
	unnamed := eval[[]string](s, `[...document.querySelectorAll('input, select, textarea, button, a[href]')]
		.filter((e) => e.type !== 'hidden' && e.checkVisibility())
		.filter((e) => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.textContent.trim())
		.map((e) => e.id || e.outerHTML.slice(0, 80))`)
	if len(unnamed) > 0 {
		s.t.Errorf("%s: controls without a name: %q", name, unnamed)
	}
}

func (s *signupSession) fatalf(shot, format string, args ...any) {
	s.t.Helper()
	s.shot(shot + "-failed")
	s.t.Fatalf(format, args...)
}

// do runs actions in the page, failing the test (with a screenshot) on error.
func (s *signupSession) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		s.fatalf(strings.ReplaceAll(what, " ", "-"), "%s: %v", what, err)
	}
}

// typeInto replaces a field's text by typing, as a person would.
func typeInto(sel, text string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(clearInput(sel), chromedp.SendKeys(chromedp.CSS(sel), text))
}

// eval evaluates js in the page.
func eval[T any](s *signupSession, js string) T {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.b.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		s.t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// waitTrue waits until js is true in the page.
func (s *signupSession) waitTrue(what, js string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.b.ctx, 20*time.Second)
	defer cancel()
	err := poll(ctx, func() (bool, error) { return chromedp.Run(ctx, chromedp.Evaluate[bool](js)) })
	if err != nil {
		s.fatalf(strings.ReplaceAll(what, " ", "-"), "%s: %v", what, err)
	}
}

// waitShown waits until the element with this id is shown.
func (s *signupSession) waitShown(id string) {
	s.t.Helper()
	s.waitTrue(id+" shown", fmt.Sprintf(`(() => { const e = document.getElementById(%q); return !!e && e.checkVisibility(); })()`, id))
}

// step waits until the sign-up shows step n (5: the review).
func (s *signupSession) step(n int) {
	s.t.Helper()
	s.waitTrue(fmt.Sprintf("step %d shown", n), fmt.Sprintf(`(() => {
		const shown = [...document.querySelectorAll('.step')].filter((e) => !e.hidden).map((e) => e.dataset.step);
		return shown.length === 1 && shown[0] === '%d' &&
			document.querySelector('.progress li[aria-current="step"]')?.dataset.step === '%d';
	})()`, n, n))
}

// fieldState is how a field and its error look to a person and to a screen reader.
type fieldState struct {
	Error       string `json:"error"`       // the error's text, "" when hidden
	Invalid     bool   `json:"invalid"`     // aria-invalid="true"
	Focused     bool   `json:"focused"`     // the field has the focus
	DescribedBy bool   `json:"describedBy"` // aria-describedby names the error
	Beside      bool   `json:"beside"`      // the error is just under the field, overlapping it horizontally
	Value       string `json:"value"`
}

const readField = `((id) => {
	const f = document.getElementById(id), e = document.getElementById(id + '-error');
	const out = {error: '', invalid: f.getAttribute('aria-invalid') === 'true', focused: document.activeElement === f,
		describedBy: (f.getAttribute('aria-describedby') || '').split(/\s+/).includes(id + '-error'), beside: false, value: f.value || ''};
	if (e && !e.hidden && e.checkVisibility()) {
		out.error = e.textContent.trim();
		const fr = (f.closest('.member-row, .secret-row, .inline-form .row') || f).getBoundingClientRect(), er = e.getBoundingClientRect();
		out.beside = er.top >= fr.bottom - 1 && er.top - fr.bottom < 48 && er.left < fr.right && fr.left < er.right;
	}
	return out;
})`

func (s *signupSession) field(id string) fieldState {
	s.t.Helper()
	return eval[fieldState](s, fmt.Sprintf("%s(%q)", readField, id))
}

// wantError checks that the field with this id shows an error containing
// want beside it, marked for screen readers; focused says it has the focus
// (the first error of a step does).
func (s *signupSession) wantError(id, want string, focused bool) {
	s.t.Helper()
	s.waitTrue("error on "+id, fmt.Sprintf(`%s(%q).error !== ''`, readField, id))
	f := s.field(id)
	if !strings.Contains(strings.ToLower(f.Error), strings.ToLower(want)) || !f.Invalid || !f.DescribedBy || !f.Beside || (focused && !f.Focused) {
		s.fatalf("error-"+id, "%s: error %+v, want %q beside the field, aria-invalid, aria-describedby (focused: %v)", id, f, want, focused)
	}
}

// wantNoError checks that the field with this id shows no error.
func (s *signupSession) wantNoError(id string) {
	s.t.Helper()
	if f := s.field(id); f.Error != "" || f.Invalid {
		s.fatalf("error-"+id, "%s still shows an error: %+v", id, f)
	}
}

func (s *signupSession) next() { s.do("press Next", chromedp.Click(chromedp.CSS("#next-button"))) }

func (s *signupSession) frontPage() {
	s.do("open the front page", chromedp.Navigate(s.m.LocalURL()+"/"), chromedp.WaitVisible(chromedp.CSS("#setup-link")))
	for _, id := range []string{"setup-link", "signin-admin", "signin-group", "signin-endpoint", "link-input"} {
		s.waitShown(id)
	}
	// A link that is not a room link is refused beside the field.
	s.do("paste a wrong link", typeInto("#link-input", "hello there"), chromedp.Click(chromedp.CSS("#link-go")))
	s.wantError("link-input", "not a room link", true)
	s.do("clear the link", clearInput("#link-input"))
	s.shot("front")
	s.do("choose Set up a group", chromedp.Click(chromedp.CSS("#setup-link")))
	s.step(1)
}

func (s *signupSession) contactStep() {
	// Next with nothing typed: both fields say what is missing; the
	// cursor goes to the first.
	s.next()
	s.wantError("adminName", "enter your name", true)
	s.wantError("adminEmail", "enter your email", false)
	s.shot("signup-1-errors")
	s.do("type name and a wrong address", typeInto("#adminName", "Ada Lovelace"), typeInto("#adminEmail", strings.Replace(s.run.admin, "@", ".", 1)))
	s.next()
	s.wantNoError("adminName")
	s.wantError("adminEmail", "not an email address", true)
	s.do("fix the address", typeInto("#adminEmail", s.run.admin))
	s.wantNoError("adminEmail") // typing clears the error
	s.shot("signup-1")
	s.next()
	s.step(2)
}

func (s *signupSession) loginStep() {
	if s.run.taken != "" {
		// Only the server knows the name is taken: its error shows beside the field.
		s.do("type a taken group name", typeInto("#groupName", s.run.taken), typeInto("#password", s.run.password))
		s.next()
		s.wantError("groupName", "already exists", true)
		s.shot("signup-2-taken")
	}
	s.do("type group name and a short password", typeInto("#groupName", s.run.group), typeInto("#password", "abc"))
	s.next()
	s.wantNoError("groupName")
	s.wantError("password", "at least 5 characters", true)
	s.do("fix the password", typeInto("#password", s.run.password))
	s.shot("signup-2")
	s.next()
	s.step(3)
}

func (s *signupSession) pinStep() {
	s.do("type a PIN with letters", typeInto("#pin", "12ab"))
	s.next()
	s.wantError("pin", "digits", true)
	s.do("fix the PIN", typeInto("#pin", s.run.pin))
	s.shot("signup-3")
	s.next()
	s.step(4)
}

func (s *signupSession) membersStep() {
	// The second member is typed as a copy of the first by mistake.
	s.do("type the members", typeInto("#member-0", s.run.members[0]),
		chromedp.Click(chromedp.CSS("#add-member")), typeInto("#member-1", s.run.members[0]))
	s.next()
	s.wantNoError("member-0")
	s.wantError("member-1", "already in the list", true)
	s.do("fix the second member", typeInto("#member-1", s.run.members[1]))
	s.shot("signup-4")
}

// backAndReload goes back two steps (everything is still there), forward
// again, then reloads: the page asks again for the password and the PIN
// only.
func (s *signupSession) backAndReload() {
	s.do("go back", chromedp.Click(chromedp.CSS("#back-button")))
	s.step(3)
	if f := s.field("pin"); f.Value != s.run.pin {
		s.fatalf("back", "after Back the PIN is %q, want %q", f.Value, s.run.pin)
	}
	s.do("go back", chromedp.Click(chromedp.CSS("#back-button")))
	s.step(2)
	if g, p := s.field("groupName"), s.field("password"); g.Value != s.run.group || p.Value != s.run.password {
		s.fatalf("back", "after Back the group login is %q/%q", g.Value, p.Value)
	}
	s.next()
	s.step(3)
	s.next()
	s.step(4)

	s.do("reload", chromedp.Reload())
	s.step(2)
	s.waitShown("restore-note")
	want := map[string]string{"adminName": "Ada Lovelace", "adminEmail": s.run.admin, "groupName": s.run.group, "password": "", "pin": "",
		"member-0": s.run.members[0], "member-1": s.run.members[1]}
	for id, v := range want {
		if got := s.field(id).Value; got != v {
			s.fatalf("reload", "after a reload %s is %q, want %q", id, got, v)
		}
	}
	s.shot("signup-reloaded")
	s.next() // without the password: said beside it
	s.wantError("password", "again", true)
	s.do("type the password again", typeInto("#password", s.run.password))
	s.next()
	s.step(3)
	s.next()
	s.wantError("pin", "again", true)
	s.do("type the PIN again", typeInto("#pin", s.run.pin))
	s.next()
	s.step(4)
	s.next()
	s.step(5)
}

func (s *signupSession) reviewAndCreate() {
	review := eval[string](s, `document.getElementById('review').textContent`)
	for _, v := range append([]string{"Ada Lovelace", s.run.admin, s.run.group}, s.run.members...) {
		if !strings.Contains(review, v) {
			s.fatalf("review", "the review %q does not show %q", review, v)
		}
	}
	if strings.Contains(review, s.run.password) || strings.Contains(review, s.run.pin) {
		s.fatalf("review", "the review %q shows a secret", review)
	}
	s.shot("signup-review")
	s.next()
	s.waitShown("done-view")
	if got := eval[string](s, `document.getElementById('done-email').textContent`); got != s.run.admin {
		s.fatalf("done", "the done page says the link went to %q, want %q", got, s.run.admin)
	}
	s.shot("signup-done")
}

// pendingConsole signs in to the console before activation: it says the
// group waits for its activation link, and room systems cannot be added
// yet. Back at /signup, "check your email" is still shown.
func (s *signupSession) pendingConsole() {
	s.do("open the console", chromedp.Navigate(s.m.LocalURL()+"/admin"))
	s.waitShown("signin-form")
	s.do("sign in", typeInto("#signin-group", s.run.group), typeInto("#signin-password", s.run.password),
		chromedp.Click(chromedp.CSS("#signin-button")))
	s.waitShown("pending-panel")
	if got := eval[string](s, `document.getElementById('pending-email').textContent`); got != s.run.admin {
		s.fatalf("pending", "the pending console names %q, want %q", got, s.run.admin)
	}
	if !eval[bool](s, `document.getElementById('add-room').disabled && document.getElementById('add-room-button').disabled`) {
		s.fatalf("pending", "a room system can be added before activation")
	}
	s.shot("console-pending")
	s.do("sign out", chromedp.Click(chromedp.CSS("#signout-button")))
	s.waitShown("signin-form")
	s.do("back to the sign-up", chromedp.Navigate(s.m.LocalURL()+"/signup"))
	s.waitShown("done-view")
}

// activationPaths are the paths of the activation links in the mails to
// the administrator, read from the server's outbox.
func (s *signupSession) activationPaths() []string {
	s.t.Helper()
	mails, err := s.m.db.MailsTo(s.ctx, s.run.admin)
	if err != nil {
		s.t.Fatalf("outbox: %v", err)
	}
	re := regexp.MustCompile(`https?://\S+/activate/\S+`)
	var paths []string
	for _, ml := range mails {
		if ml.Kind != "activation" {
			continue
		}
		link := re.FindString(ml.Text)
		u, err := url.Parse(link)
		if link == "" || err != nil {
			s.t.Fatalf("activation mail without a link: %q (%v)", ml.Text, err)
		}
		paths = append(paths, u.Path)
	}
	return paths
}

// activate asks for the link again on the "check your email" page, finds
// the first link replaced (said plainly), and activates with the new one,
// which then says it was used.
func (s *signupSession) activate() {
	first := s.activationPaths()
	if len(first) != 1 {
		s.t.Fatalf("after sign-up the outbox holds %d activation links for %s, want 1", len(first), s.run.admin)
	}
	s.do("send the link again", typeInto("#resend-password", s.run.password), chromedp.Click(chromedp.CSS("#resend-button")))
	s.waitTrue("a new link sent", `document.getElementById('resend-message').textContent.includes('We sent a new link')`)
	var fresh string
	for _, p := range s.activationPaths() {
		if p != first[0] {
			fresh = p
		}
	}
	if fresh == "" {
		s.fatalf("resend", "no second activation link in the outbox")
	}

	s.do("open the replaced link", chromedp.Navigate(s.m.LocalURL()+first[0]))
	s.waitShown("failed")
	if got := eval[string](s, `document.getElementById('failed-title').textContent`); !strings.Contains(got, "expired") {
		s.fatalf("link-expired", "a replaced link says %q", got)
	}
	s.waitShown("resend-form")
	s.shot("activation-expired")

	s.openActivation(s.m.LocalURL() + fresh)
	// The same link a second time says plainly it was used.
	s.do("open the link again", chromedp.Reload())
	s.waitShown("failed")
	if got := eval[string](s, `document.getElementById('failed-title').textContent`); !strings.Contains(got, "already used") {
		s.fatalf("link-used", "a used link says %q", got)
	}
	s.waitShown("used-actions")
	s.shot("activation-used")
}

// openActivation opens an activation link, which activates the group.
func (s *signupSession) openActivation(link string) {
	s.t.Helper()
	s.do("open the activation link", chromedp.Navigate(link))
	s.waitShown("activated")
	if got := eval[string](s, `document.getElementById('activated-group').textContent`); got != s.run.group {
		s.fatalf("activated", "activated %q, want %q", got, s.run.group)
	}
	s.shot("activated")
}

// console signs in as the administrator, adds a member and a room system,
// and returns the room system's address and secret.
func (s *signupSession) console() (address, secret string) {
	if eval[string](s, `location.pathname`) != "/admin" {
		s.do("open the console", chromedp.Navigate(s.m.LocalURL()+"/admin"))
	}
	s.waitShown("signin-form")
	s.do("sign in with a wrong password", typeInto("#signin-group", s.run.group), typeInto("#signin-password", "wrong-password"),
		chromedp.Click(chromedp.CSS("#signin-button")))
	s.waitTrue("wrong password refused", `document.getElementById('signin-message').textContent.includes('not right')`)
	s.do("sign in", typeInto("#signin-password", s.run.password), chromedp.Click(chromedp.CSS("#signin-button")))
	s.waitShown("endpoint-list")
	s.waitTrue("the group's state", `document.getElementById('group-state').textContent === 'Active'`)
	list := func() string { return eval[string](s, `document.getElementById('endpoint-list').textContent`) }
	for _, m := range s.run.members {
		if !strings.Contains(list(), m) {
			s.fatalf("console", "the console lists %q, without %s", list(), m)
		}
	}
	s.do("add a member with a wrong address", typeInto("#add-member", "carol"), chromedp.Click(chromedp.CSS("#add-member-button")))
	s.wantError("add-member", "not an email address", true)
	s.do("add a member", typeInto("#add-member", s.run.added), chromedp.Click(chromedp.CSS("#add-member-button")))
	s.waitTrue("the new member listed", fmt.Sprintf(`document.getElementById('endpoint-list').textContent.includes(%q)`, s.run.added))

	s.do("add a room system", typeInto("#add-room", "Board Room"), chromedp.Click(chromedp.CSS("#add-room-button")))
	s.waitTrue("the secret shown", `document.getElementById('secret-dialog').open && document.getElementById('secret-value').value.length >= 20`)
	address = eval[string](s, `document.getElementById('secret-address').value`)
	secret = eval[string](s, `document.getElementById('secret-value').value`)
	if !strings.Contains(address, "@") {
		s.fatalf("secret", "the room system's address is %q", address)
	}
	s.shot("console-secret")
	s.do("close the secret", chromedp.Click(chromedp.CSS("#secret-close")))
	s.waitTrue("the room system listed", `document.getElementById('endpoint-list').textContent.includes('Board Room') && !document.getElementById('secret-dialog').open`)
	usage := eval[string](s, `document.getElementById('usage').textContent`)
	if want := fmt.Sprintf("%d of", len(s.run.members)+2); !strings.Contains(usage, want) {
		s.fatalf("console", "the usage %q does not count %s endpoints", usage, want)
	}
	return address, secret
}

// row is the selector of the console's row for the endpoint of that name.
func (s *signupSession) row(name string) string {
	s.t.Helper()
	id := eval[string](s, fmt.Sprintf(`[...document.querySelectorAll('#endpoint-list li')].find((li) =>
		li.querySelector('.endpoint-name').textContent === %q)?.dataset.id || ''`, name))
	if id == "" {
		s.fatalf("console", "the console has no row for %s", name)
	}
	return fmt.Sprintf(`#endpoint-list li[data-id=%q]`, id)
}

// confirm waits for the console's confirm dialog and confirms.
func (s *signupSession) confirm(shot string) {
	s.t.Helper()
	s.waitTrue("asked to confirm", `document.getElementById('confirm-dialog').open`)
	if shot != "" {
		s.shot(shot)
	}
	s.do("confirm", chromedp.Click(chromedp.CSS("#confirm-ok")))
}

// manage issues the room system new credentials (the new secret shown
// once), disables, enables and removes the member added in the console,
// and changes the PIN and the password; it returns the room system's new
// secret.
func (s *signupSession) manage(old string) string {
	board, added := s.row("Board Room"), s.row(s.run.added)
	s.do("issue new credentials", chromedp.Click(chromedp.CSS(board+` [data-action="reissue"]`)))
	s.confirm("console-confirm")
	s.waitTrue("the new secret shown", fmt.Sprintf(`document.getElementById('secret-dialog').open &&
		document.getElementById('secret-value').value.length >= 20 && document.getElementById('secret-value').value !== %q`, old))
	secret := eval[string](s, `document.getElementById('secret-value').value`)
	s.do("close the secret", chromedp.Click(chromedp.CSS("#secret-close")))

	s.do("disable the member", chromedp.Click(chromedp.CSS(added+` [data-action="toggle"]`)))
	s.waitTrue("the member disabled", fmt.Sprintf(`document.querySelector(%q + ' .endpoint-status').textContent === 'Disabled'`, added))
	s.do("enable the member", chromedp.Click(chromedp.CSS(added+` [data-action="toggle"]`)))
	s.waitTrue("the member enabled", fmt.Sprintf(`document.querySelector(%q + ' .endpoint-status').textContent !== 'Disabled'`, added))
	s.do("remove the member", chromedp.Click(chromedp.CSS(added+` [data-action="remove"]`)))
	s.confirm("")
	s.waitTrue("the member removed", fmt.Sprintf(`!document.getElementById('endpoint-list').textContent.includes(%q)`, s.run.added))

	pin := s.run.pin + "0"
	s.do("change the PIN", typeInto("#pin-password", s.run.password), typeInto("#pin-new", pin), chromedp.Click(chromedp.CSS("#pin-button")))
	s.waitTrue("the PIN changed", `document.getElementById('pin-message').textContent.includes('is changed')`)
	s.run.pin = pin
	password := s.run.password + "-2"
	s.do("change the password", typeInto("#pw-current", s.run.password), typeInto("#pw-new", password), chromedp.Click(chromedp.CSS("#password-button")))
	s.waitTrue("the password changed", `document.getElementById('password-message').textContent.includes('is changed')`)
	s.run.password = password
	s.do("change the contact name", typeInto("#adminName", "Ada King"), chromedp.Click(chromedp.CSS("#contact-button")))
	s.waitTrue("the contact saved", `document.getElementById('contact-message').textContent === 'Saved.'`)
	// The console's own session survives its password change.
	s.do("reload the console", chromedp.Reload())
	s.waitShown("endpoint-list")
	if got := s.field("adminName").Value; got != "Ada King" {
		s.fatalf("contact", "after a reload the contact name is %q, want the saved one", got)
	}
	s.shot("console")
	return secret
}

func (s *signupSession) groupRooms() {
	s.do("open the group page", chromedp.Navigate(s.m.LocalURL()+"/group"))
	s.waitShown("signin-form")
	s.do("sign in with a wrong PIN", typeInto("#signin-group", strings.ToLower(s.run.group)), typeInto("#signin-pin", "0000"),
		chromedp.Click(chromedp.CSS("#signin-button")))
	s.waitTrue("wrong PIN refused", `document.getElementById('signin-message').textContent.includes('not right')`)
	s.do("sign in with the PIN", typeInto("#signin-pin", s.run.pin), chromedp.Click(chromedp.CSS("#signin-button")))
	s.waitShown("create-form")
	s.do("create a room without a name", chromedp.Click(chromedp.CSS("#create-button")))
	s.wantError("room-name", "enter a name", true)
	s.do("create a room", typeInto("#room-name", "Weekly rehearsal"), chromedp.Click(chromedp.CSS("#create-button")))
	s.waitTrue("the room listed with its link", `[...document.querySelectorAll('#room-list .room')].some((r) =>
		r.textContent.includes('Weekly rehearsal') && r.querySelector('input.room-link').value.includes('/r/'))`)
	s.do("create another room", typeInto("#room-name", "Spare room"), chromedp.Click(chromedp.CSS("#create-button")))
	s.waitTrue("two rooms listed", `document.querySelectorAll('#room-list .room').length === 2`)
	s.shot("group")
	s.do("delete the spare room", chromedp.Click(chromedp.CSS(`#room-list .room button[aria-label="Delete Spare room"]`)))
	s.confirm("")
	s.waitTrue("the spare room deleted", `document.querySelectorAll('#room-list .room').length === 1 &&
		!document.getElementById('room-list').textContent.includes('Spare room')`)
	s.do("sign out", chromedp.Click(chromedp.CSS("#signout-button")))
	s.waitShown("signin-form")
	s.do("reload", chromedp.Reload())
	s.waitShown("signin-form") // signed out for good
}

// endpoint signs the room system in at /endpoint, where its first
// secret no longer works; it stays signed in across a reload, lists the
// group's room, and Join opens its call page.
func (s *signupSession) endpoint(address, old, secret string) {
	s.do("open the endpoint page", chromedp.Navigate(s.m.LocalURL()+"/endpoint"))
	s.waitShown("signin-form")
	s.do("sign in with the replaced secret", typeInto("#signin-address", address), typeInto("#signin-secret", old),
		chromedp.Click(chromedp.CSS("#signin-button")))
	s.waitTrue("the replaced secret refused", `document.getElementById('signin-message').textContent.includes('not right')`)
	s.signInEndpoint(address, secret)
	s.do("reload", chromedp.Reload())
	s.waitTrue("still signed in with the room listed", `document.getElementById('room-list').textContent.includes('Weekly rehearsal')`)
	if got := eval[string](s, `document.getElementById('endpoint-address').textContent`); got != address {
		s.fatalf("endpoint", "the endpoint page shows %q, want %q", got, address)
	}
	s.shot("endpoint")
	s.joinListedRoom("Weekly rehearsal", "Board Room")

	// The administrator, in another browser, sees the room system online.
	admin := &signupSession{t: s.t, ctx: s.ctx, b: newBrowser(s.t, s.ctx, s.exe), m: s.m, run: s.run, exe: s.exe}
	if s.run.size == "phone" {
		admin.do("emulate a phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	}
	admin.do("open the console", chromedp.Navigate(s.m.LocalURL()+"/admin"))
	admin.waitShown("signin-form")
	admin.do("sign in", typeInto("#signin-group", s.run.group), typeInto("#signin-password", s.run.password),
		chromedp.Click(chromedp.CSS("#signin-button")))
	admin.waitShown("endpoint-list")
	board := admin.row("Board Room")
	admin.waitTrue("the room system online", fmt.Sprintf(`document.querySelector(%q + ' .endpoint-status').textContent === 'Online' &&
		document.getElementById('online-summary').textContent.startsWith('1 of')`, board))
	admin.shot("console-online")
}

// signInEndpoint signs in at /endpoint (open) with an endpoint's address
// and secret, and waits for the list of the group's rooms.
func (s *signupSession) signInEndpoint(address, secret string) {
	s.t.Helper()
	s.do("sign in as the endpoint", typeInto("#signin-address", address), typeInto("#signin-secret", secret),
		chromedp.Click(chromedp.CSS("#signin-button")))
	s.waitShown("room-list")
}

// joinListedRoom presses Join beside the room on the endpoint page, checks
// the join page is for that room under the endpoint's name, and joins the
// call with the camera.
func (s *signupSession) joinListedRoom(room, name string) {
	s.t.Helper()
	s.do("join the room", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#room-list .room a[aria-label=%q]`, "Join "+room))))
	s.waitTrue("the call page", fmt.Sprintf(`location.pathname.startsWith('/r/') && document.body.textContent.includes(%q)`, room))
	if got := eval[string](s, `document.getElementById('join-name').value`); got != name {
		s.fatalf("join", "the join page's name is %q, want the endpoint's name %q", got, name)
	}
	s.waitTrue("the camera preview", `document.getElementById('preview-video').videoWidth > 0 && !document.getElementById('join-button').disabled`)
	s.do("join the call", chromedp.Click(chromedp.CSS("#join-button")))
	s.waitTrue("in the call", `document.body.dataset.screen === 'call' &&
		document.getElementById('connection-state').dataset.state === 'connected'`)
}
