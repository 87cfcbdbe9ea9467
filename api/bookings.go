package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/parley-dev/parley/bookings"
	"github.com/parley-dev/parley/bookings/office"
	"github.com/parley-dev/parley/clock"
	"github.com/parley-dev/parley/rooms"
)

// Booked meetings (issue #14; docs/api.md, "Bookings"): group users book
// their group's meetings on the shared meeting accounts here; the
// coordinator's routes are in coordinator.go. Every change goes through
// package bookings/office, which writes the leader's mail in the change's
// own transaction.

// bookingState is what the booking routes keep beside their config.
type bookingState struct {
	// set at construction
	cfg    BookingConfig // defaults filled in
	office *office.Office
}

// initBookings sets up the booking routes' state if bookings are
// configured.
func (s *Server) initBookings() {
	bc := s.cfg.Bookings
	if bc.Store == nil {
		return
	}
	if bc.Location == nil {
		bc.Location = defaultLocation()
	}
	if bc.MaxDuration <= 0 {
		bc.MaxDuration = bookings.DefaultMaxDuration
	}
	if bc.LinkEvery == 0 {
		bc.LinkEvery = bookings.DefaultLinkEvery
	}
	if bc.Clock == nil {
		bc.Clock = clock.SystemClock{}
	}
	oc := office.Config{Store: bc.Store, PublicURL: s.cfg.PublicURL, LinkLead: bc.LinkLead, Clock: bc.Clock, Logger: s.log.With("part", "bookings"),
		OnChanged: bc.OnChanged}
	if s.grp != nil { // host keys hashed under the same cap as passwords
		oc.Hash = s.grp.cfg.Verifier.Hash
	}
	s.bk = &bookingState{cfg: bc, office: office.New(oc)}
}

// defaultLocation is bookings.DefaultTimeZone, or UTC on a host without
// zone data (cmd/parley embeds it with time/tzdata).
func defaultLocation() *time.Location {
	loc, err := time.LoadLocation(bookings.DefaultTimeZone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// bookingRoutes registers the group users' booking routes and the
// coordinator's (see routes).
func (s *Server) bookingRoutes(api func(method, path string, h handlerFunc)) {
	if s.bk == nil {
		return
	}
	post := api
	if s.grp != nil { // cookie sessions: state-changing routes behind the cross-origin check
		post = func(method, path string, h handlerFunc) { api(method, path, s.sameOrigin(h)) }
		api("GET", "/api/v1/group/bookings", s.asGroupUser(s.listGroupBookings))
		post("POST", "/api/v1/group/bookings/check", s.asGroupUser(s.checkGroupBooking))
		post("POST", "/api/v1/group/bookings", s.asGroupUser(s.createGroupBooking))
		post("POST", "/api/v1/group/bookings/{id}/cancel", s.asGroupUser(s.cancelGroupBooking))
	}
	s.coordinatorRoutes(api, post)
}

// NamedRef is an account's or a group's ID and name.
type NamedRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// OccurrenceView is one meeting of a series. State is "scheduled",
// "cancelled", "moved" or "past" (its call has closed).
type OccurrenceView struct {
	Index    int       `json:"index"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	OpensAt  time.Time `json:"opensAt"`
	ClosesAt time.Time `json:"closesAt"`
	State    string    `json:"state"`
}

// SeriesView is a series as every bookings endpoint shows it. Times are
// RFC 3339 with the series' zone's offset. Link is the join link of the
// next meeting (the last link once all are over), only while approved.
type SeriesView struct {
	ID              string              `json:"id"`
	State           bookings.State      `json:"state"`
	Title           string              `json:"title"`
	Group           NamedRef            `json:"group"`
	Leader          Contact             `json:"leader"`
	Account         NamedRef            `json:"account"`
	FirstDate       string              `json:"firstDate"`
	StartTime       string              `json:"startTime"`
	DurationMinutes int                 `json:"durationMinutes"`
	TimeZone        string              `json:"timeZone"`
	Recurrence      bookings.Recurrence `json:"recurrence"`
	Summary         string              `json:"summary"`
	Occurrences     []OccurrenceView    `json:"occurrences"`
	Link            string              `json:"link,omitempty"`
	Reason          string              `json:"reason"`
	CreatedAt       time.Time           `json:"createdAt"`
}

// occurrenceViews are occs as of now.
func occurrenceViews(occs []bookings.Occurrence, now time.Time) []OccurrenceView {
	out := make([]OccurrenceView, 0, len(occs))
	for _, o := range occs {
		state := "scheduled"
		switch {
		case o.Cancelled:
			state = "cancelled"
		case !o.Closes().After(now):
			state = "past"
		case o.Moved:
			state = "moved"
		}
		out = append(out, OccurrenceView{Index: o.Index, Start: o.Start, End: o.End, OpensAt: o.Opens(), ClosesAt: o.Closes(), State: state})
	}
	return out
}

// ViewSeries is s as the API shows it at now: accounts names the meeting
// accounts by ID, and links are publicURL + "/m/" + token. The command
// line builds the same view from the database.
func ViewSeries(s *bookings.Series, accounts map[string]string, publicURL string, now time.Time) SeriesView {
	v := SeriesView{
		ID: s.ID, State: s.State, Title: s.Title,
		Group:     NamedRef{ID: s.GroupID, Name: s.GroupName},
		Leader:    Contact{Name: s.LeaderName, Email: s.LeaderEmail},
		Account:   NamedRef{ID: s.AccountID, Name: accounts[s.AccountID]},
		FirstDate: s.FirstDate, StartTime: s.StartTime, DurationMinutes: int(s.Duration / time.Minute),
		TimeZone: s.TimeZone, Recurrence: s.Recurrence, Summary: s.Summary(),
		Reason: s.Reason, CreatedAt: s.CreatedAt.UTC(),
	}
	occs, _ := s.Occurrences() // a stored series expands: NewSeries checked it
	v.Occurrences = occurrenceViews(occs, now)
	if s.State == bookings.Approved && len(s.Links) > 0 {
		lk := &s.Links[len(s.Links)-1]
		if next, ok := s.Next(now); ok {
			if l, ok := s.LinkFor(next.Index); ok {
				lk = l
			}
		}
		v.Link = strings.TrimRight(publicURL, "/") + "/m/" + lk.Token
	}
	return v
}

// accountNames maps the meeting accounts' IDs to their names.
func (s *Server) accountNames(ctx context.Context) ([]*bookings.Account, map[string]string, error) {
	as, err := s.bk.cfg.Store.Accounts(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("meeting accounts: %w", err)
	}
	names := make(map[string]string, len(as))
	for _, a := range as {
		names[a.ID] = a.Name
	}
	return as, names, nil
}

func accountRefs(as []*bookings.Account) []NamedRef {
	out := make([]NamedRef, 0, len(as))
	for _, a := range as {
		out = append(out, NamedRef{ID: a.ID, Name: a.Name})
	}
	return out
}

// seriesViews are ss as the API shows them now.
func (s *Server) seriesViews(ctx context.Context, ss []*bookings.Series) ([]SeriesView, []*bookings.Account, error) {
	as, names, err := s.accountNames(ctx)
	if err != nil {
		return nil, nil, err
	}
	now := s.bk.office.Now()
	out := make([]SeriesView, 0, len(ss))
	for _, x := range ss {
		out = append(out, ViewSeries(x, names, s.cfg.PublicURL, now))
	}
	return out, as, nil
}

// writeSeries answers with {"booking": SeriesView}.
func (s *Server) writeSeries(w http.ResponseWriter, r *http.Request, status int, x *bookings.Series) error {
	vs, _, err := s.seriesViews(r.Context(), []*bookings.Series{x})
	if err != nil {
		return err
	}
	return writeJSON(w, status, map[string]SeriesView{"booking": vs[0]})
}

// GroupBookingsResponse answers GET /api/v1/group/bookings.
type GroupBookingsResponse struct {
	Bookings           []SeriesView `json:"bookings"`
	Accounts           []NamedRef   `json:"accounts"`
	TimeZone           string       `json:"timeZone"`
	MaxDurationMinutes int          `json:"maxDurationMinutes"`
	// CalendarURL is the group's iCalendar feed (calendar.go); "" when
	// feeds are off.
	CalendarURL string `json:"calendarUrl"`
}

func (s *Server) listGroupBookings(w http.ResponseWriter, r *http.Request, g *rooms.Group) error {
	ss, err := s.bk.cfg.Store.SeriesList(r.Context(), bookings.Filter{GroupID: g.ID})
	if err != nil {
		return fmt.Errorf("list group bookings: %w", err)
	}
	vs, as, err := s.seriesViews(r.Context(), ss)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, GroupBookingsResponse{Bookings: vs, Accounts: accountRefs(as),
		TimeZone: s.bk.cfg.Location.String(), MaxDurationMinutes: int(s.bk.cfg.MaxDuration / time.Minute),
		CalendarURL: s.calendarURL("group", g.ID)})
}

// newSeries reads a booking request and validates it for g: 422 with
// the fields to correct, an unknown account among them.
func (s *Server) newSeries(w http.ResponseWriter, r *http.Request, g *rooms.Group) (*bookings.Series, error) {
	var req bookings.Request
	if err := readJSON(w, r, &req); err != nil {
		return nil, err
	}
	bc := s.bk.cfg
	now := s.bk.office.Now()
	lim := bookings.Limits{Location: bc.Location, MaxDuration: bc.MaxDuration, LinkEvery: bc.LinkEvery, Now: now}
	x, fe := bookings.NewSeries(req, g.ID, g.Name, lim, now)
	if x != nil && x.AccountID != "" {
		if _, err := bc.Store.Account(r.Context(), x.AccountID); errors.Is(err, rooms.ErrAccountNotFound) {
			fe = bookings.FieldErrors{"account": `There is no such meeting account: choose one of the list, or "any".`}
		} else if err != nil {
			return nil, fmt.Errorf("booking's account: %w", err)
		}
	}
	if len(fe) > 0 {
		return nil, invalid(rooms.FieldErrors(fe))
	}
	return x, nil
}

// CheckResponse answers POST /api/v1/group/bookings/check: the request
// fits, on that account, with these meetings.
type CheckResponse struct {
	Occurrences []OccurrenceView `json:"occurrences"`
	Summary     string           `json:"summary"`
	Account     NamedRef         `json:"account"`
}

func (s *Server) checkGroupBooking(w http.ResponseWriter, r *http.Request, g *rooms.Group) error {
	x, err := s.newSeries(w, r, g)
	if err != nil {
		return err
	}
	ctx := r.Context()
	st := s.bk.cfg.Store
	as, names, err := s.accountNames(ctx)
	if err != nil {
		return err
	}
	others, err := st.SeriesList(ctx, bookings.Filter{States: []bookings.State{bookings.Requested, bookings.Approved}})
	if err != nil {
		return fmt.Errorf("check booking: %w", err)
	}
	ce := &bookings.ConflictError{}
	if x.AccountID != "" {
		if ce.Conflicts, err = bookings.Conflicts(x, others); err != nil {
			return fmt.Errorf("check booking: %w", err)
		}
	} else { // "any": the first account it fits on, else the conflicts on each
		if len(as) == 0 {
			return errNoAccounts
		}
		free, err := bookings.FirstFree(x, as, others)
		if err != nil {
			return fmt.Errorf("check booking: %w", err)
		}
		if free != nil {
			x.AccountID = free.ID
		}
		for _, a := range as {
			if free != nil {
				break
			}
			c := *x
			c.AccountID = a.ID
			cs, err := bookings.Conflicts(&c, others)
			if err != nil {
				return fmt.Errorf("check booking: %w", err)
			}
			ce.Conflicts = append(ce.Conflicts, cs...)
		}
	}
	if len(ce.Conflicts) > 0 {
		if ce.Alternatives, err = bookings.Alternatives(x, as, others); err != nil {
			return fmt.Errorf("check booking: %w", err)
		}
		return s.conflict(w, r, ce)
	}
	occs, err := x.Occurrences()
	if err != nil {
		return fmt.Errorf("check booking: %w", err)
	}
	return writeJSON(w, http.StatusOK, CheckResponse{Occurrences: occurrenceViews(occs, s.bk.office.Now()), Summary: x.Summary(),
		Account: NamedRef{ID: x.AccountID, Name: names[x.AccountID]}})
}

var errNoAccounts = &apiError{status: http.StatusConflict, code: "no-accounts", msg: "there are no meeting accounts to book: ask the operator to create one"}

func (s *Server) createGroupBooking(w http.ResponseWriter, r *http.Request, g *rooms.Group) error {
	x, err := s.newSeries(w, r, g)
	if err != nil {
		return err
	}
	if err := s.bk.office.Book(r.Context(), x); err != nil {
		if x.AccountID == "" && errors.Is(err, rooms.ErrAccountNotFound) {
			return errNoAccounts // "any", and there are none
		}
		return s.bookingError(w, r, err)
	}
	return s.writeSeries(w, r, http.StatusCreated, x)
}

func (s *Server) cancelGroupBooking(w http.ResponseWriter, r *http.Request, g *rooms.Group) error {
	var req ReasonRequest
	if err := readOptionalJSON(w, r, &req); err != nil {
		return err
	}
	reason, err := office.CheckReason(req.Reason)
	if err != nil {
		return invalidField("reason", err.Error())
	}
	x, err := s.bk.office.Cancel(r.Context(), r.PathValue("id"), reason, g.ID)
	if err != nil {
		return s.bookingError(w, r, err)
	}
	return s.writeSeries(w, r, http.StatusOK, x)
}

// ReasonRequest is the optional body of the routes that decline or
// cancel: the words the leader is mailed.
type ReasonRequest struct {
	Reason string `json:"reason"`
}

// readOptionalJSON is readJSON for a body that may be left out.
func readOptionalJSON(w http.ResponseWriter, r *http.Request, v any) error {
	if r.ContentLength == 0 {
		return nil
	}
	return readJSON(w, r, v)
}

// ConflictView is one conflicting occurrence in a 409 booking-conflict.
type ConflictView struct {
	Index   int       `json:"index"`
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
	Account NamedRef  `json:"account"`
	With    struct {
		Group string    `json:"group"`
		Start time.Time `json:"start"`
		End   time.Time `json:"end"`
	} `json:"with"`
}

// AlternativeView is a proposal in a 409 booking-conflict.
type AlternativeView struct {
	Account   NamedRef `json:"account"`
	FirstDate string   `json:"firstDate"`
	StartTime string   `json:"startTime"`
	Reason    string   `json:"reason"`
}

// ConflictBody is the body of a 409 booking-conflict (docs/api.md): the
// API's error object (ErrorBody), and beside it each conflict and the
// alternatives that fit.
type ConflictBody struct {
	ErrorBody
	Conflicts    []ConflictView    `json:"conflicts"`
	Alternatives []AlternativeView `json:"alternatives"`
}

// conflict answers 409 booking-conflict for ce.
func (s *Server) conflict(w http.ResponseWriter, r *http.Request, ce *bookings.ConflictError) error {
	_, names, err := s.accountNames(r.Context())
	if err != nil {
		return err
	}
	body := ConflictBody{Conflicts: []ConflictView{}, Alternatives: []AlternativeView{}}
	body.Error.Code, body.Error.Message = "booking-conflict", ConflictMessage(ce)
	for _, c := range ce.Conflicts {
		v := ConflictView{Index: c.Requested.Index, Start: c.Requested.Start, End: c.Requested.End,
			Account: NamedRef{ID: c.AccountID, Name: names[c.AccountID]}}
		v.With.Group, v.With.Start, v.With.End = c.WithGroup, c.With.Start, c.With.End
		body.Conflicts = append(body.Conflicts, v)
	}
	for _, a := range ce.Alternatives {
		name := a.AccountName
		if name == "" {
			name = names[a.AccountID]
		}
		body.Alternatives = append(body.Alternatives, AlternativeView{Account: NamedRef{ID: a.AccountID, Name: name},
			FirstDate: a.FirstDate, StartTime: a.StartTime, Reason: a.Reason})
	}
	return writeJSON(w, http.StatusConflict, body)
}

// ConflictMessage names each conflicting occurrence in plain words, and the
// alternatives (the 409 booking-conflict's message; the offline CLI's too).
func ConflictMessage(ce *bookings.ConflictError) string {
	if len(ce.Conflicts) == 0 {
		return "the booking conflicts with another"
	}
	var b strings.Builder
	b.WriteString("Each booking on an account needs 30 minutes clear of the others (15 minutes to join early, 15 of grace at the end). ")
	if len(ce.Conflicts) == 1 {
		b.WriteString("This meeting is too close to another: ")
	} else {
		fmt.Fprintf(&b, "These %d meetings are too close to others: ", len(ce.Conflicts))
	}
	for i, c := range ce.Conflicts {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s (%s's meeting %s)", office.When(c.Requested), c.WithGroup, office.When(c.With))
	}
	b.WriteString(".")
	if len(ce.Alternatives) > 0 {
		b.WriteString(" These would fit: ")
		for i, a := range ce.Alternatives {
			if i > 0 {
				b.WriteString("; ")
			}
			b.WriteString(a.Reason)
		}
		b.WriteString(".")
	}
	return b.String()
}

// bookingError answers a change's error: a conflict as 409
// booking-conflict (written here), the rest mapped to their statuses.
func (s *Server) bookingError(w http.ResponseWriter, r *http.Request, err error) error {
	var ce *bookings.ConflictError
	var change *office.ChangeError
	var state *office.StateError
	switch {
	case errors.As(err, &ce):
		return s.conflict(w, r, ce)
	case errors.Is(err, rooms.ErrSeriesNotFound):
		return errBookingNotFound
	case errors.Is(err, rooms.ErrAccountNotFound):
		return &apiError{status: http.StatusNotFound, code: "account-not-found", msg: "there is no meeting account with that ID"}
	case errors.As(err, &state) && state.Err == office.ErrNotRequested:
		return &apiError{status: http.StatusConflict, code: "not-requested", msg: state.Error()}
	case errors.As(err, &state):
		return &apiError{status: http.StatusConflict, code: "not-live", msg: state.Error()}
	case errors.As(err, &change):
		return &apiError{status: http.StatusConflict, code: "cannot-change", msg: change.Error()}
	case errors.Is(err, office.ErrTooManyBookings):
		return &apiError{status: http.StatusConflict, code: "too-many-bookings", msg: err.Error()}
	}
	return err
}

var errBookingNotFound = &apiError{status: http.StatusNotFound, code: "booking-not-found", msg: "no booking has that ID"}
