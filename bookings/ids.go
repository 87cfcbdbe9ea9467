package bookings

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strings"
)

// NewID returns prefix and 128 random bits in lower-case unpadded base32
// (26 characters): NewID("b_") for a series, NewID("a_") for an account.
func NewID(prefix string) string {
	return prefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(randomBytes(16)))
}

// ValidID reports whether id is prefix and 26 lower-case base32
// characters, as NewID makes them.
func ValidID(prefix, id string) bool {
	rest, ok := strings.CutPrefix(id, prefix)
	if !ok || len(rest) != 26 {
		return false
	}
	for _, r := range rest {
		if (r < 'a' || r > 'z') && (r < '2' || r > '7') {
			return false
		}
	}
	return true
}

// NewLinkToken returns a join link's secret: 128 random bits, base64url
// without padding (22 characters).
func NewLinkToken() string {
	return base64.RawURLEncoding.EncodeToString(randomBytes(16))
}

// NewHostKey returns HostKeyDigits decimal digits from crypto/rand, each
// key equally likely (rejection sampling, no modulo bias).
func NewHostKey() string {
	const n = 100_000_000 // 10^HostKeyDigits
	const limit = (1 << 32) / n * n
	for {
		v := binary.BigEndian.Uint32(randomBytes(4))
		if uint64(v) < limit {
			return fmt.Sprintf("%0*d", HostKeyDigits, v%n)
		}
	}
}

// randomBytes returns n bytes from crypto/rand. Since Go 1.24 rand.Read
// never returns an error (the runtime aborts the program if the kernel
// cannot supply randomness), so there is nothing to handle here.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}
