package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/parley-dev/parley/api"
	"github.com/parley-dev/parley/bookings"
	"github.com/parley-dev/parley/bookings/office"
	"github.com/parley-dev/parley/rooms"
	"github.com/parley-dev/parley/rooms/store"
)

// The operator's commands for booked meetings (issue #14): the meeting
// accounts, the coordinator role, and the coordinator's decisions. Like
// parley group, they go through the running server's operator API, or
// open the database when no server runs.

const accountUsage = `Usage:
  parley account list [--data DIR] [--json]        list the shared meeting accounts
  parley account create NAME [--data DIR] [--json] add a meeting account
  parley account rename ID NAME [--data DIR]       rename one (ID as parley account list shows it)
  parley account delete ID [--data DIR]            remove one that no live booking uses

Each account hosts one meeting at a time; group leaders book them. The
server creates "Meeting account 1", "… 2" at start until there are
--meeting-accounts of them (default 2). Quote a name with spaces.

The commands go through the server running on DIR, or open its database
when no server runs; they never create a database.

Flags:
  --data DIR   the server's data directory (default ./data, env PARLEY_DATA)
  --json       print JSON
`

const coordinatorUsage = `Usage:
  parley coordinator list [--data DIR] [--json]    list the groups whose administrator is a coordinator
  parley coordinator grant GROUP [--data DIR]      make GROUP's administrator a coordinator
  parley coordinator revoke GROUP [--data DIR]     undo grant

A coordinator approves, declines, cancels and moves booked meetings on the
/coordinator page, signed in as the group's administrator. The operator is
always one (parley booking). GROUP is the group's name, in any case.

The commands go through the server running on DIR, or open its database
when no server runs; they never create a database.

Flags:
  --data DIR   the server's data directory (default ./data, env PARLEY_DATA)
  --json       print JSON
`

const bookingUsage = `Usage:
  parley booking list [--state S] [--data DIR] [--json]
                                     list bookings (S: requested, approved, declined, cancelled)
  parley booking show ID [--data DIR] [--json]
                                     show a booking and each of its meetings
  parley booking approve ID [--data DIR]
                                     approve a request: the group leader is emailed the link and host key
  parley booking decline ID [--reason WORDS] [--data DIR]
                                     decline a request, freeing its times
  parley booking cancel ID [--reason WORDS] [--data DIR]
                                     cancel a booking's meetings to come
  parley booking cancel-meeting ID N [--reason WORDS] [--data DIR]
                                     cancel one meeting of a booking (N as show numbers them)
  parley booking move ID N YYYY-MM-DD HH:MM [--data DIR]
                                     move one meeting to that day and start time (its length kept),
                                     if it keeps 30 minutes clear of the account's other bookings

The group leader is emailed every change. ID is as parley booking list
shows it (b_...).

The commands go through the server running on DIR, or open its database
when no server runs; they never create a database.

Flags:
  --data DIR       the server's data directory (default ./data, env PARLEY_DATA)
  --state S        list only bookings in state S
  --reason WORDS   the words the group leader is sent (quote them)
  --json           print JSON (as the API's SeriesView)
`

// bookingClient is what the account, coordinator and booking commands
// need: the running server's API, or the database when no server runs.
type bookingClient interface {
	accounts(ctx context.Context) ([]api.NamedRef, error)
	createAccount(ctx context.Context, name string) (api.NamedRef, error)
	renameAccount(ctx context.Context, id, name string) (api.NamedRef, error)
	deleteAccount(ctx context.Context, id string) error
	coordinators(ctx context.Context) ([]api.NamedRef, error)
	setCoordinator(ctx context.Context, group string, grant bool) (api.NamedRef, error)
	list(ctx context.Context, state bookings.State) ([]api.SeriesView, error)
	show(ctx context.Context, id string) (api.SeriesView, error)
	// change approves, declines or cancels (action) series id.
	change(ctx context.Context, id, action, reason string) (api.SeriesView, error)
	// cancelMeeting cancels meeting index of series id; move moves it to
	// startTime on date.
	cancelMeeting(ctx context.Context, id string, index int, reason string) (api.SeriesView, error)
	move(ctx context.Context, id string, index int, date, startTime string) (api.SeriesView, error)
	close() error
}

// cliCommand is one of these commands' subcommands: how many arguments it
// takes and what they are called, for the usage error.
type cliCommand struct {
	args int
	what string
}

var (
	accountCmds = map[string]cliCommand{"list": {0, ""}, "create": {1, "one account name"},
		"rename": {2, "the account's ID and its new name"}, "delete": {1, "one account ID"}}
	coordinatorCmds = map[string]cliCommand{"list": {0, ""}, "grant": {1, "one group name"}, "revoke": {1, "one group name"}}
	bookingCmds     = map[string]cliCommand{"list": {0, ""}, "show": {1, "one booking ID"}, "approve": {1, "one booking ID"},
		"decline": {1, "one booking ID"}, "cancel": {1, "one booking ID"},
		"cancel-meeting": {2, "a booking ID and a meeting's number"},
		"move":           {4, "a booking ID, a meeting's number, the new date (YYYY-MM-DD) and start time (HH:MM)"}}
)

// bookingArgs are a parsed command line of these commands.
type bookingArgs struct {
	sub    string
	rest   []string
	data   string
	asJSON bool
	state  bookings.State
	reason string
}

// parseBookingArgs parses "parley CMD SUB ARGS... FLAGS"; help is
// (nil, nil) after printing usage.
func parseBookingArgs(cmd, usage string, cmds map[string]cliCommand, args []string, stdout io.Writer) (*bookingArgs, error) {
	if len(args) == 0 {
		return nil, usageErrorf(usage, "%s: no subcommand given", cmd)
	}
	a := &bookingArgs{sub: args[0]}
	if isHelpFlag(a.sub) {
		fmt.Fprint(stdout, usage)
		return nil, nil
	}
	want, ok := cmds[a.sub]
	if !ok {
		return nil, usageErrorf(usage, "%s: unknown subcommand %q", cmd, a.sub)
	}
	fs := flag.NewFlagSet(cmd+" "+a.sub, flag.ContinueOnError)
	data := dataDirFlag(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	var state, reason *string
	if cmd == "booking" && a.sub == "list" {
		state = fs.String("state", "", "requested, approved, declined or cancelled")
	}
	if cmd == "booking" && (a.sub == "decline" || a.sub == "cancel" || a.sub == "cancel-meeting") {
		reason = fs.String("reason", "", "the words the group leader is sent")
	}
	rest, err := parseInterspersed(fs, args[1:], usage)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, usage)
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if len(rest) != want.args {
		if want.args == 0 {
			return nil, usageErrorf(usage, "%s %s takes no arguments, got %q", cmd, a.sub, rest)
		}
		return nil, usageErrorf(usage, "%s %s takes %s, got %d arguments (quote a name with spaces)", cmd, a.sub, want.what, len(rest))
	}
	a.rest, a.data, a.asJSON = rest, *data, *asJSON
	if state != nil && *state != "" {
		if a.state, ok = api.ParseState(*state); !ok {
			return nil, usageErrorf(usage, "booking list: --state %q is none of requested, approved, declined and cancelled", *state)
		}
	}
	if reason != nil {
		if a.reason, err = office.CheckReason(*reason); err != nil {
			return nil, usageErrorf(usage, "booking %s: --reason: %v", a.sub, err)
		}
	}
	return a, nil
}

// runBookingCmd parses a command line of cmd, opens the client and
// hands both to run; help prints usage and runs nothing.
func runBookingCmd(ctx context.Context, cmd, usage string, cmds map[string]cliCommand, args []string, stdout io.Writer,
	run func(context.Context, bookingClient, *bookingArgs, io.Writer) error) error {
	a, err := parseBookingArgs(cmd, usage, cmds, args, stdout)
	if a == nil || err != nil {
		return err
	}
	c, err := openBookingClient(ctx, a.data)
	if err != nil {
		return err
	}
	defer c.close()
	return run(ctx, c, a, stdout)
}

func runAccount(ctx context.Context, args []string, stdout io.Writer) error {
	return runBookingCmd(ctx, "account", accountUsage, accountCmds, args, stdout, accountCmd)
}

func runCoordinator(ctx context.Context, args []string, stdout io.Writer) error {
	return runBookingCmd(ctx, "coordinator", coordinatorUsage, coordinatorCmds, args, stdout, coordinatorCmd)
}

func runBooking(ctx context.Context, args []string, stdout io.Writer) error {
	return runBookingCmd(ctx, "booking", bookingUsage, bookingCmds, args, stdout, bookingCmd)
}

// accountCmd runs one parsed parley account command on c.
func accountCmd(ctx context.Context, c bookingClient, a *bookingArgs, stdout io.Writer) error {
	var acct api.NamedRef
	var err error
	switch a.sub {
	case "list":
		as, err := c.accounts(ctx)
		if err != nil {
			return err
		}
		return printRefs(stdout, as, a.asJSON, "ID\tNAME", "There are no meeting accounts: parley account create NAME adds one.")
	case "create":
		acct, err = c.createAccount(ctx, a.rest[0])
	case "rename":
		acct, err = c.renameAccount(ctx, a.rest[0], a.rest[1])
	case "delete":
		if err := c.deleteAccount(ctx, a.rest[0]); err != nil {
			return bookingCmdError(a.rest[0], err)
		}
		fmt.Fprintf(stdout, "deleted meeting account %s\n", a.rest[0])
		return nil
	}
	if err != nil {
		return bookingCmdError(a.rest[0], err)
	}
	if a.asJSON {
		return json.NewEncoder(stdout).Encode(acct)
	}
	fmt.Fprintf(stdout, "%s\t%s\n", acct.ID, acct.Name)
	return nil
}

// coordinatorCmd runs one parsed parley coordinator command on c.
func coordinatorCmd(ctx context.Context, c bookingClient, a *bookingArgs, stdout io.Writer) error {
	if a.sub == "list" {
		gs, err := c.coordinators(ctx)
		if err != nil {
			return err
		}
		return printRefs(stdout, gs, a.asJSON, "GROUP ID\tGROUP", "No group's administrator is a coordinator: parley coordinator grant GROUP makes one.")
	}
	g, err := c.setCoordinator(ctx, a.rest[0], a.sub == "grant")
	if err != nil {
		return groupCmdError(a.rest[0], err)
	}
	if a.sub == "grant" {
		fmt.Fprintf(stdout, "the administrator of %q is now a coordinator (the /coordinator page)\n", g.Name)
	} else {
		fmt.Fprintf(stdout, "the administrator of %q is no longer a coordinator\n", g.Name)
	}
	return nil
}

func printRefs(w io.Writer, refs []api.NamedRef, asJSON bool, header, none string) error {
	if asJSON {
		return json.NewEncoder(w).Encode(refs)
	}
	if len(refs) == 0 {
		fmt.Fprintln(w, none)
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, r := range refs {
		fmt.Fprintf(tw, "%s\t%s\n", r.ID, r.Name)
	}
	return tw.Flush()
}

// bookingCmd runs one parsed parley booking command on c.
func bookingCmd(ctx context.Context, c bookingClient, a *bookingArgs, stdout io.Writer) error {
	if a.sub == "list" {
		vs, err := c.list(ctx, a.state)
		if err != nil {
			return err
		}
		if a.asJSON {
			return json.NewEncoder(stdout).Encode(vs)
		}
		return printBookings(stdout, vs)
	}
	var v api.SeriesView
	var err error
	switch a.sub {
	case "show":
		v, err = c.show(ctx, a.rest[0])
	case "cancel-meeting", "move":
		index, perr := strconv.Atoi(a.rest[1])
		if perr != nil || index < 0 {
			return usageErrorf(bookingUsage, "booking %s: %q is not a meeting's number (0, 1, 2... as parley booking show %s lists them)", a.sub, a.rest[1], a.rest[0])
		}
		if a.sub == "move" {
			v, err = c.move(ctx, a.rest[0], index, a.rest[2], a.rest[3])
		} else {
			v, err = c.cancelMeeting(ctx, a.rest[0], index, a.reason)
		}
	default:
		v, err = c.change(ctx, a.rest[0], a.sub, a.reason)
	}
	if err != nil {
		return bookingCmdError(a.rest[0], err)
	}
	if a.asJSON {
		return json.NewEncoder(stdout).Encode(v)
	}
	switch a.sub {
	case "approve":
		fmt.Fprintf(stdout, "approved %s: %s has been emailed the link and the host key\n", v.ID, v.Leader.Email)
		return nil
	case "decline", "cancel":
		fmt.Fprintf(stdout, "%s %s: %s has been emailed\n", pastTense(a.sub), v.ID, v.Leader.Email)
		return nil
	case "cancel-meeting", "move":
		what := map[string]string{"cancel-meeting": "cancelled", "move": "moved"}[a.sub]
		fmt.Fprintf(stdout, "%s meeting %s of %s: %s has been emailed\n", what, a.rest[1], v.ID, v.Leader.Email)
		return printBooking(stdout, v)
	}
	return printBooking(stdout, v)
}

func pastTense(action string) string {
	if action == "cancel" {
		return "cancelled"
	}
	return action + "d"
}

func printBookings(w io.Writer, vs []api.SeriesView) error {
	if len(vs) == 0 {
		fmt.Fprintln(w, "There are no bookings.")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tGROUP\tACCOUNT\tWHEN\tLEADER")
	for _, v := range vs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s <%s>\n", v.ID, v.State, v.Group.Name, v.Account.Name, v.Summary, v.Leader.Name, v.Leader.Email)
	}
	return tw.Flush()
}

func printBooking(w io.Writer, v api.SeriesView) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "Booking:\t%s\n", v.ID)
	fmt.Fprintf(tw, "Title:\t%s\n", v.Title)
	fmt.Fprintf(tw, "State:\t%s\n", v.State)
	if v.Reason != "" {
		fmt.Fprintf(tw, "Reason:\t%s\n", v.Reason)
	}
	fmt.Fprintf(tw, "Group:\t%s\n", v.Group.Name)
	fmt.Fprintf(tw, "Group leader:\t%s <%s>\n", v.Leader.Name, v.Leader.Email)
	fmt.Fprintf(tw, "Account:\t%s (%s)\n", v.Account.Name, v.Account.ID)
	fmt.Fprintf(tw, "When:\t%s\n", v.Summary)
	if v.Link != "" {
		fmt.Fprintf(tw, "Link:\t%s\n", v.Link)
	}
	fmt.Fprintf(tw, "Requested:\t%s\n", v.CreatedAt.Local().Format("2006-01-02 15:04"))
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "#\tMEETING (%s)\tSTATE\n", v.TimeZone)
	for _, o := range v.Occurrences {
		fmt.Fprintf(tw, "%d\t%s\t%s\n", o.Index, office.When(bookings.Occurrence{Start: o.Start, End: o.End}), o.State)
	}
	return tw.Flush()
}

// bookingCmdError words these commands' failures the same whether the
// server or the database answered.
func bookingCmdError(id string, err error) error {
	var se *serverError
	var state *office.StateError
	var conflict *bookings.ConflictError
	isCode := func(code string) bool { return errors.As(err, &se) && se.code == code }
	switch {
	case errors.Is(err, rooms.ErrSeriesNotFound), isCode("booking-not-found"):
		return fmt.Errorf("there is no booking %s (parley booking list shows them)", id)
	case errors.Is(err, rooms.ErrAccountNotFound), isCode("account-not-found"):
		return fmt.Errorf("there is no meeting account %s (parley account list shows them)", id)
	case errors.Is(err, rooms.ErrAccountExists), isCode("account-exists"):
		return errors.New("another meeting account has that name")
	case errors.Is(err, rooms.ErrAccountInUse), isCode("account-in-use"):
		return fmt.Errorf("bookings that are requested or approved use the account %s: decline or cancel them first (parley booking list)", id)
	case errors.As(err, &state):
		return errors.New(state.Error())
	case errors.As(err, &conflict):
		return errors.New(api.ConflictMessage(conflict))
	case errors.Is(err, office.ErrCannotChange):
		return errors.New(strings.TrimPrefix(strings.TrimPrefix(err.Error(), "cancel meeting: "), "move meeting: "))
	case errors.Is(err, office.ErrInvalidAccountName):
		return errors.New(strings.TrimPrefix(err.Error(), "create meeting account: "))
	case errors.As(err, &se) && (se.code == "not-requested" || se.code == "not-live" || se.code == "invalid" ||
		se.code == "booking-conflict" || se.code == "cannot-change"):
		return errors.New(se.text())
	}
	return err
}

// openBookingClient reaches the server running on dataDir if there is
// one, and opens the database directly otherwise.
func openBookingClient(ctx context.Context, dataDir string) (bookingClient, error) {
	return openClient(ctx, dataDir,
		func(hc *httpRoomClient) bookingClient { return httpBookingClient{hc} },
		func(db *store.DB) bookingClient {
			pub := (&dbRoomClient{db: db}).publicURL()
			return &dbBookingClient{db: db, url: pub, office: office.New(office.Config{Store: db, PublicURL: pub,
				Logger: slog.New(slog.DiscardHandler)})}
		})
}

// httpBookingClient uses the running server's operator and coordinator
// routes.
type httpBookingClient struct{ *httpRoomClient }

func (c httpBookingClient) accounts(ctx context.Context) ([]api.NamedRef, error) {
	var out struct {
		Accounts []api.NamedRef `json:"accounts"`
	}
	err := c.do(ctx, http.MethodGet, "/api/v1/accounts", nil, &out)
	return out.Accounts, err
}

func (c httpBookingClient) createAccount(ctx context.Context, name string) (api.NamedRef, error) {
	var a api.NamedRef
	err := c.do(ctx, http.MethodPost, "/api/v1/accounts", api.AccountRequest{Name: name}, &a)
	return a, err
}

func (c httpBookingClient) renameAccount(ctx context.Context, id, name string) (api.NamedRef, error) {
	var a api.NamedRef
	err := c.do(ctx, http.MethodPut, "/api/v1/accounts/"+url.PathEscape(id), api.AccountRequest{Name: name}, &a)
	return a, err
}

func (c httpBookingClient) deleteAccount(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/accounts/"+url.PathEscape(id), nil, nil)
}

func (c httpBookingClient) coordinators(ctx context.Context) ([]api.NamedRef, error) {
	var out struct {
		Coordinators []api.NamedRef `json:"coordinators"`
	}
	err := c.do(ctx, http.MethodGet, "/api/v1/coordinators", nil, &out)
	return out.Coordinators, err
}

func (c httpBookingClient) setCoordinator(ctx context.Context, group string, grant bool) (api.NamedRef, error) {
	method := http.MethodPut
	if !grant {
		method = http.MethodDelete
	}
	var out struct {
		Group api.NamedRef `json:"group"`
	}
	err := c.do(ctx, method, "/api/v1/coordinators/"+url.PathEscape(strings.TrimSpace(group)), nil, &out)
	return out.Group, err
}

func (c httpBookingClient) list(ctx context.Context, state bookings.State) ([]api.SeriesView, error) {
	path := "/api/v1/coordinator/bookings"
	if state != "" {
		path += "?state=" + url.QueryEscape(string(state))
	}
	var out api.CoordinatorBookings
	err := c.do(ctx, http.MethodGet, path, nil, &out)
	return out.Bookings, err
}

func (c httpBookingClient) show(ctx context.Context, id string) (api.SeriesView, error) {
	var out struct {
		Booking api.SeriesView `json:"booking"`
	}
	err := c.do(ctx, http.MethodGet, "/api/v1/coordinator/bookings/"+url.PathEscape(id), nil, &out)
	return out.Booking, err
}

func (c httpBookingClient) change(ctx context.Context, id, action, reason string) (api.SeriesView, error) {
	var body any
	if action != "approve" {
		body = api.ReasonRequest{Reason: reason}
	}
	var out struct {
		Booking api.SeriesView `json:"booking"`
	}
	err := c.do(ctx, http.MethodPost, "/api/v1/coordinator/bookings/"+url.PathEscape(id)+"/"+action, body, &out)
	return out.Booking, err
}

func (c httpBookingClient) cancelMeeting(ctx context.Context, id string, index int, reason string) (api.SeriesView, error) {
	return c.meeting(ctx, id, index, "cancel", api.ReasonRequest{Reason: reason})
}

func (c httpBookingClient) move(ctx context.Context, id string, index int, date, startTime string) (api.SeriesView, error) {
	return c.meeting(ctx, id, index, "move", api.MoveRequest{Date: date, StartTime: startTime})
}

// meeting posts action on meeting index of series id.
func (c httpBookingClient) meeting(ctx context.Context, id string, index int, action string, body any) (api.SeriesView, error) {
	var out struct {
		Booking api.SeriesView `json:"booking"`
	}
	err := c.do(ctx, http.MethodPost, fmt.Sprintf("/api/v1/coordinator/bookings/%s/occurrences/%d/%s", url.PathEscape(id), index, action), body, &out)
	return out.Booking, err
}

// dbBookingClient works on the database while no server runs, through
// the same office as the server (the same mails, in the same
// transactions); they are delivered once the server runs again.
type dbBookingClient struct {
	db     *store.DB
	url    string // the server's public URL, for links
	office *office.Office
}

func (c *dbBookingClient) close() error { return c.db.Close() }

func (c *dbBookingClient) accounts(ctx context.Context) ([]api.NamedRef, error) {
	as, err := c.db.Accounts(ctx)
	if err != nil {
		return nil, err
	}
	out := []api.NamedRef{}
	for _, a := range as {
		out = append(out, api.NamedRef{ID: a.ID, Name: a.Name})
	}
	return out, nil
}

func (c *dbBookingClient) createAccount(ctx context.Context, name string) (api.NamedRef, error) {
	return accountRef(c.office.CreateAccount(ctx, name))
}

func (c *dbBookingClient) renameAccount(ctx context.Context, id, name string) (api.NamedRef, error) {
	return accountRef(c.office.RenameAccount(ctx, id, name))
}

// accountRef is what the commands print of an account the office
// created or renamed.
func accountRef(a *bookings.Account, err error) (api.NamedRef, error) {
	if err != nil {
		return api.NamedRef{}, err
	}
	return api.NamedRef{ID: a.ID, Name: a.Name}, nil
}

func (c *dbBookingClient) deleteAccount(ctx context.Context, id string) error {
	return c.office.DeleteAccount(ctx, id)
}

func (c *dbBookingClient) coordinators(ctx context.Context) ([]api.NamedRef, error) {
	st, err := c.db.BookingSettings(ctx)
	if err != nil {
		return nil, err
	}
	out := []api.NamedRef{}
	for _, id := range st.Coordinators {
		g, err := c.db.Group(ctx, id)
		if errors.Is(err, rooms.ErrGroupNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, api.NamedRef{ID: g.ID, Name: g.Name})
	}
	return out, nil
}

func (c *dbBookingClient) setCoordinator(ctx context.Context, group string, grant bool) (api.NamedRef, error) {
	g, err := c.db.GroupByName(ctx, group)
	if err != nil {
		return api.NamedRef{}, err
	}
	if _, err := c.office.SetCoordinator(ctx, g.ID, grant); err != nil {
		return api.NamedRef{}, err
	}
	return api.NamedRef{ID: g.ID, Name: g.Name}, nil
}

func (c *dbBookingClient) views(ctx context.Context, ss ...*bookings.Series) ([]api.SeriesView, error) {
	as, err := c.db.Accounts(ctx)
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	for _, a := range as {
		names[a.ID] = a.Name
	}
	out := []api.SeriesView{}
	for _, s := range ss {
		out = append(out, api.ViewSeries(s, names, c.url, time.Now()))
	}
	return out, nil
}

func (c *dbBookingClient) list(ctx context.Context, state bookings.State) ([]api.SeriesView, error) {
	var f bookings.Filter
	if state != "" {
		f.States = []bookings.State{state}
	}
	ss, err := c.db.SeriesList(ctx, f)
	if err != nil {
		return nil, err
	}
	return c.views(ctx, ss...)
}

func (c *dbBookingClient) one(ctx context.Context, s *bookings.Series, err error) (api.SeriesView, error) {
	if err != nil {
		return api.SeriesView{}, err
	}
	vs, err := c.views(ctx, s)
	if err != nil {
		return api.SeriesView{}, err
	}
	return vs[0], nil
}

func (c *dbBookingClient) show(ctx context.Context, id string) (api.SeriesView, error) {
	s, err := c.db.Series(ctx, id)
	return c.one(ctx, s, err)
}

func (c *dbBookingClient) change(ctx context.Context, id, action, reason string) (api.SeriesView, error) {
	var s *bookings.Series
	var err error
	switch action {
	case "approve":
		s, err = c.office.Approve(ctx, id)
	case "decline":
		s, err = c.office.Decline(ctx, id, reason)
	case "cancel":
		s, err = c.office.Cancel(ctx, id, reason, "")
	default:
		err = fmt.Errorf("unknown change %q", action)
	}
	return c.one(ctx, s, err)
}

func (c *dbBookingClient) cancelMeeting(ctx context.Context, id string, index int, reason string) (api.SeriesView, error) {
	s, err := c.office.CancelOccurrence(ctx, id, index, reason)
	return c.one(ctx, s, err)
}

func (c *dbBookingClient) move(ctx context.Context, id string, index int, date, startTime string) (api.SeriesView, error) {
	s, err := c.office.MoveOccurrence(ctx, id, index, date, startTime)
	return c.one(ctx, s, err)
}
