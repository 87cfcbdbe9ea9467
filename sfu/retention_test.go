package sfu

import (
	"fmt"
	"runtime"
	"testing"
	"time"
	"weak"
)

// TestClosedPeersAreReleased: peers that join a router, publish audio and
// video, subscribe to a long-lived publisher and are received by it and
// by a long-lived listener, then leave, are garbage once the two
// long-lived peers have renegotiated without them: nothing the router or
// the peers that stay keep (the router's track list, transceivers kept
// for reuse, interceptors, timers) still reaches a closed Peer, and with
// it its up-tracks, their packet caches and its whole closed
// PeerConnection.
func TestClosedPeersAreReleased(t *testing.T) {
	const (
		cycles = 24
		batch  = 6 // joined at once
	)
	s := newTestSFU(t)
	r := s.NewRouter("release")
	alice := newTestClient(t, r, "alice", true)
	bob := newTestClient(t, r, "bob", false)
	waitFor(t, 10*time.Second, "bob to receive alice", func() bool { return bob.receiving("alice", 5) })

	type gone struct {
		id   string
		peer weak.Pointer[Peer]
	}
	var left []gone
	for b := range cycles / batch {
		var cs []*testClient
		for i := range batch {
			cs = append(cs, newTestClient(t, r, fmt.Sprintf("p%d", b*batch+i), true))
		}
		waitFor(t, 20*time.Second, fmt.Sprintf("batch %d received both ways", b), func() bool {
			for _, c := range cs {
				if !alice.receiving(c.id, 5) || !bob.receiving(c.id, 5) || !c.receiving("alice", 5) {
					return false
				}
			}
			return true
		})
		var ids []string
		for _, c := range cs {
			c.leave(t)
			left = append(left, gone{c.id, weak.Make(c.peer)})
			// The client's t.Cleanup keeps c; its goroutines and Pion's
			// callbacks have ended (leave waits for them).
			c.peer = nil
			ids = append(ids, c.id)
		}
		waitFor(t, 20*time.Second, fmt.Sprintf("batch %d gone from alice's and bob's offers, answered", b), func() bool {
			return alice.settled(t, ids...) && bob.settled(t, ids...)
		})
	}

	// Pion's goroutines of a closed PeerConnection end on their own
	// shortly after Close; so poll.
	var live []string
	deadline := time.Now().Add(10 * time.Second)
	for {
		runtime.GC()
		live = live[:0]
		for _, g := range left {
			if g.peer.Value() != nil {
				live = append(live, g.id)
			}
		}
		if len(live) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(live) > 0 {
		t.Errorf("%d of %d closed peers still reachable after they left: %v", len(live), len(left), live)
	}
}
