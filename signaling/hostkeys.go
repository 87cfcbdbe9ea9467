package signaling

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/parley-dev/parley/auth"
	"github.com/parley-dev/parley/livecall"
	"github.com/parley-dev/parley/signaling/protocol"
	"github.com/parley-dev/parley/throttle"
)

// HostKeys checks the host keys of booked meetings' calls, for
// claim-host (docs/protocol.md, "Booked meetings"); cmd/parley gives one
// that looks the key's hash up in the store, checks it with a slow hash
// and throttles failures.
type HostKeys interface {
	// CheckHostKey reports whether key is the host key of the call of
	// room roomID now, for a participant whose client address has the
	// throttle key client (clientaddr.Key). It is called off the
	// session's reader goroutine and may take a while; ctx ends when the
	// session does. It returns nil for the right key, ErrWrongHostKey,
	// ErrNoHostKey, or a *HostKeyWait when throttled; any other error is
	// the server's.
	CheckHostKey(ctx context.Context, roomID string, client netip.Prefix, key string) error
}

// The answers of HostKeys.CheckHostKey besides nil.
var (
	ErrWrongHostKey = errors.New("signaling: not the meeting's host key")
	ErrNoHostKey    = errors.New("signaling: this call has no host key")
)

// HostKeyWait is CheckHostKey's answer to an attempt it refused
// unchecked: too many failed attempts; another may come after Wait.
type HostKeyWait struct {
	Wait time.Duration
}

func (e *HostKeyWait) Error() string {
	return fmt.Sprintf("signaling: too many wrong host keys; retry in %v", e.Wait)
}

// maxHostKeyBytes bounds claim-host's key (host keys are 8 digits).
const maxHostKeyBytes = 64

// handleClaimHost checks the key off the reader goroutine (the check is a
// slow hash, and may be throttled), one claim per connection at a time,
// and on the right key makes the participant a host.
func (s *session) handleClaimHost(m *protocol.ClaimHost) {
	const ref = protocol.TypeClaimHost
	if !s.requireJoined(ref) {
		return
	}
	key := strings.TrimSpace(m.Key)
	if key == "" || len(key) > maxHostKeyBytes {
		s.sendError(protocol.CodeBadRequest, fmt.Sprintf("claim-host.key must be the host key (1 to %d characters)", maxHostKeyBytes), ref)
		return
	}
	hk := s.srv.cfg.HostKeys
	if hk == nil {
		s.sendError(protocol.CodeNoHostKey, "this call has no host key", ref)
		return
	}
	if !s.claiming.CompareAndSwap(false, true) {
		s.sendMsg(protocol.Error{Type: protocol.TypeError, Code: protocol.CodeRateLimited, Ref: ref, RetryAfter: 1,
			Message: "your previous host key is still being checked: wait for its answer"})
		return
	}
	if s.claimCtx == nil {
		s.claimCtx, s.claimCancel = context.WithCancel(context.Background())
	}
	ctx, call, id, client := s.claimCtx, s.part.call, s.part.id, s.key
	s.claims.Add(1)
	go func() {
		defer s.claims.Done()
		err := hk.CheckHostKey(ctx, call.roomID, client, key)
		// Done before the answer goes out: a client may send its next
		// claim as soon as it has the answer to this one.
		s.claiming.Store(false)
		if err == nil {
			if err = call.call.ClaimHost(id); err == nil {
				s.log.Info("host claimed with the host key")
				return
			}
		}
		s.claimFailed(err)
	}()
}

// claimFailed answers a claim-host that did not make the sender a host.
// Safe from any goroutine: it only sends.
func (s *session) claimFailed(err error) {
	const ref = protocol.TypeClaimHost
	var wait *HostKeyWait
	switch {
	case errors.Is(err, ErrWrongHostKey):
		s.sendError(protocol.CodeWrongHostKey, "that is not this meeting's host key", ref)
	case errors.Is(err, ErrNoHostKey):
		s.sendError(protocol.CodeNoHostKey, "this call has no host key", ref)
	case errors.As(err, &wait), errors.Is(err, auth.ErrBusy):
		secs := 1
		if wait != nil {
			secs = throttle.RetryAfter(wait.Wait)
		}
		s.sendMsg(protocol.Error{Type: protocol.TypeError, Code: protocol.CodeRateLimited, Ref: ref, RetryAfter: secs,
			Message: fmt.Sprintf("too many wrong host keys: the key was not checked; try again in %d s", secs)})
	case errors.Is(err, livecall.ErrEnded), errors.Is(err, context.Canceled):
		// The call or the session is ending.
	default:
		if code, msg, ok := callError(ref, err); ok {
			s.sendError(code, msg, ref)
			return
		}
		id := auth.RandomToken(6)
		s.log.Error("internal error", "id", id, "err", fmt.Errorf("claim-host: %w", err))
		s.sendError(protocol.CodeInternal, fmt.Sprintf("internal error (ref %s)", id), ref)
	}
}

// stopClaims ends the session's claim checks and waits for them. Called
// by run on its way out.
func (s *session) stopClaims() {
	if s.claimCancel != nil {
		s.claimCancel()
	}
	s.claims.Wait()
}
