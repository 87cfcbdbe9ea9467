package store_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-dev/parley/bookings"
	"github.com/parley-dev/parley/rooms"
	"github.com/parley-dev/parley/rooms/store"
	bolt "go.etcd.io/bbolt"
)

var london = func() *time.Location {
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		panic(err)
	}
	return loc
}()

// bookNow is Tue 1 Dec 2026, 10:00 UK time.
var bookNow = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

func weekly(count int) bookings.Recurrence {
	return bookings.Recurrence{Frequency: bookings.Weekly, Count: count}
}

func newSeries(t *testing.T, group, account, first, start string, minutes int, r bookings.Recurrence) *bookings.Series {
	t.Helper()
	req := bookings.Request{LeaderName: "Leader of " + group, LeaderEmail: strings.ToLower(strings.ReplaceAll(group, " ", "")) + "@example.org",
		Account: account, FirstDate: first, StartTime: start, DurationMinutes: minutes, Recurrence: r}
	s, errs := bookings.NewSeries(req, "g_"+strings.ReplaceAll(group, " ", ""), group, bookings.Limits{Location: london}, bookNow)
	if errs != nil {
		t.Fatalf("NewSeries: %v", errs)
	}
	return s
}

func twoAccounts(t *testing.T, db *store.DB) (a, b *bookings.Account) {
	t.Helper()
	list, err := db.EnsureAccounts(context.Background(), 2, epoch)
	if err != nil || len(list) != 2 {
		t.Fatalf("EnsureAccounts = %v, %v", list, err)
	}
	return list[0], list[1]
}

// book stores each of ss, as a request, or fails the test.
func book(t *testing.T, db *store.DB, ss ...*bookings.Series) {
	t.Helper()
	for _, s := range ss {
		if err := db.Book(context.Background(), s, nil); err != nil {
			t.Fatal(err)
		}
	}
}

// bookEachAlternative books each of ce's alternatives as proposed, for
// minutes each time in r, checks that it is accepted, and cancels it
// again.
func bookEachAlternative(t *testing.T, db *store.DB, ce *bookings.ConflictError, minutes int, r bookings.Recurrence) {
	t.Helper()
	for _, alt := range ce.Alternatives {
		s := newSeries(t, "Cards", alt.AccountID, alt.FirstDate, alt.StartTime, minutes, r)
		if err := db.Book(context.Background(), s, nil); err != nil {
			t.Errorf("alternative %+v refused: %v", alt, err)
			continue
		}
		cancelSeries(t, db, s.ID)
	}
}

func conflictOf(t *testing.T, err error) *bookings.ConflictError {
	t.Helper()
	var ce *bookings.ConflictError
	if !errors.As(err, &ce) {
		t.Fatalf("error %v, want a *bookings.ConflictError", err)
	}
	return ce
}

func TestAccounts(t *testing.T) {
	db, _ := openTemp(t)
	ctx := context.Background()
	list, err := db.EnsureAccounts(ctx, 2, epoch)
	if err != nil || len(list) != 2 || list[0].Name != "Meeting account 1" || list[1].Name != "Meeting account 2" {
		t.Fatalf("EnsureAccounts = %+v, %v", list, err)
	}
	if !bookings.ValidID("a_", list[0].ID) || !list[0].CreatedAt.Equal(epoch) {
		t.Errorf("account %+v", list[0])
	}
	again, err := db.EnsureAccounts(ctx, 2, epoch.Add(time.Hour))
	if err != nil || len(again) != 2 || again[0].ID != list[0].ID || again[1].ID != list[1].ID {
		t.Errorf("EnsureAccounts again = %+v, %v; want the same two", again, err)
	}
	if again, _ := db.EnsureAccounts(ctx, 1, epoch); len(again) != 2 {
		t.Errorf("EnsureAccounts(1) with 2 = %d accounts", len(again))
	}
	// Rename the first out of the way: growing to 3 skips no number
	// still free and takes none in use.
	if err := db.RenameAccount(ctx, list[0].ID, "  Big   Room "); err != nil {
		t.Fatal(err)
	}
	three, err := db.EnsureAccounts(ctx, 3, epoch)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range three {
		names = append(names, a.Name)
	}
	if want := "Big Room,Meeting account 1,Meeting account 2"; strings.Join(names, ",") != want {
		t.Errorf("accounts %v, want %s", names, want)
	}

	errCases := []struct {
		name string
		err  error
		want error
	}{
		{"create taken name", db.CreateAccount(ctx, &bookings.Account{Name: "big room"}), rooms.ErrAccountExists},
		{"create bad name", db.CreateAccount(ctx, &bookings.Account{Name: "<b>"}), rooms.ErrInvalidName},
		{"create taken ID", db.CreateAccount(ctx, &bookings.Account{ID: list[1].ID, Name: "Other"}), rooms.ErrAccountExists},
		{"rename to taken", db.RenameAccount(ctx, list[1].ID, "BIG ROOM"), rooms.ErrAccountExists},
		{"rename missing", db.RenameAccount(ctx, "a_missing", "X"), rooms.ErrAccountNotFound},
		{"delete missing", db.DeleteAccount(ctx, "a_missing"), rooms.ErrAccountNotFound},
	}
	for _, c := range errCases {
		if !errors.Is(c.err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, c.err, c.want)
		}
	}
	if _, err := db.Account(ctx, "a_missing"); !errors.Is(err, rooms.ErrAccountNotFound) {
		t.Errorf("Account(missing) = %v", err)
	}
	// Renaming to its own name in another case is fine.
	if err := db.RenameAccount(ctx, list[0].ID, "BIG ROOM"); err != nil {
		t.Errorf("rename to own name: %v", err)
	}
	fresh := &bookings.Account{Name: "Spare"}
	if err := db.CreateAccount(ctx, fresh); err != nil || !bookings.ValidID("a_", fresh.ID) {
		t.Fatalf("CreateAccount = %v, %+v", err, fresh)
	}
	if err := db.DeleteAccount(ctx, fresh.ID); err != nil {
		t.Fatal(err)
	}
	if all, _ := db.Accounts(ctx); len(all) != 3 {
		t.Errorf("after delete: %d accounts", len(all))
	}
	if err := db.CreateAccount(ctx, &bookings.Account{Name: "Spare"}); err != nil {
		t.Errorf("name of a deleted account not free again: %v", err)
	}
}

func TestDeleteAccountInUse(t *testing.T) {
	db, _ := openTemp(t)
	ctx := context.Background()
	a, _ := twoAccounts(t, db)
	s := newSeries(t, "Choir", a.ID, "2026-12-02", "19:00", 60, weekly(3))
	book(t, db, s)
	if err := db.DeleteAccount(ctx, a.ID); !errors.Is(err, rooms.ErrAccountInUse) || !strings.Contains(err.Error(), "Choir") {
		t.Fatalf("DeleteAccount with a requested series = %v, want ErrAccountInUse naming the group", err)
	}
	if _, err := db.UpdateSeries(ctx, s.ID, func(s *bookings.Series) ([]*rooms.Mail, error) {
		s.CancelSeries("no longer needed")
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteAccount(ctx, a.ID); err != nil {
		t.Fatalf("DeleteAccount after cancelling: %v", err)
	}
	if _, err := db.Account(ctx, a.ID); !errors.Is(err, rooms.ErrAccountNotFound) {
		t.Errorf("deleted account: %v", err)
	}
}

// Many requests for one slot at once: exactly one wins, the rest are
// refused with the conflict, and one series is stored.
func TestBookConcurrentOneWins(t *testing.T) {
	db, _ := openTemp(t)
	ctx := context.Background()
	a, _ := twoAccounts(t, db)
	const n = 16
	var wins, conflicts atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		// Slightly different times, all within the gap of each other.
		starts := []string{"19:00", "19:15", "19:30", "18:45"}
		s := newSeries(t, "Group "+string(rune('A'+i)), a.ID, "2026-12-02", starts[i%len(starts)], 60, weekly(4))
		go func() {
			defer wg.Done()
			<-start
			err := db.Book(ctx, s, nil)
			var ce *bookings.ConflictError
			switch {
			case err == nil:
				wins.Add(1)
			case errors.As(err, &ce) && len(ce.Conflicts) == 4:
				conflicts.Add(1)
			default:
				t.Errorf("Book: %v", err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if wins.Load() != 1 || conflicts.Load() != n-1 {
		t.Errorf("%d won, %d refused; want 1 and %d", wins.Load(), conflicts.Load(), n-1)
	}
	if list, err := db.SeriesList(ctx, bookings.Filter{AccountID: a.ID}); err != nil || len(list) != 1 {
		t.Errorf("stored %d series, %v; want 1", len(list), err)
	}
}

// "any" takes the first account by name on which the series fits; when
// none is free the conflicts on every account are given.
func TestBookAnyAccount(t *testing.T) {
	db, _ := openTemp(t)
	ctx := context.Background()
	a, b := twoAccounts(t, db)
	first := newSeries(t, "Choir", "any", "2026-12-02", "19:00", 60, weekly(3))
	if err := db.Book(ctx, first, nil); err != nil || first.AccountID != a.ID {
		t.Fatalf("Book any = %v, account %q; want %q", err, first.AccountID, a.ID)
	}
	second := newSeries(t, "Chess", "", "2026-12-02", "19:30", 60, weekly(3))
	if err := db.Book(ctx, second, nil); err != nil || second.AccountID != b.ID {
		t.Fatalf("Book any = %v, account %q; want %q", err, second.AccountID, b.ID)
	}
	third := newSeries(t, "Cards", "any", "2026-12-09", "19:00", 30, bookings.Recurrence{Frequency: bookings.Once})
	ce := conflictOf(t, db.Book(ctx, third, nil))
	var on []string
	for _, c := range ce.Conflicts {
		on = append(on, c.AccountID+" "+c.WithGroup)
	}
	if want := []string{a.ID + " Choir", b.ID + " Chess"}; !slices.Equal(on, want) {
		t.Errorf("conflicts %v, want %v", on, want)
	}
	if len(ce.Alternatives) == 0 {
		t.Fatal("no alternatives")
	}
	// Each alternative, booked as proposed, is accepted.
	bookEachAlternative(t, db, ce, 30, bookings.Recurrence{Frequency: bookings.Once})
	if err := db.Book(ctx, third, nil); !errors.As(err, new(*bookings.ConflictError)) {
		t.Errorf("after the alternatives were freed: %v", err)
	}
	if _, err := db.Series(ctx, third.ID); !errors.Is(err, rooms.ErrSeriesNotFound) {
		t.Errorf("refused series stored: %v", err)
	}
}

func cancelSeries(t *testing.T, db *store.DB, id string) {
	t.Helper()
	_, err := db.UpdateSeries(context.Background(), id, func(s *bookings.Series) ([]*rooms.Mail, error) {
		s.CancelSeries("test")
		return nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// The gap rule in the store, at its edges, and alternatives that fit
// when booked.
func TestBookGapEdges(t *testing.T) {
	db, _ := openTemp(t)
	ctx := context.Background()
	a, b := twoAccounts(t, db)
	tues := bookings.Recurrence{Frequency: bookings.TwiceMonthly, Weekday: "tuesday", Nth: []int{1, 3}, Count: 6}
	if err := db.Book(ctx, newSeries(t, "Choir", a.ID, "2026-12-01", "19:00", 90, tues), nil); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		start   string
		minutes int
		ok      bool
	}{{"20:59", 60, false}, {"17:31", 60, false}, {"21:00", 60, true}, {"17:30", 60, true}}
	for i, c := range cases {
		s := newSeries(t, "Chess "+strconv.Itoa(i), a.ID, "2026-12-01", c.start, c.minutes, tues)
		err := db.Book(ctx, s, nil)
		if c.ok != (err == nil) {
			t.Errorf("%s: Book = %v, want ok %v", c.start, err, c.ok)
		}
		if err != nil {
			ce := conflictOf(t, err)
			if len(ce.Conflicts) != 6 || ce.Alternatives[0].AccountID != b.ID || ce.Alternatives[0].AccountName != "Meeting account 2" {
				t.Errorf("%s: %d conflicts, alternatives %+v", c.start, len(ce.Conflicts), ce.Alternatives)
			}
		}
	}
	// Now 17:30-18:30, 19:00-20:30 and 21:00-22:00 are on A; a request at
	// 19:00 for an hour gets the same times on B, and on A nothing nearer
	// than 16:00 (ending 30 minutes before 17:30) or 22:30 (at most two
	// each way).
	s := newSeries(t, "Cards", a.ID, "2026-12-01", "19:00", 60, tues)
	ce := conflictOf(t, db.Book(ctx, s, nil))
	var got []string
	for _, alt := range ce.Alternatives {
		got = append(got, alt.AccountName+" "+alt.StartTime)
	}
	want := []string{"Meeting account 2 19:00", "Meeting account 1 16:00", "Meeting account 1 15:45",
		"Meeting account 1 22:30", "Meeting account 1 22:45"}
	if !slices.Equal(got, want) {
		t.Errorf("alternatives %q, want %q", got, want)
	}
	bookEachAlternative(t, db, ce, 60, tues)
}

// A move is rechecked against the gap rule in the transaction; a
// refused move stores nothing and proposes times that day that fit.
func TestUpdateSeriesMove(t *testing.T) {
	db, _ := openTemp(t)
	ctx := context.Background()
	a, _ := twoAccounts(t, db)
	choir := newSeries(t, "Choir", a.ID, "2026-12-02", "19:00", 60, weekly(4)) // Wednesdays
	chess := newSeries(t, "Chess", a.ID, "2026-12-03", "19:00", 60, weekly(4)) // Thursdays
	book(t, db, choir, chess)
	move := func(index int, date, start string) (*bookings.Series, error) {
		return db.UpdateSeries(ctx, chess.ID, func(s *bookings.Series) ([]*rooms.Mail, error) {
			return nil, s.MoveAt(index, date, start, bookNow)
		})
	}
	// Thursday 10 Dec's meeting to Wednesday 9 Dec at 20:29: 29 minutes
	// after the choir's end.
	_, err := move(1, "2026-12-09", "20:29")
	ce := conflictOf(t, err)
	if len(ce.Conflicts) != 1 || ce.Conflicts[0].Requested.Index != 1 || ce.Conflicts[0].WithGroup != "Choir" {
		t.Errorf("conflicts %+v", ce.Conflicts)
	}
	var alts []string
	for _, alt := range ce.Alternatives {
		alts = append(alts, alt.FirstDate+" "+alt.StartTime+" "+alt.AccountName)
	}
	if want := []string{"2026-12-09 17:30 Meeting account 1", "2026-12-09 17:15 Meeting account 1",
		"2026-12-09 20:30 Meeting account 1", "2026-12-09 20:45 Meeting account 1"}; !slices.Equal(alts, want) {
		t.Errorf("alternatives %q, want %q", alts, want)
	}
	if got, _ := db.Series(ctx, chess.ID); len(got.Exceptions) != 0 {
		t.Errorf("refused move stored: %+v", got.Exceptions)
	}
	// 30 minutes after: accepted, and rechecking a later change (a
	// cancellation elsewhere in the series) does not trip over it.
	got, err := move(1, "2026-12-09", "20:30")
	if err != nil {
		t.Fatalf("move 30 minutes after: %v", err)
	}
	if o, _ := got.Occurrence(1); !o.Moved || o.Start.Format("2006-01-02 15:04") != "2026-12-09 20:30" {
		t.Errorf("moved occurrence %+v", o)
	}
	if _, err := db.UpdateSeries(ctx, chess.ID, func(s *bookings.Series) ([]*rooms.Mail, error) { return nil, s.Cancel(3, "holiday") }); err != nil {
		t.Errorf("cancel after a move: %v", err)
	}
	// The choir may not now grow into the moved meeting's gap.
	_, err = db.UpdateSeries(ctx, choir.ID, func(s *bookings.Series) ([]*rooms.Mail, error) {
		return nil, s.MoveAt(1, "2026-12-09", "19:05", bookNow)
	})
	conflictOf(t, err)
	// fn's own error is returned as it is and stores nothing.
	boom := errors.New("boom")
	if _, err := db.UpdateSeries(ctx, chess.ID, func(s *bookings.Series) ([]*rooms.Mail, error) {
		s.CancelSeries("x")
		return nil, boom
	}); !errors.Is(err, boom) {
		t.Errorf("UpdateSeries = %v, want boom", err)
	}
	if got, _ := db.Series(ctx, chess.ID); got.State != bookings.Requested {
		t.Errorf("state after a failed update: %s", got.State)
	}
	if _, err := db.UpdateSeries(ctx, "b_missing", func(*bookings.Series) ([]*rooms.Mail, error) { return nil, nil }); !errors.Is(err, rooms.ErrSeriesNotFound) {
		t.Errorf("UpdateSeries(missing) = %v", err)
	}
}

// The link index follows the series' Links through approval, refresh
// and replacement.
func TestSeriesByLink(t *testing.T) {
	db, _ := openTemp(t)
	ctx := context.Background()
	a, _ := twoAccounts(t, db)
	s := newSeries(t, "Choir", a.ID, "2026-12-02", "19:00", 60, weekly(20))
	book(t, db, s)
	tok1, tok2, tok3 := bookings.NewLinkToken(), bookings.NewLinkToken(), bookings.NewLinkToken()
	update := func(fn func(s *bookings.Series)) error {
		_, err := db.UpdateSeries(ctx, s.ID, func(s *bookings.Series) ([]*rooms.Mail, error) { fn(s); return nil, nil })
		return err
	}
	found := func(tok string) bool {
		got, err := db.SeriesByLink(ctx, tok)
		if err != nil && !errors.Is(err, rooms.ErrSeriesNotFound) {
			t.Fatal(err)
		}
		return err == nil && got.ID == s.ID
	}
	if found(tok1) {
		t.Fatal("found before approval")
	}
	if err := update(func(s *bookings.Series) { s.Approve(bookNow, bookings.Link{Token: tok1, HostKeyHash: "h1"}) }); err != nil {
		t.Fatal(err)
	}
	if err := update(func(s *bookings.Series) { s.AddLink(bookings.Link{First: 8, Token: tok2, HostKeyHash: "h2"}) }); err != nil {
		t.Fatal(err)
	}
	if !found(tok1) || !found(tok2) {
		t.Error("links not found after refresh")
	}
	// Replacing link 8 drops its old token from the index.
	if err := update(func(s *bookings.Series) { s.AddLink(bookings.Link{First: 8, Token: tok3, HostKeyHash: "h3"}) }); err != nil {
		t.Fatal(err)
	}
	if !found(tok1) || found(tok2) || !found(tok3) {
		t.Errorf("after replacing: tok1 %v tok2 %v tok3 %v", found(tok1), found(tok2), found(tok3))
	}
	// Another series may not take a token in use.
	other := newSeries(t, "Chess", a.ID, "2026-12-03", "19:00", 60, weekly(2))
	other.Approve(bookNow, bookings.Link{Token: tok1})
	if err := db.Book(ctx, other, nil); err == nil || !strings.Contains(err.Error(), "already used") {
		t.Errorf("Book with a token in use = %v", err)
	}
	if found("") || found(strings.Repeat("x", bolt.MaxKeySize+1)) {
		t.Error("odd tokens found")
	}
}

// Mails are queued in the booking's transaction, and only if it commits.
func TestBookingMails(t *testing.T) {
	var notified atomic.Int32
	db, err := store.Open(filepath.Join(t.TempDir(), "parley.db"), store.Options{OnMailQueued: func() { notified.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	a, _ := twoAccounts(t, db)
	var sent time.Duration // each mail a minute after the last: MailsTo lists by time
	mailFor := func(kind string) func(s *bookings.Series) ([]*rooms.Mail, error) {
		return func(s *bookings.Series) ([]*rooms.Mail, error) {
			sent += time.Minute
			m, err := rooms.NewMail(kind, s.LeaderEmail, kind+" "+s.AccountID, s.Summary(), bookNow.Add(sent))
			return []*rooms.Mail{m}, err
		}
	}
	s := newSeries(t, "Choir", "any", "2026-12-02", "19:00", 60, weekly(3))
	if err := db.Book(ctx, s, mailFor("booking-requested")); err != nil {
		t.Fatal(err)
	}
	clash := newSeries(t, "Choir", a.ID, "2026-12-02", "19:00", 60, weekly(3))
	conflictOf(t, db.Book(ctx, clash, mailFor("booking-requested")))
	if _, err := db.UpdateSeries(ctx, s.ID, func(s *bookings.Series) ([]*rooms.Mail, error) {
		s.Approve(bookNow, bookings.Link{Token: bookings.NewLinkToken()})
		return mailFor("booking-confirmed")(s)
	}); err != nil {
		t.Fatal(err)
	}
	mails, err := db.MailsTo(ctx, "choir@example.org")
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, m := range mails {
		kinds = append(kinds, m.Kind+" "+strings.TrimPrefix(m.Subject, m.Kind+" "))
	}
	if want := []string{"booking-requested " + a.ID, "booking-confirmed " + a.ID}; !slices.Equal(kinds, want) {
		t.Errorf("mails %q, want %q (the account chosen given to mails)", kinds, want)
	}
	if notified.Load() != 2 {
		t.Errorf("OnMailQueued called %d times, want 2", notified.Load())
	}
	// A mails func that fails stores nothing.
	failing := newSeries(t, "Chess", a.ID, "2026-12-10", "19:00", 60, weekly(1))
	if err := db.Book(ctx, failing, func(*bookings.Series) ([]*rooms.Mail, error) { return nil, errors.New("no template") }); err == nil {
		t.Fatal("Book with failing mails succeeded")
	}
	if _, err := db.Series(ctx, failing.ID); !errors.Is(err, rooms.ErrSeriesNotFound) {
		t.Errorf("series stored despite its mails failing: %v", err)
	}
}

func TestSeriesListAndSettings(t *testing.T) {
	db, path := openTemp(t)
	ctx := context.Background()
	a, b := twoAccounts(t, db)
	late := newSeries(t, "Choir", a.ID, "2027-01-06", "19:00", 60, weekly(2))
	early := newSeries(t, "Chess", b.ID, "2026-12-02", "19:00", 60, weekly(2))
	mid := newSeries(t, "Choir", b.ID, "2026-12-10", "19:00", 60, weekly(2))
	book(t, db, late, early, mid)
	cancelSeries(t, db, mid.ID)
	ids := func(f bookings.Filter) []string {
		list, err := db.SeriesList(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, s := range list {
			out = append(out, s.ID)
		}
		return out
	}
	cases := []struct {
		f    bookings.Filter
		want []string
	}{
		{bookings.Filter{}, []string{early.ID, mid.ID, late.ID}},
		{bookings.Filter{AccountID: b.ID}, []string{early.ID, mid.ID}},
		{bookings.Filter{GroupID: late.GroupID}, []string{mid.ID, late.ID}},
		{bookings.Filter{GroupID: late.GroupID, States: []bookings.State{bookings.Requested}}, []string{late.ID}},
		{bookings.Filter{AccountID: b.ID, GroupID: late.GroupID}, []string{mid.ID}},
		{bookings.Filter{States: []bookings.State{bookings.Approved}}, nil},
	}
	for _, c := range cases {
		if got := ids(c.f); !slices.Equal(got, c.want) {
			t.Errorf("SeriesList(%+v) = %v, want %v", c.f, got, c.want)
		}
	}

	if st, err := db.BookingSettings(ctx); err != nil || st.AutoApprove || len(st.Coordinators) != 0 {
		t.Errorf("BookingSettings = %+v, %v; want zero", st, err)
	}
	st, err := db.UpdateBookingSettings(ctx, func(st *bookings.Settings) error {
		st.AutoApprove = true
		st.Coordinators = append(st.Coordinators, "g_Choir")
		return nil
	})
	if err != nil || !st.AutoApprove {
		t.Fatalf("UpdateBookingSettings = %+v, %v", st, err)
	}
	if _, err := db.UpdateBookingSettings(ctx, func(st *bookings.Settings) error { st.AutoApprove = false; return errors.New("no") }); err == nil {
		t.Error("failing fn accepted")
	}

	// Restart: everything is still there.
	tok := bookings.NewLinkToken()
	if _, err := db.UpdateSeries(ctx, early.ID, func(s *bookings.Series) ([]*rooms.Mail, error) {
		s.Approve(bookNow, bookings.Link{Token: tok, HostKeyHash: "$argon2id$x"})
		return nil, s.Cancel(1, "holiday")
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db2, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	if all, err := db2.Accounts(ctx); err != nil || len(all) != 2 || all[0].ID != a.ID {
		t.Errorf("accounts after restart: %+v, %v", all, err)
	}
	got, err := db2.SeriesByLink(ctx, tok)
	if err != nil || got.ID != early.ID || got.State != bookings.Approved || got.Links[0].HostKeyHash != "$argon2id$x" {
		t.Fatalf("series after restart: %+v, %v", got, err)
	}
	if o, ok := got.Occurrence(1); !ok || !o.Cancelled {
		t.Errorf("cancelled occurrence after restart: %+v", o)
	}
	if list, _ := db2.SeriesList(ctx, bookings.Filter{}); len(list) != 3 {
		t.Errorf("%d series after restart", len(list))
	}
	if st, _ := db2.BookingSettings(ctx); !st.AutoApprove || !slices.Equal(st.Coordinators, []string{"g_Choir"}) {
		t.Errorf("settings after restart: %+v", st)
	}
	if err := db2.Check(); err != nil {
		t.Error(err)
	}
}

// TestMigrateVersion5 opens a file as schema 5 left it, with a room: the
// booking buckets appear and work, the room is untouched.
func TestMigrateVersion5(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v5.db")
	bdb, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := `{"id":"r_aaaaaaaaaaaaaaaaaaaaaaaaaa","name":"Old","link":"bGlua2xpbmtsaW5rbGluaw","createdAt":"2026-01-01T00:00:00Z"}`
	err = bdb.Update(func(tx *bolt.Tx) error {
		if err := store.MigrateTo(tx, 5); err != nil {
			return err
		}
		if tx.Bucket([]byte("series")) != nil || tx.Bucket([]byte("accounts")) != nil {
			t.Error("schema 5 already has the booking buckets")
		}
		return errors.Join(tx.Bucket([]byte("rooms")).Put([]byte("r_aaaaaaaaaaaaaaaaaaaaaaaaaa"), []byte(rec)),
			tx.Bucket([]byte("rooms_by_link")).Put([]byte("bGlua2xpbmtsaW5rbGluaw"), []byte("r_aaaaaaaaaaaaaaaaaaaaaaaaaa")))
	})
	bdb.Close()
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	if v, err := db.SchemaVersion(); err != nil || v != 6 || store.CurrentVersion() != 6 {
		t.Errorf("SchemaVersion = %d, %v; want 6", v, err)
	}
	if r, err := db.RoomByLink(ctx, "bGlua2xpbmtsaW5rbGluaw"); err != nil || r.Name != "Old" {
		t.Errorf("old room: %+v, %v", r, err)
	}
	a, _ := twoAccounts(t, db)
	if err := db.Book(ctx, newSeries(t, "Choir", a.ID, "2026-12-02", "19:00", 60, weekly(2)), nil); err != nil {
		t.Errorf("Book after migration: %v", err)
	}
	if err := db.Check(); err != nil {
		t.Error(err)
	}
}

func TestBookRefusals(t *testing.T) {
	db, _ := openTemp(t)
	ctx := context.Background()
	s := newSeries(t, "Choir", "any", "2026-12-02", "19:00", 60, weekly(2))
	if err := db.Book(ctx, s, nil); !errors.Is(err, rooms.ErrAccountNotFound) {
		t.Errorf("Book any with no accounts = %v, want ErrAccountNotFound", err)
	}
	a, _ := twoAccounts(t, db)
	s.AccountID = "a_" + strings.Repeat("z", 26)
	if err := db.Book(ctx, s, nil); !errors.Is(err, rooms.ErrAccountNotFound) {
		t.Errorf("Book on an unknown account = %v, want ErrAccountNotFound", err)
	}
	s.AccountID = a.ID
	book(t, db, s)
	if err := db.Book(ctx, s, nil); err == nil || !strings.Contains(err.Error(), "stored already") {
		t.Errorf("Book twice = %v", err)
	}
	if err := db.Book(ctx, nil, nil); err == nil {
		t.Error("Book(nil) accepted")
	}
	if _, err := db.UpdateSeries(ctx, s.ID, func(s *bookings.Series) ([]*rooms.Mail, error) {
		s.ID = "b_other"
		return nil, nil
	}); err == nil {
		t.Error("UpdateSeries changing the ID accepted")
	}
}
