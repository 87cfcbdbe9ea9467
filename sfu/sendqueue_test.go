package sfu

import (
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// blockingWriter is a subscriber's writer that blocks until released, as
// a write on a full ICE-TCP connection does.
type blockingWriter struct {
	recordingWriter
	release chan struct{}
	mu      sync.Mutex
	seqs    []uint16
}

func (w *blockingWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	<-w.release
	w.mu.Lock()
	w.seqs = append(w.seqs, h.SequenceNumber)
	w.mu.Unlock()
	return len(payload), nil
}

func (w *blockingWriter) written() []uint16 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]uint16(nil), w.seqs...)
}

// TestSlowSubscriberDoesNotStallReader puts a video down-track behind a
// send queue whose writes block: forwarding must go on without waiting,
// drop once the queue is full, count the drops, and resume at a keyframe.
func TestSlowSubscriberDoesNotStallReader(t *testing.T) {
	u, _ := newFakeFanOut(t, vp8Cap, 1)
	d := (*u.down.Load())[0]
	w := &blockingWriter{release: make(chan struct{})}
	b := *d.bound.Load()
	b.writer = w
	d.bound.Store(&b)
	d.sub = &Peer{id: "slow"}
	q := newSendQueue()
	d.sub.sendq.Store(q)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { q.run(done) })
	defer func() {
		close(done)
		wg.Wait()
	}()

	key := func(seq uint16) *rtp.Packet {
		return &rtp.Packet{Header: rtp.Header{SequenceNumber: seq}, Payload: []byte{0x10, 0x00, 0, 0, 0x9d, 0x01, 0x2a, 0, 0}}
	}
	delta := func(seq uint16) *rtp.Packet {
		return &rtp.Packet{Header: rtp.Header{SequenceNumber: seq}, Payload: []byte{0x10, 0x01, 0, 0, 0, 0, 0}}
	}
	const n = 3 * sendQueueLen
	start := time.Now()
	fanOut(u, key(0))
	for i := uint16(1); i < n; i++ {
		fanOut(u, delta(i))
	}
	if el := time.Since(start); el > time.Second {
		t.Fatalf("forwarding %d packets took %v: the reader waited for the subscriber", n, el)
	}
	dropped := u.counters.dropped.Load()
	if dropped == 0 || dropped > n-sendQueueLen {
		t.Errorf("dropped %d packets, want some but at most %d", dropped, n-sendQueueLen)
	}
	if !d.waitKeyframe {
		t.Error("video down-track not waiting for a keyframe after a drop")
	}

	close(w.release) // the subscriber catches up
	waitFor(t, 5*time.Second, "the queue to drain", func() bool { return len(w.written()) >= sendQueueLen })
	fanOut(u, delta(n))   // still waiting for a keyframe: skipped
	fanOut(u, key(n+1))   // forwarded
	fanOut(u, delta(n+2)) // forwarded
	waitFor(t, 5*time.Second, "the keyframe", func() bool { return len(w.written()) == sendQueueLen+2 })
	got := w.written()
	for i := 1; i < sendQueueLen; i++ {
		if got[i] != got[i-1]+1 {
			t.Fatalf("queued packets out of order: %v", got[:sendQueueLen])
		}
	}
	if d.rw.lastSeq != got[len(got)-1] || got[len(got)-1]-got[len(got)-2] != 1 {
		t.Errorf("after the keyframe: %v, last rewritten %d", got[len(got)-2:], d.rw.lastSeq)
	}
}

// TestICETCPSubscriberGetsSendQueue connects a subscriber over ICE-TCP
// only: its media must go through a send queue, and arrive.
func TestICETCPSubscriberGetsSendQueue(t *testing.T) {
	s := newTestSFU(t)
	r := s.NewRouter("tcp")
	newTestClient(t, r, "pub", true)
	waitFor(t, 10*time.Second, "both tracks published", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return len(r.tracks) == 2
	})
	viewer := newTestClientWith(t, r, "viewer", false, newClientAPI(t, func(se *webrtc.SettingEngine) {
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeTCP4})
	}, true))
	waitFor(t, 15*time.Second, "viewer to receive pub over TCP", func() bool { return viewer.receiving("pub", 10) })
	if viewer.peer.sendq.Load() == nil {
		t.Error("subscriber on ICE-TCP has no send queue")
	}
}
