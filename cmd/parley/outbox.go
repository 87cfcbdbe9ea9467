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
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/parley-dev/parley/api"
	"github.com/parley-dev/parley/rooms"
	"github.com/parley-dev/parley/rooms/store"
)

const outboxUsage = `Usage:
  parley outbox [--state queued|sent] [--limit N] [--data DIR] [--json]
                                   list outgoing mail, newest first
  parley outbox show ID [--data DIR] [--json]
                                   print one message whole, to read or pass on
  parley outbox page [--data DIR]  print the address of the outbox web page and
                                   how to sign in to it (the server must run)
  parley outbox sms [--state S] [--data DIR] [--json]
                                   list outgoing text messages (invitations)

Without an SMTP server (parley serve --smtp-host), parley sends no mail:
each message waits here, queued, for you to pass on. With one, a message
that fails is retried until it is sent; its text is removed once it is.

The commands go through the server running on DIR, or open its database
when no server runs; they never create a database.

Flags:
  --data DIR       the server's data directory (default ./data, env PARLEY_DATA)
  --state STATE    list only queued or only sent messages
  --limit N        list at most N messages (default 100, at most 1000)
  --json           print JSON (as GET /api/v1/outbox and /api/v1/outbox/{id})
`

// outboxClient is what the outbox commands need: the running server's
// API, or the database when no server runs.
type outboxClient interface {
	list(ctx context.Context, f rooms.MailFilter) (api.OutboxList, error)
	get(ctx context.Context, id string) (api.MailView, error)
	texts(ctx context.Context, f rooms.TextFilter) (api.SMSOutboxList, error) // sms_outbox.go
	close() error
}

func runOutbox(ctx context.Context, args []string, stdout io.Writer) error {
	sub := "list"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		sub, args = args[0], args[1:]
	}
	if isHelpFlag(sub) {
		fmt.Fprint(stdout, outboxUsage)
		return nil
	}
	if sub == "sms" {
		return runOutboxSMS(ctx, args, stdout) // sms_outbox.go
	}
	want := map[string]int{"list": 0, "show": 1, "page": 0}
	n, ok := want[sub]
	if !ok {
		return usageErrorf(outboxUsage, "outbox: unknown subcommand %q", sub)
	}
	fs := flag.NewFlagSet("outbox "+sub, flag.ContinueOnError)
	data := dataDirFlag(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	state := fs.String("state", "", "queued or sent")
	limit := fs.Int("limit", 100, "at most this many")
	rest, err := parseInterspersed(fs, args, outboxUsage)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, outboxUsage)
		return nil
	}
	if err != nil {
		return err
	}
	switch {
	case len(rest) != n && n == 0:
		return usageErrorf(outboxUsage, "outbox %s takes no arguments, got %q", sub, rest)
	case len(rest) != n:
		return usageErrorf(outboxUsage, "outbox show needs one message ID, as parley outbox lists them (m_...)")
	}
	f := rooms.MailFilter{State: rooms.MailState(*state), Limit: *limit}
	if f.State != "" && f.State != rooms.MailQueued && f.State != rooms.MailSent {
		return usageErrorf(outboxUsage, "outbox: --state %q is neither queued nor sent", *state)
	}
	if f.Limit < 1 || f.Limit > 1000 {
		return usageErrorf(outboxUsage, "outbox: --limit %d is not from 1 to 1000", *limit)
	}
	if sub == "page" {
		return outboxPage(ctx, *data, stdout)
	}
	c, err := openOutboxClient(ctx, *data)
	if err != nil {
		return err
	}
	defer c.close()
	if sub == "show" {
		return outboxShow(ctx, c, rest[0], *asJSON, stdout)
	}
	return outboxList(ctx, c, f, *asJSON, stdout)
}

func outboxList(ctx context.Context, c outboxClient, f rooms.MailFilter, asJSON bool, stdout io.Writer) error {
	l, err := c.list(ctx, f)
	if err != nil {
		return err
	}
	if asJSON {
		return json.NewEncoder(stdout).Encode(l)
	}
	_, offline := c.(dbOutboxClient)
	banner := fmt.Sprintf("Mail is sent through %s.", l.SMTP)
	switch {
	case offline:
		banner = "No server is running, so no mail is being sent; parley outbox show ID prints a message to pass on."
	case l.SMTP == "":
		banner = "No SMTP server is configured: these messages wait here; parley outbox show ID prints one to pass on."
	}
	rows := make([]string, len(l.Mails))
	for i, m := range l.Mails {
		rows[i] = fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%d\t%s", m.ID, m.State, m.To, clip(m.Subject, 40),
			m.CreatedAt.Local().Format("2006-01-02 15:04"), m.Attempts, clip(oneLine(m.LastError), 60))
	}
	return printQueue(stdout, banner, "The outbox is empty.", "ID\tSTATE\tTO\tSUBJECT\tCREATED\tATTEMPTS\tLAST ERROR", rows)
}

// printQueue prints an outbox listing (mail or text messages): a line on
// how its messages go out, then a table of rows under header, or empty
// when there are none.
func printQueue(w io.Writer, banner, empty, header string, rows []string) error {
	fmt.Fprintln(w, banner)
	if len(rows) == 0 {
		fmt.Fprintln(w, empty)
		return nil
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		fmt.Fprintln(tw, r)
	}
	return tw.Flush()
}

func outboxShow(ctx context.Context, c outboxClient, id string, asJSON bool, stdout io.Writer) error {
	m, err := c.get(ctx, strings.TrimSpace(id))
	if errors.Is(err, rooms.ErrMailNotFound) {
		return fmt.Errorf("there is no message %q in the outbox (parley outbox lists them)", id)
	}
	if err != nil {
		return err
	}
	if asJSON {
		return json.NewEncoder(stdout).Encode(m)
	}
	at := func(t time.Time) string { return t.Local().Format("2006-01-02 15:04:05 MST") }
	fmt.Fprintf(stdout, "To:       %s\nSubject:  %s\n", m.To, m.Subject)
	state := string(m.State)
	switch {
	case m.State == rooms.MailSent:
		state += " " + at(m.SentAt)
	case m.Attempts > 0:
		state += fmt.Sprintf(", next attempt %s", at(m.NextAttempt))
	}
	fmt.Fprintf(stdout, "State:    %s (%d attempts)\n", state, m.Attempts)
	if m.LastError != "" {
		fmt.Fprintf(stdout, "Error:    %s\n", oneLine(m.LastError))
	}
	fmt.Fprintf(stdout, "Created:  %s\nKind:     %s\nID:       %s\n\n", at(m.CreatedAt), m.Kind, m.ID)
	switch {
	case m.Text != "":
		fmt.Fprint(stdout, strings.TrimRight(m.Text, "\n")+"\n")
	case m.State == rooms.MailSent:
		fmt.Fprintln(stdout, "(The text was removed when the message was sent.)")
	}
	return nil
}

// outboxPage prints where the outbox page is and how to sign in.
func outboxPage(ctx context.Context, dataDir string, stdout io.Writer) error {
	hc, err := findServer(ctx, dataDir)
	if err != nil {
		return err
	}
	if hc == nil {
		return fmt.Errorf("no server is running on %s: the outbox page is served by parley serve (parley outbox lists the mail without it)", dataDir)
	}
	fmt.Fprintf(stdout, "Open %s/operator/outbox\nand sign in with any user name and this password (it changes each time parley serve starts):\n%s\n", hc.base, hc.token)
	return nil
}

func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// openOutboxClient reaches the server running on dataDir if there is one,
// and opens the database directly otherwise. It never creates a database.
func openOutboxClient(ctx context.Context, dataDir string) (outboxClient, error) {
	return openClient(ctx, dataDir,
		func(hc *httpRoomClient) outboxClient { return httpOutboxClient{hc} },
		func(db *store.DB) outboxClient { return dbOutboxClient{db} })
}

// httpOutboxClient reads the outbox through a running server's operator API.
type httpOutboxClient struct{ *httpRoomClient }

func (c httpOutboxClient) list(ctx context.Context, f rooms.MailFilter) (api.OutboxList, error) {
	var l api.OutboxList
	err := c.do(ctx, http.MethodGet, "/api/v1/outbox?"+listQuery(string(f.State), f.Limit), nil, &l)
	return l, err
}

func (c httpOutboxClient) get(ctx context.Context, id string) (api.MailView, error) {
	var m api.MailView
	err := c.do(ctx, http.MethodGet, "/api/v1/outbox/"+url.PathEscape(id), nil, &m)
	var se *serverError
	if errors.As(err, &se) && se.code == "mail-not-found" {
		return m, rooms.ErrMailNotFound
	}
	return m, err
}

// listQuery is the query of a listing of the outbox or the SMS outbox.
func listQuery(state string, limit int) string {
	q := url.Values{"limit": {strconv.Itoa(limit)}}
	if state != "" {
		q.Set("state", state)
	}
	return q.Encode()
}

// dbOutboxClient reads the outbox from the database while no server runs.
type dbOutboxClient struct{ db *store.DB }

func (c dbOutboxClient) close() error { return c.db.Close() }

func (c dbOutboxClient) list(ctx context.Context, f rooms.MailFilter) (api.OutboxList, error) {
	all, err := c.db.Mails(ctx, f)
	if err != nil {
		return api.OutboxList{}, err
	}
	l := api.OutboxList{Mails: make([]api.MailView, 0, len(all))}
	for _, m := range all {
		l.Mails = append(l.Mails, api.MailViewOf(m, false))
	}
	return l, nil
}

func (c dbOutboxClient) get(ctx context.Context, id string) (api.MailView, error) {
	m, err := c.db.Mail(ctx, id)
	if err != nil {
		return api.MailView{}, err
	}
	return api.MailViewOf(m, true), nil
}
