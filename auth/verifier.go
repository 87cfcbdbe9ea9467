package auth

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// ErrBusy means a Verifier had too many slow-hash computations running and
// queued: the caller should answer "busy, retry" (HTTP 503).
var ErrBusy = errors.New("too many secret checks at once")

// VerifierConfig configures a Verifier. Zero fields mean the defaults.
type VerifierConfig struct {
	// Concurrent is how many hashes may be computed at once; default 4
	// (each takes 19 MiB with the default parameters).
	Concurrent int
	// Queue is how many more may wait for a turn; beyond it ErrBusy at
	// once. Default 64.
	Queue int
	// MaxWait is the longest a call waits for its turn before ErrBusy;
	// default 5s.
	MaxWait time.Duration
	// MemoryKiB and Time lower the cost of the hashes Hash makes, for
	// tests only; zero means the defaults (OWASP's 19 MiB, 2 passes).
	// Verify always uses the parameters recorded in the hash.
	MemoryKiB uint32
	Time      uint32
}

// Verifier runs HashSecret and VerifySecret with a cap on how many run at
// once, so that a burst of sign-ins cannot exhaust memory: beyond the cap
// calls queue, and beyond the queue (or after MaxWait) they fail with
// ErrBusy. Safe for concurrent use.
type Verifier struct {
	// set at construction
	sem     chan struct{}
	queue   int64
	maxWait time.Duration
	params  argonParams

	waiting atomic.Int64 // calls waiting for a turn

	dummyOnce sync.Once
	dummy     string // a hash of a random secret, for VerifyNone
}

// NewVerifier returns a Verifier for cfg.
func NewVerifier(cfg VerifierConfig) *Verifier {
	if cfg.Concurrent <= 0 {
		cfg.Concurrent = 4
	}
	if cfg.Queue <= 0 {
		cfg.Queue = 64
	}
	if cfg.MaxWait <= 0 {
		cfg.MaxWait = 5 * time.Second
	}
	p := defaultParams()
	if cfg.MemoryKiB > 0 {
		p.memoryKiB = max(cfg.MemoryKiB, 8)
	}
	if cfg.Time > 0 {
		p.time = cfg.Time
	}
	return &Verifier{sem: make(chan struct{}, cfg.Concurrent), queue: int64(cfg.Queue), maxWait: cfg.MaxWait, params: p}
}

// acquire waits for a turn; the caller must release it.
func (v *Verifier) acquire(ctx context.Context) error {
	select {
	case v.sem <- struct{}{}:
		return nil
	default:
	}
	if v.waiting.Add(1) > v.queue {
		v.waiting.Add(-1)
		return ErrBusy
	}
	defer v.waiting.Add(-1)
	t := time.NewTimer(v.maxWait)
	defer t.Stop()
	select {
	case v.sem <- struct{}{}:
		return nil
	case <-t.C:
		return ErrBusy
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", ErrBusy, ctx.Err())
	}
}

func (v *Verifier) release() { <-v.sem }

// Hash is HashSecret within the cap.
func (v *Verifier) Hash(ctx context.Context, secret string) (string, error) {
	if err := v.acquire(ctx); err != nil {
		return "", fmt.Errorf("auth: hash secret: %w", err)
	}
	defer v.release()
	return hashSecret(secret, v.params)
}

// Verify is VerifySecret within the cap.
func (v *Verifier) Verify(ctx context.Context, encoded, secret string) (bool, error) {
	if err := v.acquire(ctx); err != nil {
		return false, fmt.Errorf("auth: verify secret: %w", err)
	}
	defer v.release()
	return VerifySecret(encoded, secret)
}

// VerifyNone spends the time of a verification that cannot succeed, for
// a sign-in naming no one: the answer then takes as long as a wrong
// secret's, so timing does not tell which names exist. It returns only
// ErrBusy-like errors.
func (v *Verifier) VerifyNone(ctx context.Context) error {
	v.dummyOnce.Do(func() {
		v.dummy, _ = hashSecret(RandomToken(16), v.params)
	})
	_, err := v.Verify(ctx, v.dummy, "not the secret")
	return err
}
