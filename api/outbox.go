package api

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/parley-dev/parley/auth"
	"github.com/parley-dev/parley/rooms"
	"github.com/parley-dev/parley/throttle"
)

// The operator's outbox: the JSON API (GET /api/v1/outbox, GET
// /api/v1/outbox/{id}) that parley outbox uses while the server runs, and
// the same as web pages (GET /operator/outbox, /operator/outbox/{id}) for
// an operator with a browser. Both need the operator token; the pages take
// it as the password of HTTP Basic authentication (any user name), since
// a browser asks for that itself.

// Limits of an outbox listing.
const (
	defaultMailLimit = 100
	maxMailLimit     = 1000
)

// MailView is an outbox message as the operator API shows it. Text is
// left out of listings; a sent message's text is gone (see rooms.Outbox).
type MailView struct {
	ID          string          `json:"id"`
	Kind        string          `json:"kind"`
	To          string          `json:"to"`
	Subject     string          `json:"subject"`
	Text        string          `json:"text,omitempty"`
	State       rooms.MailState `json:"state"`
	CreatedAt   time.Time       `json:"createdAt"`
	Attempts    int             `json:"attempts"`
	NextAttempt time.Time       `json:"nextAttempt,omitzero"`
	LastError   string          `json:"lastError,omitempty"`
	SentAt      time.Time       `json:"sentAt,omitzero"`
}

// OutboxList answers GET /api/v1/outbox.
type OutboxList struct {
	// SMTP is the server mail is sent through ("host:port (starttls)"),
	// or "" when none is configured and messages wait here.
	SMTP  string     `json:"smtp"`
	Mails []MailView `json:"mails"`
}

// MailViewOf is m as the operator API shows it, with its text or without.
func MailViewOf(m *rooms.Mail, withText bool) MailView {
	v := MailView{ID: m.ID, Kind: m.Kind, To: m.To, Subject: m.Subject, State: m.State, CreatedAt: m.CreatedAt,
		Attempts: m.Attempts, NextAttempt: m.NextAttempt, LastError: m.LastError, SentAt: m.SentAt}
	if withText {
		v.Text = m.Text
	}
	return v
}

// outboxRoutes adds the outbox's API routes (through api, which records
// their methods) and its pages.
func (s *Server) outboxRoutes(api func(method, path string, h handlerFunc)) {
	api("GET", "/api/v1/outbox", s.operator(s.listOutbox))
	api("GET", "/api/v1/outbox/{id}", s.operator(s.getOutboxMail))
	s.mux.HandleFunc("GET /operator/outbox", s.operatorPage(s.outboxPage))
	s.mux.HandleFunc("GET /operator/outbox/{id}", s.operatorPage(s.outboxMailPage))
}

// outboxFilter reads ?state= and ?limit=.
func outboxFilter(r *http.Request) (rooms.MailFilter, error) {
	f := rooms.MailFilter{Limit: defaultMailLimit}
	q := r.URL.Query()
	switch st := rooms.MailState(q.Get("state")); st {
	case "", rooms.MailQueued, rooms.MailSent:
		f.State = st
	default:
		return f, badRequest(fmt.Sprintf("state %q is neither queued nor sent", st))
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > maxMailLimit {
			return f, badRequest(fmt.Sprintf("limit %q is not a whole number from 1 to %d", l, maxMailLimit))
		}
		f.Limit = n
	}
	return f, nil
}

func (s *Server) listOutbox(w http.ResponseWriter, r *http.Request) error {
	f, err := outboxFilter(r)
	if err != nil {
		return err
	}
	all, err := s.cfg.Rooms.Mails(r.Context(), f)
	if err != nil {
		return fmt.Errorf("list outbox: %w", err)
	}
	out := OutboxList{SMTP: s.cfg.SMTP, Mails: make([]MailView, 0, len(all))}
	for _, m := range all {
		out.Mails = append(out.Mails, MailViewOf(m, false))
	}
	return writeJSON(w, http.StatusOK, out)
}

var errMailNotFound = &apiError{status: http.StatusNotFound, code: "mail-not-found", msg: "no message in the outbox has that ID"}

func (s *Server) getOutboxMail(w http.ResponseWriter, r *http.Request) error {
	m, err := s.cfg.Rooms.Mail(r.Context(), r.PathValue("id"))
	if errors.Is(err, rooms.ErrMailNotFound) {
		return errMailNotFound
	}
	if err != nil {
		return fmt.Errorf("get outbox mail: %w", err)
	}
	return writeJSON(w, http.StatusOK, MailViewOf(m, true))
}

// operatorPage wraps a page handler so it runs only for the operator: the
// operator token as the Basic password (or a Bearer token). A wrong token
// spends the client address's allowance, as on the API; asking without
// one does not (a browser always asks so first).
func (s *Server) operatorPage(h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if s.cfg.OperatorToken == "" {
			s.writePage(w, http.StatusForbidden, errorPage{"Not available", "The operator pages are turned off on this server."})
			return
		}
		token, given := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !given {
			_, token, given = r.BasicAuth()
		}
		if !given || !auth.Equal(token, s.cfg.OperatorToken) {
			if given {
				if wait, ok := s.guesses.Failed(clientKey(r)); !ok {
					w.Header().Set("Retry-After", strconv.Itoa(throttle.RetryAfter(wait)))
					s.writePage(w, http.StatusTooManyRequests, errorPage{"Too many attempts",
						fmt.Sprintf("Too many wrong operator tokens from your address; try again in %d s.", throttle.RetryAfter(wait))})
					return
				}
			}
			w.Header().Set("WWW-Authenticate", `Basic realm="parley operator", charset="UTF-8"`)
			s.writePage(w, http.StatusUnauthorized, errorPage{"Sign in as the operator",
				"Use any user name and the operator token as the password. On the server, parley outbox page prints both; the token changes each time parley serve starts."})
			return
		}
		if err := h(w, r); err != nil {
			id := auth.RandomToken(6)
			s.log.Error("page failed", "id", id, "path", r.URL.Path, "err", err)
			s.writePage(w, http.StatusInternalServerError, errorPage{"Something went wrong", "The server could not show this page (ref " + id + ")."})
		}
	}
}

// outboxPageData fills outboxPageTmpl.
type outboxPageData struct {
	SMTP   string
	Filter rooms.MailState
	Limit  int
	Mails  []MailView
}

func (s *Server) outboxPage(w http.ResponseWriter, r *http.Request) error {
	f, err := outboxFilter(r)
	if err != nil {
		f = rooms.MailFilter{Limit: defaultMailLimit} // a mangled query shows everything
	}
	all, err := s.cfg.Rooms.Mails(r.Context(), f)
	if err != nil {
		return fmt.Errorf("list outbox: %w", err)
	}
	data := outboxPageData{SMTP: s.cfg.SMTP, Filter: f.State, Limit: f.Limit}
	for _, m := range all {
		data.Mails = append(data.Mails, MailViewOf(m, false))
	}
	return s.renderPage(w, http.StatusOK, "outbox", data)
}

func (s *Server) outboxMailPage(w http.ResponseWriter, r *http.Request) error {
	m, err := s.cfg.Rooms.Mail(r.Context(), r.PathValue("id"))
	if errors.Is(err, rooms.ErrMailNotFound) {
		s.writePage(w, http.StatusNotFound, errorPage{"No such message", "No message in the outbox has that ID."})
		return nil
	}
	if err != nil {
		return fmt.Errorf("get outbox mail: %w", err)
	}
	return s.renderPage(w, http.StatusOK, "mail", struct {
		SMTP string
		Mail MailView
	}{s.cfg.SMTP, MailViewOf(m, true)})
}

type errorPage struct{ Title, Text string }

func (s *Server) writePage(w http.ResponseWriter, status int, p errorPage) {
	if err := s.renderPage(w, status, "error", p); err != nil {
		s.log.Debug("write page", "err", err)
	}
}

// renderPage executes the named template into a buffer first, so a
// template error becomes a clean 500 rather than half a page.
func (s *Server) renderPage(w http.ResponseWriter, status int, name string, data any) error {
	var buf bytes.Buffer
	if err := pageTmpl.ExecuteTemplate(&buf, name, data); err != nil {
		return fmt.Errorf("render %s page: %w", name, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

var pageTmpl = template.Must(template.New("pages").Funcs(template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
}).Parse(pagesHTML))

const pagesHTML = `
{{define "head"}}<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="dark">
<meta name="referrer" content="no-referrer">
<title>{{.}} · Parley operator</title>
<link rel="icon" href="/assets/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/assets/style.css">
</head>
<body>
<main class="page op-page">
<div class="card op-card">
<div class="brand"><img src="/assets/favicon.svg" alt="" width="32" height="32"><span>Parley</span><span class="op-role">operator</span></div>
{{end}}

{{define "foot"}}</div>
</main>
</body>
</html>
{{end}}

{{define "smtp"}}{{if .}}<p class="muted">Mail is sent through {{.}}. A message that fails is retried, with growing waits, until it is sent.</p>
{{else}}<p class="op-note">No SMTP server is configured, so no mail is sent: messages wait here. Open one to read it and pass it on to its recipient yourself. To send mail, start parley serve with --smtp-host and --mail-from.</p>
{{end}}{{end}}

{{define "state"}}<span class="op-state op-{{.}}">{{.}}</span>{{end}}

{{define "outbox"}}{{template "head" "Outbox"}}
<h1>Outbox</h1>
{{template "smtp" .SMTP}}
<nav class="op-filter" aria-label="Show">
<a href="/operator/outbox"{{if not .Filter}} aria-current="page"{{end}}>All</a>
<a href="/operator/outbox?state=queued"{{if eq .Filter "queued"}} aria-current="page"{{end}}>Queued</a>
<a href="/operator/outbox?state=sent"{{if eq .Filter "sent"}} aria-current="page"{{end}}>Sent</a>
</nav>
{{if .Mails}}
<table class="op-table">
<thead><tr><th scope="col">State</th><th scope="col">To</th><th scope="col">Subject</th><th scope="col">Created</th><th scope="col">Attempts</th><th scope="col">Last error</th></tr></thead>
<tbody>
{{range .Mails}}<tr>
<td data-label="State">{{template "state" .State}}</td>
<td data-label="To" class="op-addr">{{.To}}</td>
<td data-label="Subject"><a href="/operator/outbox/{{.ID}}">{{.Subject}}</a></td>
<td data-label="Created">{{when .CreatedAt}}</td>
<td data-label="Attempts">{{.Attempts}}</td>
<td data-label="Last error">{{if .LastError}}<span class="op-error">{{.LastError}}</span>{{else}}<span class="op-none">—</span>{{end}}</td>
</tr>
{{end}}</tbody>
</table>
{{if eq (len .Mails) .Limit}}<p class="muted">Showing the newest {{.Limit}}; parley outbox --limit lists more.</p>{{end}}
{{else}}
<p class="op-empty">{{if eq .Filter "queued"}}No message is waiting.{{else if eq .Filter "sent"}}No message has been sent yet.{{else}}The outbox is empty: parley has not needed to send any mail yet.{{end}}</p>
{{end}}
{{template "foot"}}{{end}}

{{define "mail"}}{{template "head" .Mail.Subject}}
<p><a href="/operator/outbox">← Outbox</a></p>
<h1 class="op-subject">{{.Mail.Subject}}</h1>
<dl class="op-fields">
<dt>To</dt><dd class="op-addr">{{.Mail.To}}</dd>
<dt>State</dt><dd>{{template "state" .Mail.State}}{{if eq .Mail.State "sent"}} {{when .Mail.SentAt}}{{end}}</dd>
<dt>Created</dt><dd>{{when .Mail.CreatedAt}}</dd>
<dt>Attempts</dt><dd>{{.Mail.Attempts}}</dd>
{{if eq .Mail.State "queued"}}{{if $.SMTP}}<dt>Next attempt</dt><dd>{{when .Mail.NextAttempt}}</dd>{{end}}{{end}}
{{if .Mail.LastError}}<dt>Last error</dt><dd class="op-error">{{.Mail.LastError}}</dd>{{end}}
<dt>Kind</dt><dd>{{.Mail.Kind}}</dd>
<dt>ID</dt><dd class="op-addr">{{.Mail.ID}}</dd>
</dl>
{{if and (not .SMTP) (eq .Mail.State "queued")}}<p class="op-note">No SMTP server is configured, so parley will not send this message: pass it on to {{.Mail.To}} yourself.</p>
{{end}}{{if .Mail.Text}}<pre class="op-text">{{.Mail.Text}}</pre>
{{else if eq .Mail.State "sent"}}<p class="op-note">The text was removed when the message was sent: it may have held a password or a one-time link, which should not outlive their delivery.</p>
{{else}}<p class="op-note">This message has no text.</p>{{end}}
{{template "foot"}}{{end}}

{{define "error"}}{{template "head" .Title}}
<h1>{{.Title}}</h1>
<p>{{.Text}}</p>
<p><a href="/operator/outbox">Outbox</a></p>
{{template "foot"}}{{end}}
`
