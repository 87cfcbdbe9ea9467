package main

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/parley-dev/parley/bookings"
	"github.com/parley-dev/parley/livecall/fakeclock"
	"github.com/parley-dev/parley/rooms"
)

// TestBrowserBookingsTable opens the bookings table in Chromium, at
// desktop size and on a phone (390×844): signed out it says how to sign
// in; a group user signed in at /group sees January 2027 of both meeting
// accounts (every meeting, the cancelled and the moved one marked, the
// pending one), which fits the phone's width; printed, it is black on
// white without the navigation and the feed addresses. Screenshots of
// each.
func TestBrowserBookingsTable(t *testing.T) {
	exe := chromiumPath(t)
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	cfg := Config{}
	cfg.Signaling.Clock = fakeclock.New(now)
	m := startServerConfig(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	setUpGroup(t, m)
	bookTableSeries(t, m, now)

	for _, size := range []string{"desktop", "phone"} {
		t.Run(size, func(t *testing.T) {
			b := newBrowser(t, ctx, exe)
			if size == "phone" {
				if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile)); err != nil {
					t.Fatalf("emulate a phone: %v", err)
				}
			}
			s := &signupSession{t: t, ctx: ctx, b: b, m: m, run: signupRun{size: size}}
			s.do("open the table signed out", chromedp.Navigate(m.LocalURL()+"/bookings/all/2027-01"))
			s.waitTrue("the sign-in hint", `document.querySelector('h1').textContent.includes('Sign in to see the bookings table') &&
				!!document.querySelector('a[href="/group"]')`)
			s.shot("bookings-signed-out")

			s.do("follow the link to /group", chromedp.Click(chromedp.CSS(`a[href="/group"]`)))
			s.waitShown("signin-form")
			s.do("sign in with the PIN", typeInto("#signin-group", "Choir"), typeInto("#signin-pin", "2468"),
				chromedp.Click(chromedp.CSS("#signin-button")))
			s.waitShown("create-form")
			s.do("open the table", chromedp.Navigate(m.LocalURL()+"/bookings/all/2027-01"))
			s.waitTrue("January's table", `document.querySelectorAll('table.bookings').length === 2`)
			text := eval[string](s, `document.body.innerText`)
			for _, want := range []string{"January 2027", "Meeting account 1", "Meeting account 2", "Rehearsal", "Social",
				"Wed 6 Jan", "19:00–20:30", "cancelled", "moved from Wed 20 Jan 19:00", "moved to Thu 21 Jan 18:30", "pending", "Times are UK time"} {
				if !strings.Contains(text, want) {
					s.fatalf("bookings-missing", "the table lacks %q:\n%s", want, text)
				}
			}
			if w := eval[int](s, `document.documentElement.scrollWidth`); size == "phone" && w > 390 {
				s.fatalf("bookings-too-wide", "the table is %d px wide on a 390 px phone", w)
			}
			s.shot("bookings-month")
			if size == "desktop" { // the feed address on the page works without a cookie
				feed := eval[string](s, `document.querySelector('input[id^="feed-"]').value`)
				u, err := url.Parse(feed)
				if err != nil || !strings.HasPrefix(feed, m.URL()+"/cal/account/") {
					t.Fatalf("feed address %q: %v", feed, err)
				}
				resp, err := http.Get(m.LocalURL() + u.Path)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || !strings.Contains(string(body), "RRULE:FREQ=WEEKLY;BYDAY=WE;UNTIL=20270414T225959Z") ||
					!strings.Contains(string(body), "SUMMARY:Choir: Rehearsal") {
					t.Errorf("feed: %d\n%s", resp.StatusCode, body)
				}
			}
			s.do("copy the feed address", chromedp.Click(chromedp.CSS(`button[data-copy^="feed-"]`)))
			s.waitTrue("the copy button answers", `['Copied', 'Press Ctrl+C'].includes(document.querySelector('button[data-copy^="feed-"]').textContent)`)

			s.do("print", func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
				_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"})
				return chromedp.Void{}, err
			})
			printed := eval[string](s, `[getComputedStyle(document.body).backgroundColor, getComputedStyle(document.body).color,
				getComputedStyle(document.querySelector('.month-nav')).display, getComputedStyle(document.querySelector('.feed')).display,
				getComputedStyle(document.querySelectorAll('.account-month')[1]).breakBefore].join(' | ')`)
			if printed != "rgb(255, 255, 255) | rgb(0, 0, 0) | none | none | page" {
				s.fatalf("bookings-print-wrong", "printed: %s", printed)
			}
			s.shot("bookings-print")
		})
	}
}

// bookTableSeries books the browser test's series on the store: a weekly
// rehearsal on the first account with one meeting cancelled and one
// moved, a pending twice-monthly committee beside it, and a monthly
// social on the second account.
func bookTableSeries(t *testing.T, m *Main, now time.Time) {
	t.Helper()
	ctx := context.Background()
	as, err := m.DB().Accounts(ctx)
	if err != nil || len(as) < 2 {
		t.Fatalf("meeting accounts: %v, %d", err, len(as))
	}
	g, err := m.DB().GroupByName(ctx, "choir")
	if err != nil {
		t.Fatal(err)
	}
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	book := func(account *bookings.Account, title, first, start string, minutes int, rec bookings.Recurrence, change func(s *bookings.Series) error) {
		req := bookings.Request{LeaderName: "Ada Lovelace", LeaderEmail: "ada@example.org", Account: account.ID, Title: title,
			FirstDate: first, StartTime: start, DurationMinutes: minutes, Recurrence: rec}
		s, errs := bookings.NewSeries(req, g.ID, g.Name, bookings.Limits{Location: loc}, now)
		if len(errs) > 0 {
			t.Fatalf("%s: %v", title, errs)
		}
		if err := m.DB().Book(ctx, s, nil); err != nil {
			t.Fatalf("book %s: %v", title, err)
		}
		if _, err := m.DB().UpdateSeries(ctx, s.ID, func(s *bookings.Series) ([]*rooms.Mail, error) { return nil, change(s) }); err != nil {
			t.Fatalf("change %s: %v", title, err)
		}
	}
	book(as[0], "Rehearsal", "2026-12-02", "19:00", 90, bookings.Recurrence{Frequency: bookings.Weekly, Count: 20},
		func(s *bookings.Series) error {
			s.State = bookings.Approved
			if err := s.Cancel(5, "the hall is closed"); err != nil { // Wed 6 Jan
				return err
			}
			return s.Move(7, "2027-01-21", "18:30") // Wed 20 Jan → Thu 21 Jan
		})
	book(as[0], "Committee", "2026-12-02", "10:00", 60, bookings.Recurrence{Frequency: bookings.TwiceMonthly, Weekday: "tuesday", Nth: []int{1, 3}, Count: 12},
		func(*bookings.Series) error { return nil }) // pending
	book(as[1], "Social", "2026-12-01", "18:30", 120, bookings.Recurrence{Frequency: bookings.Monthly, Weekday: "friday", Nth: []int{-1}, Count: 6},
		func(s *bookings.Series) error { s.State = bookings.Approved; return nil })
}
