package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parley-dev/parley/rooms"
)

func TestOutboxAPI(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.SMTP = "smtp.example.org:587 (starttls)" })
	ctx := context.Background()
	var ids []string
	for i, to := range []string{"ada@example.org", "grace@example.org", "alan@example.org"} {
		m, err := rooms.NewMail("activation", to, "Activate <your> group", "Open https://meet.example.org/activate/abc\n", f.now.Add(time.Duration(i)*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if err := f.db.EnqueueMail(ctx, m); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
	}
	if err := f.db.MarkMailSent(ctx, ids[0], f.now); err != nil {
		t.Fatal(err)
	}
	if err := f.db.MarkMailRetry(ctx, ids[1], "451 greylisted", f.now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	op := map[string]string{"Authorization": "Bearer " + opToken}

	resp, data := f.do(t, "GET", "/api/v1/outbox", "", op)
	var l OutboxList
	if resp.StatusCode != http.StatusOK || json.Unmarshal(data, &l) != nil || l.SMTP != "smtp.example.org:587 (starttls)" || len(l.Mails) != 3 {
		t.Fatalf("list: %d %s", resp.StatusCode, data)
	}
	if l.Mails[0].ID != ids[2] || l.Mails[1].LastError != "451 greylisted" || l.Mails[2].State != rooms.MailSent || strings.Contains(string(data), `"text"`) {
		t.Errorf("list, newest first and without texts: %s", data)
	}
	resp, data = f.do(t, "GET", "/api/v1/outbox?state=queued&limit=1", "", op)
	if json.Unmarshal(data, &l) != nil || len(l.Mails) != 1 || l.Mails[0].ID != ids[2] {
		t.Errorf("queued, limit 1: %d %s", resp.StatusCode, data)
	}
	resp, data = f.do(t, "GET", "/api/v1/outbox/"+ids[2], "", op)
	var m MailView
	if resp.StatusCode != http.StatusOK || json.Unmarshal(data, &m) != nil || m.Text != "Open https://meet.example.org/activate/abc\n" || m.To != "alan@example.org" {
		t.Errorf("get: %d %s", resp.StatusCode, data)
	}

	for _, tt := range []struct {
		path string
		hdr  map[string]string
		code int
		err  string
	}{
		{"/api/v1/outbox", nil, http.StatusUnauthorized, "unauthorized"},
		{"/api/v1/outbox/" + ids[2], nil, http.StatusUnauthorized, "unauthorized"},
		{"/api/v1/outbox?state=lost", op, http.StatusBadRequest, "bad-request"},
		{"/api/v1/outbox?limit=0", op, http.StatusBadRequest, "bad-request"},
		{"/api/v1/outbox?limit=1001", op, http.StatusBadRequest, "bad-request"},
		{"/api/v1/outbox/m_nope", op, http.StatusNotFound, "mail-not-found"},
	} {
		resp, data := f.do(t, "GET", tt.path, "", tt.hdr)
		if resp.StatusCode != tt.code || errorCode(t, data) != tt.err {
			t.Errorf("GET %s: %d %s; want %d %s", tt.path, resp.StatusCode, data, tt.code, tt.err)
		}
	}
	if resp, _ := f.do(t, "DELETE", "/api/v1/outbox/"+ids[2], "", op); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("DELETE: %d, want 405", resp.StatusCode)
	}
}

func TestOutboxPages(t *testing.T) {
	f := newFixture(t)
	m, _ := rooms.NewMail("credentials", "ada@example.org", "Your <b>endpoint</b>", "Address: ada@choir\nSecret: <script>alert(1)</script>\n", f.now)
	if err := f.db.EnqueueMail(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	basic := func(user, pass string) map[string]string {
		return map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))}
	}
	resp, data := f.do(t, "GET", "/operator/outbox", "", nil)
	if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic ") ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Errorf("no credentials: %d %v", resp.StatusCode, resp.Header)
	}
	resp, data = f.do(t, "GET", "/operator/outbox", "", basic("operator", opToken))
	body := string(data)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "ada@example.org") || !strings.Contains(body, "Your &lt;b&gt;endpoint&lt;/b&gt;") ||
		!strings.Contains(body, "No SMTP server is configured") || resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("list page: %d\n%s", resp.StatusCode, body)
	}
	resp, data = f.do(t, "GET", "/operator/outbox/"+m.ID, "", basic("", opToken))
	if body := string(data); resp.StatusCode != http.StatusOK || !strings.Contains(body, "Secret: &lt;script&gt;alert(1)&lt;/script&gt;") || strings.Contains(body, "<script>alert") {
		t.Errorf("message page: %d\n%s", resp.StatusCode, body)
	}
	if resp, _ := f.do(t, "GET", "/operator/outbox/m_nope", "", basic("operator", opToken)); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown message: %d", resp.StatusCode)
	}
	// Wrong passwords run out the address's allowance (burst 20)...
	var last *http.Response
	for range 25 {
		last, _ = f.do(t, "GET", "/operator/outbox", "", basic("operator", "guess"))
	}
	if last.StatusCode != http.StatusTooManyRequests || last.Header.Get("Retry-After") == "" {
		t.Errorf("after 25 wrong passwords: %d, want 429 with Retry-After", last.StatusCode)
	}
	// ...but never the operator's own.
	if resp, _ := f.do(t, "GET", "/operator/outbox", "", basic("operator", opToken)); resp.StatusCode != http.StatusOK {
		t.Errorf("the right token after an attack: %d", resp.StatusCode)
	}
	off := newFixture(t, func(c *Config) { c.OperatorToken = "" })
	if resp, _ := off.do(t, "GET", "/operator/outbox", "", basic("operator", "")); resp.StatusCode != http.StatusForbidden {
		t.Errorf("operator API off: %d, want 403", resp.StatusCode)
	}
}
