package auth

import (
	"encoding/base64"
	"errors"
	"fmt"
	"testing"
)

// FuzzParseHash parses any string as a stored secret hash, as a damaged or
// hand-edited database may hold. The seeds (testdata/fuzz/FuzzParseHash)
// are hashes HashSecret made and malformed ones from TestVerifySecret's
// cases.
//
// Properties: a string is refused with ErrMalformedHash, or accepted with
// parameters within the bounds VerifySecret allows (so a tampered hash
// cannot make it allocate gigabytes or spin for minutes), a salt of at
// least 8 bytes and a key of 16 to 64; the canonical form of an accepted
// hash parses to the same.
func FuzzParseHash(f *testing.F) {
	f.Fuzz(func(t *testing.T, encoded string) {
		p, salt, key, err := parseHash(encoded)
		if err != nil {
			if !errors.Is(err, ErrMalformedHash) {
				t.Fatalf("parseHash(%q) = %v, want ErrMalformedHash", encoded, err)
			}
			return
		}
		if p.memoryKiB > maxMemoryKiB || p.time == 0 || p.time > maxTime || p.threads == 0 || p.threads > maxThreads ||
			p.memoryKiB < 8*uint32(p.threads) || len(salt) < 8 || len(key) < 16 || len(key) > 64 {
			t.Fatalf("parseHash(%q) accepted %+v, %d-byte salt, %d-byte key", encoded, p, len(salt), len(key))
		}
		b64 := base64.RawStdEncoding
		canon := fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", p.memoryKiB, p.time, p.threads, b64.EncodeToString(salt), b64.EncodeToString(key))
		p2, salt2, key2, err := parseHash(canon)
		if err != nil || p2 != p || string(salt2) != string(salt) || string(key2) != string(key) {
			t.Fatalf("canonical form %q of %q parses to %+v, %v", canon, encoded, p2, err)
		}
	})
}
