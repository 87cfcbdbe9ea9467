package sfu

import (
	"sync"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// sendQueueLen is how many packets a subscriber on ICE-TCP may have
// waiting: about 0.8 s of 1.5 Mbit/s video.
const sendQueueLen = 128

// sendQueue decouples the up-track readers from a subscriber whose writes
// can block: one connected over ICE-TCP (RFC 6544), whose TCP send buffer
// fills when its network is slower than the media. Readers enqueue a copy
// of each packet and never wait; when the queue is full the packet is
// dropped, and a video down-track then drops everything until the next
// keyframe, as Galène does. One goroutine (run) writes the queue out.
//
// Subscribers on UDP have no queue: a UDP write does not wait for the
// subscriber (see batchConn), so they pay nothing for this.
type sendQueue struct {
	wake chan struct{} // capacity 1: "the queue is not empty"

	mu         sync.Mutex // guards the fields below
	head, size int
	ring       [sendQueueLen]queuedPacket
}

// queuedPacket is one packet waiting in a sendQueue. The ring slot is
// owned by the producer until size counts it, then by run until it pops.
type queuedPacket struct {
	w   webrtc.TrackLocalWriter
	hdr rtp.Header
	n   int
	buf [1500]byte
}

func newSendQueue() *sendQueue {
	return &sendQueue{wake: make(chan struct{}, 1)}
}

// push copies a packet into the queue. It never blocks; it returns false
// if the queue is full or the payload too long.
func (q *sendQueue) push(w webrtc.TrackLocalWriter, hdr *rtp.Header, payload []byte) bool {
	q.mu.Lock()
	if q.size == sendQueueLen || len(payload) > len(q.ring[0].buf) {
		q.mu.Unlock()
		return false
	}
	e := &q.ring[(q.head+q.size)%sendQueueLen]
	e.w = w
	e.hdr = *hdr // CSRC and Extensions are empty: nothing shared is read
	e.n = copy(e.buf[:], payload)
	q.size++
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return true
}

// run writes queued packets out, in order, until done is closed. A write
// blocked on a dead connection returns when the PeerConnection closes.
func (q *sendQueue) run(done <-chan struct{}) {
	for {
		select {
		case <-done:
			return
		case <-q.wake:
		}
		for {
			q.mu.Lock()
			if q.size == 0 {
				q.mu.Unlock()
				break
			}
			e := &q.ring[q.head]
			q.mu.Unlock()
			_, _ = e.w.WriteRTP(&e.hdr, e.buf[:e.n])
			q.mu.Lock()
			e.w = nil
			q.head = (q.head + 1) % sendQueueLen
			q.size--
			q.mu.Unlock()
		}
	}
}
