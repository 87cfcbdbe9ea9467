package throttle

import (
	"sync"
	"testing"
	"time"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestFailedSpendsAndRefills(t *testing.T) {
	c := &clock{t: time.Unix(1e9, 0)}
	th := New[string](Config{Rate: 0.5, Burst: 3, Now: c.now})
	for i := range 3 {
		if _, ok := th.Failed("a"); !ok {
			t.Fatalf("failure %d within the burst throttled", i)
		}
	}
	wait, ok := th.Failed("a")
	if ok || wait != 2*time.Second {
		t.Fatalf("over the burst: ok=%v wait=%v, want throttled for 2s (rate 0.5/s)", ok, wait)
	}
	// A refused failure spends nothing: the wait only shrinks with time.
	c.add(1500 * time.Millisecond)
	if wait, ok := th.Failed("a"); ok || wait != 500*time.Millisecond {
		t.Fatalf("1.5s later: ok=%v wait=%v, want 500ms", ok, wait)
	}
	if wait, ok := th.Check("a"); ok || wait != 500*time.Millisecond {
		t.Fatalf("Check: ok=%v wait=%v, want 500ms", ok, wait)
	}
	// Other keys are untouched.
	if _, ok := th.Check("b"); !ok {
		t.Fatal("another key throttled")
	}
	c.add(500 * time.Millisecond)
	if _, ok := th.Check("a"); !ok {
		t.Fatal("not regained after the wait")
	}
	if _, ok := th.Check("a"); !ok {
		t.Fatal("Check spent allowance")
	}
	if _, ok := th.Failed("a"); !ok {
		t.Fatal("regained failure refused")
	}
	if _, ok := th.Failed("a"); ok {
		t.Fatal("only one failure was regained")
	}
}

func TestRetryAfter(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want int
	}{{0, 1}, {time.Nanosecond, 1}, {time.Second, 1}, {1001 * time.Millisecond, 2}, {59500 * time.Millisecond, 60}} {
		if got := RetryAfter(c.d); got != c.want {
			t.Errorf("RetryAfter(%v) = %d, want %d", c.d, got, c.want)
		}
	}
}

func TestBoundedKeys(t *testing.T) {
	c := &clock{t: time.Unix(1e9, 0)}
	th := New[int](Config{Rate: 1, Burst: 2, MaxKeys: 3, Now: c.now})
	for k := range 3 {
		th.Failed(k)
		th.Failed(k)
	}
	// The table is full of keys still paying: new keys share one bucket,
	// so a thousand keys get no more than one more burst between them.
	allowed := 0
	for k := 3; k < 1003; k++ {
		if _, ok := th.Failed(k); ok {
			allowed++
		}
	}
	if allowed != 2 || th.Len() != 3 {
		t.Fatalf("%d failures allowed to new keys, %d tracked; want 2 and 3", allowed, th.Len())
	}
	// Once the old keys have refilled they are forgotten and new keys get
	// their own buckets.
	c.add(3 * time.Second)
	if _, ok := th.Failed(5000); !ok {
		t.Fatal("new key throttled after the table refilled")
	}
	if th.Len() != 1 {
		t.Fatalf("%d keys tracked after the sweep, want 1", th.Len())
	}
}

func TestConcurrent(t *testing.T) {
	th := New[int](Config{Rate: 1e-9, Burst: 100})
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for range 8 {
		wg.Go(func() {
			for range 50 {
				if _, ok := th.Failed(1); ok {
					mu.Lock()
					allowed++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if allowed != 100 {
		t.Fatalf("%d of 400 concurrent failures allowed, want the burst of 100", allowed)
	}
}
