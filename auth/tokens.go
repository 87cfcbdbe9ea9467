package auth

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// MinKeySize is the shortest HS256 key NewTokens accepts, in bytes.
const MinKeySize = 32

// Join token roles. Only RoleMember is issued today; guests (guest links)
// and hosts (host keys) arrive in later issues.
const (
	RoleMember = "member"
	RoleGuest  = "guest"
	RoleHost   = "host"
)

// TokenConfig configures Tokens. Zero fields mean the defaults noted.
type TokenConfig struct {
	Key      []byte        // HS256 key, at least MinKeySize bytes (store.DB.SigningKey)
	Issuer   string        // iss; default "parley"
	Audience string        // aud; default "parley-ws"
	TTL      time.Duration // lifetime of an issued token; default 10m
	Leeway   time.Duration // clock skew allowed on exp and iat; default 5s
	Now      func() time.Time
}

// Tokens issues and verifies join tokens: short-lived JWTs that admit their
// bearer to one room's WebSocket with one role. It is safe for concurrent
// use.
type Tokens struct {
	// Set at construction, never changed.
	cfg    TokenConfig
	parser *jwt.Parser
}

// JoinClaims are the claims of a join token. Subject repeats RoomID.
type JoinClaims struct {
	RoomID string `json:"room"`
	Role   string `json:"role"`
	// Endpoint and Name are set in tokens issued to a registered
	// endpoint (IssueEndpointJoin): its ID, and the name it joins under
	// (the name in the join message is then ignored).
	Endpoint string `json:"ep,omitempty"`
	Name     string `json:"name,omitempty"`
	// Invitation is set in a guest's token issued through an invitation's
	// link (IssueGuestJoin): the invitation's ID.
	Invitation string `json:"inv,omitempty"`
	jwt.RegisteredClaims
}

// NewTokens returns Tokens for cfg, filling in defaults. The key is copied.
func NewTokens(cfg TokenConfig) (*Tokens, error) {
	if len(cfg.Key) < MinKeySize {
		return nil, fmt.Errorf("auth: new tokens: %w: %d bytes, need %d", ErrKeyTooShort, len(cfg.Key), MinKeySize)
	}
	cfg.Key = bytes.Clone(cfg.Key)
	if cfg.Issuer == "" {
		cfg.Issuer = "parley"
	}
	if cfg.Audience == "" {
		cfg.Audience = "parley-ws"
	}
	if cfg.TTL <= 0 {
		cfg.TTL = 10 * time.Minute
	}
	if cfg.Leeway <= 0 {
		cfg.Leeway = 5 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithIssuer(cfg.Issuer),
		jwt.WithAudience(cfg.Audience),
		jwt.WithLeeway(cfg.Leeway),
		jwt.WithTimeFunc(cfg.Now),
		jwt.WithStrictDecoding(),
	)
	return &Tokens{cfg: cfg, parser: parser}, nil
}

// IssueJoin returns a signed join token for roomID with role, and when it
// expires. The token carries iss, aud, sub (= roomID), iat, exp and a random
// jti.
func (t *Tokens) IssueJoin(roomID, role string) (token string, expires time.Time, err error) {
	return t.issue(roomID, role, "", "")
}

// IssueEndpointJoin is IssueJoin for a registered endpoint: the token also
// carries the endpoint's ID and the name it joins under.
func (t *Tokens) IssueEndpointJoin(roomID, role, endpointID, name string) (token string, expires time.Time, err error) {
	if endpointID == "" || name == "" {
		return "", time.Time{}, errors.New("auth: issue join token: empty endpoint ID or name")
	}
	return t.issue(roomID, role, endpointID, name)
}

// IssueGuestJoin is IssueJoin for a guest let in by a guest link: role
// guest, the name the guest gave (the join message's name is then
// ignored), and the invitation's ID if the link was an invitation's ("" if
// not).
func (t *Tokens) IssueGuestJoin(roomID, name, invitationID string) (token string, expires time.Time, err error) {
	if name == "" {
		return "", time.Time{}, errors.New("auth: issue guest join token: empty name")
	}
	return t.issueClaims(roomID, RoleGuest, "", name, invitationID)
}

func (t *Tokens) issue(roomID, role, endpointID, name string) (token string, expires time.Time, err error) {
	return t.issueClaims(roomID, role, endpointID, name, "")
}

func (t *Tokens) issueClaims(roomID, role, endpointID, name, invitationID string) (token string, expires time.Time, err error) {
	if roomID == "" {
		return "", time.Time{}, errors.New("auth: issue join token: empty room ID")
	}
	if !validRole(role) {
		return "", time.Time{}, fmt.Errorf("auth: issue join token: unknown role %q", role)
	}
	now := t.cfg.Now()
	exp := jwt.NewNumericDate(now.Add(t.cfg.TTL))
	claims := &JoinClaims{
		RoomID:     roomID,
		Role:       role,
		Endpoint:   endpointID,
		Name:       name,
		Invitation: invitationID,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    t.cfg.Issuer,
			Subject:   roomID,
			Audience:  jwt.ClaimStrings{t.cfg.Audience},
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: exp,
			ID:        RandomToken(16),
		},
	}
	token, err = jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(t.cfg.Key)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("auth: issue join token: %w", err)
	}
	return token, exp.Time, nil
}

// VerifyJoin checks a join token's algorithm (HS256 only), signature,
// issuer, audience, expiry (required) and issue time, and returns its
// claims. An expired but otherwise good token gives an error wrapping
// ErrTokenExpired; every other failure wraps ErrTokenInvalid.
func (t *Tokens) VerifyJoin(token string) (*JoinClaims, error) {
	if strings.IndexFunc(token, notTokenChar) >= 0 {
		// Go's base64 decoders skip CR and LF, even strict ones: without
		// this check, line breaks put in a token's signature would leave
		// it valid, one token with many spellings.
		return nil, fmt.Errorf("auth: join token: %w: not three base64url segments", ErrTokenInvalid)
	}
	claims := new(JoinClaims)
	_, err := t.parser.ParseWithClaims(token, claims, func(*jwt.Token) (any, error) {
		return t.cfg.Key, nil
	})
	if err != nil {
		if onlyExpired(err) {
			return nil, fmt.Errorf("auth: join token: %w: %v", ErrTokenExpired, err)
		}
		return nil, fmt.Errorf("auth: join token: %w: %v", ErrTokenInvalid, err)
	}
	switch {
	case claims.RoomID == "" || claims.Subject != claims.RoomID:
		return nil, fmt.Errorf("auth: join token: %w: room and subject missing or differ", ErrTokenInvalid)
	case !validRole(claims.Role):
		return nil, fmt.Errorf("auth: join token: %w: unknown role %q", ErrTokenInvalid, claims.Role)
	case claims.ID == "":
		return nil, fmt.Errorf("auth: join token: %w: missing jti", ErrTokenInvalid)
	}
	return claims, nil
}

// onlyExpired reports whether err says the token is expired and nothing
// else is wrong with it (jwt joins all claim errors into one).
func onlyExpired(err error) bool {
	if !errors.Is(err, jwt.ErrTokenExpired) {
		return false
	}
	for _, other := range []error{
		jwt.ErrTokenSignatureInvalid, jwt.ErrTokenMalformed, jwt.ErrTokenUnverifiable,
		jwt.ErrTokenInvalidAudience, jwt.ErrTokenInvalidIssuer, jwt.ErrTokenUsedBeforeIssued,
		jwt.ErrTokenNotValidYet, jwt.ErrTokenRequiredClaimMissing, jwt.ErrTokenInvalidSubject,
	} {
		if errors.Is(err, other) {
			return false
		}
	}
	return true
}

// notTokenChar reports whether r cannot appear in a JWS in compact
// serialisation: base64url segments joined by dots (RFC 7515 §7.1).
func notTokenChar(r rune) bool {
	switch {
	case 'A' <= r && r <= 'Z', 'a' <= r && r <= 'z', '0' <= r && r <= '9', r == '-', r == '_', r == '.':
		return false
	}
	return true
}

func validRole(role string) bool {
	return role == RoleMember || role == RoleGuest || role == RoleHost
}
