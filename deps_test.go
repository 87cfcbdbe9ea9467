package parley_test

// This file enforces the import rules in STYLE.md item 2 the way
// tailscale's tstest/deptest does: by asking `go list` what each package
// really depends on, transitively.

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

const module = "github.com/parley-dev/parley"

// depRule forbids a package from depending, directly or not, on anything
// matched by bad, except what ok allows (checked first).
type depRule struct {
	pkg  string // relative to the module root, e.g. "./sfu"
	why  string
	ok   func(dep string) bool
	bad  func(dep string) bool
	skip bool // skip (rather than fail) if the package has no Go files yet
}

func isOurs(dep string) bool { return dep == module || strings.HasPrefix(dep, module+"/") }

// within reports whether dep is pkg or one of its subpackages.
func within(dep, pkg string) bool { return dep == pkg || strings.HasPrefix(dep, pkg+"/") }

func matchAny(prefixes ...string) func(string) bool {
	return func(dep string) bool {
		for _, p := range prefixes {
			if within(dep, p) {
				return true
			}
		}
		return false
	}
}

func TestDeps(t *testing.T) {
	rules := []depRule{
		{
			pkg: "./sfu",
			why: "the media path imports only Pion and its own subpackages; it reports upward through callbacks",
			ok:  func(dep string) bool { return within(dep, module+"/sfu") },
			bad: func(dep string) bool {
				return isOurs(dep) || dep == "net/http" ||
					matchAny("go.etcd.io/bbolt", "github.com/golang-jwt/jwt", "github.com/gorilla/websocket")(dep)
			},
			skip: true,
		},
		{
			pkg: "./auth",
			why: "auth is a leaf",
			ok:  func(dep string) bool { return within(dep, module+"/auth") },
			bad: isOurs,
		},
		{
			pkg: "./clientaddr",
			why: "clientaddr is a leaf",
			ok:  func(dep string) bool { return dep == module+"/clientaddr" },
			bad: isOurs,
		},
		{
			pkg: "./ringing",
			why: "the rules of ringing know no transport, storage or media",
			ok:  matchAny(module+"/ringing", module+"/livecall", module+"/clock", module+"/auth", module+"/signaling/protocol"),
			bad: isOurs,
		},
		{
			pkg: "./throttle",
			why: "throttle is a leaf",
			ok:  func(dep string) bool { return dep == module+"/throttle" },
			bad: isOurs,
		},
		{
			pkg: "./connlimit",
			why: "connlimit needs only clientaddr",
			ok:  matchAny(module+"/connlimit", module+"/clientaddr"),
			bad: isOurs,
		},
		{
			pkg: "./livecall",
			why: "the live calls decide and reach participants through livecall.Conn: no transport, no media, no storage",
			ok:  matchAny(module+"/livecall", module+"/clock", module+"/signaling/protocol"),
			bad: func(dep string) bool {
				return isOurs(dep) || dep == "net/http" ||
					matchAny("github.com/gorilla/websocket", "github.com/pion", "go.etcd.io/bbolt", "github.com/golang-jwt/jwt")(dep)
			},
		},
		{
			pkg: "./clock",
			why: "clock is a leaf",
			ok:  func(dep string) bool { return dep == module+"/clock" },
			bad: isOurs,
		},
		{
			pkg: "./delivery",
			why: "delivery needs only clock: its Outbox is an interface of its own",
			ok:  matchAny(module+"/delivery", module+"/clock"),
			bad: func(dep string) bool { return isOurs(dep) || dep == "net/http" || matchAny("go.etcd.io/bbolt")(dep) },
		},
		{
			pkg: "./mail",
			why: "mail delivers through the rooms.Outbox interface, with delivery's loop: no storage, no HTTP, none of our other packages",
			ok:  matchAny(module+"/mail", module+"/delivery", module+"/clock", module+"/rooms", module+"/bookings", module+"/auth"),
			bad: func(dep string) bool {
				return isOurs(dep) || dep == "net/http" || matchAny("go.etcd.io/bbolt")(dep)
			},
		},
		{
			pkg: "./sms",
			why: "sms delivers through the rooms.SMSOutbox interface, with delivery's loop: no storage, none of our other packages",
			ok:  matchAny(module+"/sms", module+"/delivery", module+"/clock", module+"/rooms", module+"/bookings", module+"/auth"),
			bad: func(dep string) bool { return isOurs(dep) || matchAny("go.etcd.io/bbolt")(dep) },
		},
		{
			pkg: "./bookings",
			why: "the bookings domain is values and pure functions: no storage, no transport, none of our other packages",
			ok:  func(dep string) bool { return dep == module+"/bookings" },
			bad: func(dep string) bool {
				return isOurs(dep) || dep == "net/http" || matchAny("go.etcd.io/bbolt")(dep)
			},
		},
		{
			pkg: "./bookings/office",
			why: "the bookings' changes go through the rooms.BookingStore interface: no storage, no HTTP, none of our other packages",
			ok:  matchAny(module+"/bookings", module+"/rooms", module+"/auth", module+"/clock"),
			bad: func(dep string) bool {
				return isOurs(dep) || dep == "net/http" || matchAny("go.etcd.io/bbolt")(dep)
			},
		},
		{
			pkg: "./rooms",
			why: "the room domain imports no storage or transport (the bookings domain is a leaf of it)",
			ok: func(dep string) bool {
				return dep == module+"/rooms" || within(dep, module+"/auth") || dep == module+"/bookings"
			},
			bad: func(dep string) bool {
				return isOurs(dep) || dep == "net/http" || matchAny("go.etcd.io/bbolt")(dep)
			},
		},
	}
	for _, r := range rules {
		t.Run(strings.TrimPrefix(r.pkg, "./"), func(t *testing.T) {
			if r.skip {
				if msg := listError(t, r.pkg); msg != "" {
					if strings.Contains(msg, "no Go files") || strings.Contains(msg, "no non-test Go files") {
						t.Skipf("go list: %s", msg)
					}
					t.Fatalf("go list %s: %s", r.pkg, msg)
				}
			}
			for _, dep := range strings.Fields(goList(t, "-deps", "-f", "{{.ImportPath}}", r.pkg)) {
				if !r.ok(dep) && r.bad(dep) {
					t.Errorf("%s depends on %s, but %s", r.pkg, dep, r.why)
				}
			}
		})
	}
}

// TestBboltImporters checks that only rooms/store imports bbolt, so the
// database file has one owner and the schema one place to change.
func TestBboltImporters(t *testing.T) {
	out := goList(t, "-e", "-deps", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "./...")
	seen := false
	for line := range strings.Lines(out) {
		f := strings.Fields(line)
		if len(f) == 0 || !isOurs(f[0]) {
			continue
		}
		for _, imp := range f[1:] {
			if !within(imp, "go.etcd.io/bbolt") {
				continue
			}
			if f[0] == module+"/rooms/store" {
				seen = true
				continue
			}
			t.Errorf("%s imports %s; only %s/rooms/store may", f[0], imp, module)
		}
	}
	if !seen {
		t.Errorf("rooms/store does not import bbolt; is this test scanning the right packages?")
	}
}

// testOnly are packages only tests may import: helpers that drive browsers,
// servers and dispatchers.
var testOnly = []string{module + "/internal/bidi", module + "/internal/mailtest", module + "/internal/deliverytest"}

// TestTestOnlyPackages checks that no package's build (tests aside)
// depends on a test-only package, so the server binary never carries one.
func TestTestOnlyPackages(t *testing.T) {
	out := goList(t, "-e", "-f", `{{.ImportPath}} {{join .Deps " "}}`, "./...")
	for _, pkg := range testOnly {
		if listError(t, "./"+strings.TrimPrefix(pkg, module+"/")) != "" {
			t.Errorf("test-only package %s does not build; is the list stale?", pkg)
		}
	}
	for line := range strings.Lines(out) {
		f := strings.Fields(line)
		if len(f) == 0 || !isOurs(f[0]) {
			continue
		}
		for _, dep := range f[1:] {
			for _, pkg := range testOnly {
				if dep == pkg && !within(f[0], pkg) {
					t.Errorf("%s depends on %s, which only tests may import", f[0], pkg)
				}
			}
		}
	}
}

// listError returns go list's error for pkg ("" if none), such as "no Go
// files in ...".
func listError(t *testing.T, pkg string) string {
	t.Helper()
	return strings.TrimSpace(goList(t, "-e", "-f", "{{with .Error}}{{.Err}}{{end}}", pkg))
}

// goList runs `go list args...` in the module root and returns its stdout.
func goList(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(goTool(t), append([]string{"list"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return string(out)
}

// goTool finds the go command of the toolchain running the test.
func goTool(t *testing.T) string {
	t.Helper()
	//lint:ignore SA1019 the build-time GOROOT is what we want: the toolchain running `go test`.
	p := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	p, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command found")
	}
	return p
}
