package auth_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/parley-dev/parley/auth"
)

// The seeds in testdata/fuzz/FuzzVerifyJoin were issued with this key at
// times around fuzzNow, which is the fuzz targets' clock: they stay valid
// (or expired) for good.
var (
	fuzzKey = bytes.Repeat([]byte("auth-fuzz-key-32"), 2)
	fuzzNow = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
)

func fuzzTokens(f *testing.F) *auth.Tokens {
	tk, err := auth.NewTokens(auth.TokenConfig{Key: fuzzKey, Now: func() time.Time { return fuzzNow }})
	if err != nil {
		f.Fatal(err)
	}
	return tk
}

// FuzzVerifyJoin gives VerifyJoin any string a client can put in a join
// message. The seeds are tokens issued with fuzzKey (valid, expired, for
// each role) and forged ones: another key, alg none, RS256, bad encodings,
// missing and wrong claims.
//
// Properties: every error wraps exactly one of ErrTokenExpired and
// ErrTokenInvalid; a token is accepted, or called expired, only if it is
// signed with the key (checked here independently: HMAC-SHA256 over the
// first two segments, canonical base64url, header alg HS256); an accepted
// token's claims are the ones it carries, with room = subject, a known
// role, a jti, our issuer and audience, and a live expiry.
func FuzzVerifyJoin(f *testing.F) {
	tk := fuzzTokens(f)
	f.Fuzz(func(t *testing.T, token string) {
		claims, err := tk.VerifyJoin(token)
		if err != nil {
			expired, invalid := errors.Is(err, auth.ErrTokenExpired), errors.Is(err, auth.ErrTokenInvalid)
			if expired == invalid || claims != nil {
				t.Fatalf("VerifyJoin(%q) = %v, %v: want exactly one of ErrTokenExpired, ErrTokenInvalid", token, claims, err)
			}
			if expired && !signedWithKey(token) {
				t.Fatalf("VerifyJoin(%q): expired, but the token is not signed with the key", token)
			}
			return
		}
		if !signedWithKey(token) {
			t.Fatalf("VerifyJoin accepted %q, which is not signed with the key", token)
		}
		aud, _ := claims.GetAudience()
		switch {
		case claims.RoomID == "" || claims.Subject != claims.RoomID || claims.ID == "":
			t.Fatalf("accepted %q with claims %+v", token, claims)
		case claims.Role != auth.RoleMember && claims.Role != auth.RoleGuest && claims.Role != auth.RoleHost:
			t.Fatalf("accepted %q with role %q", token, claims.Role)
		case claims.Issuer != "parley" || len(aud) == 0 || claims.ExpiresAt == nil || !claims.ExpiresAt.Add(5*time.Second).After(fuzzNow):
			t.Fatalf("accepted %q with issuer %q, audience %q, expiry %v", token, claims.Issuer, aud, claims.ExpiresAt)
		}
	})
}

// signedWithKey reports whether token is header.payload.signature with an
// HS256 header and the canonical base64url HMAC-SHA256 of the first two
// segments under fuzzKey as its signature.
func signedWithKey(token string) bool {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return false
	}
	rawHeader, err := base64.RawURLEncoding.Strict().DecodeString(parts[0])
	if err != nil {
		return false
	}
	var header struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(rawHeader, &header) != nil || header.Alg != "HS256" {
		return false
	}
	mac := hmac.New(sha256.New, fuzzKey)
	mac.Write([]byte(parts[0] + "." + parts[1]))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil)) == parts[2]
}

// FuzzIssueJoin issues a token for any room ID and role and verifies it.
// The seeds (testdata/fuzz/FuzzIssueJoin) are each role, unknown roles and
// odd room IDs.
//
// Properties: IssueJoin refuses an empty room ID and an unknown role, and
// otherwise makes a token VerifyJoin accepts, for that room and role. Room
// IDs are parley's own ("r_" and base32); one that is not valid UTF-8 is
// skipped, JSON being unable to carry it unchanged.
func FuzzIssueJoin(f *testing.F) {
	tk := fuzzTokens(f)
	f.Fuzz(func(t *testing.T, room, role string) {
		if !utf8.ValidString(room) {
			return
		}
		token, exp, err := tk.IssueJoin(room, role)
		known := role == auth.RoleMember || role == auth.RoleGuest || role == auth.RoleHost
		if err != nil {
			if room != "" && known {
				t.Fatalf("IssueJoin(%q, %q) = %v", room, role, err)
			}
			return
		}
		if room == "" || !known {
			t.Fatalf("IssueJoin(%q, %q) issued a token", room, role)
		}
		claims, err := tk.VerifyJoin(token)
		if err != nil || claims.RoomID != room || claims.Role != role || !claims.ExpiresAt.Equal(exp) {
			t.Fatalf("token for (%q, %q) verifies as %+v, %v", room, role, claims, err)
		}
	})
}
