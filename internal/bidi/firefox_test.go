//go:build unix

package bidi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// firefox finds Debian's firefox-esr, skipping the test when it is missing
// unless PARLEY_REQUIRE_BROWSERS is set (make test installs it).
func firefox(t *testing.T) string {
	t.Helper()
	for _, name := range []string{os.Getenv("FIREFOX"), "firefox-esr", "firefox"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("PARLEY_REQUIRE_BROWSERS") != "" {
		t.Fatal("no firefox-esr on PATH and PARLEY_REQUIRE_BROWSERS is set: run `make browser`")
	}
	t.Skip("no firefox-esr on PATH (`make browser` installs it; PARLEY_REQUIRE_BROWSERS=1 makes this a failure)")
	return ""
}

const testPage = `<!doctype html><title>bidi test</title>
<input id="name"> <button id="go" onclick="document.title = 'clicked ' + document.querySelector('#name').value + ' ' + navigator.userActivation.isActive">Go</button>
<p id="width"></p>`

// TestFirefox drives a real headless Firefox through each command the
// browser tests use, and checks Close leaves no process behind.
func TestFirefox(t *testing.T) {
	exe := firefox(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, testPage)
	}))
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out bytes.Buffer
	logs := make(chan Event, 100)
	onEvent := func(e Event) {
		select {
		case logs <- e:
		default:
		}
	}
	b, err := Launch(ctx, Config{Exe: exe, ProfileDir: t.TempDir(), Prefs: FakeMediaPrefs(), Stderr: &out, OnEvent: onEvent})
	if err != nil {
		t.Fatal(err)
	}
	pid := b.cmd.Process.Pid
	closed := false
	defer func() {
		if !closed {
			b.Close()
		}
	}()

	pages, err := b.Pages(ctx)
	if err != nil || len(pages) == 0 {
		t.Fatalf("pages: %v, %v", pages, err)
	}
	p := pages[0]
	if err := b.AddPreloadScript(ctx, `() => { window.__preloaded = typeof document.querySelector('#go'); }`); err != nil {
		t.Fatal(err)
	}
	if err := p.Navigate(ctx, srv.URL); err != nil {
		t.Fatal(err)
	}
	var preloaded string
	if err := p.Eval(ctx, `window.__preloaded`, &preloaded); err != nil || preloaded != "object" {
		// "object" is typeof null: it ran before the page's body existed.
		t.Errorf("preload script: %q, %v; want it run before the page (\"object\")", preloaded, err)
	}

	if err := p.Click(ctx, "#name"); err != nil {
		t.Fatal(err)
	}
	if err := p.Type(ctx, "Zoë"); err != nil {
		t.Fatal(err)
	}
	if err := p.Click(ctx, "#go"); err != nil {
		t.Fatal(err)
	}
	var title string
	if err := p.Eval(ctx, `new Promise(r => setTimeout(() => r(document.title), 10))`, &title); err != nil {
		t.Fatal(err)
	}
	if title != "clicked Zoë true" {
		t.Errorf("title after typing and clicking = %q, want %q", title, "clicked Zoë true")
	}

	if err := b.Subscribe(ctx, "log.entryAdded"); err != nil {
		t.Fatal(err)
	}
	if err := p.Eval(ctx, `console.warn('hello from the page')`, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-logs:
		if e.Method != "log.entryAdded" || !strings.Contains(string(e.Params), "hello from the page") {
			t.Errorf("event = %s %s, want the console message", e.Method, e.Params)
		}
	case <-ctx.Done():
		t.Error("no log.entryAdded event for console.warn")
	}

	if err := p.SetViewport(ctx, 390, 844); err != nil {
		t.Fatal(err)
	}
	var size struct{ W, H int }
	if err := p.Eval(ctx, `({W: innerWidth, H: innerHeight})`, &size); err != nil || size.W != 390 || size.H != 844 {
		t.Errorf("viewport = %+v, %v; want 390×844", size, err)
	}
	png, err := p.Screenshot(ctx)
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Errorf("screenshot: %d bytes, %v", len(png), err)
	}

	if err := p.Eval(ctx, `Promise.reject(new Error('nope'))`, nil); !errors.Is(err, ErrScript) || !strings.Contains(err.Error(), "nope") {
		t.Errorf("rejected promise: %v, want ErrScript with the message", err)
	}
	if err := p.Eval(ctx, `(() => { throw new TypeError('thrown') })()`, nil); !errors.Is(err, ErrScript) || !strings.Contains(err.Error(), "thrown") {
		t.Errorf("thrown exception: %v, want ErrScript with the message", err)
	}
	if err := p.Click(ctx, "#missing"); err == nil {
		t.Error("clicking a missing element succeeded")
	}

	closeStart := time.Now()
	b.Close()
	closed = true
	t.Logf("Close took %v", time.Since(closeStart))
	// Killed processes linger a moment until they are reaped.
	err = nil
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if err = syscall.Kill(-pid, 0); errors.Is(err, syscall.ESRCH) {
			break
		}
	}
	if !errors.Is(err, syscall.ESRCH) {
		ps, _ := exec.Command("ps", "-o", "pid,ppid,stat,comm", "-g", fmt.Sprint(pid)).CombinedOutput()
		t.Errorf("Firefox's process group %d is still there after Close (kill: %v):\n%s", pid, err, ps)
	}
	if t.Failed() {
		t.Logf("firefox output:\n%s", out.String())
	}
}
