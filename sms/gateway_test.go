package sms_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/parley-dev/parley/rooms"
	"github.com/parley-dev/parley/sms"
	"github.com/parley-dev/parley/sms/smstest"
)

var epoch = time.Date(2026, 12, 1, 13, 30, 0, 0, time.UTC)

func mustText(t *testing.T, to, text string) *rooms.TextMessage {
	t.Helper()
	m, err := rooms.NewTextMessage("invitation", to, text, epoch)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestGatewayRequest checks the request as the gateway receives it: the
// method, path, content type, auth header, and a body from the template
// with the values JSON-escaped.
func TestGatewayRequest(t *testing.T) {
	gw := smstest.Start(t)
	g, err := sms.NewGateway(sms.GatewayConfig{
		URL:          gw.URL() + "/v1/messages",
		AuthHeader:   "x-api-key:  secret-123",
		BodyTemplate: `{"recipient":"{{.To}}","message":"{{.Text}}","client_ref":"{{.ID}}","from":"Parley"}`,
		Client:       gw.Client(),
	})
	if err != nil {
		t.Fatal(err)
	}
	text := "Ada \"the host\" invites you:\nhttps://meet.example.org/g/abc <é>"
	m := mustText(t, "+447700900123", text)
	if err := g.Send(context.Background(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	reqs := gw.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.Method != "POST" || r.Path != "/v1/messages" || r.Header.Get("Content-Type") != "application/json" ||
		r.Header.Get("X-Api-Key") != "secret-123" {
		t.Errorf("request %s %s, headers %v", r.Method, r.Path, r.Header)
	}
	var body map[string]string
	if err := json.Unmarshal([]byte(r.Body), &body); err != nil {
		t.Fatalf("body %s is not JSON: %v", r.Body, err)
	}
	want := map[string]string{"recipient": "+447700900123", "message": text, "client_ref": m.ID, "from": "Parley"}
	for k, v := range want {
		if body[k] != v {
			t.Errorf("body[%q] = %q, want %q", k, body[k], v)
		}
	}
}

func TestGatewayDefaultsAndRefusals(t *testing.T) {
	gw := smstest.Start(t)
	g, err := sms.NewGateway(sms.GatewayConfig{URL: gw.URL(), Client: gw.Client()})
	if err != nil {
		t.Fatal(err)
	}
	m := mustText(t, "+447700900123", "hello")
	if err := g.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if b := gw.Requests()[0].Body; b != `{"to":"+447700900123","text":"hello","reference":"`+m.ID+`"}` {
		t.Errorf("default body = %s", b)
	}
	if h := gw.Requests()[0].Header.Get("Authorization"); h != "" {
		t.Errorf("Authorization %q sent with no auth header configured", h)
	}
	gw.Fail(503)
	var ge *sms.GatewayError
	if err := g.Send(context.Background(), m); !errors.As(err, &ge) || ge.Status != 503 || !strings.Contains(err.Error(), "the test gateway is failing") {
		t.Errorf("Send to a failing gateway = %v; want a GatewayError 503 with its reply", err)
	}
}

func TestNewGatewayRefusesBadConfig(t *testing.T) {
	for _, tc := range []struct {
		cfg sms.GatewayConfig
		why string
	}{
		{sms.GatewayConfig{URL: ""}, "not an https:// URL"},
		{sms.GatewayConfig{URL: "ftp://example.org"}, "not an https:// URL"},
		{sms.GatewayConfig{URL: "http://sms.example.org/send"}, "must be https"},
		{sms.GatewayConfig{URL: "https://sms.example.org", AuthHeader: "Bearer abc"}, `"Name: value"`},
		{sms.GatewayConfig{URL: "https://sms.example.org", AuthHeader: "X-Key: a\nb"}, `"Name: value"`},
		{sms.GatewayConfig{URL: "https://sms.example.org", BodyTemplate: `{"to":"{{.To}"}`}, "does not parse"},
		{sms.GatewayConfig{URL: "https://sms.example.org", BodyTemplate: `{"to":"{{.Phone}}"}`}, "fails"},
		{sms.GatewayConfig{URL: "https://sms.example.org", BodyTemplate: `{"to":{{.To}}}`}, "does not give JSON"},
	} {
		if _, err := sms.NewGateway(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.why) {
			t.Errorf("NewGateway(%+v) = %v; want an error saying %q", tc.cfg, err, tc.why)
		}
	}
	for _, ok := range []sms.GatewayConfig{
		{URL: "http://127.0.0.1:9000/send"},
		{URL: "http://localhost/send"},
		{URL: "https://sms.example.org", BodyTemplate: "to={{.To}}&text={{.Text}}", ContentType: "application/x-www-form-urlencoded"},
	} {
		if _, err := sms.NewGateway(ok); err != nil {
			t.Errorf("NewGateway(%+v): %v", ok, err)
		}
	}
}

func TestGatewayFormBody(t *testing.T) {
	gw := smstest.Start(t)
	g, err := sms.NewGateway(sms.GatewayConfig{URL: gw.URL(), Client: gw.Client(),
		BodyTemplate: "to={{.To}}&body={{.Text}}", ContentType: "application/x-www-form-urlencoded"})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Send(context.Background(), mustText(t, "+447700900123", "a&b = c")); err != nil {
		t.Fatal(err)
	}
	if b := gw.Requests()[0].Body; b != "to=%2B447700900123&body=a%26b+%3D+c" {
		t.Errorf("form body = %s", b)
	}
}
