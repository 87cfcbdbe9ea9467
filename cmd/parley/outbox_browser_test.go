package main

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserOutboxPage opens the operator's outbox page in headless
// Chromium, signed in with the operator token, at desktop and phone size:
// the list shows each message's state, recipient, subject and last error,
// and a message's page shows its whole text with the link to pass on.
func TestBrowserOutboxPage(t *testing.T) {
	exe := chromiumPath(t)
	dir := t.TempDir()
	m := startServer(t, dir) // no SMTP: mail waits in the outbox
	a := queueMail(t, m, "ada.lovelace@example.org")
	b := queueMail(t, m, "grace@example.org")
	c := queueMail(t, m, "alan@example.org")
	ctx := context.Background()
	if err := m.DB().MarkMailRetry(ctx, b.ID, "SMTP smtp.example.org:587 (starttls): dial failed: dial tcp 192.0.2.1:587: connect: connection refused", time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := m.DB().MarkMailSent(ctx, c.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(m.LocalURL())
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword("operator", operatorToken(t, dir))

	br := newBrowser(t, ctx, exe)
	bctx, cancel := context.WithTimeout(br.ctx, 60*time.Second)
	defer cancel()
	for _, size := range []struct {
		name string
		emu  chromedp.Action[chromedp.Void]
	}{
		{"desktop", chromedp.EmulateViewport(1280, 800)},
		{"phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile)},
	} {
		if err := chromedp.Do(bctx, size.emu, chromedp.Navigate(u.String()+"/operator/outbox"), chromedp.WaitVisible(chromedp.CSS(".op-table"))); err != nil {
			br.screenshot(t, "outbox-"+size.name+"-failed")
			t.Fatalf("%s: open the outbox page: %v", size.name, err)
		}
		rows, err := chromedp.Run(bctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('.op-table tbody tr')].map(r => r.innerText.replace(/\s+/g, ' '))`))
		if err != nil {
			t.Fatal(err)
		}
		all := strings.Join(rows, "\n")
		if len(rows) != 3 || !strings.Contains(all, "ada.lovelace@example.org") || !strings.Contains(all, "connection refused") ||
			!strings.Contains(all, "sent") || !strings.Contains(all, "Activate your group Choir") {
			t.Errorf("%s: rows\n%s", size.name, all)
		}
		// The page's own styles apply (a stylesheet broken further up
		// would leave them out).
		styled, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`getComputedStyle(document.querySelector('.op-state')).borderTopLeftRadius !== '0px' &&
			getComputedStyle(document.querySelector('.op-filter')).display === 'flex'`))
		if err != nil || !styled {
			t.Errorf("%s: the operator page's styles are not applied (%v)", size.name, err)
		}
		br.screenshot(t, "outbox-"+size.name)

		if err := chromedp.Do(bctx, chromedp.Click(chromedp.CSS(`a[href="/operator/outbox/`+a.ID+`"]`)), chromedp.WaitVisible(chromedp.CSS(".op-text"))); err != nil {
			br.screenshot(t, "outbox-mail-"+size.name+"-failed")
			t.Fatalf("%s: open a message: %v", size.name, err)
		}
		text, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.querySelector('.op-text').innerText`))
		if err != nil || strings.TrimSpace(text) != strings.TrimSpace(a.Text) {
			t.Errorf("%s: message text %q (%v), want %q", size.name, text, err, a.Text)
		}
		br.screenshot(t, "outbox-mail-"+size.name)
	}
}
