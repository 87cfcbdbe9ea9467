package sms

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"text/template"
	"time"

	"github.com/parley-dev/parley/rooms"
)

// DefaultBodyTemplate is the gateway request body when none is configured.
const DefaultBodyTemplate = `{"to":"{{.To}}","text":"{{.Text}}","reference":"{{.ID}}"}`

// DefaultTimeout bounds one request to the gateway.
const DefaultTimeout = 30 * time.Second

// maxReplyBytes is how much of a gateway's reply is read (for the error
// text of a refusal).
const maxReplyBytes = 4 << 10

// GatewayConfig configures a Gateway. URL is required.
type GatewayConfig struct {
	// URL is where each message is POSTed: https, or http only to this
	// machine (localhost, 127.0.0.1, ::1), as for a local relay.
	URL string
	// AuthHeader, if set, is sent with each request: "Name: value", e.g.
	// "Authorization: Bearer abc123" or "X-API-Key: abc123".
	AuthHeader string
	// BodyTemplate is a text/template for the request body, with the
	// fields {{.To}} (E.164), {{.Text}} and {{.ID}} (the message's outbox
	// ID, which delivery reports echo back). Each value is JSON-escaped
	// (without the quotes, which the template writes), so a template
	// that is JSON gives JSON whatever the text; with the content type
	// application/x-www-form-urlencoded they are URL-escaped instead
	// ("to={{.To}}&text={{.Text}}"). Default DefaultBodyTemplate.
	BodyTemplate string
	// ContentType of the body; default application/json.
	ContentType string
	// Timeout bounds one request; default DefaultTimeout.
	Timeout time.Duration
	// Client, if set, makes the requests (tests give one trusting their
	// server's certificate); default a client with Timeout.
	Client *http.Client
}

// Gateway sends text messages through an HTTPS SMS gateway: one POST per
// message, which the gateway accepts with any 2xx reply.
type Gateway struct {
	// Set at construction.
	cfg        GatewayConfig
	tmpl       *template.Template
	headerName string
	headerVal  string
	escape     func(string) string // jsonEscape, or url.QueryEscape for a form
}

// NewGateway checks cfg (the URL, the header, that the template parses
// and, for a JSON content type, gives valid JSON) and returns a Gateway.
// Errors say what to fix in the flag's terms.
func NewGateway(cfg GatewayConfig) (*Gateway, error) {
	if err := checkURL(cfg.URL); err != nil {
		return nil, err
	}
	g := &Gateway{cfg: cfg}
	if cfg.AuthHeader != "" {
		name, val, ok := strings.Cut(cfg.AuthHeader, ":")
		name, val = strings.TrimSpace(name), strings.TrimSpace(val)
		if !ok || name == "" || val == "" || strings.ContainsAny(name, " \t\r\n") || strings.ContainsAny(val, "\r\n") {
			return nil, errors.New(`the SMS auth header must look like "Name: value", e.g. "Authorization: Bearer abc123"`)
		}
		g.headerName, g.headerVal = http.CanonicalHeaderKey(name), val
	}
	if g.cfg.BodyTemplate == "" {
		g.cfg.BodyTemplate = DefaultBodyTemplate
	}
	if g.cfg.ContentType == "" {
		g.cfg.ContentType = "application/json"
	}
	if g.cfg.Timeout <= 0 {
		g.cfg.Timeout = DefaultTimeout
	}
	if g.cfg.Client == nil {
		g.cfg.Client = &http.Client{Timeout: g.cfg.Timeout}
	}
	g.escape = jsonEscape
	if strings.HasPrefix(g.cfg.ContentType, "application/x-www-form-urlencoded") {
		g.escape = url.QueryEscape
	}
	tmpl, err := template.New("sms").Option("missingkey=error").Parse(g.cfg.BodyTemplate)
	if err != nil {
		return nil, fmt.Errorf("the SMS body template does not parse: %w", err)
	}
	g.tmpl = tmpl
	sample, err := g.body(&rooms.TextMessage{ID: "s_sample", To: "+447700900123", Text: "A \"quoted\"\nline"})
	if err != nil {
		return nil, fmt.Errorf("the SMS body template fails (it may use {{.To}}, {{.Text}} and {{.ID}}): %w", err)
	}
	if strings.Contains(g.cfg.ContentType, "json") && !json.Valid(sample) {
		return nil, fmt.Errorf("the SMS body template does not give JSON; with a sample message it gives %s", sample)
	}
	return g, nil
}

// checkURL accepts https URLs, and http ones to this machine only.
func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("the SMS gateway URL %q is not an https:// URL", raw)
	}
	if u.Scheme == "http" {
		host := u.Hostname()
		ip := net.ParseIP(host)
		if host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return fmt.Errorf("the SMS gateway URL %q must be https (http only to localhost): messages carry guest links", raw)
		}
	}
	return nil
}

// fields are the template's values, escaped.
type fields struct{ To, Text, ID string }

func (g *Gateway) body(m *rooms.TextMessage) ([]byte, error) {
	var buf bytes.Buffer
	if err := g.tmpl.Execute(&buf, fields{To: g.escape(m.To), Text: g.escape(m.Text), ID: g.escape(m.ID)}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// jsonEscape is s as the inside of a JSON string.
func jsonEscape(s string) string {
	b, _ := json.Marshal(s) // a string always encodes
	return string(b[1 : len(b)-1])
}

// Send POSTs m to the gateway; nil once it answered 2xx. A refusal's error
// holds the status and the start of the reply.
func (g *Gateway) Send(ctx context.Context, m *rooms.TextMessage) error {
	body, err := g.body(m)
	if err != nil {
		return fmt.Errorf("sms: build request body: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, g.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("sms: build request: %w", err)
	}
	req.Header.Set("Content-Type", g.cfg.ContentType)
	req.Header.Set("User-Agent", "parley")
	if g.headerName != "" {
		req.Header.Set(g.headerName, g.headerVal)
	}
	resp, err := g.cfg.Client.Do(req)
	if err != nil {
		return fmt.Errorf("sms: gateway: %w", err)
	}
	defer resp.Body.Close()
	reply, _ := io.ReadAll(io.LimitReader(resp.Body, maxReplyBytes))
	if resp.StatusCode/100 == 2 {
		return nil
	}
	return &GatewayError{Status: resp.StatusCode, Reply: strings.TrimSpace(string(reply))}
}

// GatewayError is a gateway's refusal of a message (a reply other than 2xx).
type GatewayError struct {
	Status int
	Reply  string // the start of the reply body
}

func (e *GatewayError) Error() string {
	if e.Reply == "" {
		return fmt.Sprintf("sms: gateway answered %d %s", e.Status, http.StatusText(e.Status))
	}
	return fmt.Sprintf("sms: gateway answered %d %s: %s", e.Status, http.StatusText(e.Status), e.Reply)
}

// String names the gateway for logs and the outbox: its URL without any
// user information or query (which may hold a key).
func (g *Gateway) String() string {
	u, err := url.Parse(g.cfg.URL)
	if err != nil {
		return "the SMS gateway"
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}
