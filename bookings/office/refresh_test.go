package office

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-dev/parley/auth"
	"github.com/parley-dev/parley/bookings"
	"github.com/parley-dev/parley/livecall/fakeclock"
	"github.com/parley-dev/parley/rooms"
	"github.com/parley-dev/parley/rooms/store"
)

var epoch = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC) // Tue 1 Dec 2026, noon in London

// newOffice is an Office on a real store in a temporary directory, on a
// fake meeting clock at epoch, with two meeting accounts.
func newOffice(t *testing.T) (*Office, *store.DB, *fakeclock.Clock) {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "parley.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.EnsureAccounts(context.Background(), 2, epoch); err != nil {
		t.Fatal(err)
	}
	c := fakeclock.New(epoch)
	v := auth.NewVerifier(auth.VerifierConfig{MemoryKiB: 64, Time: 1})
	return New(Config{Store: db, PublicURL: "https://meet.example.org/", Clock: c, Hash: v.Hash}), db, c
}

// approved books and approves ten meetings on the 1st and 3rd Tuesday at
// 19:00 from Tue 1 Dec 2026: links of 8, so the second link's first
// meeting is the 9th, Tue 6 Apr 2027 (BST, opening 17:45 UTC).
func approved(t *testing.T, o *Office) *bookings.Series {
	t.Helper()
	req := bookings.Request{LeaderName: "Ada Lovelace", LeaderEmail: "ada@example.org", Account: "any",
		FirstDate: "2026-12-01", StartTime: "19:00", DurationMinutes: 90,
		Recurrence: bookings.Recurrence{Frequency: bookings.TwiceMonthly, Weekday: "tuesday", Nth: []int{1, 3}, Count: 10}}
	s, fe := bookings.NewSeries(req, "g_choir", "Choir", bookings.Limits{}, o.Now())
	if fe != nil {
		t.Fatal(fe)
	}
	if err := o.Book(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	s, err := o.Approve(context.Background(), s.ID)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mails(t *testing.T, db *store.DB, kind string) []*rooms.Mail {
	t.Helper()
	all, err := db.MailsTo(context.Background(), "ada@example.org")
	if err != nil {
		t.Fatal(err)
	}
	var out []*rooms.Mail
	for _, m := range all {
		if m.Kind == kind {
			out = append(out, m)
		}
	}
	return out
}

var (
	linkRE = regexp.MustCompile(`https://meet\.example\.org/m/([A-Za-z0-9_-]{22})\b`)
	keyRE  = regexp.MustCompile(`Your host key \(for you alone\):\n\n  (\d{8})\n`)
)

// TestRefresherMailsNewLink: on the meeting clock, the leader is sent the
// series' second link and a new host key exactly LinkLead (72h) before
// the first meeting that needs it, once; the old link still admits to
// its last meeting, the new one from its first.
func TestRefresherMailsNewLink(t *testing.T) {
	o, db, c := newOffice(t)
	s := approved(t, o)
	oldToken := s.Links[0].Token
	firstNeeding := time.Date(2027, 4, 6, 17, 45, 0, 0, time.UTC) // opens 18:45 BST
	c.Advance(firstNeeding.Add(-DefaultLinkLead - 6*time.Hour).Sub(c.Now()))
	r := o.StartRefresher() // its first run at start, then every 15 minutes
	defer r.Close()
	c.Advance(firstNeeding.Add(-DefaultLinkLead).Add(-time.Minute).Sub(c.Now()))
	if ms := mails(t, db, KindLink); len(ms) != 0 {
		t.Fatalf("a new link mailed before it was due: %s", ms[0].CreatedAt)
	}
	c.Advance(time.Minute)
	ms := mails(t, db, KindLink)
	if len(ms) != 1 {
		t.Fatalf("%d booking-link mails when it was due, want 1", len(ms))
	}
	m := ms[0]
	if !m.CreatedAt.Equal(firstNeeding.Add(-DefaultLinkLead)) {
		t.Errorf("mailed at %s, want %s (72h before the meeting opens)", m.CreatedAt, firstNeeding.Add(-DefaultLinkLead))
	}
	link, key := linkRE.FindStringSubmatch(m.Text), keyRE.FindStringSubmatch(m.Text)
	if link == nil || key == nil || link[1] == oldToken {
		t.Fatalf("no new link and host key in:\n%s", m.Text)
	}
	for _, words := range []string{"from Tue 6 Apr 2027 on", "The link you have admits people up to the meeting on Tue 16 Mar 2027", "Tue 6 Apr 2027, 19:00-20:30", "Tue 20 Apr 2027, 19:00-20:30", "(UK time)",
		"join up to 15 minutes before the start", "Don't share\nthe host key"} {
		if !strings.Contains(m.Text, words) {
			t.Errorf("the mail lacks %q:\n%s", words, m.Text)
		}
	}
	if !strings.Contains(m.Subject, "from Tue 6 Apr 2027") {
		t.Errorf("subject %q", m.Subject)
	}

	s, err := db.Series(context.Background(), s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Links) != 2 || s.Links[1].First != 8 || s.Links[1].Token != link[1] {
		t.Fatalf("links: %+v", s.Links)
	}
	if ok, _ := auth.VerifySecret(s.Links[1].HostKeyHash, key[1]); !ok {
		t.Error("the new link's hash does not verify the mailed key")
	}
	if ok, _ := auth.VerifySecret(s.Links[0].HostKeyHash, key[1]); ok {
		t.Error("the old link's hash verifies the new key")
	}
	if l, ok := s.LinkFor(7); !ok || l.Token != oldToken {
		t.Errorf("the old link does not admit to its last meeting (Tue 16 Mar): %+v", l)
	}
	if l, ok := s.LinkFor(8); !ok || l.Token != link[1] {
		t.Errorf("the new link does not admit to Tue 6 Apr: %+v", l)
	}
	// Later runs make no other.
	c.Advance(48 * time.Hour)
	if n := len(mails(t, db, KindLink)); n != 1 {
		t.Errorf("%d booking-link mails after two more days", n)
	}
}

// TestRefreshOnce: two runs at once when a link is due make one link and
// one mail.
func TestRefreshOnce(t *testing.T) {
	o, db, c := newOffice(t)
	s := approved(t, o)
	c.Advance(time.Date(2027, 4, 3, 18, 0, 0, 0, time.UTC).Sub(c.Now()))
	var wg sync.WaitGroup
	made := make([]int, 4)
	for i := range made {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := o.RefreshLinks(context.Background())
			if err != nil {
				t.Error(err)
			}
			made[i] = n
		}()
	}
	wg.Wait()
	if made[0]+made[1]+made[2]+made[3] != 1 {
		t.Errorf("runs made %v links, want 1 in all", made)
	}
	got, _ := db.Series(context.Background(), s.ID)
	if len(got.Links) != 2 || len(mails(t, db, KindLink)) != 1 {
		t.Errorf("%d links, %d mails", len(got.Links), len(mails(t, db, KindLink)))
	}
}

// TestRefresherClose: Close stops the timer (goleak checks the rest).
func TestRefresherClose(t *testing.T) {
	o, db, c := newOffice(t)
	approved(t, o)
	r := o.StartRefresher()
	r.Close()
	r.Close()
	c.Advance(200 * 24 * time.Hour)
	if n := len(mails(t, db, KindLink)); n != 0 {
		t.Errorf("a closed refresher mailed %d links", n)
	}
	sys := New(Config{Store: db}) // the system clock's timer is stopped too
	sys.StartRefresher().Close()
}
