package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/parley-dev/parley/auth"
	"github.com/parley-dev/parley/livecall/fakeclock"
	"github.com/parley-dev/parley/rooms"
	"github.com/parley-dev/parley/rooms/store"
)

// groupFixture is an api.Server with the groups API on a real store and a
// fake clock (which also holds throttled attempts).
type groupFixture struct {
	*fixture
	srvAPI *Server
	clock  *fakeclock.Clock
	tokens *auth.Tokens // the join tokens, on the fake clock
}

var groupEpoch = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func newGroupFixture(t *testing.T, opts ...func(*Config)) *groupFixture {
	t.Helper()
	gf := &groupFixture{clock: fakeclock.New(groupEpoch)}
	gf.fixture = newFixture(t, func(cfg *Config) {
		db := cfg.Rooms.(*store.DB)
		key, err := db.SigningKey()
		if err != nil {
			t.Fatal(err)
		}
		sessions, err := auth.NewSessions(auth.SessionConfig{Key: key, Now: gf.clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		tokens, err := auth.NewTokens(auth.TokenConfig{Key: key, Now: gf.clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		cfg.Now = gf.clock.Now
		cfg.Tokens, gf.tokens = tokens, tokens
		cfg.Groups = GroupConfig{
			Store:    db,
			Tokens:   tokens,
			Sessions: sessions,
			Verifier: auth.NewVerifier(auth.VerifierConfig{MemoryKiB: 64, Time: 1}),
			Wait:     gf.wait,
		}
		for _, o := range opts {
			o(cfg)
		}
	})
	gf.srvAPI = gf.api
	return gf
}

// wait is GroupConfig.Wait on the fake clock.
func (gf *groupFixture) wait(ctx context.Context, d time.Duration) error {
	done := make(chan struct{})
	gf.clock.AfterFunc(d, func() { close(done) })
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// browser is a client with its own cookies (one person's browser).
type browser struct {
	t    *testing.T
	gf   *groupFixture
	c    *http.Client
	addr string // X-Forwarded-For, when the fixture trusts the loopback proxy
}

func (gf *groupFixture) browser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, gf: gf, c: &http.Client{Jar: jar}}
}

// reply is a response's status, body and decoded error.
type reply struct {
	status int
	body   []byte
	hdr    http.Header
	code   string
	msg    string
	fields map[string]string
}

func (b *browser) call(method, path string, body any) reply {
	b.t.Helper()
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			b.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, b.gf.srv.URL+path, rd)
	if err != nil {
		b.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if b.addr != "" {
		req.Header.Set("X-Forwarded-For", b.addr)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	rep := reply{status: resp.StatusCode, body: data, hdr: resp.Header}
	if resp.StatusCode >= 400 {
		var eb ErrorBody
		if err := json.Unmarshal(data, &eb); err != nil {
			b.t.Fatalf("%s %s: error body %q: %v", method, path, data, err)
		}
		rep.code, rep.msg, rep.fields = eb.Error.Code, eb.Error.Message, eb.Error.Fields
	}
	return rep
}

func (r reply) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %q: %v", r.body, err)
	}
}

func (r reply) want(t *testing.T, status int, code string) {
	t.Helper()
	if r.status != status || r.code != code {
		t.Fatalf("got %d %s %s; want %d %s", r.status, r.code, r.body, status, code)
	}
}

func goodSignUp() map[string]any {
	return map[string]any{
		"adminName": "Ada Lovelace", "adminEmail": "ada@example.org",
		"groupName": "Choir", "password": "hunter2", "pin": "2468",
		"members": []string{"alice@example.org", "bob@example.org"},
	}
}

// signUp signs a group up and returns the activation token from the mail.
func (gf *groupFixture) signUp(t *testing.T, su map[string]any) string {
	t.Helper()
	b := gf.browser(t)
	r := b.call("POST", "/api/v1/signup", su)
	if r.status != 201 {
		t.Fatalf("signup: %d %s", r.status, r.body)
	}
	return gf.activationToken(t, su["adminEmail"].(string))
}

var activationLink = regexp.MustCompile(`https://meet\.example\.org/activate/([A-Za-z0-9_-]{22})\b`)

// activationToken reads the newest activation link mailed to addr.
func (gf *groupFixture) activationToken(t *testing.T, addr string) string {
	t.Helper()
	ms := gf.mails(t, addr, "activation")
	if len(ms) == 0 {
		t.Fatalf("no activation mail to %s", addr)
	}
	m := activationLink.FindStringSubmatch(ms[len(ms)-1].Text)
	if m == nil {
		t.Fatalf("no activation link in %q", ms[len(ms)-1].Text)
	}
	return m[1]
}

func (gf *groupFixture) mails(t *testing.T, addr, kind string) []*rooms.Mail {
	t.Helper()
	all, err := gf.db.MailsTo(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	var out []*rooms.Mail
	for _, m := range all {
		if m.Kind == kind {
			out = append(out, m)
		}
	}
	return out
}

var (
	credAddress = regexp.MustCompile(`Address: (\S+)`)
	credSecret  = regexp.MustCompile(`Secret:  (\S+)`)
)

// credentials reads the newest endpoint credentials mailed to addr.
func (gf *groupFixture) credentials(t *testing.T, addr string) (address, secret string) {
	t.Helper()
	ms := gf.mails(t, addr, "credentials")
	if len(ms) == 0 {
		t.Fatalf("no credentials mail to %s", addr)
	}
	text := ms[len(ms)-1].Text
	a, s := credAddress.FindStringSubmatch(text), credSecret.FindStringSubmatch(text)
	if a == nil || s == nil || !strings.Contains(text, "https://meet.example.org/endpoint") {
		t.Fatalf("credentials mail lacks address, secret or the /endpoint link: %q", text)
	}
	return a[1], s[1]
}

// activeGroup signs up goodSignUp and activates it.
func (gf *groupFixture) activeGroup(t *testing.T) {
	t.Helper()
	tok := gf.signUp(t, goodSignUp())
	gf.browser(t).call("POST", "/api/v1/activate", map[string]string{"token": tok}).want(t, 200, "")
}

func (gf *groupFixture) nothingStored(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	if gs, _ := gf.db.Groups(ctx); len(gs) != 0 {
		t.Errorf("%d groups stored", len(gs))
	}
	if ms, _ := gf.db.MailsTo(ctx, "ada@example.org"); len(ms) != 0 {
		t.Errorf("%d mails queued", len(ms))
	}
	if ep, err := gf.db.EndpointByEmail(ctx, "alice@example.org"); err == nil {
		t.Errorf("endpoint stored: %+v", ep)
	}
}

// TestSignUpValidation: every rule's error text beside its field, and
// nothing stored.
func TestSignUpValidation(t *testing.T) {
	fifty := strings.Repeat("a", 38) + "@example.org"
	tests := []struct {
		name  string
		edit  func(su map[string]any)
		field string
		words string
	}{
		{"missing admin name", func(su map[string]any) { delete(su, "adminName") }, "adminName", "Enter your name."},
		{"missing email", func(su map[string]any) { su["adminEmail"] = "  " }, "adminEmail", "Enter an email address."},
		{"malformed email", func(su map[string]any) { su["adminEmail"] = "ada.example.org" }, "adminEmail", `"ada.example.org" is not an email address like name@example.org.`},
		{"51-character email", func(su map[string]any) { su["adminEmail"] = "a" + fifty }, "adminEmail", "51 characters, at most 50 allowed."},
		{"51-character member", func(su map[string]any) { su["members"] = []string{"x@example.org", "a" + fifty} }, "members.1", "51 characters, at most 50 allowed."},
		{"missing group name", func(su map[string]any) { su["groupName"] = "" }, "groupName", "Enter a group name."},
		{"4-character password", func(su map[string]any) { su["password"] = "abcd" }, "password", "The password must have at least 5 characters (this one has 4)."},
		{"PIN with letters", func(su map[string]any) { su["pin"] = "12ab" }, "pin", "The PIN must be digits only (0-9), with no letters, spaces or other signs."},
		{"missing PIN", func(su map[string]any) { su["pin"] = "" }, "pin", "Enter a PIN."},
		{"no members", func(su map[string]any) { su["members"] = []string{""} }, "members", "Enter the email address of at least one member."},
		{"member twice", func(su map[string]any) { su["members"] = []string{"a@example.org", "A@EXAMPLE.org"} }, "members.1", "This address is already in the list (entry 1)."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gf := newGroupFixture(t)
			su := goodSignUp()
			tt.edit(su)
			r := gf.browser(t).call("POST", "/api/v1/signup", su)
			r.want(t, 422, "invalid")
			if got := r.fields[tt.field]; got != tt.words || len(r.fields) != 1 {
				t.Errorf("fields = %q; want only %s: %q", r.fields, tt.field, tt.words)
			}
			gf.nothingStored(t)
		})
	}
}

// TestSignUpTaken: a taken group name (in any case) and an e-mail of
// another group's member are refused beside their fields; the refused
// sign-up stores nothing.
func TestSignUpTaken(t *testing.T) {
	gf := newGroupFixture(t)
	gf.signUp(t, goodSignUp())
	b := gf.browser(t)
	su := goodSignUp()
	su["groupName"], su["adminEmail"], su["members"] = "cHoIr", "zed@example.org", []string{"zoe@example.org"}
	r := b.call("POST", "/api/v1/signup", su)
	r.want(t, 422, "invalid")
	if !strings.HasPrefix(r.fields["groupName"], "A group with this name already exists") {
		t.Errorf("taken name: %q", r.fields)
	}
	su = goodSignUp()
	su["groupName"], su["adminEmail"], su["members"] = "Band", "zed@example.org", []string{"zoe@example.org", "BOB@example.org"}
	r = b.call("POST", "/api/v1/signup", su)
	r.want(t, 422, "invalid")
	if r.fields["members.1"] != msgEmailTaken || len(r.fields) != 1 {
		t.Errorf("taken e-mail: %q", r.fields)
	}
	ctx := context.Background()
	if gs, _ := gf.db.Groups(ctx); len(gs) != 1 {
		t.Errorf("%d groups, want 1", len(gs))
	}
	if ms, _ := gf.db.MailsTo(ctx, "zed@example.org"); len(ms) != 0 {
		t.Errorf("refused sign-ups queued %d mails", len(ms))
	}
	if _, err := gf.db.EndpointByEmail(ctx, "zoe@example.org"); err == nil {
		t.Error("a refused sign-up stored its member")
	}
	// Step by step: step 2 already knows the name is taken.
	r = b.call("POST", "/api/v1/signup/check", map[string]any{"step": 2, "adminName": "Zed", "adminEmail": "zed@example.org", "groupName": "CHOIR", "password": "hunter2"})
	r.want(t, 422, "invalid")
	if _, ok := r.fields["groupName"]; !ok || len(r.fields) != 1 {
		t.Errorf("check step 2: %q", r.fields)
	}
	r = b.call("POST", "/api/v1/signup/check", map[string]any{"step": 1, "adminName": "Zed", "adminEmail": "zed@example.org", "groupName": "CHOIR"})
	if r.status != 200 || !strings.Contains(string(r.body), `"ok":true`) {
		t.Errorf("check step 1 (later fields ignored): %d %s", r.status, r.body)
	}
	b.call("POST", "/api/v1/signup/check", map[string]any{"step": 5}).want(t, 400, "bad-request")
}

// TestActivation: the link works once, expires after 48 hours, and a
// resend replaces it; activation mails each member its credentials.
func TestActivation(t *testing.T) {
	gf := newGroupFixture(t)
	tok := gf.signUp(t, goodSignUp())
	b := gf.browser(t)
	r := b.call("POST", "/api/v1/signup", map[string]any{})
	r.want(t, 422, "invalid")

	// Before activation, group users and endpoints cannot sign in.
	b.call("POST", "/api/v1/group/login", map[string]string{"groupName": "Choir", "pin": "2468"}).want(t, 403, "group-pending")

	r = b.call("POST", "/api/v1/activate", map[string]string{"token": tok})
	r.want(t, 200, "")
	var got struct{ Group GroupBrief }
	r.decode(t, &got)
	if got.Group.Name != "Choir" || got.Group.State != rooms.GroupActive {
		t.Errorf("activate = %s", r.body)
	}
	for _, m := range []string{"alice@example.org", "bob@example.org"} {
		addr, secret := gf.credentials(t, m)
		if want := strings.Split(m, "@")[0] + "@choir"; addr != want || len(secret) != 22 {
			t.Errorf("credentials for %s: %q %q; want address %s and a 22-character secret", m, addr, secret, want)
		}
	}
	b.call("POST", "/api/v1/activate", map[string]string{"token": tok}).want(t, 410, "link-used")
	b.call("POST", "/api/v1/activate", map[string]string{"token": "AAAAAAAAAAAAAAAAAAAAAA"}).want(t, 410, "link-expired")
	b.call("POST", "/api/v1/signup/resend", map[string]string{"groupName": "choir", "password": "hunter2"}).want(t, 409, "not-pending")

	// A second group: expired after 48 hours, resent, the old link dead.
	su := goodSignUp()
	su["groupName"], su["adminEmail"], su["members"] = "Band", "bea@example.org", []string{"carl@example.org"}
	tok2 := gf.signUp(t, su)
	gf.clock.Advance(rooms.ActivationTTL)
	b.call("POST", "/api/v1/activate", map[string]string{"token": tok2}).want(t, 410, "link-expired")
	b.call("POST", "/api/v1/signup/resend", map[string]string{"groupName": "Band", "password": "wrong"}).want(t, 401, "unauthorized")
	r = b.call("POST", "/api/v1/signup/resend", map[string]string{"groupName": "Band", "password": "hunter2"})
	if r.status != 202 || !strings.Contains(string(r.body), "bea@example.org") {
		t.Fatalf("resend: %d %s", r.status, r.body)
	}
	tok3 := gf.activationToken(t, "bea@example.org")
	if tok3 == tok2 {
		t.Fatal("resend mailed the same link")
	}
	b.call("POST", "/api/v1/activate", map[string]string{"token": tok2}).want(t, 410, "link-expired")
	gf.clock.Advance(rooms.ActivationTTL - time.Second)
	b.call("POST", "/api/v1/activate", map[string]string{"token": tok3}).want(t, 200, "")
}

// TestSweeper: a pending group past its link's expiry is removed, and its
// name and member addresses are free again; an active one stays.
func TestSweeper(t *testing.T) {
	gf := newGroupFixture(t)
	gf.activeGroup(t)
	su := goodSignUp()
	su["groupName"], su["adminEmail"], su["members"] = "Band", "bea@example.org", []string{"carl@example.org"}
	gf.signUp(t, su)
	ctx := context.Background()
	if n, err := gf.srvAPI.SweepGroups(ctx); n != 0 || err != nil {
		t.Fatalf("sweep before expiry: %d, %v", n, err)
	}
	// RunSweeper sweeps on the (fake) clock.
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { gf.srvAPI.RunSweeper(runCtx); close(done) }()
	for gf.clock.Pending() == 0 {
		time.Sleep(time.Millisecond)
	}
	gf.clock.Advance(rooms.ActivationTTL + time.Minute)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := gf.db.GroupByName(ctx, "band"); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the sweeper did not remove the expired sign-up")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	if _, err := gf.db.GroupByName(ctx, "choir"); err != nil {
		t.Errorf("the active group was swept: %v", err)
	}
	// The name and the address are free.
	su["adminEmail"] = "bea2@example.org"
	gf.signUp(t, su)
}

// TestCrossOrigin: a cross-site browser request to a state-changing route
// is refused.
func TestCrossOrigin(t *testing.T) {
	gf := newGroupFixture(t)
	data, _ := json.Marshal(goodSignUp())
	for _, hdr := range []map[string]string{
		{"Sec-Fetch-Site": "cross-site"},
		{"Origin": "https://evil.example"},
	} {
		hdr["Content-Type"] = "application/json"
		resp, body := gf.do(t, "POST", "/api/v1/signup", string(data), hdr)
		if resp.StatusCode != 403 || !strings.Contains(string(body), "cross-origin") {
			t.Errorf("%v: %d %s", hdr, resp.StatusCode, body)
		}
	}
	gf.nothingStored(t)
	// The public URL's own origin passes.
	resp, body := gf.do(t, "POST", "/api/v1/signup", string(data), map[string]string{"Content-Type": "application/json", "Origin": "https://meet.example.org", "Sec-Fetch-Site": "same-origin"})
	if resp.StatusCode != 201 {
		t.Errorf("same origin: %d %s", resp.StatusCode, body)
	}
}

// TestSignUpRace: of sign-ups racing for one group name, one wins and the
// others get 422 beside the name, leaving nothing of theirs behind.
func TestSignUpRace(t *testing.T) {
	gf := newGroupFixture(t)
	const n = 6
	replies := make(chan reply, n)
	for i := range n {
		su := goodSignUp()
		su["adminEmail"] = fmt.Sprintf("admin%d@example.org", i)
		su["members"] = []string{fmt.Sprintf("m%d@example.org", i)}
		b := gf.browser(t)
		go func() { replies <- b.call("POST", "/api/v1/signup", su) }()
	}
	won := 0
	for range n {
		r := <-replies
		switch {
		case r.status == 201:
			won++
		case r.status == 422 && r.fields["groupName"] == msgGroupTaken:
		default:
			t.Errorf("racing sign-up: %d %s", r.status, r.body)
		}
	}
	if won != 1 {
		t.Fatalf("%d sign-ups won the name, want 1", won)
	}
	ctx := context.Background()
	members := 0
	for i := range n {
		if _, err := gf.db.EndpointByEmail(ctx, fmt.Sprintf("m%d@example.org", i)); err == nil {
			members++
		}
	}
	if gs, _ := gf.db.Groups(ctx); len(gs) != 1 || members != 1 {
		t.Errorf("%d groups and %d members stored, want 1 and 1", len(gs), members)
	}
}
