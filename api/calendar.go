package api

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	ics "github.com/arran4/golang-ical"

	"github.com/parley-dev/parley/auth"
	"github.com/parley-dev/parley/bookings"
	"github.com/parley-dev/parley/rooms"
)

// The iCalendar feeds of the bookings (RFC 5545; docs/api.md, "Bookings
// table and calendar feeds"), one per meeting account and one per group,
// for calendar apps to subscribe to. Their URLs hold a feed key, an HMAC
// of the feed's kind and ID under the server's signing key: no cookie is
// needed, and a URL cannot be guessed from another's. Each live series is
// one VEVENT with its RRULE; cancelled occurrences are EXDATEs, moved
// ones RECURRENCE-ID overrides; times are local with their VTIMEZONE.

// feedsOn reports whether the feeds are served: bookings are configured
// and there is a signing key to make feed keys with.
func (s *Server) feedsOn() bool {
	return s.cfg.Bookings.Store != nil && len(s.cfg.Guests.Key) > 0
}

// feedKey is the key in the URL of the feed of kind ("account" or
// "group") id: base64url(HMAC-SHA256(signing key, "cal:"+kind+":"+id)).
func (s *Server) feedKey(kind, id string) string {
	mac := hmac.New(sha256.New, s.cfg.Guests.Key)
	mac.Write([]byte("cal:" + kind + ":" + id))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// calendarURL is the absolute URL of the iCalendar feed of kind
// ("account" or "group") id, or "" when feeds are off.
func (s *Server) calendarURL(kind, id string) string {
	if !s.feedsOn() {
		return ""
	}
	return s.absURL("/cal/" + kind + "/" + url.PathEscape(id) + "/" + s.feedKey(kind, id) + ".ics")
}

// feedCacheControl lets calendar apps (and proxies between) keep a feed
// for five minutes, no more: the table is meant to be current.
const feedCacheControl = "max-age=300"

func (t *bookingTable) feedRoutes() {
	if !t.s.feedsOn() {
		return
	}
	t.s.mux.HandleFunc("GET /cal/account/{id}/{file}", t.serveFeed("account"))
	t.s.mux.HandleFunc("GET /cal/group/{id}/{file}", t.serveFeed("group"))
}

var errFeedNotFound = errors.New("no such calendar")

// serveFeed serves the feeds of kind: a wrong key, like an unknown
// account, is a plain 404.
func (t *bookingTable) serveFeed(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		key, ok := strings.CutSuffix(r.PathValue("file"), ".ics")
		want := t.s.feedKey(kind, id)
		if !ok || subtle.ConstantTimeCompare([]byte(key), []byte(want)) != 1 {
			http.Error(w, "No such calendar: check that you have the whole address.", http.StatusNotFound)
			return
		}
		cal, err := t.feed(r.Context(), kind, id)
		if errors.Is(err, errFeedNotFound) {
			http.Error(w, "No such calendar: its meeting account was removed.", http.StatusNotFound)
			return
		}
		if err != nil {
			ref := auth.RandomToken(6)
			t.s.log.Error("calendar feed", "kind", kind, "id", id, "ref", ref, "err", err)
			http.Error(w, "The calendar could not be made (ref "+ref+"). Please try again later.", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
		w.Header().Set("Cache-Control", feedCacheControl)
		w.Header().Set("Content-Disposition", `inline; filename="bookings.ics"`)
		if err := writeCalendar(w, cal); err != nil {
			t.s.log.Debug("write calendar feed", "err", err)
		}
	}
}

// feed builds the calendar of kind id.
func (t *bookingTable) feed(ctx context.Context, kind, id string) (*ics.Calendar, error) {
	f := bookings.Filter{States: liveStates}
	var name string
	switch kind {
	case "account":
		a, err := t.store.Account(ctx, id)
		if errors.Is(err, rooms.ErrAccountNotFound) {
			return nil, errFeedNotFound
		}
		if err != nil {
			return nil, fmt.Errorf("feed's account: %w", err)
		}
		f.AccountID, name = id, a.Name+" bookings"
	default:
		f.GroupID, name = id, "Group bookings"
		if t.s.grp != nil {
			if g, err := t.s.grp.cfg.Store.Group(ctx, id); err == nil {
				name = g.Name + " bookings"
			}
		}
	}
	series, err := t.store.SeriesList(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("feed's series: %w", err)
	}
	accounts, err := t.store.Accounts(ctx)
	if err != nil {
		return nil, fmt.Errorf("feed's accounts: %w", err)
	}
	accountName := map[string]string{}
	for _, a := range accounts {
		accountName[a.ID] = a.Name
	}
	return t.calendar(name, series, accountName)
}

// calendar is the iCalendar object of series.
func (t *bookingTable) calendar(name string, series []*bookings.Series, accountName map[string]string) (*ics.Calendar, error) {
	cal := ics.NewCalendarFor("Parley")
	cal.SetProductId("-//Parley//Bookings//EN")
	cal.SetCalscale("GREGORIAN")
	cal.SetMethod(ics.MethodPublish)
	cal.SetName(name)
	cal.SetXWRCalName(name)
	cal.SetXWRTimezone(t.loc.String())
	cal.SetRefreshInterval("PT1H")
	cal.SetXPublishedTTL("PT1H")

	now := t.clock.Now().UTC()
	zones := map[string]*zoneSpan{} // the zones the events use, with the years they span
	var events []*ics.VEvent
	for _, sr := range series {
		evs, span, err := t.seriesEvents(sr, accountName[sr.AccountID], now)
		if err != nil {
			return nil, fmt.Errorf("series %s: %w", sr.ID, err)
		}
		if span == nil {
			continue
		}
		if z := zones[span.loc.String()]; z != nil {
			z.first, z.last = min(z.first, span.first), max(z.last, span.last)
		} else {
			zones[span.loc.String()] = span
		}
		events = append(events, evs...)
	}
	if _, ok := zones[t.loc.String()]; !ok {
		y := t.clock.Now().In(t.loc).Year()
		zones[t.loc.String()] = &zoneSpan{loc: t.loc, first: y, last: y}
	}
	for _, z := range zones {
		cal.AddVTimezone(vtimezone(z.loc, z.first-1, z.last+1))
	}
	for _, ev := range events {
		cal.AddVEvent(ev)
	}
	return cal, nil
}

// writeCalendar writes cal with RFC 5545's CRLF line breaks (the
// library's default is a bare LF) and lines folded at 75 octets.
func writeCalendar(w io.Writer, cal *ics.Calendar) error {
	return cal.SerializeTo(w, ics.WithNewLine("\r\n"))
}

// zoneSpan is a zone and the years of the events that use it.
type zoneSpan struct {
	loc         *time.Location
	first, last int
}

// icalLocal is the form of a local DATE-TIME (with TZID), icalUTC of a
// UTC one.
const (
	icalLocal = "20060102T150405"
	icalUTC   = "20060102T150405Z"
)

// seriesEvents is the VEVENT of a series (with its RRULE and EXDATEs) and
// one for each moved occurrence (RECURRENCE-ID), and the span of years
// they cover; no events (nil span) when a one-off meeting is cancelled.
func (t *bookingTable) seriesEvents(sr *bookings.Series, account string, now time.Time) ([]*ics.VEvent, *zoneSpan, error) {
	loc, err := sr.Location()
	if err != nil {
		return nil, nil, err
	}
	occs, err := sr.Occurrences()
	if err != nil {
		return nil, nil, err
	}
	orig, err := originalStarts(sr)
	if err != nil {
		return nil, nil, err
	}
	if len(occs) == 0 || len(orig) == 0 {
		return nil, nil, nil
	}
	// The rule's own first and last occurrences, before moves.
	first, last := orig[0], orig[0]
	for _, st := range orig {
		first, last = minTime(first, st), maxTime(last, st)
	}
	span := &zoneSpan{loc: loc, first: first.In(loc).Year(), last: last.In(loc).Year()}
	tz := loc.String()
	uid := sr.ID + "@" + t.uidHost()
	once := sr.Recurrence.Frequency == bookings.Once || sr.Recurrence.Frequency == ""

	var overrides []*ics.VEvent
	var exdates []time.Time
	for _, o := range occs {
		span.first, span.last = min(span.first, o.Start.In(loc).Year()), max(span.last, o.Start.In(loc).Year())
		switch {
		case o.Cancelled:
			if once {
				return nil, nil, nil // a one-off meeting cancelled: nothing to show
			}
			exdates = append(exdates, orig[o.Index])
		case o.Moved && !once:
			ev := t.event(uid, sr, account, o, orig[o.Index], loc, now)
			ev.SetProperty(ics.ComponentPropertyRecurrenceId, orig[o.Index].In(loc).Format(icalLocal), ics.WithTZID(tz))
			overrides = append(overrides, ev)
		}
	}
	// The series' VEVENT: its first occurrence as the rule places it.
	base, movedFrom := bookings.Occurrence{SeriesID: sr.ID, Index: 0, Start: first, End: first.Add(sr.Duration)}, time.Time{}
	if once {
		base = occs[0] // a one-off meeting, at its new time if moved
		if base.Moved {
			movedFrom = orig[0]
		}
	}
	ev := t.event(uid, sr, account, base, movedFrom, loc, now)
	if !once {
		rule, err := recurrenceRule(sr.Recurrence, first.In(loc), last.In(loc))
		if err != nil {
			return nil, nil, err
		}
		ev.AddRrule(rule)
		for _, x := range exdates {
			ev.AddExdate(x.In(loc).Format(icalLocal), ics.WithTZID(tz))
		}
	}
	return append([]*ics.VEvent{ev}, overrides...), span, nil
}

// event is the VEVENT of occurrence o of sr: the series' own, or a moved
// occurrence's override (movedFrom its start before the move).
func (t *bookingTable) event(uid string, sr *bookings.Series, account string, o bookings.Occurrence, movedFrom time.Time, loc *time.Location, now time.Time) *ics.VEvent {
	tz := loc.String()
	ev := ics.NewEvent(uid)
	ev.SetDtStampTime(now)
	if !sr.CreatedAt.IsZero() {
		ev.SetCreatedTime(sr.CreatedAt)
	}
	ev.SetProperty(ics.ComponentPropertyDtStart, o.Start.In(loc).Format(icalLocal), ics.WithTZID(tz))
	ev.SetProperty(ics.ComponentPropertyDtEnd, o.End.In(loc).Format(icalLocal), ics.WithTZID(tz))
	summary := sr.GroupName
	if sr.Title != "" && sr.Title != sr.GroupName {
		summary += ": " + sr.Title
	}
	ev.SetSummary(summary)
	if account != "" {
		ev.SetLocation(account)
	}
	ev.SetDescription(eventDescription(sr, account, o, movedFrom, loc))
	if sr.State == bookings.Requested {
		ev.SetStatus(ics.ObjectStatusTentative)
	} else {
		ev.SetStatus(ics.ObjectStatusConfirmed)
	}
	ev.SetTimeTransparency(ics.TransparencyOpaque)
	return ev
}

// eventDescription says when members may join and when the call closes.
func eventDescription(sr *bookings.Series, account string, o bookings.Occurrence, movedFrom time.Time, loc *time.Location) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Members may join up to 15 minutes before the start: the meeting opens at %s and closes at %s (%s), 15 minutes after its end.",
		o.Opens().In(loc).Format("15:04"), o.Closes().In(loc).Format("15:04"), bookings.ZoneName(loc))
	if !movedFrom.IsZero() {
		b.WriteString("\nMoved by the coordinator from " + movedFrom.In(loc).Format("Mon 2 Jan 2006 15:04") + ".")
	} else if summary := sr.Summary(); summary != "" {
		b.WriteString("\n" + summary + ".")
	}
	if account != "" {
		b.WriteString("\nMeeting account: " + account + ".")
	}
	if sr.State == bookings.Requested {
		b.WriteString("\nPending: the coordinator has not yet approved this booking.")
	}
	b.WriteString("\nThe group leader has the link and the host key.")
	return b.String()
}

// uidHost is the domain part of the events' UIDs: the public URL's host.
func (t *bookingTable) uidHost() string {
	if u, err := url.Parse(t.s.cfg.PublicURL); err == nil && u.Hostname() != "" {
		return u.Hostname()
	}
	return "parley"
}

var icalDays = [...]string{"SU", "MO", "TU", "WE", "TH", "FR", "SA"}

// recurrenceRule is the RRULE of a repeating series whose rule places
// its first occurrence at first and its last at last (both local): its
// end as UNTIL, the end of last's day in UTC, which states the series'
// last date plainly (and with a COUNT-ended series, keeps an EXDATE from
// being counted twice by clients that get that wrong).
func recurrenceRule(rec bookings.Recurrence, first, last time.Time) (string, error) {
	day := icalDays[first.Weekday()]
	var rule string
	switch rec.Frequency {
	case bookings.Weekly:
		rule = "FREQ=WEEKLY;BYDAY=" + day
	case bookings.Monthly:
		if len(rec.Nth) != 1 {
			return "", fmt.Errorf("a monthly series has %d weekdays of the month, not 1", len(rec.Nth))
		}
		rule = "FREQ=MONTHLY;BYDAY=" + strconv.Itoa(rec.Nth[0]) + day
	case bookings.TwiceMonthly:
		if len(rec.Nth) != 2 {
			return "", fmt.Errorf("a twice-monthly series has %d weekdays of the month, not 2", len(rec.Nth))
		}
		rule = "FREQ=MONTHLY;BYDAY=" + strconv.Itoa(rec.Nth[0]) + day + "," + strconv.Itoa(rec.Nth[1]) + day
	default:
		return "", fmt.Errorf("no RRULE for frequency %q", rec.Frequency)
	}
	y, m, d := last.Date()
	until := time.Date(y, m, d, 23, 59, 59, 0, last.Location())
	return rule + ";UNTIL=" + until.UTC().Format(icalUTC), nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
