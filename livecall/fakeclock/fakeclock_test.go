package fakeclock

import (
	"slices"
	"testing"
	"time"
)

func TestAdvanceFiresInOrder(t *testing.T) {
	start := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	c := New(start)
	var got []string
	var at []time.Duration
	fire := func(name string) func() {
		return func() { got = append(got, name); at = append(at, c.Now().Sub(start)) }
	}
	c.AfterFunc(10*time.Minute, fire("10m"))
	c.AfterFunc(5*time.Minute, fire("5m"))
	stopped := c.AfterFunc(7*time.Minute, fire("stopped"))
	c.AfterFunc(5*time.Minute, func() {
		fire("5m-second")()
		c.AfterFunc(time.Minute, fire("set-at-5m")) // due at 6m: fires in this Advance
	})
	if !stopped.Stop() || stopped.Stop() {
		t.Error("Stop should report true once, then false")
	}
	c.Advance(10*time.Minute - time.Second)
	if want := []string{"5m", "5m-second", "set-at-5m"}; !slices.Equal(got, want) {
		t.Fatalf("fired %v, want %v", got, want)
	}
	c.Advance(time.Second)
	if want := []string{"5m", "5m-second", "set-at-5m", "10m"}; !slices.Equal(got, want) {
		t.Fatalf("fired %v, want %v", got, want)
	}
	if want := []time.Duration{5 * time.Minute, 5 * time.Minute, 6 * time.Minute, 10 * time.Minute}; !slices.Equal(at, want) {
		t.Errorf("Now while firing %v, want %v", at, want)
	}
	if c.Now() != start.Add(10*time.Minute) || c.Pending() != 0 {
		t.Errorf("now %v, %d pending", c.Now(), c.Pending())
	}
}
