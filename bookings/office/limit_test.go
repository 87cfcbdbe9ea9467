package office

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/parley-dev/parley/bookings"
)

// A group's bookings to come are capped (MaxPerGroup): past the cap a
// request is refused with ErrTooManyBookings and nothing is stored or
// mailed; withdrawing one makes room again; another group is unaffected.
func TestBookingsPerGroupCapped(t *testing.T) {
	o, db, _ := newOffice(t)
	o.cfg.MaxPerGroup = 2
	book := func(group string, day int) error {
		req := bookings.Request{LeaderName: "Ada Lovelace", LeaderEmail: "ada@example.org", Account: "any",
			FirstDate: fmt.Sprintf("2026-12-%02d", day), StartTime: "19:00", DurationMinutes: 60,
			Recurrence: bookings.Recurrence{Frequency: bookings.Once}}
		s, fe := bookings.NewSeries(req, group, group, bookings.Limits{}, o.Now())
		if fe != nil {
			t.Fatal(fe)
		}
		return o.Book(context.Background(), s)
	}
	for day := 2; day <= 3; day++ {
		if err := book("g_choir", day); err != nil {
			t.Fatal(err)
		}
	}
	mails, _ := db.MailsTo(context.Background(), "ada@example.org")
	if err := book("g_choir", 4); !errors.Is(err, ErrTooManyBookings) {
		t.Fatalf("a third booking: %v, want ErrTooManyBookings", err)
	}
	if after, _ := db.MailsTo(context.Background(), "ada@example.org"); len(after) != len(mails) {
		t.Errorf("the refused booking mailed the leader (%d mails, %d before)", len(after), len(mails))
	}
	if err := book("g_band", 4); err != nil {
		t.Errorf("another group's booking: %v", err)
	}
	ss, err := db.SeriesList(context.Background(), bookings.Filter{GroupID: "g_choir"})
	if err != nil || len(ss) != 2 {
		t.Fatalf("the choir's bookings: %d, %v", len(ss), err)
	}
	if _, err := o.Cancel(context.Background(), ss[0].ID, "", "g_choir"); err != nil {
		t.Fatal(err)
	}
	if err := book("g_choir", 5); err != nil {
		t.Errorf("after withdrawing one: %v", err)
	}
}
