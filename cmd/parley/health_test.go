package main

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
)

// TestHealth checks parley health's exit status and message for a server
// that answers, none, a stale operator file, an unhealthy server and one
// that never answers.
func TestHealth(t *testing.T) {
	dir := t.TempDir()
	m := startServer(t, dir)

	stale := t.TempDir()
	gone := httptest.NewServer(http.NotFoundHandler())
	goneURL := gone.URL
	gone.Close()
	if err := writeOperatorFile(filepath.Join(stale, operatorFileName), operatorInfo{URL: goneURL, Token: "t"}); err != nil {
		t.Fatal(err)
	}
	sick := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
	}))
	defer sick.Close()
	notParley := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("<html>hello</html>"))
	}))
	defer notParley.Close()
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer hung.Close()

	for _, tt := range []struct {
		args []string
		code int
		want string // in stdout when 0, else in stderr
	}{
		{[]string{"--data", dir}, exitOK, "parley is up at " + m.LocalURL()},
		{[]string{"--url", m.LocalURL() + "/"}, exitOK, "parley is up at " + m.LocalURL()},
		{[]string{"--data", t.TempDir()}, exitError, "parley: no parley server is running on"},
		{[]string{"--data", stale}, exitError, "parley: cannot reach the server at " + goneURL + ": nothing is listening there (connection refused)"},
		{[]string{"--url", sick.URL}, exitError, "is not healthy: it answered 503 Service Unavailable"},
		{[]string{"--url", notParley.URL}, exitError, "answered, but not as parley does"},
		{[]string{"--url", hung.URL, "--timeout", "100ms"}, exitError, "did not answer within 100ms"},
		{[]string{"--url", "localhost:8080"}, exitUsage, "must start with http:// or https://"},
		{[]string{"--url", m.LocalURL(), "--data", dir}, exitUsage, "give --url or --data, not both"},
	} {
		stdout, stderr, code := cliRun(t, append([]string{"health"}, tt.args...)...)
		out := stderr
		if tt.code == exitOK {
			out = stdout
		}
		if code != tt.code || !strings.Contains(out, tt.want) {
			t.Errorf("health %q: exit %d, stdout %q, stderr %q; want exit %d and %q", tt.args, code, stdout, stderr, tt.code, tt.want)
		}
	}
}

// TestHealthLocalTLS checks a server found through its operator file is
// checked over TLS without verifying its certificate (it names the public
// host, not localhost), while --url verifies it.
func TestHealthLocalTLS(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"status":"ok"}`))
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake
	srv.StartTLS()
	defer srv.Close()
	dir := t.TempDir()
	if err := writeOperatorFile(filepath.Join(dir, operatorFileName), operatorInfo{URL: srv.URL, Token: "t"}); err != nil {
		t.Fatal(err)
	}
	if stdout, stderr, code := cliRun(t, "health", "--data", dir); code != exitOK {
		t.Errorf("health --data on a TLS server: exit %d, %q %q", code, stdout, stderr)
	}
	if _, stderr, code := cliRun(t, "health", "--url", srv.URL); code != exitError || !strings.Contains(stderr, "TLS certificate is not valid") {
		t.Errorf("health --url with an untrusted certificate: exit %d, %q", code, stderr)
	}
}
