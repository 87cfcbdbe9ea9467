package office

import (
	"fmt"
	"strings"

	"github.com/parley-dev/parley/bookings"
	"github.com/parley-dev/parley/rooms"
)

// The mails to the group leader (rooms.Mail kinds). Plain text, in the
// words of the seed: the group leader, the host key, "join up to 15
// minutes before the start". Times are wall-clock in the series' zone,
// named ("UK time" for Europe/London).
const (
	KindRequested           = "booking-requested"
	KindConfirmed           = "booking-confirmed"
	KindDeclined            = "booking-declined"
	KindCancelled           = "booking-cancelled"
	KindOccurrenceCancelled = "occurrence-cancelled"
	KindOccurrenceMoved     = "occurrence-moved"
	KindLink                = "booking-link"
)

// maxListed is how many meetings a mail lists before "and N more".
const maxListed = 12

// zoneOf names s's zone.
func zoneOf(s *bookings.Series) string {
	loc, err := s.Location()
	if err != nil {
		return s.TimeZone
	}
	return bookings.ZoneName(loc)
}

// When is an occurrence's day and times: "Tue 1 Dec 2026, 19:00-20:30"
// (the end's day too when it is another).
func When(o bookings.Occurrence) string {
	start, end := o.Start, o.End.In(o.Start.Location())
	if y, m, d := start.Date(); end.Year() != y || end.Month() != m || end.Day() != d {
		return start.Format("Mon 2 Jan 2006, 15:04") + " to " + end.Format("Mon 2 Jan 2006, 15:04")
	}
	return start.Format("Mon 2 Jan 2006, 15:04") + "-" + end.Format("15:04")
}

// day is an occurrence's day: "Tue 1 Dec 2026".
func day(o bookings.Occurrence) string { return o.Start.Format("Mon 2 Jan 2006") }

// linkOccurrences are the occurrences, not cancelled, that the link
// starting at first admits to.
func linkOccurrences(s *bookings.Series, first int) []bookings.Occurrence {
	occs, err := s.Occurrences()
	if err != nil {
		return nil
	}
	var out []bookings.Occurrence
	for _, o := range occs {
		if o.Index >= first && o.Index < first+s.LinkEvery && !o.Cancelled {
			out = append(out, o)
		}
	}
	return out
}

// upcoming are s's occurrences, not cancelled, from index from on.
func upcoming(s *bookings.Series, from int) []bookings.Occurrence {
	occs, err := s.Occurrences()
	if err != nil {
		return nil
	}
	var out []bookings.Occurrence
	for _, o := range occs {
		if o.Index >= from && !o.Cancelled {
			out = append(out, o)
		}
	}
	return out
}

// list writes occs one a line, indented, at most maxListed of them.
func list(b *strings.Builder, occs []bookings.Occurrence) {
	for i, o := range occs {
		if i == maxListed {
			fmt.Fprintf(b, "  … and %d more, the last on %s\n", len(occs)-maxListed, day(occs[len(occs)-1]))
			break
		}
		fmt.Fprintf(b, "  %s\n", When(o))
	}
}

// header is the greeting and what the booking is.
func header(b *strings.Builder, s *bookings.Series, account string) {
	fmt.Fprintf(b, "Hello %s,\n\n", s.LeaderName)
	what := s.Title
	if what != s.GroupName {
		what += " (" + s.GroupName + ")"
	}
	fmt.Fprintf(b, "this is about the booking of %s", what)
	if account != "" {
		fmt.Fprintf(b, " on %s", account)
	}
	fmt.Fprintf(b, ":\n%s.\n\n", s.Summary())
}

const joinRules = `The meetings are set up without a host or a waiting room: members may
join up to 15 minutes before the start, and the meeting closes 15 minutes
after its end, for everyone. There is a 30-minute gap between all bookings
on an account, so please keep to these times.
`

const hostKeyRules = `The host key makes whoever enters it the host of the meeting: in the
meeting, choose "Claim host" and enter the key. The host can mute and
remove participants, lock the meeting and end it for everyone. Don't share
the host key unless someone else is running your meeting. If you are not
hosting, make sure everyone has left at the end, before you leave yourself.
`

// linkPart is the link, the host key, the meetings they admit to and,
// when more follow, when the next link comes.
func (o *Office) linkPart(b *strings.Builder, s *bookings.Series, lk bookings.Link, key string) {
	fmt.Fprintf(b, "The link to the meetings (share it with your group's members):\n\n  %s\n\n", o.LinkURL(lk.Token))
	fmt.Fprintf(b, "Your host key (for you alone):\n\n  %s\n\n", key)
	occs := linkOccurrences(s, lk.First)
	fmt.Fprintf(b, "This link and host key are for these meetings (%s):\n\n", zoneOf(s))
	list(b, occs)
	b.WriteString("\n")
	if next := upcoming(s, lk.First+s.LinkEvery); len(next) > 0 && len(occs) > 0 {
		fmt.Fprintf(b, "The link stops admitting people after the meeting on %s.\nYou will be sent a new link and host key a few days before the meeting\non %s.\n\n",
			day(occs[len(occs)-1]), day(next[0]))
	}
	b.WriteString(joinRules + "\n" + hostKeyRules)
}

func (o *Office) mail(kind string, s *bookings.Series, subject string, b *strings.Builder) (*rooms.Mail, error) {
	m, err := rooms.NewMail(kind, s.LeaderEmail, subject, b.String(), o.Now())
	if err != nil {
		return nil, fmt.Errorf("%s mail: %w", kind, err)
	}
	return m, nil
}

func (o *Office) requestedMail(s *bookings.Series, account string) (*rooms.Mail, error) {
	var b strings.Builder
	header(&b, s, account)
	fmt.Fprintf(&b, "We have your request. The meetings (%s):\n\n", zoneOf(s))
	list(&b, upcoming(s, 0))
	b.WriteString(`
The coordinator will confirm or decline it, and you will be emailed either
way. Once it is confirmed you will receive the link to the meetings and the
host key.
`)
	return o.mail(KindRequested, s, "Booking requested: "+s.Title, &b)
}

func (o *Office) confirmedMail(s *bookings.Series, account, key string) (*rooms.Mail, error) {
	var b strings.Builder
	header(&b, s, account)
	b.WriteString("The booking is confirmed.\n\n")
	o.linkPart(&b, s, s.Links[len(s.Links)-1], key)
	return o.mail(KindConfirmed, s, "Booking confirmed: "+s.Title, &b)
}

func (o *Office) linkMail(s *bookings.Series, lk bookings.Link, key string) (*rooms.Mail, error) {
	var b strings.Builder
	header(&b, s, "")
	occs := linkOccurrences(s, lk.First)
	from := ""
	if len(occs) > 0 {
		from = day(occs[0])
		fmt.Fprintf(&b, "Here is a new link and host key for the meetings from %s on.\n", from)
		if old := linkOccurrences(s, lk.First-s.LinkEvery); len(old) > 0 {
			fmt.Fprintf(&b, "The link you have admits people up to the meeting on %s, and\nnot after.\n", day(old[len(old)-1]))
		}
		b.WriteString("\n")
	}
	o.linkPart(&b, s, lk, key)
	subject := "New meeting link: " + s.Title
	if from != "" {
		subject += ", from " + from
	}
	return o.mail(KindLink, s, subject, &b)
}

func (o *Office) declinedMail(s *bookings.Series) (*rooms.Mail, error) {
	var b strings.Builder
	header(&b, s, "")
	b.WriteString("The coordinator has declined the request")
	reasonLine(&b, s.Reason)
	b.WriteString("\nIts times are free again. To book other times, use the Bookings section\nof your group's page.\n")
	return o.mail(KindDeclined, s, "Booking declined: "+s.Title, &b)
}

func (o *Office) cancelledMail(s *bookings.Series, byGroup bool) (*rooms.Mail, error) {
	var b strings.Builder
	header(&b, s, "")
	if byGroup {
		b.WriteString("Your group has withdrawn the booking")
	} else {
		b.WriteString("The coordinator has cancelled the booking")
	}
	reasonLine(&b, s.Reason)
	b.WriteString("\nNone of its meetings will take place, and its link no longer admits\nanyone.\n")
	return o.mail(KindCancelled, s, "Booking cancelled: "+s.Title, &b)
}

func (o *Office) occurrenceCancelledMail(s *bookings.Series, occ bookings.Occurrence, reason string) (*rooms.Mail, error) {
	var b strings.Builder
	header(&b, s, "")
	fmt.Fprintf(&b, "The coordinator has cancelled the meeting on %s (%s)", When(occ), zoneOf(s))
	reasonLine(&b, reason)
	b.WriteString("\nThe other meetings of the booking are as before, with the same link and\nhost key.\n")
	return o.mail(KindOccurrenceCancelled, s, "Meeting cancelled: "+s.Title+", "+day(occ), &b)
}

func (o *Office) movedMail(s *bookings.Series, old, moved bookings.Occurrence) (*rooms.Mail, error) {
	var b strings.Builder
	header(&b, s, "")
	fmt.Fprintf(&b, "The coordinator has moved the meeting of %s to:\n\n  %s (%s)\n\n", When(old), When(moved), zoneOf(s))
	b.WriteString("Members may join up to 15 minutes before the new start. The link and\nthe host key stay the same; the other meetings are as before.\n")
	return o.mail(KindOccurrenceMoved, s, "Meeting moved: "+s.Title+", "+day(old), &b)
}

// reasonLine ends a sentence with the reason, if there is one.
func reasonLine(b *strings.Builder, reason string) {
	if reason == "" {
		b.WriteString(".\n")
		return
	}
	fmt.Fprintf(b, ", saying:\n\n  %s\n", reason)
}
