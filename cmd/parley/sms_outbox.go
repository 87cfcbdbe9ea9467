package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"

	"github.com/parley-dev/parley/api"
	"github.com/parley-dev/parley/rooms"
)

const outboxSMSUsage = `Usage:
  parley outbox sms [--state queued|sent|delivered|failed] [--limit N] [--data DIR] [--json]
                                   list outgoing text messages (invitations), newest first

Without an SMS gateway (parley serve --sms-url), parley sends no text
messages: each waits here, queued, with its text, for you to pass on. With
one, a message the gateway refuses is retried until it accepts it; its text
is removed once it has.

The command goes through the server running on DIR, or opens its database
when no server runs.

Flags:
  --data DIR       the server's data directory (default ./data, env PARLEY_DATA)
  --state STATE    list only messages in this state
  --limit N        list at most N messages (default 100, at most 1000)
  --json           print JSON (as GET /api/v1/sms-outbox)
`

// runOutboxSMS is parley outbox sms.
func runOutboxSMS(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("outbox sms", flag.ContinueOnError)
	data := dataDirFlag(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	state := fs.String("state", "", "queued, sent, delivered or failed")
	limit := fs.Int("limit", 100, "at most this many")
	rest, err := parseInterspersed(fs, args, outboxSMSUsage)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, outboxSMSUsage)
		return nil
	}
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageErrorf(outboxSMSUsage, "outbox sms takes no arguments, got %q", rest)
	}
	f := rooms.TextFilter{State: rooms.TextState(*state), Limit: *limit}
	switch f.State {
	case "", rooms.TextQueued, rooms.TextSent, rooms.TextDelivered, rooms.TextFailed:
	default:
		return usageErrorf(outboxSMSUsage, "outbox sms: --state %q is not queued, sent, delivered or failed", *state)
	}
	if f.Limit < 1 || f.Limit > 1000 {
		return usageErrorf(outboxSMSUsage, "outbox sms: --limit %d is not from 1 to 1000", *limit)
	}
	c, err := openOutboxClient(ctx, *data)
	if err != nil {
		return err
	}
	defer c.close()
	l, err := c.texts(ctx, f)
	if err != nil {
		return err
	}
	_, offline := c.(dbOutboxClient)
	if *asJSON {
		return json.NewEncoder(stdout).Encode(l)
	}
	banner := fmt.Sprintf("Text messages are sent through %s.", l.Gateway)
	switch {
	case offline:
		banner = "No server is running, so no text messages are being sent."
	case l.Gateway == "":
		banner = "No SMS gateway is configured: these messages wait here, with their text, for you to pass on."
	}
	rows := make([]string, len(l.Texts))
	for i, m := range l.Texts {
		rows[i] = fmt.Sprintf("%s\t%s\t%s\t%s\t%d\t%s\t%s", m.ID, m.State, m.To, m.CreatedAt.Local().Format("2006-01-02 15:04"),
			m.Attempts, clip(oneLine(m.LastError), 40), oneLine(m.Text))
	}
	return printQueue(stdout, banner, "The SMS outbox is empty.", "ID\tSTATE\tTO\tCREATED\tATTEMPTS\tLAST ERROR\tTEXT", rows)
}

func (c httpOutboxClient) texts(ctx context.Context, f rooms.TextFilter) (api.SMSOutboxList, error) {
	var l api.SMSOutboxList
	err := c.do(ctx, http.MethodGet, "/api/v1/sms-outbox?"+listQuery(string(f.State), f.Limit), nil, &l)
	return l, err
}

func (c dbOutboxClient) texts(ctx context.Context, f rooms.TextFilter) (api.SMSOutboxList, error) {
	texts, err := c.db.Texts(ctx, f)
	if err != nil {
		return api.SMSOutboxList{}, err
	}
	l := api.SMSOutboxList{Texts: make([]api.TextView, 0, len(texts))}
	for _, m := range texts {
		l.Texts = append(l.Texts, api.TextViewOf(m))
	}
	return l, nil
}
