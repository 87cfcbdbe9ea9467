package mail_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-dev/parley/delivery"
	"github.com/parley-dev/parley/internal/deliverytest"
	"github.com/parley-dev/parley/internal/mailtest"
	"github.com/parley-dev/parley/livecall/fakeclock"
	parleymail "github.com/parley-dev/parley/mail"
	"github.com/parley-dev/parley/rooms"
	"github.com/parley-dev/parley/rooms/store"
)

// rig is a dispatcher on a fake clock, over a real store, sending to a
// real SMTP server.
type rig struct {
	t     *testing.T
	clock *fakeclock.Clock
	db    *store.DB
	smtp  *mailtest.Server
	d     *parleymail.Dispatcher
	stop  func()
}

func newRig(t *testing.T) *rig {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "parley.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	srv := mailtest.Start(t, mailtest.Options{Username: "parley", Password: "pw"})
	return &rig{t: t, clock: fakeclock.New(epoch), db: db, smtp: srv}
}

// start runs the dispatcher until the test ends (or stop).
func (r *rig) start() {
	r.t.Helper()
	sender := newSMTP(r.t, smtpFor(r.smtp, parleymail.StartTLS, "parley", "pw"))
	d, err := parleymail.NewDispatcher(parleymail.DispatcherConfig{
		Outbox: r.db,
		Sender: sender,
		Options: delivery.Options{
			Clock:  r.clock,
			Jitter: func() float64 { return 0.5 }, // no spread: exact waits
			Logger: deliverytest.Logger(r.t),
		},
	})
	if err != nil {
		r.t.Fatal(err)
	}
	r.d = d
	r.stop = deliverytest.Start(r.t, d.Run)
}

func (r *rig) enqueue(to string) *rooms.Mail {
	r.t.Helper()
	m, err := rooms.NewMail("activation", to, "Activate your group", activationText, r.clock.Now())
	if err != nil {
		r.t.Fatal(err)
	}
	if err := r.db.EnqueueMail(context.Background(), m); err != nil {
		r.t.Fatal(err)
	}
	if r.d != nil {
		r.d.Notify()
	}
	return m
}

func (r *rig) mail(id string) *rooms.Mail {
	r.t.Helper()
	m, err := r.db.Mail(context.Background(), id)
	if err != nil {
		r.t.Fatal(err)
	}
	return m
}

// settle waits until cond holds and the dispatcher is asleep.
func (r *rig) settle(what string, cond func() bool) {
	r.t.Helper()
	deliverytest.Settle(r.t, r.clock, what, cond)
}

// TestDispatcherRetriesUntilServerBack takes the SMTP server down, queues
// a message and checks each retry comes after a doubled wait on the fake
// clock, with the error recorded; then brings the server back and checks
// the message arrives exactly once and is marked sent.
func TestDispatcherRetriesUntilServerBack(t *testing.T) {
	r := newRig(t)
	r.smtp.Down()
	r.start()
	m := r.enqueue("ada@example.org")
	t0 := r.clock.Now()

	elapsed := time.Duration(0)
	for attempt, wait := range []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute} {
		r.settle("attempt "+string(rune('1'+attempt)), func() bool { return r.mail(m.ID).Attempts == attempt+1 })
		got := r.mail(m.ID)
		if got.State != rooms.MailQueued || !got.NextAttempt.Equal(t0.Add(elapsed+wait)) || !strings.Contains(got.LastError, "connection refused") {
			t.Fatalf("after attempt %d: state %s, next %v (want %v), last error %q", attempt+1, got.State,
				got.NextAttempt.Sub(t0), elapsed+wait, got.LastError)
		}
		// Nothing happens a second early.
		r.clock.Advance(wait - time.Second)
		if n := r.mail(m.ID).Attempts; n != attempt+1 {
			t.Fatalf("attempt %d came a second early", n)
		}
		if attempt == 3 {
			r.smtp.Up()
		}
		r.clock.Advance(time.Second)
		elapsed += wait
	}
	msgs, err := r.smtp.Wait(1, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	r.settle("the mark", func() bool { return r.mail(m.ID).State == rooms.MailSent })
	got := r.mail(m.ID)
	if got.Attempts != 5 || !got.SentAt.Equal(t0.Add(elapsed)) || got.Text != "" {
		t.Errorf("sent record: %+v", got)
	}
	// Hours later, it has still arrived once.
	for range 5 {
		r.clock.Advance(time.Hour)
	}
	r.stop()
	if msgs = r.smtp.Messages(); len(msgs) != 1 || msgs[0].Text != activationText {
		t.Fatalf("%d messages arrived, want the one", len(msgs))
	}
}

// TestDispatcherBackoffCaps checks the wait stops doubling at an hour and
// the message is still retried (never dropped) after that.
func TestDispatcherBackoffCaps(t *testing.T) {
	r := newRig(t)
	r.smtp.Refuse(451, "mailbox temporarily unavailable")
	r.start()
	m := r.enqueue("ada@example.org")
	for attempt := 1; attempt <= 10; attempt++ {
		r.settle("an attempt", func() bool { return r.mail(m.ID).Attempts == attempt })
		got := r.mail(m.ID)
		want := min(30*time.Second<<(attempt-1), time.Hour)
		if wait := got.NextAttempt.Sub(r.clock.Now()); wait != want {
			t.Fatalf("after attempt %d: next in %v, want %v", attempt, wait, want)
		}
		if !strings.Contains(got.LastError, "451") {
			t.Fatalf("last error %q, want the server's 451", got.LastError)
		}
		if attempt < 10 {
			r.clock.Advance(got.NextAttempt.Sub(r.clock.Now()))
		}
	}
	r.smtp.Accept()
	r.clock.Advance(time.Hour)
	if _, err := r.smtp.Wait(1, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	r.settle("sent", func() bool { return r.mail(m.ID).State == rooms.MailSent })
	if n := r.mail(m.ID).Attempts; n != 11 {
		t.Errorf("%d attempts, want 11", n)
	}
}

// TestDispatcherWakesOnNotify checks a message queued while the dispatcher
// sleeps goes out at once, with no time passing.
func TestDispatcherWakesOnNotify(t *testing.T) {
	r := newRig(t)
	r.start()
	r.settle("idle", func() bool { return true })
	for i, to := range []string{"ada@example.org", "grace@example.org", "alan@example.org"} {
		r.enqueue(to)
		msgs, err := r.smtp.Wait(i+1, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if msgs[i].To[0] != to {
			t.Errorf("message %d went to %v, want %s", i, msgs[i].To, to)
		}
	}
	if !r.clock.Now().Equal(epoch) {
		t.Errorf("the clock moved: %v", r.clock.Now())
	}
}

// TestDispatcherStartTriesEverything checks a start (a restart) tries
// every queued message at once, even one whose backoff has not run out,
// and that a success after failures brings the waiting ones forward.
func TestDispatcherStartTriesEverything(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	waiting := r.enqueue("ada@example.org")
	if err := r.db.MarkMailRetry(ctx, waiting.ID, "earlier failure", epoch.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	r.start()
	if _, err := r.smtp.Wait(1, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	r.settle("sent", func() bool { return r.mail(waiting.ID).State == rooms.MailSent })

	// Two fail while the server refuses; when it accepts again, a new
	// message goes out and takes the two waiting ones with it.
	r.smtp.Refuse(421, "try again later")
	a, b := r.enqueue("grace@example.org"), r.enqueue("alan@example.org")
	r.settle("two failures", func() bool { return r.mail(a.ID).Attempts == 1 && r.mail(b.ID).Attempts == 1 })
	r.smtp.Accept()
	c := r.enqueue("edsger@example.org")
	msgs, err := r.smtp.Wait(4, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	r.settle("all sent", func() bool {
		return r.mail(a.ID).State == rooms.MailSent && r.mail(b.ID).State == rooms.MailSent && r.mail(c.ID).State == rooms.MailSent
	})
	if len(msgs) != 4 || !r.clock.Now().Equal(epoch) {
		t.Errorf("%d messages by %v; want 4 with no time passing", len(msgs), r.clock.Now())
	}
}

// TestDispatcherStopsMidSend stops the dispatcher while the SMTP server
// hangs in the middle of a conversation: Run returns at once (not after
// the send timeout), and the message stays queued, unmarked, for the next
// start.
func TestDispatcherStopsMidSend(t *testing.T) {
	r := newRig(t)
	r.smtp.Stall()
	r.start()
	m := r.enqueue("ada@example.org")
	deadline := time.Now().Add(10 * time.Second)
	for r.smtp.Sessions() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the dispatcher never reached the server")
		}
		time.Sleep(2 * time.Millisecond)
	}
	began := time.Now()
	r.stop()
	if took := time.Since(began); took > 2*time.Second {
		t.Errorf("stopping took %v with a send in progress", took)
	}
	if got := r.mail(m.ID); got.State != rooms.MailQueued || got.Attempts != 0 || got.LastError != "" {
		t.Errorf("after stopping mid-send: %+v; want it queued as it was", got)
	}
}

// TestDispatcherPermanentRefusal checks a message the server refuses for
// good (550) keeps its backoff when other mail goes out, while it is
// still retried (never dropped) when its wait is over.
func TestDispatcherPermanentRefusal(t *testing.T) {
	r := newRig(t)
	r.smtp.Refuse(550, "no such user here")
	r.start()
	bad := r.enqueue("nobody@example.org")
	r.settle("the refusal", func() bool { return r.mail(bad.ID).Attempts == 1 })
	if got := r.mail(bad.ID); !strings.Contains(got.LastError, "550") || got.State != rooms.MailQueued {
		t.Fatalf("after the refusal: %+v", got)
	}
	r.smtp.Accept()
	good := r.enqueue("ada@example.org")
	r.settle("the good one sent", func() bool { return r.mail(good.ID).State == rooms.MailSent })
	if n := r.mail(bad.ID).Attempts; n != 1 {
		t.Errorf("the refused message was tried %d times when another went out; want it left to its backoff", n)
	}
	r.clock.Advance(30 * time.Second)
	r.settle("the retry", func() bool { return r.mail(bad.ID).State == rooms.MailSent })
}
