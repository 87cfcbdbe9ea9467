package auth_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/parley-dev/parley/auth"
)

var testKey = bytes.Repeat([]byte("k"), 32)

// clock is a settable test clock.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

func newTokens(t *testing.T, cfg auth.TokenConfig) *auth.Tokens {
	t.Helper()
	tk, err := auth.NewTokens(cfg)
	if err != nil {
		t.Fatalf("NewTokens: %v", err)
	}
	return tk
}

func TestNewTokensKeySize(t *testing.T) {
	for _, n := range []int{0, 16, 31} {
		if _, err := auth.NewTokens(auth.TokenConfig{Key: make([]byte, n)}); !errors.Is(err, auth.ErrKeyTooShort) {
			t.Errorf("NewTokens with %d-byte key = %v, want ErrKeyTooShort", n, err)
		}
	}
}

func TestJoinRoundTrip(t *testing.T) {
	clk := &clock{time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)}
	tk := newTokens(t, auth.TokenConfig{Key: testKey, Now: clk.Now})

	tok, exp, err := tk.IssueJoin("r_abc", auth.RoleMember)
	if err != nil {
		t.Fatalf("IssueJoin: %v", err)
	}
	if want := clk.now.Add(10 * time.Minute); !exp.Equal(want) {
		t.Errorf("expires = %v, want %v", exp, want)
	}
	c, err := tk.VerifyJoin(tok)
	if err != nil {
		t.Fatalf("VerifyJoin: %v", err)
	}
	aud, _ := c.GetAudience()
	switch {
	case c.RoomID != "r_abc" || c.Subject != "r_abc" || c.Role != auth.RoleMember:
		t.Errorf("claims room %q sub %q role %q", c.RoomID, c.Subject, c.Role)
	case c.Issuer != "parley" || len(aud) != 1 || aud[0] != "parley-ws":
		t.Errorf("claims iss %q aud %q", c.Issuer, aud)
	case len(c.ID) != 22 || !c.IssuedAt.Equal(clk.now) || !c.ExpiresAt.Equal(exp):
		t.Errorf("claims jti %q iat %v exp %v", c.ID, c.IssuedAt, c.ExpiresAt)
	}

	tok2, _, _ := tk.IssueJoin("r_abc", auth.RoleMember)
	c2, err := tk.VerifyJoin(tok2)
	if err != nil || c2.ID == c.ID {
		t.Errorf("second token jti %q (err %v) repeats %q", c2.ID, err, c.ID)
	}
}

func TestIssueJoinRejects(t *testing.T) {
	tk := newTokens(t, auth.TokenConfig{Key: testKey})
	for _, tt := range []struct{ room, role string }{{"", auth.RoleMember}, {"r_a", ""}, {"r_a", "admin"}} {
		if _, _, err := tk.IssueJoin(tt.room, tt.role); err == nil {
			t.Errorf("IssueJoin(%q, %q) succeeded", tt.room, tt.role)
		}
	}
}

// sign makes a token with arbitrary claims and method, for attacks.
func sign(t *testing.T, method jwt.SigningMethod, key any, claims jwt.Claims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return s
}

func TestVerifyJoinRejects(t *testing.T) {
	now := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	clk := &clock{now}
	tk := newTokens(t, auth.TokenConfig{Key: testKey, Now: clk.Now})
	good, _, err := tk.IssueJoin("r_abc", auth.RoleMember)
	if err != nil {
		t.Fatal(err)
	}
	otherKey := newTokens(t, auth.TokenConfig{Key: bytes.Repeat([]byte("x"), 32), Now: clk.Now})
	fromOtherKey, _, _ := otherKey.IssueJoin("r_abc", auth.RoleMember)
	otherAud := newTokens(t, auth.TokenConfig{Key: testKey, Audience: "parley-admin", Now: clk.Now})
	fromOtherAud, _, _ := otherAud.IssueJoin("r_abc", auth.RoleMember)
	otherIss := newTokens(t, auth.TokenConfig{Key: testKey, Issuer: "evil", Now: clk.Now})
	fromOtherIss, _, _ := otherIss.IssueJoin("r_abc", auth.RoleMember)

	claims := func(edit func(*auth.JoinClaims)) *auth.JoinClaims {
		c := &auth.JoinClaims{RoomID: "r_abc", Role: auth.RoleMember, RegisteredClaims: jwt.RegisteredClaims{
			Issuer: "parley", Subject: "r_abc", Audience: jwt.ClaimStrings{"parley-ws"}, ID: "jti",
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Minute)),
		}}
		edit(c)
		return c
	}
	hs := jwt.SigningMethodHS256
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		token   string
		advance time.Duration
		want    error
	}{
		{"good control", good, 0, nil},
		{"hand-made control", sign(t, hs, testKey, claims(func(*auth.JoinClaims) {})), 0, nil},
		{"within leeway", good, 10*time.Minute + 4*time.Second, nil},
		{"expired", good, 10*time.Minute + 6*time.Second, auth.ErrTokenExpired},
		{"wrong key", fromOtherKey, 0, auth.ErrTokenInvalid},
		{"wrong key and expired", fromOtherKey, time.Hour, auth.ErrTokenInvalid},
		{"wrong audience", fromOtherAud, 0, auth.ErrTokenInvalid},
		{"wrong audience and expired", fromOtherAud, time.Hour, auth.ErrTokenInvalid},
		{"wrong issuer", fromOtherIss, 0, auth.ErrTokenInvalid},
		{"alg none", sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims(func(*auth.JoinClaims) {})), 0, auth.ErrTokenInvalid},
		{"RS256", sign(t, jwt.SigningMethodRS256, rsaKey, claims(func(*auth.JoinClaims) {})), 0, auth.ErrTokenInvalid},
		{"RS256 header, HMAC body", rs256Header(t, good), 0, auth.ErrTokenInvalid},
		{"HS512", sign(t, jwt.SigningMethodHS512, testKey, claims(func(*auth.JoinClaims) {})), 0, auth.ErrTokenInvalid},
		{"missing exp", sign(t, hs, testKey, claims(func(c *auth.JoinClaims) { c.ExpiresAt = nil })), 0, auth.ErrTokenInvalid},
		{"issued in the future", sign(t, hs, testKey, claims(func(c *auth.JoinClaims) { c.IssuedAt = jwt.NewNumericDate(now.Add(time.Minute)) })), 0, auth.ErrTokenInvalid},
		{"missing room", sign(t, hs, testKey, claims(func(c *auth.JoinClaims) { c.RoomID = "" })), 0, auth.ErrTokenInvalid},
		{"subject differs", sign(t, hs, testKey, claims(func(c *auth.JoinClaims) { c.Subject = "r_other" })), 0, auth.ErrTokenInvalid},
		{"unknown role", sign(t, hs, testKey, claims(func(c *auth.JoinClaims) { c.Role = "admin" })), 0, auth.ErrTokenInvalid},
		{"missing jti", sign(t, hs, testKey, claims(func(c *auth.JoinClaims) { c.ID = "" })), 0, auth.ErrTokenInvalid},
		{"tampered payload", tamper(t, good), 0, auth.ErrTokenInvalid},
		{"garbage", "not.a.jwt", 0, auth.ErrTokenInvalid},
		{"empty", "", 0, auth.ErrTokenInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk.now = now.Add(tt.advance)
			c, err := tk.VerifyJoin(tt.token)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("VerifyJoin = %v, want success", err)
				}
				return
			}
			if !errors.Is(err, tt.want) || c != nil {
				t.Fatalf("VerifyJoin = %+v, %v; want %v", c, err, tt.want)
			}
			if tt.want == auth.ErrTokenInvalid && errors.Is(err, auth.ErrTokenExpired) {
				t.Fatalf("VerifyJoin = %v; reports expiry for an invalid token", err)
			}
		})
	}
}

// rs256Header swaps a token's header for one claiming RS256, keeping the
// HMAC signature: the classic algorithm-confusion attempt.
func rs256Header(t *testing.T, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	parts[0] = b64(`{"alg":"RS256","typ":"JWT"}`)
	return strings.Join(parts, ".")
}

// tamper changes the payload to name another room, keeping the signature.
func tamper(t *testing.T, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	parts[1] = b64(strings.ReplaceAll(string(raw), "r_abc", "r_xyz"))
	return strings.Join(parts, ".")
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func TestGuestJoin(t *testing.T) {
	tk := newTokens(t, auth.TokenConfig{Key: testKey})
	tok, _, err := tk.IssueGuestJoin("r_abc", "Gil", "inv_1")
	if err != nil {
		t.Fatal(err)
	}
	c, err := tk.VerifyJoin(tok)
	if err != nil || c.Role != auth.RoleGuest || c.Name != "Gil" || c.Invitation != "inv_1" || c.Endpoint != "" || c.RoomID != "r_abc" {
		t.Errorf("guest claims %+v, %v", c, err)
	}
	tok, _, _ = tk.IssueGuestJoin("r_abc", "Gil", "")
	if c, err := tk.VerifyJoin(tok); err != nil || c.Invitation != "" {
		t.Errorf("standing link's guest claims %+v, %v", c, err)
	}
	if _, _, err := tk.IssueGuestJoin("r_abc", "", ""); err == nil {
		t.Error("a guest token without a name was issued")
	}
}
