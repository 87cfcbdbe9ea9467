package api

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/parley-dev/parley/bookings"
	"github.com/parley-dev/parley/bookings/office"
	"github.com/parley-dev/parley/rooms"
)

// The coordinator's routes (docs/api.md, "Bookings"): the operator (with
// the operator token) or the administrator of a group the operator made
// a coordinator (with the administrator's session) approves, declines,
// cancels and moves bookings. The operator's own routes for meeting
// accounts and the coordinator role are here too.

// coordinatorHandler runs for a coordinator; g is the coordinator's
// group, nil for the operator.
type coordinatorHandler func(w http.ResponseWriter, r *http.Request, g *rooms.Group) error

var errCoordinatorOnly = &apiError{status: http.StatusForbidden, code: "not-coordinator",
	msg: "only the coordinator may do this: ask the operator to make your group's administrator a coordinator"}

// asCoordinator runs h with the operator's bearer token, or with the
// session of an administrator whose group is among the coordinators.
func (s *Server) asCoordinator(h coordinatorHandler) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") || s.grp == nil {
			return s.operator(func(w http.ResponseWriter, r *http.Request) error { return h(w, r, nil) })(w, r)
		}
		g, err := s.adminSession(r)
		if err != nil {
			return err
		}
		st, err := s.bk.cfg.Store.BookingSettings(r.Context())
		if err != nil {
			return fmt.Errorf("booking settings: %w", err)
		}
		if !slices.Contains(st.Coordinators, g.ID) {
			return errCoordinatorOnly
		}
		return h(w, r, g)
	}
}

func (s *Server) coordinatorRoutes(api, post func(method, path string, h handlerFunc)) {
	c := s.asCoordinator
	api("GET", "/api/v1/coordinator/me", c(s.coordinatorMe))
	api("GET", "/api/v1/coordinator/bookings", c(s.coordinatorList))
	api("GET", "/api/v1/coordinator/bookings/{id}", c(s.coordinatorGet))
	post("POST", "/api/v1/coordinator/bookings/{id}/approve", c(s.coordinatorApprove))
	post("POST", "/api/v1/coordinator/bookings/{id}/decline", c(s.coordinatorDecline))
	post("POST", "/api/v1/coordinator/bookings/{id}/cancel", c(s.coordinatorCancel))
	post("POST", "/api/v1/coordinator/bookings/{id}/occurrences/{index}/cancel", c(s.coordinatorCancelOccurrence))
	post("POST", "/api/v1/coordinator/bookings/{id}/occurrences/{index}/move", c(s.coordinatorMove))
	post("PUT", "/api/v1/coordinator/settings", c(s.coordinatorSettings))

	api("GET", "/api/v1/accounts", s.operator(s.opListAccounts))
	api("POST", "/api/v1/accounts", s.operator(s.opCreateAccount))
	api("PUT", "/api/v1/accounts/{id}", s.operator(s.opRenameAccount))
	api("DELETE", "/api/v1/accounts/{id}", s.operator(s.opDeleteAccount))
	if s.grp != nil {
		api("GET", "/api/v1/coordinators", s.operator(s.opListCoordinators))
		api("PUT", "/api/v1/coordinators/{group}", s.operator(s.opSetCoordinator(true)))
		api("DELETE", "/api/v1/coordinators/{group}", s.operator(s.opSetCoordinator(false)))
	}
}

// CoordinatorMe answers GET /api/v1/coordinator/me.
type CoordinatorMe struct {
	Name  string `json:"name"`
	Group string `json:"group,omitempty"` // the coordinator's group; none for the operator
}

func (s *Server) coordinatorMe(w http.ResponseWriter, r *http.Request, g *rooms.Group) error {
	if g == nil {
		return writeJSON(w, http.StatusOK, CoordinatorMe{Name: "the operator"})
	}
	return writeJSON(w, http.StatusOK, CoordinatorMe{Name: g.AdminName, Group: g.Name})
}

// CoordinatorBookings answers GET /api/v1/coordinator/bookings.
type CoordinatorBookings struct {
	Bookings []SeriesView `json:"bookings"`
	Settings struct {
		AutoApprove bool `json:"autoApprove"`
	} `json:"settings"`
	Accounts []NamedRef `json:"accounts"`
}

// ParseState reads a series state, as ?state= and --state give it.
func ParseState(v string) (bookings.State, bool) {
	st := bookings.State(strings.ToLower(strings.TrimSpace(v)))
	switch st {
	case bookings.Requested, bookings.Approved, bookings.Declined, bookings.Cancelled:
		return st, true
	}
	return "", false
}

func (s *Server) coordinatorList(w http.ResponseWriter, r *http.Request, _ *rooms.Group) error {
	var f bookings.Filter
	if v := r.URL.Query().Get("state"); v != "" {
		st, ok := ParseState(v)
		if !ok {
			return badRequest(fmt.Sprintf("state %q is none of requested, approved, declined and cancelled", v))
		}
		f.States = []bookings.State{st}
	}
	ctx := r.Context()
	ss, err := s.bk.cfg.Store.SeriesList(ctx, f)
	if err != nil {
		return fmt.Errorf("list bookings: %w", err)
	}
	set, err := s.bk.cfg.Store.BookingSettings(ctx)
	if err != nil {
		return fmt.Errorf("booking settings: %w", err)
	}
	var out CoordinatorBookings
	var as []*bookings.Account
	if out.Bookings, as, err = s.seriesViews(ctx, ss); err != nil {
		return err
	}
	out.Settings.AutoApprove, out.Accounts = set.AutoApprove, accountRefs(as)
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) coordinatorGet(w http.ResponseWriter, r *http.Request, _ *rooms.Group) error {
	x, err := s.bk.cfg.Store.Series(r.Context(), r.PathValue("id"))
	if err != nil {
		return s.bookingError(w, r, err)
	}
	return s.writeSeries(w, r, http.StatusOK, x)
}

// changed answers a change with the series, or its error.
func (s *Server) changed(w http.ResponseWriter, r *http.Request, x *bookings.Series, err error) error {
	if err != nil {
		return s.bookingError(w, r, err)
	}
	return s.writeSeries(w, r, http.StatusOK, x)
}

func (s *Server) coordinatorApprove(w http.ResponseWriter, r *http.Request, _ *rooms.Group) error {
	x, err := s.bk.office.Approve(r.Context(), r.PathValue("id"))
	return s.changed(w, r, x, err)
}

// reason reads the optional {"reason"} body: 422 when it is too long.
func reason(w http.ResponseWriter, r *http.Request) (string, error) {
	var req ReasonRequest
	if err := readOptionalJSON(w, r, &req); err != nil {
		return "", err
	}
	words, err := office.CheckReason(req.Reason)
	if err != nil {
		return "", invalidField("reason", err.Error())
	}
	return words, nil
}

func (s *Server) coordinatorDecline(w http.ResponseWriter, r *http.Request, _ *rooms.Group) error {
	words, err := reason(w, r)
	if err != nil {
		return err
	}
	x, err := s.bk.office.Decline(r.Context(), r.PathValue("id"), words)
	return s.changed(w, r, x, err)
}

func (s *Server) coordinatorCancel(w http.ResponseWriter, r *http.Request, _ *rooms.Group) error {
	words, err := reason(w, r)
	if err != nil {
		return err
	}
	x, err := s.bk.office.Cancel(r.Context(), r.PathValue("id"), words, "")
	return s.changed(w, r, x, err)
}

// occurrenceIndex reads {index}: 404 when it is not a number.
func occurrenceIndex(r *http.Request) (int, error) {
	i, err := strconv.Atoi(r.PathValue("index"))
	if err != nil || i < 0 {
		return 0, &apiError{status: http.StatusNotFound, code: "occurrence-not-found", msg: "meetings are numbered from 0, as the booking's occurrences list them"}
	}
	return i, nil
}

func (s *Server) coordinatorCancelOccurrence(w http.ResponseWriter, r *http.Request, _ *rooms.Group) error {
	index, err := occurrenceIndex(r)
	if err != nil {
		return err
	}
	words, err := reason(w, r)
	if err != nil {
		return err
	}
	x, err := s.bk.office.CancelOccurrence(r.Context(), r.PathValue("id"), index, words)
	return s.changed(w, r, x, err)
}

// MoveRequest is the body of POST …/occurrences/{index}/move: the new
// day and start time, in the series' zone.
type MoveRequest struct {
	Date      string `json:"date"`
	StartTime string `json:"startTime"`
}

func (s *Server) coordinatorMove(w http.ResponseWriter, r *http.Request, _ *rooms.Group) error {
	index, err := occurrenceIndex(r)
	if err != nil {
		return err
	}
	var req MoveRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	fe := rooms.FieldErrors{}
	if _, err := bookings.ParseDate(strings.TrimSpace(req.Date), s.bk.cfg.Location); err != nil {
		fe["date"] = "Not a date: write it as YYYY-MM-DD, e.g. 2026-12-01."
	}
	if _, _, err := bookings.ParseClock(strings.TrimSpace(req.StartTime)); err != nil {
		fe["startTime"] = "Not a time: write it as HH:MM on the 24-hour clock, e.g. 19:00."
	}
	if len(fe) > 0 {
		return invalid(fe)
	}
	x, err := s.bk.office.MoveOccurrence(r.Context(), r.PathValue("id"), index, strings.TrimSpace(req.Date), strings.TrimSpace(req.StartTime))
	return s.changed(w, r, x, err)
}

// SettingsRequest is the body of PUT /api/v1/coordinator/settings.
type SettingsRequest struct {
	AutoApprove *bool `json:"autoApprove"`
}

func (s *Server) coordinatorSettings(w http.ResponseWriter, r *http.Request, _ *rooms.Group) error {
	var req SettingsRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	if req.AutoApprove == nil {
		return invalidField("autoApprove", "Say true (approve every request that fits at once) or false.")
	}
	st, err := s.bk.office.SetAutoApprove(r.Context(), *req.AutoApprove)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]map[string]bool{"settings": {"autoApprove": st.AutoApprove}})
}

// AccountView is a meeting account as the operator's routes show it.
type AccountView struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// AccountRequest is the body of POST /api/v1/accounts and PUT
// /api/v1/accounts/{id}.
type AccountRequest struct {
	Name string `json:"name"`
}

func (s *Server) opListAccounts(w http.ResponseWriter, r *http.Request) error {
	as, _, err := s.accountNames(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string][]NamedRef{"accounts": accountRefs(as)})
}

// accountError maps the account routes' errors.
func accountError(err error) error {
	switch {
	case errors.Is(err, office.ErrInvalidAccountName):
		return invalidField("name", strings.TrimPrefix(err.Error(), office.ErrInvalidAccountName.Error()+": "))
	case errors.Is(err, rooms.ErrAccountExists):
		return &apiError{status: http.StatusConflict, code: "account-exists", msg: "another meeting account has that name"}
	case errors.Is(err, rooms.ErrAccountInUse):
		return &apiError{status: http.StatusConflict, code: "account-in-use", msg: "bookings that are requested or approved use the account: cancel or decline them first"}
	case errors.Is(err, rooms.ErrAccountNotFound):
		return &apiError{status: http.StatusNotFound, code: "account-not-found", msg: "there is no meeting account with that ID"}
	}
	return err
}

func (s *Server) opCreateAccount(w http.ResponseWriter, r *http.Request) error {
	var req AccountRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	a, err := s.bk.office.CreateAccount(r.Context(), req.Name)
	if err != nil {
		return accountError(err)
	}
	return writeJSON(w, http.StatusCreated, NamedRef{ID: a.ID, Name: a.Name})
}

func (s *Server) opRenameAccount(w http.ResponseWriter, r *http.Request) error {
	var req AccountRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	a, err := s.bk.office.RenameAccount(r.Context(), r.PathValue("id"), req.Name)
	if err != nil {
		return accountError(err)
	}
	return writeJSON(w, http.StatusOK, NamedRef{ID: a.ID, Name: a.Name})
}

func (s *Server) opDeleteAccount(w http.ResponseWriter, r *http.Request) error {
	if err := s.bk.office.DeleteAccount(r.Context(), r.PathValue("id")); err != nil {
		return accountError(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) opListCoordinators(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	st, err := s.bk.cfg.Store.BookingSettings(ctx)
	if err != nil {
		return fmt.Errorf("booking settings: %w", err)
	}
	out := []NamedRef{}
	for _, id := range st.Coordinators {
		g, err := s.grp.cfg.Store.Group(ctx, id)
		if errors.Is(err, rooms.ErrGroupNotFound) {
			continue // a group removed since: it has no administrator to sign in
		}
		if err != nil {
			return fmt.Errorf("coordinator's group: %w", err)
		}
		out = append(out, NamedRef{ID: g.ID, Name: g.Name})
	}
	return writeJSON(w, http.StatusOK, map[string][]NamedRef{"coordinators": out})
}

func (s *Server) opSetCoordinator(grant bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		g, err := s.grp.cfg.Store.GroupByName(r.Context(), r.PathValue("group"))
		if err != nil {
			return fmt.Errorf("coordinator's group: %w", err)
		}
		if _, err := s.bk.office.SetCoordinator(r.Context(), g.ID, grant); err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, map[string]any{"group": NamedRef{ID: g.ID, Name: g.Name}, "coordinator": grant})
	}
}
