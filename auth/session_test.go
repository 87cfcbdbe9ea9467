package auth

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestSessions(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	key := []byte(strings.Repeat("k", 32))
	s, err := NewSessions(SessionConfig{Key: key, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	tok, exp, err := s.Issue(SessionAdmin, "g_1", 3, time.Hour)
	if err != nil || !exp.Equal(now.Add(time.Hour)) {
		t.Fatalf("Issue = %v, %v", exp, err)
	}
	c, err := s.Verify(SessionAdmin, tok)
	if err != nil || c.Subject != "g_1" || c.Gen != 3 || c.Kind != SessionAdmin {
		t.Fatalf("Verify = %+v, %v", c, err)
	}
	// Another kind's audience is refused.
	for _, k := range []SessionKind{SessionGroup, SessionEndpoint, "nope"} {
		if _, err := s.Verify(k, tok); !errors.Is(err, ErrTokenInvalid) {
			t.Errorf("admin token as %s: %v, want ErrTokenInvalid", k, err)
		}
	}
	// Another key, another issuer, alg none, no exp: refused.
	other, _ := NewSessions(SessionConfig{Key: []byte(strings.Repeat("o", 32)), Now: clock})
	otok, _, _ := other.Issue(SessionAdmin, "g_1", 3, time.Hour)
	iss, _ := NewSessions(SessionConfig{Key: key, Issuer: "other", Now: clock})
	itok, _, _ := iss.Issue(SessionAdmin, "g_1", 3, time.Hour)
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, &SessionClaims{Kind: SessionAdmin, RegisteredClaims: jwt.RegisteredClaims{
		Issuer: "parley", Subject: "g_1", Audience: jwt.ClaimStrings{"parley-admin"}, ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)), ID: "x"}}).
		SignedString(jwt.UnsafeAllowNoneSignatureType)
	noexp, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, &SessionClaims{Kind: SessionAdmin, RegisteredClaims: jwt.RegisteredClaims{
		Issuer: "parley", Subject: "g_1", Audience: jwt.ClaimStrings{"parley-admin"}, ID: "x"}}).SignedString(key)
	for name, bad := range map[string]string{"other key": otok, "other issuer": itok, "alg none": none, "no exp": noexp, "empty": "", "junk": "a.b\n.c"} {
		if _, err := s.Verify(SessionAdmin, bad); !errors.Is(err, ErrTokenInvalid) {
			t.Errorf("%s: %v, want ErrTokenInvalid", name, err)
		}
	}
	now = now.Add(time.Hour + time.Minute)
	if _, err := s.Verify(SessionAdmin, tok); !errors.Is(err, ErrTokenExpired) {
		t.Errorf("expired: %v", err)
	}
}

func TestVerifierCap(t *testing.T) {
	v := NewVerifier(VerifierConfig{Concurrent: 1, Queue: 1, MaxWait: time.Minute, MemoryKiB: 64, Time: 1})
	ctx := context.Background()
	h, err := v.Hash(ctx, "1234")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := v.Verify(ctx, h, "1234"); !ok || err != nil {
		t.Fatalf("Verify right = %v, %v", ok, err)
	}
	if ok, err := v.Verify(ctx, h, "4321"); ok || err != nil {
		t.Fatalf("Verify wrong = %v, %v", ok, err)
	}
	// Hold the only turn; one caller may queue, the next is busy at once.
	if err := v.acquire(ctx); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var queued error
	wg.Go(func() { _, queued = v.Verify(ctx, h, "1234") })
	for v.waiting.Load() != 1 {
		time.Sleep(time.Millisecond)
	}
	if _, err := v.Verify(ctx, h, "1234"); !errors.Is(err, ErrBusy) {
		t.Errorf("beyond the queue: %v, want ErrBusy", err)
	}
	v.release()
	wg.Wait()
	if queued != nil {
		t.Errorf("queued call: %v", queued)
	}
	short := NewVerifier(VerifierConfig{Concurrent: 1, MaxWait: 10 * time.Millisecond, MemoryKiB: 64, Time: 1})
	_ = short.acquire(ctx)
	if _, err := short.Hash(ctx, "x"); !errors.Is(err, ErrBusy) {
		t.Errorf("after MaxWait: %v, want ErrBusy", err)
	}
	if err := v.VerifyNone(ctx); err != nil {
		t.Errorf("VerifyNone: %v", err)
	}
}

func TestIssueEndpointJoin(t *testing.T) {
	tk, err := NewTokens(TokenConfig{Key: []byte(strings.Repeat("k", 32))})
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := tk.IssueEndpointJoin("r_1", RoleMember, "e_1", "alice@example.org")
	if err != nil {
		t.Fatal(err)
	}
	c, err := tk.VerifyJoin(tok)
	if err != nil || c.Endpoint != "e_1" || c.Name != "alice@example.org" || c.RoomID != "r_1" {
		t.Fatalf("VerifyJoin = %+v, %v", c, err)
	}
	if _, _, err := tk.IssueEndpointJoin("r_1", RoleMember, "", "x"); err == nil {
		t.Error("IssueEndpointJoin without an endpoint ID succeeded")
	}
}
