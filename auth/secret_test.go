package auth

import (
	"errors"
	"strings"
	"testing"
)

// cheap are argon2id parameters small enough to keep tests fast; the real
// defaults are exercised once, in TestHashSecretDefaults.
var cheap = argonParams{memoryKiB: 64, time: 1, threads: 1, saltLen: 16, keyLen: 32}

func TestHashSecretDefaults(t *testing.T) {
	h, err := HashSecret("correct horse battery staple")
	if err != nil {
		t.Fatalf("HashSecret: %v", err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash %q lacks the expected PHC prefix", h)
	}
	for _, tt := range []struct {
		secret string
		want   bool
	}{{"correct horse battery staple", true}, {"correct horse battery stapl", false}} {
		if ok, err := VerifySecret(h, tt.secret); ok != tt.want || err != nil {
			t.Errorf("VerifySecret(%q) = %v, %v; want %v", tt.secret, ok, err, tt.want)
		}
	}
}

func TestVerifySecret(t *testing.T) {
	h, err := hashSecret("1234", cheap)
	if err != nil {
		t.Fatal(err)
	}
	h2, err := hashSecret("1234", cheap)
	if err != nil {
		t.Fatal(err)
	}
	if h == h2 {
		t.Errorf("two hashes of one secret are equal (salt not random): %q", h)
	}
	tests := []struct {
		secret string
		want   bool
	}{
		{"1234", true},
		{"12345", false},
		{"123", false},
		{"", false},
		{"1234 ", false},
	}
	for _, tt := range tests {
		if ok, err := VerifySecret(h, tt.secret); ok != tt.want || err != nil {
			t.Errorf("VerifySecret(%q) = %v, %v; want %v", tt.secret, ok, err, tt.want)
		}
	}
	if _, err := HashSecret(""); !errors.Is(err, ErrEmptySecret) {
		t.Errorf("HashSecret(\"\") = %v, want ErrEmptySecret", err)
	}
}

func TestVerifySecretMalformed(t *testing.T) {
	good, err := hashSecret("pin", cheap)
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Split(good, "$") // "", argon2id, v=19, params, salt, hash
	with := func(i int, v string) string {
		g := append([]string(nil), f...)
		g[i] = v
		return strings.Join(g, "$")
	}
	tests := map[string]string{
		"empty":              "",
		"plain text":         "pin",
		"bcrypt":             "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
		"argon2i":            with(1, "argon2i"),
		"version 16":         with(2, "v=16"),
		"version junk":       with(2, "v=19x"),
		"params missing":     with(3, "m=64,t=1"),
		"params reordered":   with(3, "t=1,m=64,p=1"),
		"params not numbers": with(3, "m=x,t=1,p=1"),
		"zero time":          with(3, "m=64,t=0,p=1"),
		"zero threads":       with(3, "m=64,t=1,p=0"),
		"huge memory":        with(3, "m=4194304,t=1,p=1"),
		"huge time":          with(3, "m=64,t=1000,p=1"),
		"salt not base64":    with(4, "!!!"),
		"salt too short":     with(4, "AAAA"),
		"hash not base64":    with(5, "***"),
		"hash too short":     with(5, "AAAA"),
		"extra field":        good + "$x",
		"padded salt":        with(4, f[4]+"=="),
	}
	for name, enc := range tests {
		t.Run(name, func(t *testing.T) {
			ok, err := VerifySecret(enc, "pin")
			if ok || !errors.Is(err, ErrMalformedHash) {
				t.Fatalf("VerifySecret(%q) = %v, %v; want ErrMalformedHash", enc, ok, err)
			}
		})
	}
}

func TestEqual(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"", "", true},
		{"abc", "abc", true},
		{"abc", "abd", false},
		{"abc", "ab", false},
		{"", "a", false},
	}
	for _, tt := range tests {
		if got := Equal(tt.a, tt.b); got != tt.want {
			t.Errorf("Equal(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestRandomToken(t *testing.T) {
	tests := []struct{ n, wantLen int }{{16, 22}, {32, 43}, {1, 2}, {0, 22}, {-5, 22}}
	for _, tt := range tests {
		tok := RandomToken(tt.n)
		if len(tok) != tt.wantLen || strings.ContainsAny(tok, "+/=") {
			t.Errorf("RandomToken(%d) = %q, want %d base64url chars", tt.n, tok, tt.wantLen)
		}
	}
	if RandomToken(16) == RandomToken(16) {
		t.Error("RandomToken repeats")
	}
}
