package auth

import "errors"

// Errors returned by this package, wrapped with the reason; test with
// errors.Is.
var (
	// ErrTokenExpired means a join token was genuine but its exp (plus the
	// leeway) has passed: the client should fetch a fresh one.
	ErrTokenExpired = errors.New("token expired")

	// ErrTokenInvalid means a join token was rejected for any other reason:
	// malformed, wrong algorithm, bad signature, wrong issuer or audience,
	// missing claims, unknown role. Do not tell the client which.
	ErrTokenInvalid = errors.New("invalid token")

	// ErrKeyTooShort means NewTokens was given a key under MinKeySize bytes.
	ErrKeyTooShort = errors.New("token signing key too short")

	// ErrMalformedHash means VerifySecret was given a string HashSecret did
	// not produce (or one with out-of-range parameters).
	ErrMalformedHash = errors.New("malformed secret hash")

	// ErrEmptySecret means HashSecret was asked to hash "".
	ErrEmptySecret = errors.New("empty secret")
)
