package api

import (
	"context"
	"embed"
	"encoding/csv"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/parley-dev/parley/bookings"
	"github.com/parley-dev/parley/clock"
	"github.com/parley-dev/parley/rooms"
)

// The bookings table (issue #14, point 8; docs/api.md, "Bookings table
// and calendar feeds"): what the coordinator used to mail every month,
// always current. A month per account, as a server-rendered page
// (printable), as CSV and as JSON; the iCalendar feeds are in
// calendar.go. The table names the group, the times and the state of
// each occurrence, never a link or a host key.

//go:embed templates/bookings.html
var tableTemplates embed.FS

// allAccounts is the account segment of the table's URLs meaning every
// account.
const allAccounts = "all"

// bookingTable serves the table; it is made by bookingTableRoutes.
type bookingTable struct {
	// set at construction
	s     *Server
	store rooms.BookingStore
	loc   *time.Location // the deployment's zone: months are its months
	clock clock.Clock
	page  *template.Template
}

// bookingTableRoutes adds the table's and the feeds' routes, if bookings
// are configured.
func (s *Server) bookingTableRoutes(api func(method, path string, h handlerFunc)) {
	bc := s.cfg.Bookings
	if bc.Store == nil {
		return
	}
	t := &bookingTable{s: s, store: bc.Store, loc: bc.Location, clock: bc.Clock}
	if t.loc == nil {
		loc, err := time.LoadLocation(bookings.DefaultTimeZone)
		if err != nil {
			loc = time.UTC // no zone database: cmd/parley imports time/tzdata
		}
		t.loc = loc
	}
	if t.clock == nil {
		t.clock = clock.SystemClock{}
	}
	t.page = template.Must(template.ParseFS(tableTemplates, "templates/bookings.html"))

	s.mux.HandleFunc("GET /bookings", t.servePage)
	s.mux.HandleFunc("GET /bookings/{account}/{month}", t.servePage) // {month} is yyyy-mm or yyyy-mm.csv
	s.mux.HandleFunc("GET /operator/bookings", s.operatorPage(t.operatorPage))
	s.mux.HandleFunc("GET /operator/bookings/{account}/{month}", s.operatorPage(t.operatorPage))
	api("GET", "/api/v1/bookings/table", t.tableJSON)
	t.feedRoutes()
}

// TableView is a month of the bookings table: the JSON of GET
// /api/v1/bookings/table, and what the page and the CSV show.
type TableView struct {
	Month    string `json:"month"` // "2026-12"
	TimeZone string `json:"timeZone"`
	// Accounts are the accounts shown (one, or every account by name),
	// each with the month's occurrences in time order.
	Accounts []AccountTable `json:"accounts"`
}

// AccountTable is one account's month.
type AccountTable struct {
	Account     NamedRef   `json:"account"`
	Occurrences []TableRow `json:"occurrences"`
	// CalendarURL is the account's iCalendar feed ("" when feeds are off).
	CalendarURL string `json:"calendarUrl,omitempty"`
	// movedAway are, for the page, the month's meetings moved to another
	// time: the page marks their old place.
	movedAway []TableRow
}

// TableRow is one occurrence in the table.
type TableRow struct {
	SeriesID        string    `json:"seriesId"`
	Index           int       `json:"index"`
	Date            string    `json:"date"` // "2026-12-02", the local day of Start
	Start           time.Time `json:"start"`
	End             time.Time `json:"end"`
	DurationMinutes int       `json:"durationMinutes"`
	Group           string    `json:"group"`
	Title           string    `json:"title"`
	// State is the series': "pending" (requested, not yet approved) or
	// "confirmed".
	State string `json:"state"`
	// Status is the occurrence's: "scheduled", "moved" or "cancelled".
	Status string `json:"status"`
	// MovedFrom is a moved occurrence's start before the move.
	MovedFrom *time.Time `json:"movedFrom,omitempty"`
	// MovedTo is, on the page only, where the meeting that was at Start
	// has gone.
	MovedTo *time.Time `json:"-"`
}

// tableState is how the table names a series' state.
func tableState(st bookings.State) string {
	if st == bookings.Requested {
		return "pending"
	}
	return "confirmed"
}

// liveStates are the states of the series the table and the feeds show:
// declined and cancelled series hold no slot and are left out.
var liveStates = []bookings.State{bookings.Requested, bookings.Approved}

// parseMonth reads "yyyy-mm" as the first instant of that month in loc.
func parseMonth(s string, loc *time.Location) (time.Time, bool) {
	t, err := time.ParseInLocation("2006-01", s, loc)
	if err != nil || t.Year() < 2000 || t.Year() > 2999 {
		return time.Time{}, false
	}
	return t, true
}

// originalStarts are the starts of a series' occurrences by index as its
// rule places them, before any move.
func originalStarts(s *bookings.Series) (map[int]time.Time, error) {
	plain := *s
	plain.Exceptions = nil
	occs, err := plain.Occurrences()
	if err != nil {
		return nil, err
	}
	out := make(map[int]time.Time, len(occs))
	for _, o := range occs {
		out[o.Index] = o.Start
	}
	return out, nil
}

// view builds the month of account ("all": every account) that starts at
// month (local midnight on the 1st).
func (t *bookingTable) view(ctx context.Context, account string, month time.Time) (*TableView, error) {
	accounts, err := t.store.Accounts(ctx)
	if err != nil {
		return nil, fmt.Errorf("bookings table: %w", err)
	}
	if account != allAccounts {
		i := slices.IndexFunc(accounts, func(a *bookings.Account) bool { return a.ID == account })
		if i < 0 {
			return nil, rooms.ErrAccountNotFound
		}
		accounts = accounts[i : i+1]
	}
	f := bookings.Filter{States: liveStates}
	if account != allAccounts {
		f.AccountID = account
	}
	series, err := t.store.SeriesList(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("bookings table: %w", err)
	}
	end := month.AddDate(0, 1, 0)
	rows, away := map[string][]TableRow{}, map[string][]TableRow{} // by account ID
	for _, sr := range series {
		in, gone, err := seriesRows(sr, month, end)
		if err != nil {
			return nil, fmt.Errorf("bookings table: series %s: %w", sr.ID, err)
		}
		rows[sr.AccountID] = append(rows[sr.AccountID], in...)
		away[sr.AccountID] = append(away[sr.AccountID], gone...)
	}
	v := &TableView{Month: month.Format("2006-01"), TimeZone: t.loc.String()}
	for _, a := range accounts {
		rs := rows[a.ID]
		slices.SortStableFunc(rs, func(x, y TableRow) int { return x.Start.Compare(y.Start) })
		v.Accounts = append(v.Accounts, AccountTable{Account: NamedRef{ID: a.ID, Name: a.Name}, Occurrences: rs,
			CalendarURL: t.s.calendarURL("account", a.ID), movedAway: away[a.ID]})
	}
	return v, nil
}

// seriesRows are the rows of sr's occurrences that start in [month,
// end), and those of its occurrences moved away from a start in it to
// another (Status "moved-away", Start the old start, MovedTo the new).
func seriesRows(sr *bookings.Series, month, end time.Time) (in, away []TableRow, err error) {
	occs, err := sr.Occurrences()
	if err != nil {
		return nil, nil, err
	}
	var orig map[int]time.Time // the starts before moves, made once there is a move
	inMonth := func(t time.Time) bool { return !t.Before(month) && t.Before(end) }
	row := func(o bookings.Occurrence, start time.Time, status string) TableRow {
		return TableRow{SeriesID: sr.ID, Index: o.Index, Date: start.Format(time.DateOnly), Start: start, End: start.Add(o.End.Sub(o.Start)),
			DurationMinutes: int(o.End.Sub(o.Start) / time.Minute), Group: sr.GroupName, Title: sr.Title,
			State: tableState(sr.State), Status: status}
	}
	for _, o := range occs {
		if o.Moved && orig == nil {
			if orig, err = originalStarts(sr); err != nil {
				return nil, nil, err
			}
		}
		from, moved := orig[o.Index]
		moved = moved && o.Moved
		if inMonth(o.Start) {
			r := row(o, o.Start, "scheduled")
			switch {
			case o.Cancelled:
				r.Status = "cancelled"
			case moved:
				r.Status, r.MovedFrom = "moved", &from
			}
			in = append(in, r)
		}
		if moved && !o.Cancelled && inMonth(from) {
			r := row(o, from.In(o.Start.Location()), "moved-away")
			to := o.Start
			r.MovedTo = &to
			away = append(away, r)
		}
	}
	return in, away, nil
}

// viewer is who is looking at the table.
type viewer struct {
	who   string       // "operator", "group user", "coordinator"
	group *rooms.Group // the signed-in group (nil for the operator)
}

var (
	errTableSignIn = &apiError{status: http.StatusUnauthorized, code: "unauthorized",
		msg: "sign in to see the bookings table: as a group user (group name and meeting PIN) on /group, or as a coordinator on /admin"}
	errNotCoordinator = &apiError{status: http.StatusForbidden, code: "not-coordinator",
		msg: "your group's administrator is not a coordinator: sign in as a group user on /group to see the bookings table, or ask the operator for the coordinator role"}
)

// viewerOf is who r comes from: the operator (bearer token), a signed-in
// group user, or a coordinator (asCoordinator: an administrator of a
// group the operator made one). Anyone else gets errTableSignIn, an
// administrator who is not a coordinator errNotCoordinator, a session
// that has ended its own error. It runs the session wrappers of the other
// routes (asGroupUser, asCoordinator) with a handler that only notes who
// passed; they read only r, so no ResponseWriter is given.
func (t *bookingTable) viewerOf(r *http.Request) (*viewer, error) {
	s := t.s
	bearer := strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ")
	if s.grp == nil && !bearer {
		return nil, errTableSignIn
	}
	var groupErr error // a group user's session that no longer works: say why
	if _, err := r.Cookie(cookieGroup); err == nil && !bearer {
		var g *rooms.Group
		groupErr = s.asGroupUser(func(_ http.ResponseWriter, _ *http.Request, gr *rooms.Group) error { g = gr; return nil })(nil, r)
		if groupErr == nil {
			return &viewer{who: "group user", group: g}, nil
		}
	}
	if _, err := r.Cookie(cookieAdmin); err == nil || bearer {
		var vw *viewer
		err := s.asCoordinator(func(_ http.ResponseWriter, _ *http.Request, g *rooms.Group) error {
			vw = &viewer{who: "coordinator", group: g}
			if g == nil {
				vw.who = "operator"
			}
			return nil
		})(nil, r)
		switch {
		case err == nil:
			return vw, nil
		case errors.Is(err, errCoordinatorOnly) && groupErr == nil:
			return nil, errNotCoordinator
		case groupErr == nil:
			return nil, err
		}
	}
	if groupErr != nil {
		return nil, groupErr
	}
	return nil, errTableSignIn
}

// tableJSON serves GET /api/v1/bookings/table?account=&month=.
func (t *bookingTable) tableJSON(w http.ResponseWriter, r *http.Request) error {
	if _, err := t.viewerOf(r); err != nil {
		return err
	}
	account, month, err := t.query(r.URL.Query().Get("account"), r.URL.Query().Get("month"))
	if err != nil {
		return err
	}
	v, err := t.view(r.Context(), account, month)
	if errors.Is(err, rooms.ErrAccountNotFound) {
		return &apiError{status: http.StatusNotFound, code: "account-not-found", msg: "there is no meeting account with that ID"}
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

// query reads the account ("" or "all": every account) and the month (""
// this month) of a table request.
func (t *bookingTable) query(account, month string) (string, time.Time, error) {
	if account == "" {
		account = allAccounts
	}
	if month == "" {
		return account, t.thisMonth(), nil
	}
	m, ok := parseMonth(month, t.loc)
	if !ok {
		return "", time.Time{}, badRequest("month must be a month as yyyy-mm, e.g. 2027-01")
	}
	return account, m, nil
}

// thisMonth is the start of the current month in the zone.
func (t *bookingTable) thisMonth() time.Time {
	now := t.clock.Now().In(t.loc)
	return time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, t.loc)
}

// servePage serves GET /bookings (this month, every account) and GET
// /bookings/{account}/{month}[.csv].
func (t *bookingTable) servePage(w http.ResponseWriter, r *http.Request) {
	t.pageAt(w, r, "/bookings", nil)
}

// operatorPage serves the same pages under /operator/bookings to the
// operator, signed in as on the outbox page (operatorPage: the operator
// token as the Basic password).
func (t *bookingTable) operatorPage(w http.ResponseWriter, r *http.Request) error {
	t.pageAt(w, r, "/operator/bookings", &viewer{who: "operator"})
	return nil
}

// pageAt serves a month page or its CSV under base (its links stay
// there), for vw, or for whoever r's session says when vw is nil.
func (t *bookingTable) pageAt(w http.ResponseWriter, r *http.Request, base string, vw *viewer) {
	w.Header().Set("Cache-Control", "no-store")
	account, monthText := r.PathValue("account"), r.PathValue("month")
	monthText, asCSV := strings.CutSuffix(monthText, ".csv")
	if account == "" {
		account, monthText = allAccounts, t.thisMonth().Format("2006-01")
	}
	month, ok := parseMonth(monthText, t.loc)
	if !ok {
		t.message(w, http.StatusNotFound, "No such month", "The address should end in a month as yyyy-mm, for example /bookings/all/2027-01.", nil)
		return
	}
	var err error
	if vw == nil {
		vw, err = t.viewerOf(r)
	}
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) || asCSV {
			t.s.writeError(w, r, err)
			return
		}
		text := sentence(ae.msg)
		if ae == errTableSignIn {
			text = "The table of booked meetings on the meeting accounts is for the groups’ users and the coordinator. Sign in first:"
		}
		t.message(w, ae.status, "Sign in to see the bookings table", text, signInLinks)
		return
	}
	v, err := t.view(r.Context(), account, month)
	if errors.Is(err, rooms.ErrAccountNotFound) {
		t.message(w, http.StatusNotFound, "No such meeting account", "There is no meeting account with that ID. See all accounts on /bookings.", nil)
		return
	}
	if err != nil {
		t.s.writeError(w, r, err)
		return
	}
	if asCSV {
		t.writeCSV(w, account, v)
		return
	}
	t.render(w, vw, base, account, month, v)
}

// sentence is an error message as a sentence: capital first, full stop.
func sentence(msg string) string {
	if msg == "" {
		return msg
	}
	msg = strings.ToUpper(msg[:1]) + msg[1:]
	if !strings.HasSuffix(msg, ".") {
		msg += "."
	}
	return msg
}

// signInLinks are the ways in that the sign-in page offers.
var signInLinks = []pageLink{
	{Href: "/group", Text: "Sign in as a group user", Note: "with your group’s name and meeting PIN"},
	{Href: "/admin", Text: "Sign in as a coordinator", Note: "the administrator of a group the operator made a coordinator"},
}

// pageLink is a link on a message page.
type pageLink struct{ Href, Text, Note string }

// message renders a page that only says something (and offers links).
func (t *bookingTable) message(w http.ResponseWriter, status int, title, text string, links []pageLink) {
	t.execute(w, status, map[string]any{"Message": true, "Title": title, "Text": text, "Links": links})
}

func (t *bookingTable) execute(w http.ResponseWriter, status int, data any) {
	var b strings.Builder
	if err := t.page.Execute(&b, data); err != nil {
		t.s.log.Error("bookings table page", "err", err)
		http.Error(w, "The bookings table could not be shown. Please try again.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(b.String()))
}

// pageAccount is one account's section of the page.
type pageAccount struct {
	AccountTable
	Href string // the account's own month
	CSV  string
	Days []pageDay
}

// pageDay is one day's rows.
type pageDay struct {
	Label string // "Wed 2 Dec"
	Rows  []pageRow
}

type pageRow struct {
	Time, Duration, Group, Title, State, Status, MovedFrom, MovedTo string
}

func (t *bookingTable) render(w http.ResponseWriter, vw *viewer, base, account string, month time.Time, v *TableView) {
	prev, next := month.AddDate(0, -1, 0).Format("2006-01"), month.AddDate(0, 1, 0).Format("2006-01")
	data := map[string]any{
		"Title":     month.Format("January 2006"),
		"Zone":      bookings.ZoneName(t.loc),
		"Prev":      base + "/" + account + "/" + prev,
		"PrevLabel": month.AddDate(0, -1, 0).Format("January 2006"),
		"Next":      base + "/" + account + "/" + next,
		"NextLabel": month.AddDate(0, 1, 0).Format("January 2006"),
		"All":       account == allAccounts,
		"AllHref":   base + "/all/" + v.Month,
		"CSV":       base + "/" + account + "/" + v.Month + ".csv",
		"Viewer":    viewerText(vw),
	}
	if vw.group != nil {
		data["GroupFeed"] = t.s.calendarURL("group", vw.group.ID)
		data["GroupName"] = vw.group.Name
	}
	var accts []pageAccount
	for _, a := range v.Accounts {
		pa := pageAccount{AccountTable: a, Href: base + "/" + a.Account.ID + "/" + v.Month,
			CSV: base + "/" + a.Account.ID + "/" + v.Month + ".csv"}
		all := slices.Concat(a.Occurrences, a.movedAway)
		slices.SortStableFunc(all, func(x, y TableRow) int { return x.Start.Compare(y.Start) })
		for _, row := range all {
			label := row.Start.Format("Mon 2 Jan")
			if len(pa.Days) == 0 || pa.Days[len(pa.Days)-1].Label != label {
				pa.Days = append(pa.Days, pageDay{Label: label})
			}
			pr := pageRow{Time: row.Start.Format("15:04") + "–" + row.End.Format("15:04"), Duration: durationText(row.DurationMinutes),
				Group: row.Group, Title: row.Title, State: row.State, Status: row.Status}
			if row.MovedFrom != nil {
				pr.MovedFrom = row.MovedFrom.Format("Mon 2 Jan 15:04")
			}
			if row.MovedTo != nil {
				pr.MovedTo = row.MovedTo.Format("Mon 2 Jan 15:04")
			}
			d := &pa.Days[len(pa.Days)-1]
			d.Rows = append(d.Rows, pr)
		}
		accts = append(accts, pa)
	}
	data["Accounts"] = accts
	t.execute(w, http.StatusOK, data)
}

// viewerText says who is signed in, for the page's header.
func viewerText(vw *viewer) string {
	switch vw.who {
	case "group user":
		return "Signed in as a user of " + vw.group.Name
	case "coordinator":
		return "Signed in as coordinator (" + vw.group.Name + "’s administrator)"
	}
	return "Operator"
}

// durationText is "45 min", "2 h" or "1 h 30 min".
func durationText(min int) string {
	h, m := min/60, min%60
	switch {
	case h == 0:
		return strconv.Itoa(m) + " min"
	case m == 0:
		return strconv.Itoa(h) + " h"
	}
	return fmt.Sprintf("%d h %d min", h, m)
}

// csvHeader is the CSV export's first row.
var csvHeader = []string{"date", "start", "end", "duration_minutes", "time_zone", "account", "group", "title", "state", "status", "moved_from"}

// writeCSV writes the month as CSV, one row per occurrence.
func (t *bookingTable) writeCSV(w http.ResponseWriter, account string, v *TableView) {
	name := "bookings-" + v.Month + ".csv"
	if account != allAccounts && len(v.Accounts) == 1 {
		name = "bookings-" + fileSlug(v.Accounts[0].Account.Name) + "-" + v.Month + ".csv"
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	cw := csv.NewWriter(w)
	_ = cw.Write(csvHeader)
	for _, a := range v.Accounts {
		for _, row := range a.Occurrences {
			moved := ""
			if row.MovedFrom != nil {
				moved = row.MovedFrom.Format("2006-01-02 15:04")
			}
			_ = cw.Write([]string{row.Date, row.Start.Format("15:04"), row.End.Format("15:04"), strconv.Itoa(row.DurationMinutes),
				v.TimeZone, csvText(a.Account.Name), csvText(row.Group), csvText(row.Title), row.State, row.Status, moved})
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		t.s.log.Debug("bookings CSV", "err", err)
	}
}

// csvText keeps a name that a spreadsheet would take for a formula
// ("=…", "+…", "-…", "@…") as text, by putting an apostrophe before it.
func csvText(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// fileSlug is name in lower case with runs of anything but letters and
// digits as one "-", for a file name.
func fileSlug(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}
