package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// argonParams are argon2id cost parameters, recorded in each hash so that
// they can be raised later without invalidating stored hashes.
type argonParams struct {
	memoryKiB uint32
	time      uint32
	threads   uint8
	saltLen   int
	keyLen    uint32
}

// defaultParams is OWASP's first recommended argon2id setting (Password
// Storage Cheat Sheet): 19 MiB, 2 iterations, 1 lane. Verifying costs tens
// of milliseconds, so a login endpoint must still be rate limited.
func defaultParams() argonParams {
	return argonParams{memoryKiB: 19 * 1024, time: 2, threads: 1, saltLen: 16, keyLen: 32}
}

// Upper bounds VerifySecret accepts, so a tampered hash string cannot make
// it allocate gigabytes or spin for minutes.
const (
	maxMemoryKiB = 256 * 1024
	maxTime      = 16
	maxThreads   = 16
)

// HashSecret returns an argon2id hash of secret with a fresh random salt,
// encoded in the PHC string format:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>
//
// (salt and hash in unpadded standard base64). Store only this string.
func HashSecret(secret string) (string, error) {
	return hashSecret(secret, defaultParams())
}

func hashSecret(secret string, p argonParams) (string, error) {
	if secret == "" {
		return "", fmt.Errorf("auth: hash secret: %w", ErrEmptySecret)
	}
	salt := make([]byte, p.saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("auth: hash secret: salt: %w", err)
	}
	key := argon2.IDKey([]byte(secret), salt, p.time, p.memoryKiB, p.threads, p.keyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.memoryKiB, p.time, p.threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// VerifySecret reports whether secret matches encoded, a string from
// HashSecret, comparing in constant time. The error is non-nil (wrapping
// ErrMalformedHash) only when encoded cannot be parsed; a wrong secret is
// (false, nil).
func VerifySecret(encoded, secret string) (bool, error) {
	p, salt, want, err := parseHash(encoded)
	if err != nil {
		return false, fmt.Errorf("auth: verify secret: %w", err)
	}
	got := argon2.IDKey([]byte(secret), salt, p.time, p.memoryKiB, p.threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// parseHash splits a PHC argon2id string into its parameters, salt and key.
func parseHash(encoded string) (p argonParams, salt, key []byte, err error) {
	fields := strings.Split(encoded, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, key
	if len(fields) != 6 || fields[0] != "" || fields[1] != "argon2id" {
		return p, nil, nil, fmt.Errorf("%w: not an argon2id PHC string", ErrMalformedHash)
	}
	if fields[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return p, nil, nil, fmt.Errorf("%w: unsupported version %q", ErrMalformedHash, fields[2])
	}
	if p, err = parseParams(fields[3]); err != nil {
		return p, nil, nil, err
	}
	b64 := base64.RawStdEncoding.Strict()
	if salt, err = b64.DecodeString(fields[4]); err != nil || len(salt) < 8 {
		return p, nil, nil, fmt.Errorf("%w: bad salt", ErrMalformedHash)
	}
	if key, err = b64.DecodeString(fields[5]); err != nil || len(key) < 16 || len(key) > 64 {
		return p, nil, nil, fmt.Errorf("%w: bad hash", ErrMalformedHash)
	}
	return p, salt, key, nil
}

// parseParams parses "m=<KiB>,t=<iterations>,p=<threads>", exactly.
func parseParams(s string) (p argonParams, err error) {
	bad := fmt.Errorf("%w: bad parameters %q", ErrMalformedHash, s)
	parts := strings.Split(s, ",")
	if len(parts) != 3 {
		return p, bad
	}
	var vals [3]uint64
	for i, name := range []string{"m", "t", "p"} {
		k, v, ok := strings.Cut(parts[i], "=")
		if !ok || k != name {
			return p, bad
		}
		if vals[i], err = strconv.ParseUint(v, 10, 32); err != nil {
			return p, bad
		}
	}
	m, t, th := vals[0], vals[1], vals[2]
	if t == 0 || t > maxTime || th == 0 || th > maxThreads || m < 8*th || m > maxMemoryKiB {
		return p, bad
	}
	return argonParams{memoryKiB: uint32(m), time: uint32(t), threads: uint8(th)}, nil
}
