package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
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
		return nil, fmt.Errorf("%s is damaged (%v); restarting parley serve rewrites it", path, err)
	}
	return &info, nil
}

const roomUsage = `Usage:
  parley room create NAME [--data DIR] [--json]   create a room and print its join link
  parley room list [--data DIR] [--json]          list rooms and their join links
  parley room delete NAME [--data DIR]            delete a room, ending its call

NAME is one argument: quote a name with spaces, as in
  parley room create "Thursday Choir"

The commands go through the server running on DIR, or open its database
when no server runs; they never create a database.

Flags:
  --data DIR   the server's data directory (default ./data, env PARLEY_DATA)
  --json       print JSON
`

// roomClient is what the room commands need: the running server's API, or
// the database directly when no server runs. Both return errors wrapping
// the rooms package's sentinels, so roomError words them the same.
type roomClient interface {
	create(ctx context.Context, name string) (api.RoomView, error)
	list(ctx context.Context) ([]api.RoomView, error)
	delete(ctx context.Context, name string) error
	close() error
}

// roomArgs is how many arguments each room subcommand takes.
var roomArgs = map[string]int{"create": 1, "delete": 1, "list": 0}

func runRoom(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageErrorf(roomUsage, "room: no subcommand given")
	}
	sub := args[0]
	if isHelpFlag(sub) {
		fmt.Fprint(stdout, roomUsage)
		return nil
	}
	want, ok := roomArgs[sub]
	if !ok {
		return usageErrorf(roomUsage, "room: unknown subcommand %q", sub)
	}
	fs := flag.NewFlagSet("room "+sub, flag.ContinueOnError)
	data := dataDirFlag(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	rest, err := parseInterspersed(fs, args[1:], roomUsage)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, roomUsage)
		return nil
	}
	if err != nil {
		return err
	}
	if err := checkRoomArgs(sub, want, rest); err != nil {
		return err
	}
	var name string
	switch sub {
	case "create":
		// Check the name here, so the answer is the same with a server or without.
		if name, err = rooms.ValidateName(rest[0]); err != nil {
			return roomError(rest[0], err)
		}
	case "delete":
		// Not validated: a room whose name an older parley accepted can
		// still be deleted. Look-ups compare normalised names.
		name = rest[0]
	}
	c, err := openRoomClient(ctx, *data)
	if err != nil {
		return err
	}
	defer c.close()
	return doRoom(ctx, c, sub, name, *asJSON, stdout)
}

// doRoom runs one room subcommand on c and prints its result.
func doRoom(ctx context.Context, c roomClient, sub, name string, asJSON bool, stdout io.Writer) error {
	switch sub {
	case "create":
		v, err := c.create(ctx, name)
		if err != nil {
			return roomError(name, err)
		}
		if asJSON {
			return json.NewEncoder(stdout).Encode(v)
		}
		fmt.Fprintln(stdout, v.URL)
	case "list":
		vs, err := c.list(ctx)
		if err != nil {
			return err
		}
		if asJSON {
			return json.NewEncoder(stdout).Encode(vs)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tCREATED\tLINK")
		for _, v := range vs {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", v.Name, v.CreatedAt.Local().Format("2006-01-02 15:04"), v.URL)
		}
		return tw.Flush()
	case "delete":
		if err := c.delete(ctx, name); err != nil {
			return roomError(name, err)
		}
		fmt.Fprintf(stdout, "deleted room %q\n", name)
	}
	return nil
}

// checkRoomArgs checks a room subcommand got want arguments; a name in
// several words (the shell split it) gets a hint to quote it.
func checkRoomArgs(sub string, want int, got []string) error {
	switch {
	case len(got) == want:
		return nil
	case want == 0:
		return usageErrorf(roomUsage, "room %s takes no arguments, got %q", sub, got)
	case len(got) == 0:
		return usageErrorf(roomUsage, "room %s needs the room's name, as in: parley room %s \"Thursday Choir\"", sub, sub)
	}
	joined := strings.Join(got, " ")
	return usageErrorf("", "room %s takes one name, got %d words; to %s the room %q, quote its name:\n  parley room %s %q", sub, len(got), sub, joined, sub, joined)
}

// roomError says in plain words why a room command about name failed: the
// same words whether a server or the database answered.
func roomError(name string, err error) error {
	switch {
	case errors.Is(err, rooms.ErrRoomExists):
		return fmt.Errorf("a room named %q already exists", name)
	case errors.Is(err, rooms.ErrRoomNotFound):
		return fmt.Errorf("there is no room named %q (parley room list shows the rooms)", name)
	case errors.Is(err, rooms.ErrInvalidName):
		rule := err.Error()
		if i := strings.Index(rule, rooms.ErrInvalidName.Error()+": "); i >= 0 {
			rule = rule[i+len(rooms.ErrInvalidName.Error())+2:]
		}
		if strings.TrimSpace(name) == "" {
			return errors.New("a room name cannot be empty")
		}
		return fmt.Errorf("%q is not a valid room name: %s", name, rule)
	}
	return err
}

// openRoomClient reaches the server running on dataDir if there is one, and
// opens the database directly otherwise. It never creates a database.
func openRoomClient(ctx context.Context, dataDir string) (roomClient, error) {
	return openClient(ctx, dataDir,
		func(hc *httpRoomClient) roomClient { return hc },
		func(db *store.DB) roomClient { return &dbRoomClient{db: db} })
}

// openClient is what the operator commands share: C through the server
// running on dataDir (viaServer) if there is one, and otherwise through
// its database, opened directly (viaDB). It never creates a database.
func openClient[C any](ctx context.Context, dataDir string, viaServer func(*httpRoomClient) C, viaDB func(*store.DB) C) (C, error) {
	var none C
	hc, err := findServer(ctx, dataDir)
	if err != nil {
		return none, err
	}
	if hc != nil {
		return viaServer(hc), nil
	}
	db, err := openExistingDB(dataDir)
	if err != nil {
		return none, err
	}
	return viaDB(db), nil
}

// findServer returns a client for the server running on dataDir, or nil
// (and no error) if none runs there: no operator file, or one left by a
// server that is gone.
func findServer(ctx context.Context, dataDir string) (*httpRoomClient, error) {
	opPath := filepath.Join(dataDir, operatorFileName)
	info, err := readOperatorFile(opPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case errors.Is(err, fs.ErrPermission):
		return nil, fmt.Errorf("cannot read %s (permission denied): run this as the user that runs parley serve", opPath)
	case err != nil:
		return nil, err
	}
	hc := &httpRoomClient{base: info.URL, token: info.Token, hc: &http.Client{Timeout: 10 * time.Second}}
	if err := hc.ping(ctx); err != nil {
		var se *serverError
		switch {
		case isUnreachable(err):
			return nil, nil // it crashed and left its file: use the database
		case errors.As(err, &se):
			return nil, fmt.Errorf("the server running on %s refused the request: %s", dataDir, se.text())
		}
		return nil, fmt.Errorf("cannot reach the server running on %s at %s: %w", dataDir, info.URL, plainHTTPError(err))
	}
	return hc, nil
}

// existingDB returns the database path in dataDir, or a plain error if the
// directory or the file is missing.
func existingDB(dataDir string) (string, error) {
	if fi, err := os.Stat(dataDir); err != nil || !fi.IsDir() {
		return "", fmt.Errorf("there is no data directory %s; give the server's --data DIR (parley serve creates it)", dataDir)
	}
	dbPath := filepath.Join(dataDir, "parley.db")
	if _, err := os.Stat(dbPath); errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("there is no database in %s (no parley.db); give the server's --data DIR, or run parley serve once to create it", dataDir)
	}
	return dbPath, nil
}

// openExistingDB opens the database in dataDir while no server runs on
// it, with plain errors for an operator; it never creates a database.
func openExistingDB(dataDir string) (*store.DB, error) {
	dbPath, err := existingDB(dataDir)
	if err != nil {
		return nil, err
	}
	db, err := store.Open(dbPath, store.Options{Timeout: 2 * time.Second, NoCreate: true})
	if err != nil {
		return nil, dbOpenError(dataDir, dbPath, err)
	}
	return db, nil
}

// dbOpenError words a failure of store.Open on dbPath for an operator.
func dbOpenError(dataDir, dbPath string, err error) error {
	switch {
	case errors.Is(err, store.ErrNoDatabase):
		return fmt.Errorf("there is no database in %s (no parley.db); give the server's --data DIR, or run parley serve once to create it", dataDir)
	case errors.Is(err, store.ErrLocked):
		return fmt.Errorf("the database %s is in use by another process (a parley serve that left no %s?); try again when it stops", dbPath, operatorFileName)
	case errors.Is(err, store.ErrSchemaTooNew):
		return fmt.Errorf("the database %s was written by a newer parley; use that version", dbPath)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("cannot open %s (permission denied): run this as the user that runs parley serve", dbPath)
	}
	return fmt.Errorf("cannot open the database %s: %w", dbPath, err)
}

func isUnreachable(err error) bool {
	var uerr *url.Error
	return errors.Is(err, syscall.ECONNREFUSED) || (errors.As(err, &uerr) && uerr.Timeout())
}

// plainHTTPError words a failed HTTP request without Go's "Get \"...\":"
// prefix and dial internals.
func plainHTTPError(err error) error {
	var (
		uerr *url.Error
		dns  *net.DNSError
		cert *tls.CertificateVerificationError
		se   *serverError
	)
	switch {
	case errors.As(err, &se):
		return se
	case errors.Is(err, syscall.ECONNREFUSED):
		return errors.New("nothing is listening there (connection refused)")
	case errors.As(err, &uerr) && uerr.Timeout():
		return errors.New("no answer in time")
	case errors.As(err, &dns):
		return fmt.Errorf("cannot find the host %s", dns.Name)
	case errors.As(err, &cert):
		return fmt.Errorf("its TLS certificate is not valid: %w", cert.Err)
	case errors.As(err, &uerr):
		return uerr.Err
	}
	return err
}

// serverError is an error answer from the server's API. It wraps the
// rooms sentinel its code stands for, so a room command words it as it
// would words the database's error.
type serverError struct {
	status  string
	code    string
	message string
}

func (e *serverError) Error() string { return "the server answered: " + e.text() }

// text is the server's message, or its status when it sent none.
func (e *serverError) text() string {
	if e.message == "" {
		return e.status
	}
	return e.message
}

func (e *serverError) Unwrap() error {
	switch {
	case e.code == "room-exists":
		return rooms.ErrRoomExists
	case e.code == "room-not-found":
		return rooms.ErrRoomNotFound
	case e.code == "bad-request" && strings.HasPrefix(e.message, rooms.ErrInvalidName.Error()):
		return fmt.Errorf("%w%s", rooms.ErrInvalidName, strings.TrimPrefix(e.message, rooms.ErrInvalidName.Error()))
	}
	return nil
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
		return readServerError(resp)
	}
	if out != nil {
		return json.NewDecoder(resp.Body).Decode(out)
	}
	return nil
}

// readServerError reads an API error answer.
func readServerError(resp *http.Response) error {
	var eb api.ErrorBody
	se := &serverError{status: resp.Status}
	if json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&eb) == nil {
		se.code, se.message = eb.Error.Code, eb.Error.Message
	}
	return se
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
