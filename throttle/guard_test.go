package throttle

import (
	"fmt"
	"testing"
	"time"
)

// try runs one attempt through g: right or wrong, and reports whether it
// was checked (allowed) and the wait if not.
func try(g *Guard[string, string], target, client string, right bool) (time.Duration, bool) {
	a, wait, ok := g.Take(target, client)
	if ok {
		g.Done(a, right)
	}
	return wait, ok
}

// One guesser: 3 at once from its address, then 1 a minute; its first
// try is exempt from the meeting's allowance, its next two spend it.
// Meanwhile the leader's right key, from a fresh address, works at once,
// however often; and so does a second fresh address's first try.
func TestGuardGuesserAndLeader(t *testing.T) {
	c := &clock{t: time.Unix(1e9, 0)}
	g := NewGuard[string, string](GuardConfig{Now: c.now})
	for i := range 3 {
		if _, ok := try(g, "m1", "guesser", false); !ok {
			t.Fatalf("guess %d throttled", i)
		}
	}
	wait, ok := try(g, "m1", "guesser", false)
	if ok || wait != time.Minute {
		t.Fatalf("4th guess: ok=%v wait=%v, want refused for a minute", ok, wait)
	}
	for range 5 {
		if _, ok := try(g, "m1", "leader", true); !ok {
			t.Fatal("the leader's right key was refused while someone guessed")
		}
	}
	c.add(time.Minute)
	if _, ok := try(g, "m1", "guesser", false); !ok {
		t.Fatal("a minute later the guesser's next try refused")
	}
	// The meeting's allowance: 10, two spent by the guesser's 2nd and 3rd
	// and one by the 5th; a failed second address spends the rest.
	if _, ok := try(g, "m1", "other", false); !ok {
		t.Fatal("a fresh address's first try refused")
	}
	c.add(time.Minute)
	for i := range 3 { // other: client allowance 3 - 1 + 1 = 3
		if _, ok := try(g, "m1", "other", false); !ok {
			t.Fatalf("other's try %d refused", i)
		}
	}
	// Spent at the meeting: 2 + 1 + 3 = 6 (+ refill 4 min/30 s ~ capped at 10).
	if _, ok := try(g, "m1", "leader", true); !ok {
		t.Fatal("the leader refused")
	}
}

// Many guessing addresses share the meeting's allowance once each has
// failed; each gets one exempt try, at most MaxExempt per meeting; over a
// window T the meeting admits at most Burst + T*Rate + MaxExempt guesses.
func TestGuardBoundOverManyAddresses(t *testing.T) {
	c := &clock{t: time.Unix(1e9, 0)}
	g := NewGuard[string, string](GuardConfig{Now: c.now, MaxExempt: 5})
	window := 30 * time.Minute
	checked := 0
	for step := time.Duration(0); step < window; step += 5 * time.Second {
		for i := range 20 {
			// 20 addresses a step, always new ones and old ones.
			if _, ok := try(g, "m1", fmt.Sprintf("a%d", (int(step/(5*time.Second))*7+i)%400), false); ok {
				checked++
			}
		}
		c.add(5 * time.Second)
	}
	bound := 10 + int(window/(30*time.Second)) + 5
	if checked > bound || checked < bound-2 {
		t.Errorf("%d guesses checked in %v, want close to and at most %d", checked, window, bound)
	}
	// A fresh address at this meeting, though past MaxExempt: the leader
	// now waits for the meeting's allowance like everyone.
	wait, ok := try(g, "m1", "leader", true)
	if ok || wait <= 0 || wait > 30*time.Second {
		t.Errorf("leader after the exemptions ran out: ok=%v wait=%v, want held up to 30 s", ok, wait)
	}
	// Another meeting is not affected.
	if _, ok := try(g, "m2", "a1", true); !ok {
		t.Error("another meeting refused")
	}
}

// A right key gives back what it took: the owner may repeat it; its
// exemption is not used up.
func TestGuardRightRefunds(t *testing.T) {
	c := &clock{t: time.Unix(1e9, 0)}
	g := NewGuard[string, string](GuardConfig{Now: c.now, MaxExempt: 1})
	for range 100 {
		if _, ok := try(g, "m1", "leader", true); !ok {
			t.Fatal("a right key refused")
		}
	}
	if _, ok := try(g, "m1", "fresh", false); !ok {
		t.Fatal("the one exemption was used by right keys")
	}
	// With the exemption gone, a further fresh address spends the
	// meeting's allowance (10), then is refused.
	for i := range 10 {
		if _, ok := try(g, "m1", fmt.Sprintf("f%d", i), false); !ok {
			t.Fatalf("fresh %d refused within the meeting's burst", i)
		}
	}
	if _, ok := try(g, "m1", "f10", false); ok {
		t.Error("past the meeting's burst a fresh address was checked")
	}
}

// The table of failures is bounded; when full of recent ones an unknown
// client counts as failed; old ones are forgotten.
func TestGuardBounded(t *testing.T) {
	c := &clock{t: time.Unix(1e9, 0)}
	g := NewGuard[string, string](GuardConfig{Now: c.now, MaxPairs: 4, MaxExempt: 100, Target: Config{Burst: 1000, Rate: 1}})
	for i := range 4 {
		try(g, "m1", fmt.Sprintf("a%d", i), false)
	}
	if len(g.failed) != 4 {
		t.Fatalf("%d failures remembered", len(g.failed))
	}
	a, _, ok := g.Take("m1", "new")
	if !ok || a.exempt {
		t.Errorf("with the table full a new client was exempt (%+v)", a)
	}
	g.Done(a, false)
	if len(g.failed) > 4 {
		t.Errorf("table grew to %d", len(g.failed))
	}
	c.add(25 * time.Hour)
	a, _, ok = g.Take("m1", "new2")
	if !ok || !a.exempt {
		t.Errorf("after a day the old failures still count (%+v)", a)
	}
}
