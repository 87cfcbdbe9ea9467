package throttle

import (
	"testing"
	"time"
)

func TestReserve(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	th := New[string](Config{Rate: 0.2, Burst: 2, Now: func() time.Time { return now }})
	for i := range 2 {
		if wait, ok := th.Reserve("a"); !ok || wait != 0 {
			t.Fatalf("reserve %d within burst = %v, %v", i, wait, ok)
		}
	}
	// Allowance gone: the next attempt is booked 5 s ahead ...
	if wait, ok := th.Reserve("a"); !ok || wait != 5*time.Second {
		t.Fatalf("booking = %v, %v; want 5s, true", wait, ok)
	}
	// ... and one more while it waits is refused, unchecked.
	if wait, ok := th.Reserve("a"); ok || wait != 10*time.Second {
		t.Fatalf("second waiter = %v, %v; want 10s, false", wait, ok)
	}
	// Another key is untouched.
	if wait, ok := th.Reserve("b"); !ok || wait != 0 {
		t.Fatalf("other key = %v, %v", wait, ok)
	}
	now = now.Add(5 * time.Second)
	// The booked attempt ran (wrong); the next books again.
	if wait, ok := th.Reserve("a"); !ok || wait != 5*time.Second {
		t.Fatalf("after the wait = %v, %v", wait, ok)
	}
	// That one was right: it gives its allowance back.
	th.Refund("a")
	now = now.Add(5 * time.Second)
	if wait, ok := th.Reserve("a"); !ok || wait != 0 {
		t.Fatalf("after a refund and 5 s = %v, %v; want at once", wait, ok)
	}
	now = now.Add(time.Hour)
	for range 3 {
		th.Refund("a")
	}
	if wait, ok := th.Check("a"); !ok || wait != 0 {
		t.Fatalf("refunds beyond the burst: %v %v", wait, ok)
	}
}
