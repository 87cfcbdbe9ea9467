package bookings

import (
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Field limits of a request.
const (
	MaxLeaderNameLen = 64
	MaxTitleLen      = 100
	MaxEmailLen      = 254
)

// NewSeries validates a booking request for the group and returns the
// series it asks for, in state Requested, or the fields that are wrong
// (FieldErrors, plain words, keyed by the request's JSON field names).
// It sets ID, TimeZone, Duration, LinkEvery, State and CreatedAt (now);
// AccountID is req.Account unless that is "any" or empty (then "": the
// store picks). Fields the frequency does not use are cleared (Nth of a
// weekly series; Count and Until of a one-off). The first occurrence must
// start after now; the first date may be at most MaxSpan after today and
// the last occurrence at most MaxSpan after the first date.
// Whether the account exists and the slots are free is the store's part.
func NewSeries(req Request, groupID, groupName string, lim Limits, now time.Time) (*Series, FieldErrors) {
	loc := lim.Location
	if loc == nil {
		l, err := time.LoadLocation(DefaultTimeZone)
		if err != nil {
			return nil, FieldErrors{"timeZone": "The server's time zone data is missing."}
		}
		loc = l
	}
	if now.IsZero() {
		now = lim.Now
	}
	maxDur := lim.MaxDuration
	if maxDur <= 0 {
		maxDur = DefaultMaxDuration
	}
	linkEvery := lim.LinkEvery
	if linkEvery == 0 {
		linkEvery = DefaultLinkEvery
	}
	linkEvery = min(max(linkEvery, MinLinkEvery), MaxLinkEvery)

	errs := FieldErrors{}
	s := &Series{
		ID:        NewID("b_"),
		GroupID:   groupID,
		GroupName: groupName,
		TimeZone:  loc.String(),
		State:     Requested,
		LinkEvery: linkEvery,
		CreatedAt: now,
	}
	s.LeaderName = checkLeaderName(req.LeaderName, errs)
	s.LeaderEmail = checkEmail(req.LeaderEmail, errs)
	s.AccountID = checkAccount(req.Account, errs)
	s.Title = checkTitle(req.Title, groupName, errs)

	s.FirstDate = strings.TrimSpace(req.FirstDate)
	first, err := ParseDate(s.FirstDate, loc)
	if err != nil {
		errs["firstDate"] = "Not a date: write it as YYYY-MM-DD, e.g. 2026-12-01."
	} else if today := midnight(now.In(loc)); first.Before(today) {
		errs["firstDate"] = fmt.Sprintf("That date is in the past: the earliest is today, %s.", today.Format(DateLayout))
	} else if first.Sub(today) > MaxSpan {
		errs["firstDate"] = fmt.Sprintf("That date is too far ahead: book at most %d days ahead.", int(MaxSpan/(24*time.Hour)))
	}
	s.StartTime = strings.TrimSpace(req.StartTime)
	if _, _, err := ParseClock(s.StartTime); err != nil {
		errs["startTime"] = "Not a time: write it as HH:MM on the 24-hour clock, e.g. 19:00."
	}
	switch d := req.DurationMinutes; {
	case d < 1:
		errs["durationMinutes"] = "Say how long the meeting lasts, in minutes (at least 1)."
	case time.Duration(d)*time.Minute > maxDur:
		errs["durationMinutes"] = fmt.Sprintf("A meeting may last at most %d minutes (%s).",
			int(maxDur/time.Minute), humanDuration(maxDur))
	default:
		s.Duration = time.Duration(d) * time.Minute
	}
	s.Recurrence = checkRecurrence(req.Recurrence, first, err == nil, errs)
	if len(errs) > 0 {
		return nil, errs
	}
	checkExpansion(s, first, now, errs)
	if len(errs) > 0 {
		return nil, errs
	}
	return s, nil
}

// checkExpansion expands a series whose fields are each valid and checks
// the whole: at least one occurrence, none past MaxSpan or
// MaxOccurrences, the first not yet started.
func checkExpansion(s *Series, first, now time.Time, errs FieldErrors) {
	endKey := "recurrence.count"
	if s.Recurrence.Until != "" {
		endKey = "recurrence.until"
	}
	if s.Recurrence.Frequency == Once {
		endKey = "firstDate"
	}
	starts, err := s.starts()
	switch {
	case err != nil:
		errs["recurrence"] = "This recurrence cannot be worked out: " + err.Error() + "."
		return
	case len(starts) == 0:
		errs[endKey] = "No meeting falls between the first date and the end date: choose a later end date or another day."
		return
	case len(starts) > MaxOccurrences:
		errs[endKey] = fmt.Sprintf("A series may have at most %d meetings.", MaxOccurrences)
		return
	}
	if s.Recurrence.Count > 0 && len(starts) < s.Recurrence.Count {
		errs[endKey] = fmt.Sprintf("Only %d of these meetings fall within %d days of the first date; ask for fewer.",
			len(starts), int(MaxSpan/(24*time.Hour)))
		return
	}
	if last := starts[len(starts)-1]; last.Sub(first) > MaxSpan {
		errs[endKey] = fmt.Sprintf("The last meeting may be at most %d days after the first date.", int(MaxSpan/(24*time.Hour)))
		return
	}
	if !starts[0].After(now) {
		errs["startTime"] = "That time has already passed today: choose a later time or another day."
	}
}

func checkLeaderName(name string, errs FieldErrors) string {
	name = strings.Join(strings.Fields(name), " ")
	n := utf8.RuneCountInString(name)
	switch {
	case n == 0:
		errs["leaderName"] = "Give the group leader's name."
		return name
	case n > MaxLeaderNameLen:
		errs["leaderName"] = fmt.Sprintf("The name is %d characters long; at most %d are allowed.", n, MaxLeaderNameLen)
		return name
	}
	prevLetter := false
	for _, r := range name {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			prevLetter = unicode.IsLetter(r)
		case unicode.Is(unicode.M, r) && prevLetter:
		case strings.ContainsRune(" -.'’", r):
			prevLetter = false
		default:
			errs["leaderName"] = fmt.Sprintf("The character %q is not allowed in a name (use letters, digits, spaces, hyphens, apostrophes and full stops).", r)
			return name
		}
	}
	return name
}

func checkEmail(addr string, errs FieldErrors) string {
	addr = strings.TrimSpace(addr)
	switch {
	case addr == "":
		errs["leaderEmail"] = "Give the group leader's e-mail address: the link and host key are sent to it."
		return addr
	case len(addr) > MaxEmailLen:
		errs["leaderEmail"] = fmt.Sprintf("An e-mail address has at most %d characters.", MaxEmailLen)
		return addr
	}
	a, err := mail.ParseAddress(addr)
	if err != nil || a.Name != "" || a.Address != addr || !strings.Contains(addr, "@") {
		errs["leaderEmail"] = "Not an e-mail address: write it as name@example.org, with nothing around it."
	}
	return addr
}

func checkAccount(id string, errs FieldErrors) string {
	id = strings.TrimSpace(id)
	switch {
	case id == "" || strings.EqualFold(id, AnyAccount):
		return ""
	case !ValidID("a_", id):
		errs["account"] = `Choose one of the meeting accounts, or "any".`
	}
	return id
}

func checkTitle(title, groupName string, errs FieldErrors) string {
	title = strings.Join(strings.Fields(title), " ")
	if title == "" {
		title = groupName
	}
	if n := utf8.RuneCountInString(title); n > MaxTitleLen {
		errs["title"] = fmt.Sprintf("The title is %d characters long; at most %d are allowed.", n, MaxTitleLen)
	}
	for _, r := range title {
		if !unicode.IsPrint(r) {
			errs["title"] = "The title may not hold control characters."
			break
		}
	}
	return title
}

// checkRecurrence validates and normalises r; first is the parsed first
// date when firstOK.
func checkRecurrence(r Recurrence, first time.Time, firstOK bool, errs FieldErrors) Recurrence {
	out := Recurrence{Frequency: Frequency(strings.ToLower(strings.TrimSpace(string(r.Frequency))))}
	switch out.Frequency {
	case Once, Weekly, Monthly, TwiceMonthly:
	case "":
		errs["recurrence.frequency"] = "Say how the meeting repeats: once, weekly, monthly or twice-monthly."
		return out
	default:
		errs["recurrence.frequency"] = fmt.Sprintf("%q is not a recurrence: say once, weekly, monthly or twice-monthly.", r.Frequency)
		return out
	}
	if strings.TrimSpace(r.Weekday) != "" {
		d, err := ParseWeekday(r.Weekday)
		if err != nil {
			errs["recurrence.weekday"] = "Not a day of the week: say monday, tuesday, … sunday."
		} else {
			out.Weekday = WeekdayName(d)
		}
	}
	switch out.Frequency {
	case Once:
		if r.Count > 1 {
			errs["recurrence.count"] = "A one-off meeting happens once: choose weekly or monthly to repeat it."
		}
		return out
	case Monthly:
		if len(r.Nth) != 1 || !validNth(r.Nth[0]) {
			errs["recurrence.nth"] = "Choose which week of the month: 1st, 2nd, 3rd, 4th, 5th or last."
		} else {
			out.Nth = []int{r.Nth[0]}
		}
	case TwiceMonthly:
		switch {
		case len(r.Nth) != 2 || !validNth(r.Nth[0]) || !validNth(r.Nth[1]):
			errs["recurrence.nth"] = "Choose two weeks of the month, e.g. the 1st and 3rd (1st to 5th, or last)."
		case r.Nth[0] == r.Nth[1]:
			errs["recurrence.nth"] = "Choose two different weeks of the month, e.g. the 1st and 3rd."
		default:
			out.Nth = slices.Clone(r.Nth)
			slices.SortFunc(out.Nth, func(a, b int) int { return nthOrder(a) - nthOrder(b) })
		}
	}
	until := strings.TrimSpace(r.Until)
	switch {
	case r.Count != 0 && until != "":
		errs["recurrence.until"] = "Give either the number of meetings or the end date, not both."
	case r.Count == 0 && until == "":
		errs["recurrence.count"] = "Say how many meetings there are, or the date of the last one."
	case r.Count < 0 || r.Count > MaxOccurrences:
		errs["recurrence.count"] = fmt.Sprintf("A series has from 1 to %d meetings.", MaxOccurrences)
	case r.Count > 0:
		out.Count = r.Count
	default:
		out.Until = until
		u, err := ParseDate(until, first.Location())
		switch {
		case err != nil:
			errs["recurrence.until"] = "Not a date: write it as YYYY-MM-DD, e.g. 2027-06-30."
		case !firstOK:
		case u.Before(first):
			errs["recurrence.until"] = "The end date is before the first date."
		case u.Sub(first) > MaxSpan:
			errs["recurrence.until"] = fmt.Sprintf("The end date may be at most %d days after the first date.", int(MaxSpan/(24*time.Hour)))
		}
	}
	return out
}

// nthOrder sorts weeks of the month with "last" (-1) after the 5th.
func nthOrder(n int) int {
	if n < 0 {
		return 6
	}
	return n
}

func midnight(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())
}

func humanDuration(d time.Duration) string {
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	switch {
	case m == 0 && h == 1:
		return "1 hour"
	case m == 0:
		return fmt.Sprintf("%d hours", h)
	case h == 0:
		return fmt.Sprintf("%d minutes", m)
	}
	return fmt.Sprintf("%d h %d min", h, m)
}
