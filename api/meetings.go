package api

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/parley-dev/parley/bookings"
	"github.com/parley-dev/parley/clock"
	"github.com/parley-dev/parley/rooms"
)

// Meeting links (issue #14; docs/api.md, "Meeting links"): a booked
// meeting's link /m/{token} admits anyone who has it, as a member, to the
// call of the occurrence on (room ID = the series' ID) from 15 minutes
// before its start; before that its page says when the meeting opens and
// waits. A link admits to LinkEvery occurrences; after its last one it
// has expired (the leader was sent the next link). Tokens that match no
// link spend the client's allowance of misses, as room links do.

var (
	errMeetingLinkNotFound = &apiError{status: http.StatusNotFound, code: "link-not-found",
		msg: "this meeting link is not valid: check that you have the whole link, or ask the group leader for it"}
	errMeetingCancelled = &apiError{status: http.StatusGone, code: "meeting-cancelled",
		msg: "this meeting has been cancelled"}
)

// maxMeetingTokenLen bounds a token looked up (they are 22 characters).
const maxMeetingTokenLen = 64

// meetingRoutes adds the meeting-link routes, if bookings are configured.
func (s *Server) meetingRoutes(api func(method, path string, h handlerFunc)) {
	if s.cfg.Bookings.Store == nil {
		return
	}
	api("GET", "/api/v1/meetings/{token}", s.meetingInfo)
	api("POST", "/api/v1/meetings/{token}/join", s.meetingJoin)
}

// meetingClock is the clock of everything booking-related.
func (s *Server) meetingClock() clock.Clock {
	if c := s.cfg.Bookings.Clock; c != nil {
		return c
	}
	return clock.SystemClock{}
}

// OccurrenceTimes is one occurrence as a meeting link's page shows it:
// RFC 3339 with the zone's offset.
type OccurrenceTimes struct {
	Index    int    `json:"index"`
	Start    string `json:"start"`
	End      string `json:"end"`
	OpensAt  string `json:"opensAt"`
	ClosesAt string `json:"closesAt"`
}

func occurrenceTimes(o bookings.Occurrence) *OccurrenceTimes {
	return &OccurrenceTimes{Index: o.Index, Start: o.Start.Format(time.RFC3339), End: o.End.Format(time.RFC3339),
		OpensAt: o.Opens().Format(time.RFC3339), ClosesAt: o.Closes().Format(time.RFC3339)}
}

// MeetingInfo answers GET /api/v1/meetings/{token}.
type MeetingInfo struct {
	Title    string `json:"title"`
	Group    string `json:"group"`   // the group's name
	Account  string `json:"account"` // the meeting account's name
	TimeZone string `json:"timeZone"`
	// State is "open" (Occurrence admits people now) or "waiting" (it
	// opens at Occurrence.OpensAt).
	State      string           `json:"state"`
	Occurrence *OccurrenceTimes `json:"occurrence"`
	// Next is the occurrence after Occurrence, if this link admits to it.
	Next *OccurrenceTimes `json:"next"`
	Now  string           `json:"now"`
}

// meeting is a working meeting link, looked up.
type meeting struct {
	series      *bookings.Series
	occ         bookings.Occurrence // the current one, else the next this link admits to
	next        *bookings.Occurrence
	open        bool
	now         time.Time
	accountName string
}

// openMeeting finds the series with this link token and the occurrence
// it admits to now or next. A token that matches nothing spends the
// client's allowance of misses; a cancelled series is 410
// meeting-cancelled; a link whose occurrences are all over, 410
// link-expired.
func (s *Server) openMeeting(r *http.Request, token string) (*meeting, error) {
	miss := func() (*meeting, error) {
		if wait, ok := s.guesses.Failed(clientKey(r)); !ok {
			return nil, rateLimited(wait)
		}
		return nil, errMeetingLinkNotFound
	}
	if token == "" || len(token) > maxMeetingTokenLen {
		return miss()
	}
	bc := s.cfg.Bookings
	sr, err := bc.Store.SeriesByLink(r.Context(), token)
	if errors.Is(err, rooms.ErrSeriesNotFound) {
		return miss()
	}
	if err != nil {
		return nil, fmt.Errorf("look up meeting link: %w", err)
	}
	var link *bookings.Link
	for i := range sr.Links {
		if sr.Links[i].Token == token {
			link = &sr.Links[i]
		}
	}
	switch {
	case link == nil: // the store matched it otherwise: not this link
		return miss()
	case sr.State == bookings.Cancelled:
		return nil, errMeetingCancelled
	case sr.State != bookings.Approved:
		return nil, errMeetingLinkNotFound
	}
	all, err := sr.Occurrences()
	if err != nil {
		return nil, fmt.Errorf("meeting %s occurrences: %w", sr.ID, err)
	}
	first, last := sr.LinkIndexes(link)
	now := s.meetingClock().Now()
	m := &meeting{series: sr, now: now}
	found := false
	for _, o := range all {
		if o.Cancelled || o.Index < first || o.Index > last || !o.Closes().After(now) {
			continue
		}
		if !found {
			m.occ, found = o, true
			m.open = !now.Before(o.Opens())
			continue
		}
		n := o
		m.next = &n
		break
	}
	if !found {
		return nil, s.linkExpired(sr, last)
	}
	if a, err := bc.Store.Account(r.Context(), sr.AccountID); err == nil {
		m.accountName = a.Name
	} else if !errors.Is(err, rooms.ErrAccountNotFound) {
		return nil, fmt.Errorf("meeting %s account: %w", sr.ID, err)
	}
	return m, nil
}

// linkExpired is the 410 of a link after the last occurrence it admits
// to (last is its last index).
func (s *Server) linkExpired(sr *bookings.Series, last int) error {
	msg := "this meeting link has expired: its meetings are over"
	if next, ok := sr.Next(s.meetingClock().Now()); ok && next.Index > last {
		msg += ". The group leader has been sent a new link"
	}
	return &apiError{status: http.StatusGone, code: "link-expired", msg: msg}
}

func (s *Server) meetingView(m *meeting) MeetingInfo {
	info := MeetingInfo{Title: m.series.Title, Group: m.series.GroupName, Account: m.accountName,
		TimeZone: m.series.TimeZone, State: "waiting", Occurrence: occurrenceTimes(m.occ), Now: m.now.UTC().Format(time.RFC3339)}
	if m.open {
		info.State = "open"
	}
	if m.next != nil {
		info.Next = occurrenceTimes(*m.next)
	}
	return info
}

func (s *Server) meetingInfo(w http.ResponseWriter, r *http.Request) error {
	m, err := s.openMeeting(r, r.PathValue("token"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, s.meetingView(m))
}

// MeetingJoinRequest is the body of POST /api/v1/meetings/{token}/join.
type MeetingJoinRequest struct {
	Name string `json:"name"`
}

// MeetingNotOpenBody is the 403 of a join before the meeting opens: the
// error, with when it opens, and the meeting as GET shows it.
type MeetingNotOpenBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		OpensAt string `json:"opensAt"`
	} `json:"error"`
	Meeting MeetingInfo `json:"meeting"`
}

func (s *Server) meetingJoin(w http.ResponseWriter, r *http.Request) error {
	var req MeetingJoinRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	m, err := s.openMeeting(r, r.PathValue("token"))
	if err != nil {
		return err
	}
	name, err := joinerName(req.Name)
	if err != nil {
		return err
	}
	if !m.open {
		loc, err := m.series.Location()
		if err != nil {
			return fmt.Errorf("meeting %s zone: %w", m.series.ID, err)
		}
		var body MeetingNotOpenBody
		body.Error.Code = "meeting-not-open"
		body.Error.OpensAt = m.occ.Opens().Format(time.RFC3339)
		body.Error.Message = fmt.Sprintf("the meeting opens at %s on %s (%s): members may join up to %d minutes before the start",
			m.occ.Opens().In(loc).Format("15:04"), m.occ.Opens().In(loc).Format(bookings.DayLayout), bookings.ZoneName(loc),
			int(bookings.EarlyJoin/time.Minute))
		body.Meeting = s.meetingView(m)
		return writeJSON(w, http.StatusForbidden, body)
	}
	token, exp, err := s.cfg.Tokens.IssueJoin(m.series.ID, "member")
	if err != nil {
		return fmt.Errorf("issue join token: %w", err)
	}
	s.log.Info("member admitted by meeting link", "meeting", m.series.ID, "occurrence", m.occ.Index)
	return writeJSON(w, http.StatusOK, JoinResponse{
		Token: token, ExpiresAt: exp.UTC(), Room: RoomInfo{ID: m.series.ID, Name: m.series.Title}, WSPath: "/ws", Name: name,
	})
}
