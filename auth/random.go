// Package auth holds parley's credentials code: random tokens, signed join
// tokens (JWT, HS256) that admit a client to one room's WebSocket, and slow
// hashes for secrets such as operator tokens, group admin passwords,
// meeting PINs and endpoint secrets (Verifier caps how many are computed at
// once), and web-session tokens (Sessions: one JWT audience per kind, with
// the credential generation that revokes them). It is a leaf: it imports
// no other parley package, and keeps no state beyond what its values hold.
package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
)

// DefaultTokenBytes is the number of random bytes RandomToken uses when
// asked for nbytes <= 0: 128 bits.
const DefaultTokenBytes = 16

// RandomToken returns nbytes bytes from crypto/rand, base64url-encoded
// without padding (16 bytes → 22 characters). nbytes <= 0 means
// DefaultTokenBytes. It panics only if crypto/rand fails, which since Go
// 1.24 it never reports (the runtime aborts instead): there is no safe way
// to continue without randomness.
func RandomToken(nbytes int) string {
	if nbytes <= 0 {
		nbytes = DefaultTokenBytes
	}
	b := make([]byte, nbytes)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("auth: crypto/rand failed: %v", err))
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// Equal reports whether a and b are equal, taking time that depends only on
// their lengths, not on where they differ. Use it for comparing tokens.
func Equal(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
