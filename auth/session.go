package auth

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// SessionKind says whom a web session is for. Each kind has its own JWT
// audience, so a token made for one is refused as another.
type SessionKind string

// The kinds of web session (issue #12).
const (
	SessionAdmin    SessionKind = "admin"    // a group's administrator (password)
	SessionGroup    SessionKind = "group"    // a group user (meeting PIN)
	SessionEndpoint SessionKind = "endpoint" // a registered endpoint (address + secret)
)

// SessionConfig configures Sessions. Zero fields mean the defaults noted.
type SessionConfig struct {
	Key    []byte // HS256 key, at least MinKeySize bytes (store.DB.SigningKey)
	Issuer string // iss; default "parley"
	// Leeway is the clock skew allowed on exp and iat; default 5s.
	Leeway time.Duration
	Now    func() time.Time
}

// Sessions issues and verifies web-session tokens: HS256 JWTs whose
// audience is "parley-" + the kind, whose subject is the group's (or
// endpoint's) ID, and which carry the generation of the credential they
// were made with. The caller compares that generation with the record's on
// every use: raising it revokes every older session. Safe for concurrent
// use.
type Sessions struct {
	// set at construction
	cfg     SessionConfig
	parsers map[SessionKind]*jwt.Parser
}

// SessionClaims are the claims of a session token.
type SessionClaims struct {
	Kind SessionKind `json:"kind"`
	// Gen is the credential generation the session was made under.
	Gen int `json:"gen"`
	jwt.RegisteredClaims
}

// NewSessions returns Sessions for cfg. The key is copied.
func NewSessions(cfg SessionConfig) (*Sessions, error) {
	if len(cfg.Key) < MinKeySize {
		return nil, fmt.Errorf("auth: new sessions: %w: %d bytes, need %d", ErrKeyTooShort, len(cfg.Key), MinKeySize)
	}
	cfg.Key = bytes.Clone(cfg.Key)
	if cfg.Issuer == "" {
		cfg.Issuer = "parley"
	}
	if cfg.Leeway <= 0 {
		cfg.Leeway = 5 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Sessions{cfg: cfg, parsers: map[SessionKind]*jwt.Parser{}}
	for _, k := range []SessionKind{SessionAdmin, SessionGroup, SessionEndpoint} {
		s.parsers[k] = jwt.NewParser(
			jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithIssuer(cfg.Issuer),
			jwt.WithAudience(audience(k)),
			jwt.WithLeeway(cfg.Leeway),
			jwt.WithTimeFunc(cfg.Now),
			jwt.WithStrictDecoding(),
		)
	}
	return s, nil
}

func audience(k SessionKind) string { return "parley-" + string(k) }

// Issue returns a session token of kind for subject (a group or endpoint
// ID) under credential generation gen, valid for ttl, and its expiry.
func (s *Sessions) Issue(kind SessionKind, subject string, gen int, ttl time.Duration) (string, time.Time, error) {
	if s.parsers[kind] == nil {
		return "", time.Time{}, fmt.Errorf("auth: issue session: unknown kind %q", kind)
	}
	if subject == "" || ttl <= 0 {
		return "", time.Time{}, errors.New("auth: issue session: subject and a positive ttl are required")
	}
	now := s.cfg.Now()
	exp := jwt.NewNumericDate(now.Add(ttl))
	claims := &SessionClaims{
		Kind: kind,
		Gen:  gen,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    s.cfg.Issuer,
			Subject:   subject,
			Audience:  jwt.ClaimStrings{audience(kind)},
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: exp,
			ID:        RandomToken(16),
		},
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(s.cfg.Key)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("auth: issue session: %w", err)
	}
	return tok, exp.Time, nil
}

// Verify checks a session token of kind: algorithm (HS256 only),
// signature, issuer, audience, expiry (required), issue time and the kind
// claim. Expired tokens give ErrTokenExpired, all else ErrTokenInvalid.
// The caller still checks Gen against the record.
func (s *Sessions) Verify(kind SessionKind, token string) (*SessionClaims, error) {
	p := s.parsers[kind]
	if p == nil {
		return nil, fmt.Errorf("auth: session: %w: unknown kind %q", ErrTokenInvalid, kind)
	}
	if token == "" || strings.IndexFunc(token, notTokenChar) >= 0 {
		return nil, fmt.Errorf("auth: session: %w: not three base64url segments", ErrTokenInvalid)
	}
	claims := new(SessionClaims)
	_, err := p.ParseWithClaims(token, claims, func(*jwt.Token) (any, error) { return s.cfg.Key, nil })
	if err != nil {
		if onlyExpired(err) {
			return nil, fmt.Errorf("auth: session: %w: %v", ErrTokenExpired, err)
		}
		return nil, fmt.Errorf("auth: session: %w: %v", ErrTokenInvalid, err)
	}
	if claims.Kind != kind || claims.Subject == "" || claims.ID == "" {
		return nil, fmt.Errorf("auth: session: %w: kind, subject or jti wrong", ErrTokenInvalid)
	}
	return claims, nil
}
