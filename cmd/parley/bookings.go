package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // --time-zone works on hosts without a zoneinfo database

	"github.com/parley-dev/parley/api"
	"github.com/parley-dev/parley/bookings"
	"github.com/parley-dev/parley/bookings/office"
	"github.com/parley-dev/parley/clock"
	"github.com/parley-dev/parley/livecall/callrules"
)

// Booked meetings (issue #14): the flags of parley serve that configure
// them, and their start: the meeting accounts ensured, the API's
// BookingConfig, the link refresher. The account, coordinator and booking
// commands are in bookings_cli.go.

// BookingSettings are parley serve's settings of booked meetings.
type BookingSettings struct {
	// Accounts is how many meeting accounts exist at least: the server
	// creates "Meeting account 1", "… 2" at start until there are.
	Accounts int
	// Location is the zone of booked meetings' wall-clock times.
	Location *time.Location
	// MaxDuration caps a meeting's length.
	MaxDuration time.Duration
	// LinkEvery is how many occurrences one join link admits to (6 to 10).
	LinkEvery int
	// LinkLead is how long before the first occurrence that needs it a
	// new link is mailed to the group leader.
	LinkLead time.Duration
}

// Defaults of the booking flags.
const (
	defaultMeetingAccounts = 2
	defaultLinkLead        = 72 * time.Hour
)

// bookingFlags are the booking flags' raw values until parse.
type bookingFlags struct {
	accounts, zone, maxDuration, linkEvery, linkLead *string
}

// defineBookingFlags defines the booking flags through str (parseServeFlags'
// definer, which gives each its PARLEY_* environment twin).
func defineBookingFlags(str func(name, def, help string) *string) bookingFlags {
	return bookingFlags{
		accounts:    str("meeting-accounts", strconv.Itoa(defaultMeetingAccounts), "how many shared meeting accounts group leaders book (at least; parley account renames, adds and removes them)"),
		zone:        str("time-zone", bookings.DefaultTimeZone, "the time zone of booked meetings' times (an IANA name such as Europe/London)"),
		maxDuration: str("booking-max-duration", shortDuration(bookings.DefaultMaxDuration), "the longest a booked meeting may last (e.g. 4h, 90m)"),
		linkEvery:   str("booking-link-every", strconv.Itoa(bookings.DefaultLinkEvery), fmt.Sprintf("a booked series gets a new join link and host key after this many meetings (%d to %d)", bookings.MinLinkEvery, bookings.MaxLinkEvery)),
		linkLead:    str("booking-link-lead", shortDuration(defaultLinkLead), "how long before the first meeting that needs it a new link is emailed to the group leader (e.g. 72h)"),
	}
}

// shortDuration is d as a flag default reads best: "4h", not "4h0m0s".
func shortDuration(d time.Duration) string {
	return strings.TrimSuffix(strings.TrimSuffix(d.String(), "0s"), "0m")
}

// parse checks the booking flags' values, each with a plain error.
func (f bookingFlags) parse() (BookingSettings, error) {
	var b BookingSettings
	var err error
	if b.Accounts, err = strconv.Atoi(strings.TrimSpace(*f.accounts)); err != nil || b.Accounts < 1 {
		return b, fmt.Errorf("--meeting-accounts %q: want a whole number of at least 1", *f.accounts)
	}
	zone := strings.TrimSpace(*f.zone)
	if b.Location, err = time.LoadLocation(zone); err != nil || zone == "" || zone == "Local" {
		return b, fmt.Errorf("--time-zone %q: want a time zone name such as Europe/London or America/New_York", *f.zone)
	}
	if b.MaxDuration, err = time.ParseDuration(strings.TrimSpace(*f.maxDuration)); err != nil || b.MaxDuration < 15*time.Minute || b.MaxDuration > 24*time.Hour {
		return b, fmt.Errorf("--booking-max-duration %q: want a duration from 15m to 24h, such as 4h or 90m", *f.maxDuration)
	}
	if b.LinkEvery, err = strconv.Atoi(strings.TrimSpace(*f.linkEvery)); err != nil || b.LinkEvery < bookings.MinLinkEvery || b.LinkEvery > bookings.MaxLinkEvery {
		return b, fmt.Errorf("--booking-link-every %q: want a whole number from %d to %d (meetings per join link)", *f.linkEvery, bookings.MinLinkEvery, bookings.MaxLinkEvery)
	}
	if b.LinkLead, err = time.ParseDuration(strings.TrimSpace(*f.linkLead)); err != nil || b.LinkLead < time.Hour || b.LinkLead > 30*24*time.Hour {
		return b, fmt.Errorf("--booking-link-lead %q: want a duration from 1h to 720h, such as 72h", *f.linkLead)
	}
	return b, nil
}

// meetingClock is the clock of everything booking-related: the live
// calls' (Config.Signaling.Clock), so a test's fake clock drives it all.
func (m *Main) meetingClock() clock.Clock {
	if c := m.cfg.Signaling.Clock; c != nil {
		return c
	}
	return clock.SystemClock{}
}

// bookingConfig ensures the meeting accounts exist and returns the API's
// booking settings; zero settings are the defaults.
func (m *Main) bookingConfig(ctx context.Context) (api.BookingConfig, error) {
	b := m.cfg.Bookings
	if b.Accounts <= 0 {
		b.Accounts = defaultMeetingAccounts
	}
	if b.Location == nil {
		loc, err := time.LoadLocation(bookings.DefaultTimeZone)
		if err != nil {
			return api.BookingConfig{}, fmt.Errorf("time zone %s: %w", bookings.DefaultTimeZone, err)
		}
		b.Location = loc
	}
	if b.LinkLead <= 0 {
		b.LinkLead = defaultLinkLead
	}
	as, err := m.db.EnsureAccounts(ctx, b.Accounts, m.meetingClock().Now())
	if err != nil {
		return api.BookingConfig{}, fmt.Errorf("meeting accounts: %w", err)
	}
	m.log.Info("booked meetings", "accounts", len(as), "time_zone", b.Location.String(), "link_every", b.LinkEvery, "link_lead", b.LinkLead)
	return api.BookingConfig{Store: m.db, Location: b.Location, MaxDuration: b.MaxDuration, LinkEvery: b.LinkEvery,
		LinkLead: b.LinkLead, Clock: m.meetingClock(), OnChanged: m.meetingChanged}, nil
}

// meetingChanged tells the running call of s, if any, that the
// coordinator changed its series (callrules.ScheduleChanged): the call of
// a meeting cancelled ends, of one moved follows it.
func (m *Main) meetingChanged(s *bookings.Series) {
	occs, err := s.Occurrences()
	if err != nil {
		m.log.Warn("booked meeting changed: its occurrences", "series", s.ID, "err", err)
		return
	}
	if m.sig != nil {
		m.sig.NotifyCall(s.ID, callrules.ScheduleChanged{Occurrences: occs, Live: s.State == bookings.Approved})
	}
}

// startRefresher starts mailing refreshed links (bookings/office) on the
// meeting clock; Close stops it.
func (m *Main) startRefresher(bc api.BookingConfig) {
	o := office.New(office.Config{Store: bc.Store, PublicURL: m.url, LinkLead: bc.LinkLead, Clock: bc.Clock,
		Logger: m.log.With("component", "bookings")})
	m.refresher = o.StartRefresher()
}
