package sfu

import (
	"testing"
	"time"
)

func TestStats(t *testing.T) {
	s := newTestSFU(t)
	r := s.NewRouter("stats")
	a := newTestClient(t, r, "a", true)
	b := newTestClient(t, r, "b", true)
	waitFor(t, 10*time.Second, "forwarding both ways", func() bool {
		return a.receiving("b", 10) && b.receiving("a", 10)
	})
	st := s.Stats()
	if st.Routers != 1 || st.Peers != 2 || st.PublishedTracks != 4 || st.SubscribedTracks != 4 {
		t.Errorf("gauges %+v, want 1 router, 2 peers, 4 up- and 4 down-tracks", st)
	}
	if st.PacketsIn < 40 || st.PacketsOut < 40 || st.BytesIn <= st.PacketsIn*12 || st.BytesOut <= st.PacketsOut*12 {
		t.Errorf("counters %+v", st)
	}
	if st.PLIsOut == 0 {
		t.Errorf("no PLI counted; stats %+v", st)
	}

	r.Close()
	waitFor(t, 5*time.Second, "gauges to drop to zero", func() bool {
		st := s.Stats()
		return st.Routers == 0 && st.Peers == 0 && st.PublishedTracks == 0 && st.SubscribedTracks == 0
	})
	// Counters survive their tracks (folded in when each reader ends).
	waitFor(t, 5*time.Second, "counters to be kept", func() bool {
		after := s.Stats()
		return after.PacketsIn >= st.PacketsIn && after.PacketsOut >= st.PacketsOut
	})
}
