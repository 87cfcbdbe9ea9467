package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/parley-dev/parley/api"
	"github.com/parley-dev/parley/rooms"
	"github.com/parley-dev/parley/rooms/store"
)

// operatorFileName is the file, in the data directory, through which the
// CLI reaches a running server: its local URL and the operator token, mode
// 0600. The server writes it when it starts and removes it when it stops.
const operatorFileName = "operator.json"

type operatorInfo struct {
	URL   string `json:"url"`
	Token string `json:"token"`
	PID   int    `json:"pid"`
}

func writeOperatorFile(path string, info operatorInfo) error {
	data, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func readOperatorFile(path string) (*operatorInfo, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var info operatorInfo
	if err := json.Unmarshal(data, &info); err != nil {
		return nil, fmt.Errorf("malformed %s: %w", path, err)
	}
	return &info, nil
}

const roomUsage = `Usage:
  parley room create NAME [--data DIR]
  parley room list [--data DIR] [--json]
  parley room delete NAME [--data DIR]
`

// roomClient is what the room commands need: the running server's API, or
// the database directly when no server runs.
type roomClient interface {
	create(ctx context.Context, name string) (api.RoomView, error)
	list(ctx context.Context) ([]api.RoomView, error)
	delete(ctx context.Context, name string) error
	close() error
}

func runRoom(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, roomUsage)
		return errors.New("room: no subcommand given")
	}
	sub := args[0]
	fs := flag.NewFlagSet("parley room "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	defData := defaultDataDir
	if v, ok := os.LookupEnv("PARLEY_DATA"); ok {
		defData = v
	}
	data := fs.String("data", defData, "data directory of the server (env PARLEY_DATA)")
	asJSON := fs.Bool("json", false, "print JSON")
	// Allow flags after the NAME argument as well as before it.
	rest, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return err
	}
	want := map[string]int{"create": 1, "delete": 1, "list": 0}
	n, ok := want[sub]
	if !ok {
		fmt.Fprint(stderr, roomUsage)
		return fmt.Errorf("room: unknown subcommand %q", sub)
	}
	if len(rest) != n {
		fmt.Fprint(stderr, roomUsage)
		return fmt.Errorf("room %s takes %d argument(s), got %d", sub, n, len(rest))
	}
	c, err := openRoomClient(ctx, *data)
	if err != nil {
		return err
	}
	defer c.close()
	switch sub {
	case "create":
		v, err := c.create(ctx, rest[0])
		if err != nil {
			return fmt.Errorf("create room: %w", err)
		}
		if *asJSON {
			return json.NewEncoder(stdout).Encode(v)
		}
		fmt.Fprintln(stdout, v.URL)
	case "list":
		vs, err := c.list(ctx)
		if err != nil {
			return fmt.Errorf("list rooms: %w", err)
		}
		if *asJSON {
			return json.NewEncoder(stdout).Encode(vs)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tCREATED\tLINK")
		for _, v := range vs {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", v.Name, v.CreatedAt.Local().Format("2006-01-02 15:04"), v.URL)
		}
		return tw.Flush()
	case "delete":
		if err := c.delete(ctx, rest[0]); err != nil {
			return fmt.Errorf("delete room: %w", err)
		}
		fmt.Fprintf(stdout, "deleted room %q\n", rest[0])
	}
	return nil
}

func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return rest, nil
		}
		rest = append(rest, args[0])
		args = args[1:]
	}
}

// openRoomClient reaches the server running on dataDir if there is one, and
// opens the database directly otherwise.
func openRoomClient(ctx context.Context, dataDir string) (roomClient, error) {
	opPath := filepath.Join(dataDir, operatorFileName)
	info, err := readOperatorFile(opPath)
	if err == nil {
		hc := &httpRoomClient{base: info.URL, token: info.Token, hc: &http.Client{Timeout: 10 * time.Second}}
		if err := hc.ping(ctx); err == nil {
			return hc, nil
		} else if !isUnreachable(err) {
			return nil, fmt.Errorf("reach the running server at %s: %w", info.URL, err)
		}
		// The server is gone (it crashed and left its file): use the database.
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	dbPath := filepath.Join(dataDir, "parley.db")
	db, err := store.Open(dbPath, store.Options{Timeout: 2 * time.Second})
	if err != nil {
		if errors.Is(err, store.ErrLocked) {
			return nil, fmt.Errorf("%s is locked by a running parley that left no reachable %s: %w", dbPath, operatorFileName, err)
		}
		return nil, fmt.Errorf("open %s: %w", dbPath, err)
	}
	return &dbRoomClient{db: db}, nil
}

func isUnreachable(err error) bool {
	var uerr *url.Error
	return errors.Is(err, syscall.ECONNREFUSED) || (errors.As(err, &uerr) && uerr.Timeout())
}

// httpRoomClient manages rooms through a running server's operator API.
type httpRoomClient struct {
	base, token string
	hc          *http.Client
}

func (c *httpRoomClient) close() error { return nil }

func (c *httpRoomClient) ping(ctx context.Context) error {
	return c.do(ctx, http.MethodGet, "/api/v1/rooms", nil, nil)
}

func (c *httpRoomClient) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		var eb api.ErrorBody
		if json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&eb) == nil && eb.Error.Message != "" {
			return fmt.Errorf("server says: %s (%s)", eb.Error.Message, eb.Error.Code)
		}
		return fmt.Errorf("server answered %s", resp.Status)
	}
	if out != nil {
		return json.NewDecoder(resp.Body).Decode(out)
	}
	return nil
}

func (c *httpRoomClient) create(ctx context.Context, name string) (api.RoomView, error) {
	var v api.RoomView
	err := c.do(ctx, http.MethodPost, "/api/v1/rooms", api.CreateRoomRequest{Name: name}, &v)
	return v, err
}

func (c *httpRoomClient) list(ctx context.Context) ([]api.RoomView, error) {
	var out struct {
		Rooms []api.RoomView `json:"rooms"`
	}
	err := c.do(ctx, http.MethodGet, "/api/v1/rooms", nil, &out)
	return out.Rooms, err
}

func (c *httpRoomClient) delete(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/rooms/"+url.PathEscape(name), nil, nil)
}

// dbRoomClient manages rooms in the database while no server runs.
type dbRoomClient struct {
	db *store.DB
}

func (c *dbRoomClient) close() error { return c.db.Close() }

func (c *dbRoomClient) publicURL() string {
	u, err := c.db.PublicURL()
	if err != nil || u == "" {
		return "http://localhost:8080"
	}
	return u
}

func (c *dbRoomClient) view(rm *rooms.Room) api.RoomView {
	return api.RoomView{ID: rm.ID, Name: rm.Name, Link: rm.Link, URL: rm.URL(c.publicURL()), CreatedAt: rm.CreatedAt}
}

func (c *dbRoomClient) create(ctx context.Context, name string) (api.RoomView, error) {
	rm, err := rooms.New(name, time.Now())
	if err != nil {
		return api.RoomView{}, err
	}
	if err := c.db.CreateRoom(ctx, rm); err != nil {
		return api.RoomView{}, err
	}
	return c.view(rm), nil
}

func (c *dbRoomClient) list(ctx context.Context) ([]api.RoomView, error) {
	all, err := c.db.Rooms(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]api.RoomView, 0, len(all))
	for _, rm := range all {
		out = append(out, c.view(rm))
	}
	return out, nil
}

func (c *dbRoomClient) delete(ctx context.Context, name string) error {
	rm, err := c.db.RoomByName(ctx, name)
	if err != nil {
		return err
	}
	return c.db.DeleteRoom(ctx, rm.ID)
}
