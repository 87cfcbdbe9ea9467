// Package throttle slows down guessing of a credential (a join link, an
// operator token, and later PINs, passwords and host keys) without ever
// refusing the right one: only failures spend allowance. A caller checks
// the credential first; when it is right, the attempt succeeds whatever the
// key's history. When it is wrong, Failed spends one of the key's allowance
// and, once that is gone, tells the caller to refuse the attempt as
// throttled, and for how long. People share addresses (NAT, proxies), so a
// guesser behind one must not lock its neighbours, or the owner, out.
//
// The allowance is a token bucket per key: Burst failures at once, regained
// at Rate a second.
//
// Since the right credential is never refused, a throttled attempt that is
// answered at once still tells a guesser whether it hit. That is harmless
// for a credential with far too many values to guess (a 128-bit link);
// for one with few (a PIN), the caller must also answer a key's throttled
// misses no faster than its allowance returns (hold them, one at a time,
// for the wait Failed reports), so that ignoring the refusal gains nothing.
// Reserve and Refund do that: an attempt of a throttled key books the
// key's next allowance and is checked only when it comes, right or wrong;
// one more while it waits is refused unchecked; a right one is refunded.
package throttle

import (
	"math"
	"sync"
	"time"
)

// Config configures a Throttle. The zero value means the defaults below.
type Config struct {
	// Rate is how many failures a second a key regains; default 1.
	Rate float64
	// Burst is how many failures a key may make at once; default 20.
	Burst int
	// MaxKeys bounds the keys tracked (memory); default 10000. When the
	// table is full of keys still paying for their failures, new keys
	// share one extra bucket, so many keys cannot multiply the allowance.
	MaxKeys int
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Throttle keeps the failure allowance of each key. It is safe for
// concurrent use.
type Throttle[K comparable] struct {
	// set at construction
	rate    float64
	burst   float64
	maxKeys int
	now     func() time.Time

	mu        sync.Mutex // guards the fields below
	buckets   map[K]*bucket
	overflow  bucket // shared by new keys while buckets is full
	lastSweep time.Time
}

// bucket is a token bucket: tokens available at time at.
type bucket struct {
	tokens float64
	at     time.Time
}

// New returns a Throttle with cfg's limits.
func New[K comparable](cfg Config) *Throttle[K] {
	if cfg.Rate <= 0 {
		cfg.Rate = 1
	}
	if cfg.Burst <= 0 {
		cfg.Burst = 20
	}
	if cfg.MaxKeys <= 0 {
		cfg.MaxKeys = 10000
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	t := &Throttle[K]{
		rate:    cfg.Rate,
		burst:   float64(cfg.Burst),
		maxKeys: cfg.MaxKeys,
		now:     cfg.Now,
		buckets: make(map[K]*bucket),
	}
	t.overflow.tokens = t.burst
	return t
}

// Check reports whether key may fail now without being throttled, and if
// not, how long until it may. It spends nothing.
func (t *Throttle[K]) Check(key K) (wait time.Duration, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	b := t.buckets[key]
	if b == nil {
		if len(t.buckets) < t.maxKeys {
			return 0, true
		}
		b = &t.overflow
	}
	return t.wait(b, now)
}

// Failed records a failed attempt by key. It spends one of key's allowance
// and reports ok; or, if key has none left, it reports !ok and how long
// until the next: the caller refuses the attempt as throttled.
func (t *Throttle[K]) Failed(key K) (wait time.Duration, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	b := t.bucketFor(key, now)
	if wait, ok := t.wait(b, now); !ok {
		return wait, false
	}
	b.tokens--
	return 0, true
}

// Len reports how many keys are tracked.
func (t *Throttle[K]) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.buckets)
}

// bucketFor returns key's bucket, making one if there is room; t.mu held.
func (t *Throttle[K]) bucketFor(key K, now time.Time) *bucket {
	if b := t.buckets[key]; b != nil {
		return b
	}
	if len(t.buckets) >= t.maxKeys {
		t.sweep(now)
	}
	if len(t.buckets) >= t.maxKeys {
		return &t.overflow
	}
	b := &bucket{tokens: t.burst, at: now}
	t.buckets[key] = b
	return b
}

// sweep forgets the keys whose allowance has refilled: they are as good as
// new. It runs at most once per refill time, so a full table of paying keys
// costs one scan per refill, not one per failure; t.mu held.
func (t *Throttle[K]) sweep(now time.Time) {
	refill := time.Duration(t.burst / t.rate * float64(time.Second))
	if !t.lastSweep.IsZero() && now.Sub(t.lastSweep) < refill {
		return
	}
	t.lastSweep = now
	for k, b := range t.buckets {
		t.refill(b, now)
		if b.tokens >= t.burst {
			delete(t.buckets, k)
		}
	}
}

// refill brings b up to date at now; t.mu held.
func (t *Throttle[K]) refill(b *bucket, now time.Time) {
	if d := now.Sub(b.at); d > 0 {
		b.tokens = math.Min(t.burst, b.tokens+d.Seconds()*t.rate)
	}
	b.at = now
}

// wait refills b and reports whether it holds a whole token, and if not
// how long until it will; t.mu held.
func (t *Throttle[K]) wait(b *bucket, now time.Time) (time.Duration, bool) {
	t.refill(b, now)
	if b.tokens >= 1 {
		return 0, true
	}
	return time.Duration(math.Ceil((1 - b.tokens) / t.rate * float64(time.Second))), false
}

// RetryAfter renders a wait as the whole seconds of an HTTP Retry-After
// header: rounded up, and at least 1.
func RetryAfter(wait time.Duration) int {
	s := int(math.Ceil(wait.Seconds()))
	return max(s, 1)
}

// Reserve takes key's next allowance for an attempt about to be checked,
// for credentials with few values (a PIN), where a throttled attempt must
// not be answered at once (see the package comment). If key has allowance
// left it is spent and Reserve reports ok with no wait. If not, and no
// other attempt of key is waiting, Reserve books the next allowance and
// reports ok with the wait until it: the caller holds the attempt that
// long, then checks it, right or wrong. If another attempt is already
// waiting, Reserve reports !ok and how long until the key could book
// again; the caller refuses the attempt without checking it, so a guesser
// gains nothing by sending more at once. A right credential gives its
// allowance back with Refund.
func (t *Throttle[K]) Reserve(key K) (wait time.Duration, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	b := t.bucketFor(key, now)
	t.refill(b, now)
	switch {
	case b.tokens >= 1:
		b.tokens--
		return 0, true
	case b.tokens >= 0:
		b.tokens--
		return time.Duration(math.Ceil(-b.tokens / t.rate * float64(time.Second))), true
	}
	return time.Duration(math.Ceil((1 - b.tokens) / t.rate * float64(time.Second))), false
}

// Refund gives back one allowance Reserve took, for an attempt that
// turned out right: the owner's sign-ins cost nothing.
func (t *Throttle[K]) Refund(key K) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	b := t.buckets[key]
	if b == nil {
		b = &t.overflow
	}
	t.refill(b, now)
	b.tokens = math.Min(t.burst, b.tokens+1)
}
