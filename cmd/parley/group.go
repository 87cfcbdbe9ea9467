package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"

	"github.com/parley-dev/parley/api"
	"github.com/parley-dev/parley/rooms"
	"github.com/parley-dev/parley/rooms/store"
)

const groupUsage = `Usage:
  parley group list [--data DIR] [--json]          list the groups, their state, limits and usage
  parley group show NAME [--data DIR] [--json]     show a group, its administrator and endpoints
  parley group limits NAME [--endpoints N] [--rooms N] [--participants N] [--data DIR] [--json]
                                                   set a group's limits (those not given stay)
  parley group disable NAME [--data DIR]           disable a group: nobody of it can sign in or join
  parley group enable NAME [--data DIR]            undo disable

NAME is the group's name, in any case; quote a name with spaces.

The commands go through the server running on DIR, or open its database
when no server runs; they never create a database.

Flags:
  --data DIR   the server's data directory (default ./data, env PARLEY_DATA)
  --json       print JSON
`

// groupClient is what the group commands need: the running server's
// operator API, or the database directly when no server runs.
type groupClient interface {
	list(ctx context.Context) ([]api.GroupView, error)
	show(ctx context.Context, name string) (api.GroupView, error)
	limits(ctx context.Context, name string, l rooms.Limits) (api.GroupView, error)
	setState(ctx context.Context, name string, disabled bool) (api.GroupView, error)
	close() error
}

var groupArgs = map[string]int{"list": 0, "show": 1, "limits": 1, "disable": 1, "enable": 1}

func runGroup(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return usageErrorf(groupUsage, "group: no subcommand given")
	}
	sub := args[0]
	if isHelpFlag(sub) {
		fmt.Fprint(stdout, groupUsage)
		return nil
	}
	want, ok := groupArgs[sub]
	if !ok {
		return usageErrorf(groupUsage, "group: unknown subcommand %q", sub)
	}
	fs := flag.NewFlagSet("group "+sub, flag.ContinueOnError)
	data := dataDirFlag(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	var lim rooms.Limits
	if sub == "limits" {
		fs.IntVar(&lim.Endpoints, "endpoints", 0, "endpoints limit")
		fs.IntVar(&lim.Rooms, "rooms", 0, "rooms limit")
		fs.IntVar(&lim.Participants, "participants", 0, "participants limit")
	}
	rest, err := parseInterspersed(fs, args[1:], groupUsage)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, groupUsage)
		return nil
	}
	if err != nil {
		return err
	}
	if len(rest) != want {
		if want == 0 {
			return usageErrorf(groupUsage, "group %s takes no arguments, got %q", sub, rest)
		}
		return usageErrorf(groupUsage, "group %s takes one group name, got %d arguments (quote a name with spaces)", sub, len(rest))
	}
	if sub == "limits" {
		if lim.Endpoints < 0 || lim.Rooms < 0 || lim.Participants < 0 {
			return usageErrorf(groupUsage, "group limits: limits must be positive whole numbers")
		}
		if lim == (rooms.Limits{}) {
			return usageErrorf(groupUsage, "group limits: give at least one of --endpoints N, --rooms N, --participants N")
		}
	}
	c, err := openGroupClient(ctx, *data)
	if err != nil {
		return err
	}
	defer c.close()
	var name string
	if want == 1 {
		name = rest[0]
	}
	return doGroup(ctx, c, sub, name, lim, *asJSON, stdout)
}

func doGroup(ctx context.Context, c groupClient, sub, name string, lim rooms.Limits, asJSON bool, stdout io.Writer) error {
	if sub == "list" {
		gs, err := c.list(ctx)
		if err != nil {
			return err
		}
		if asJSON {
			return json.NewEncoder(stdout).Encode(gs)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tSTATE\tENDPOINTS\tROOMS\tPARTICIPANTS\tADMINISTRATOR\tCREATED")
		for _, g := range gs {
			fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%d/%d\t%d/%d\t%s <%s>\t%s\n", g.Name, g.State,
				g.Usage.Endpoints, g.Limits.Endpoints, g.Usage.Rooms, g.Limits.Rooms, g.Usage.Participants, g.Limits.Participants,
				g.Admin.Name, g.Admin.Email, g.CreatedAt.Local().Format("2006-01-02 15:04"))
		}
		return tw.Flush()
	}
	var g api.GroupView
	var err error
	switch sub {
	case "show":
		g, err = c.show(ctx, name)
	case "limits":
		g, err = c.limits(ctx, name, lim)
	case "disable", "enable":
		g, err = c.setState(ctx, name, sub == "disable")
	}
	if err != nil {
		return groupCmdError(name, err)
	}
	if asJSON {
		return json.NewEncoder(stdout).Encode(g)
	}
	switch sub {
	case "disable":
		fmt.Fprintf(stdout, "disabled group %q\n", g.Name)
		return nil
	case "enable":
		fmt.Fprintf(stdout, "enabled group %q (now %s)\n", g.Name, g.State)
		return nil
	}
	return printGroup(stdout, g)
}

func printGroup(w io.Writer, g api.GroupView) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "Group:\t%s (@%s)\n", g.Name, g.Slug)
	fmt.Fprintf(tw, "State:\t%s\n", g.State)
	fmt.Fprintf(tw, "Administrator:\t%s <%s>\n", g.Admin.Name, g.Admin.Email)
	fmt.Fprintf(tw, "Created:\t%s\n", g.CreatedAt.Local().Format("2006-01-02 15:04"))
	if !g.ActivatedAt.IsZero() {
		fmt.Fprintf(tw, "Activated:\t%s\n", g.ActivatedAt.Local().Format("2006-01-02 15:04"))
	}
	fmt.Fprintf(tw, "Endpoints:\t%d of %d\n", g.Usage.Endpoints, g.Limits.Endpoints)
	fmt.Fprintf(tw, "Rooms:\t%d of %d\n", g.Usage.Rooms, g.Limits.Rooms)
	fmt.Fprintf(tw, "Participants now:\t%d of %d\n", g.Usage.Participants, g.Limits.Participants)
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(g.Endpoints) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ADDRESS\tKIND\tNAME\tSTATUS")
	for _, ep := range g.Endpoints {
		status := "offline"
		switch {
		case ep.Disabled:
			status = "disabled"
		case ep.Online:
			status = "online"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", ep.Address, ep.Kind, ep.Name, status)
	}
	return tw.Flush()
}

// groupCmdError words a group command's failure the same whether the
// server or the database answered.
func groupCmdError(name string, err error) error {
	var se *serverError
	switch {
	case errors.Is(err, rooms.ErrGroupNotFound), errors.As(err, &se) && se.code == "group-not-found":
		return fmt.Errorf("there is no group named %q (parley group list shows the groups)", name)
	case errors.Is(err, errNotDisabled), errors.As(err, &se) && se.code == "not-disabled":
		return fmt.Errorf("the group %q is not disabled", name)
	}
	return err
}

var errNotDisabled = errors.New("the group is not disabled")

// openGroupClient reaches the server running on dataDir if there is one,
// and opens the database directly otherwise.
func openGroupClient(ctx context.Context, dataDir string) (groupClient, error) {
	return openClient(ctx, dataDir,
		func(hc *httpRoomClient) groupClient { return &httpGroupClient{hc} },
		func(db *store.DB) groupClient { return &dbGroupClient{db: db} })
}

// httpGroupClient uses the running server's operator routes for groups.
type httpGroupClient struct{ *httpRoomClient }

func groupPath(name string, rest string) string {
	return "/api/v1/groups/" + url.PathEscape(strings.TrimSpace(name)) + rest
}

func (c *httpGroupClient) list(ctx context.Context) ([]api.GroupView, error) {
	var out struct {
		Groups []api.GroupView `json:"groups"`
	}
	err := c.do(ctx, http.MethodGet, "/api/v1/groups", nil, &out)
	return out.Groups, err
}

func (c *httpGroupClient) show(ctx context.Context, name string) (api.GroupView, error) {
	var v api.GroupView
	err := c.do(ctx, http.MethodGet, groupPath(name, ""), nil, &v)
	return v, err
}

func (c *httpGroupClient) limits(ctx context.Context, name string, l rooms.Limits) (api.GroupView, error) {
	var v api.GroupView
	err := c.do(ctx, http.MethodPut, groupPath(name, "/limits"), l, &v)
	return v, err
}

func (c *httpGroupClient) setState(ctx context.Context, name string, disabled bool) (api.GroupView, error) {
	action := "/enable"
	if disabled {
		action = "/disable"
	}
	var v api.GroupView
	err := c.do(ctx, http.MethodPost, groupPath(name, action), nil, &v)
	return v, err
}

// dbGroupClient works on the database while no server runs (nobody is
// in a call then: usage.participants is 0, every endpoint offline).
type dbGroupClient struct{ db *store.DB }

func (c *dbGroupClient) close() error { return c.db.Close() }

func (c *dbGroupClient) view(ctx context.Context, g *rooms.Group, withEndpoints bool) (api.GroupView, error) {
	eps, err := c.db.Endpoints(ctx, g.ID)
	if err != nil {
		return api.GroupView{}, err
	}
	rms, err := c.db.GroupRooms(ctx, g.ID)
	if err != nil {
		return api.GroupView{}, err
	}
	v := api.GroupView{ID: g.ID, Name: g.Name, Slug: g.Slug, State: g.State, Admin: api.Contact{Name: g.AdminName, Email: g.AdminEmail},
		Limits: g.Limits, Usage: rooms.Limits{Endpoints: len(eps), Rooms: len(rms)}, CreatedAt: g.CreatedAt, ActivatedAt: g.ActivatedAt}
	if withEndpoints {
		for _, ep := range eps {
			v.Endpoints = append(v.Endpoints, api.EndpointView{ID: ep.ID, Kind: ep.Kind, Name: ep.Name, Address: ep.Address, Disabled: ep.Disabled})
		}
	}
	return v, nil
}

func (c *dbGroupClient) list(ctx context.Context) ([]api.GroupView, error) {
	gs, err := c.db.Groups(ctx)
	if err != nil {
		return nil, err
	}
	out := []api.GroupView{}
	for _, g := range gs {
		v, err := c.view(ctx, g, false)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func (c *dbGroupClient) show(ctx context.Context, name string) (api.GroupView, error) {
	g, err := c.db.GroupByName(ctx, name)
	if err != nil {
		return api.GroupView{}, err
	}
	return c.view(ctx, g, true)
}

func (c *dbGroupClient) update(ctx context.Context, name string, change func(g *rooms.Group) error) (api.GroupView, error) {
	g, err := c.db.GroupByName(ctx, name)
	if err != nil {
		return api.GroupView{}, err
	}
	err = c.db.UpdateGroup(ctx, g.ID, func(tx rooms.GroupTx) error {
		cur := tx.Group()
		if err := change(cur); err != nil {
			return err
		}
		g = cur
		return tx.PutGroup(cur)
	})
	if err != nil {
		return api.GroupView{}, err
	}
	return c.view(ctx, g, true)
}

func (c *dbGroupClient) limits(ctx context.Context, name string, l rooms.Limits) (api.GroupView, error) {
	return c.update(ctx, name, func(g *rooms.Group) error {
		g.Limits = l.OrDefault(g.Limits)
		return nil
	})
}

func (c *dbGroupClient) setState(ctx context.Context, name string, disabled bool) (api.GroupView, error) {
	return c.update(ctx, name, func(g *rooms.Group) error {
		switch {
		case disabled:
			g.State = rooms.GroupDisabled
		case g.State != rooms.GroupDisabled:
			return errNotDisabled
		case g.ActivatedAt.IsZero():
			g.State = rooms.GroupPending
		default:
			g.State = rooms.GroupActive
		}
		return nil
	})
}
