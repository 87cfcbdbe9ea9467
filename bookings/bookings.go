// Package bookings is the domain of booked meetings (issue #14): an
// organisation's few shared meeting accounts, which group leaders book
// for their groups' one-off or recurring meetings, and the rules of the
// seed's coordinator — at least 30 minutes between any two bookings on
// one account (members join from 15 minutes before the start; a meeting
// has 15 minutes' grace at its end), a join link and a host key per
// series, the link refreshed after a set number of occurrences.
//
// Times are wall-clock in the deployment's time zone (default
// Europe/London) and stay right across DST changes; recurrences are
// expanded with github.com/teambition/rrule-go (RFC 5545). The package
// holds values and pure functions only: storage is behind
// rooms.BookingStore, delivery of the mails in package mail, the live
// call's join window in livecall/callrules.
package bookings

import (
	"fmt"
	"strings"
	"time"
)

// The seed's rules.
const (
	// EarlyJoin is how long before its start a meeting admits people.
	EarlyJoin = 15 * time.Minute
	// Grace is how long a meeting's call carries on after its end.
	Grace = 15 * time.Minute
	// Gap is the least time between the end of one booking and the start
	// of the next on one account: one's grace and the other's early join.
	Gap = EarlyJoin + Grace

	// DefaultMaxDuration caps a meeting's length unless configured.
	DefaultMaxDuration = 4 * time.Hour
	// A series' join link (and host key) is replaced after LinkEvery
	// occurrences, configurable from MinLinkEvery to MaxLinkEvery.
	DefaultLinkEvery = 8
	MinLinkEvery     = 6
	MaxLinkEvery     = 10
	// MaxOccurrences is the most occurrences one series may have, and
	// MaxSpan how far after its first date its last may be.
	MaxOccurrences = 120
	MaxSpan        = 2 * 366 * 24 * time.Hour
	// DefaultTimeZone is the deployment's zone unless configured.
	DefaultTimeZone = "Europe/London"
	// HostKeyDigits is the length of a host key (all decimal digits).
	HostKeyDigits = 8
)

// Account is a shared meeting account: it hosts one meeting at a time.
// The operator defines them (default: two).
type Account struct {
	// ID is "a_" and 26 lower-case base32 characters (128 random bits).
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"createdAt"`
}

// Frequency is how a series repeats.
type Frequency string

// The frequencies of the seed.
const (
	Once         Frequency = "once"          // a one-off meeting
	Weekly       Frequency = "weekly"        // every Wednesday
	Monthly      Frequency = "monthly"       // the 2nd Monday, or the last Friday
	TwiceMonthly Frequency = "twice-monthly" // the 1st and 3rd Tuesday
)

// Recurrence is how a series repeats and when it ends. It is also the
// JSON of a booking request's "recurrence".
type Recurrence struct {
	Frequency Frequency `json:"frequency"`
	// Weekday ("monday" … "sunday") of a repeating series; empty means
	// the first date's.
	Weekday string `json:"weekday,omitempty"`
	// Nth picks the weekdays of the month: Monthly has one (1 to 5, or -1
	// for the last), TwiceMonthly two different ones. Unused otherwise.
	Nth []int `json:"nth,omitempty"`
	// A repeating series ends after Count occurrences or on Until (a date
	// "YYYY-MM-DD" in the zone, inclusive): exactly one is given.
	Count int    `json:"count,omitempty"`
	Until string `json:"until,omitempty"`
}

// State is where a series is in its life.
type State string

// The states of a series. Requested and approved series hold their
// slots (Live); declined and cancelled ones hold none.
const (
	Requested State = "requested"
	Approved  State = "approved"
	Declined  State = "declined"
	Cancelled State = "cancelled"
)

// Live reports whether a series in this state holds its slots.
func (s State) Live() bool { return s == Requested || s == Approved }

// Request is a group leader's booking request: the JSON body of POST
// /api/v1/group/bookings (docs/api.md). NewSeries validates it.
type Request struct {
	LeaderName  string `json:"leaderName"`
	LeaderEmail string `json:"leaderEmail"`
	// Account is an Account's ID, or "any" (or empty): the first account
	// on which every occurrence fits.
	Account string `json:"account"`
	// Title names the meeting; empty means the group's name.
	Title string `json:"title,omitempty"`
	// FirstDate ("YYYY-MM-DD") is the day the series starts from: its
	// first occurrence is the first day on or after it that the
	// recurrence picks. StartTime ("HH:MM", 24-hour) is wall-clock.
	FirstDate       string     `json:"firstDate"`
	StartTime       string     `json:"startTime"`
	DurationMinutes int        `json:"durationMinutes"`
	Recurrence      Recurrence `json:"recurrence"`
}

// AnyAccount is Request.Account for "whichever account is free".
const AnyAccount = "any"

// Limits are the deployment's settings NewSeries applies.
type Limits struct {
	Location    *time.Location // the zone of wall-clock times; nil: Europe/London
	MaxDuration time.Duration  // 0: DefaultMaxDuration
	LinkEvery   int            // 0: DefaultLinkEvery
	Now         time.Time      // a first occurrence must not be in the past
}

// FieldErrors maps a Request's JSON field names ("leaderEmail",
// "recurrence.nth", …) to what is wrong with each, in plain words.
type FieldErrors map[string]string

// Series is one booking: a one-off meeting or a recurring series on one
// account. Series are values: a store hands out copies.
type Series struct {
	// ID is "b_" and 26 lower-case base32 characters; it is also the
	// live call's room ID (the call of whichever occurrence is on).
	ID          string `json:"id"`
	AccountID   string `json:"accountId"`
	GroupID     string `json:"groupId"`
	GroupName   string `json:"groupName"`
	Title       string `json:"title"`
	LeaderName  string `json:"leaderName"`
	LeaderEmail string `json:"leaderEmail"`

	FirstDate  string        `json:"firstDate"` // as requested, "YYYY-MM-DD"
	StartTime  string        `json:"startTime"` // "HH:MM", wall-clock in TimeZone
	Duration   time.Duration `json:"duration"`
	Recurrence Recurrence    `json:"recurrence"`
	TimeZone   string        `json:"timeZone"` // IANA name, e.g. "Europe/London"

	State State `json:"state"`
	// Reason is the coordinator's words when declining or cancelling.
	Reason string `json:"reason,omitempty"`
	// Exceptions are single occurrences cancelled or moved, by index.
	Exceptions []Exception `json:"exceptions,omitempty"`

	// LinkEvery is how many occurrences one link admits to; Links are
	// the series' links, oldest first (none until it is approved).
	LinkEvery int    `json:"linkEvery"`
	Links     []Link `json:"links,omitempty"`

	CreatedAt time.Time `json:"createdAt"`
	DecidedAt time.Time `json:"decidedAt,omitzero"` // approved or declined
}

// Exception changes one occurrence of a series, named by its Index in
// the recurrence's expansion (indexes never shift: a cancelled
// occurrence keeps its number).
type Exception struct {
	Index     int       `json:"index"`
	Cancelled bool      `json:"cancelled,omitempty"`
	Start     time.Time `json:"start,omitzero"` // a moved occurrence's new start
	Reason    string    `json:"reason,omitempty"`
}

// Link is one join link of a series and the host key that goes with it.
// Link k admits to occurrences First to First+LinkEvery-1.
type Link struct {
	First int `json:"first"`
	// Token is the secret part of the link's URL (/m/{token}): 128 random
	// bits, base64url without padding. Stored as it is (like a room link,
	// it is shown to the group again); the host key only as a hash.
	Token       string    `json:"token"`
	HostKeyHash string    `json:"hostKeyHash"` // auth.HashSecret of the key
	CreatedAt   time.Time `json:"createdAt"`
	// SentAt is when the mail bearing it was queued for the leader.
	SentAt time.Time `json:"sentAt,omitzero"`
}

// Occurrence is one meeting of a series, as expanded.
type Occurrence struct {
	SeriesID  string    `json:"seriesId"`
	Index     int       `json:"index"`
	Start     time.Time `json:"start"` // in the series' zone
	End       time.Time `json:"end"`
	Moved     bool      `json:"moved,omitempty"`
	Cancelled bool      `json:"cancelled,omitempty"`
}

// Opens is when the occurrence's call first admits people.
func (o Occurrence) Opens() time.Time { return o.Start.Add(-EarlyJoin) }

// Closes is when the occurrence's call is closed for everyone.
func (o Occurrence) Closes() time.Time { return o.End.Add(Grace) }

// Conflict is an occurrence of a requested (or moved) series that comes
// within Gap of an occurrence of another live series on the account.
type Conflict struct {
	Requested Occurrence `json:"requested"`
	With      Occurrence `json:"with"`
	WithGroup string     `json:"withGroup"` // the other series' group name
	AccountID string     `json:"accountId"`
}

// Alternative is a proposal that fits where a request did not: the same
// times on another account, or the nearest free start time on the same
// days on the requested account.
type Alternative struct {
	AccountID   string `json:"accountId"`
	AccountName string `json:"accountName"`
	FirstDate   string `json:"firstDate"`
	StartTime   string `json:"startTime"`
	Reason      string `json:"reason"` // plain words: "the same times on Meeting account 2"
}

// ConflictError is the error of a booking or a move refused by the gap
// rule: every conflicting occurrence, and alternatives that fit.
type ConflictError struct {
	Conflicts    []Conflict
	Alternatives []Alternative
}

func (e *ConflictError) Error() string {
	if len(e.Conflicts) == 0 {
		return "the booking conflicts with another"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d occurrence(s) come within %v of other bookings: ", len(e.Conflicts), Gap)
	for i, c := range e.Conflicts {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s (%s's meeting %s-%s)", c.Requested.Start.Format("Mon 2 Jan 2006 15:04"),
			c.WithGroup, c.With.Start.Format("15:04"), c.With.End.Format("15:04"))
	}
	return b.String()
}

// Settings are the coordinator's settings.
type Settings struct {
	// AutoApprove approves at once every request that fits.
	AutoApprove bool `json:"autoApprove"`
	// Coordinators are the groups (by ID) whose administrator has the
	// coordinator role, granted by the operator.
	Coordinators []string `json:"coordinators,omitempty"`
}

// Filter selects series: every field set must match.
type Filter struct {
	AccountID string
	GroupID   string
	States    []State // empty: any state
}
