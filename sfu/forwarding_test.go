package sfu

import (
	"testing"

	"github.com/parley-dev/parley/sfu/packetcache"
	"github.com/pion/rtp"
)

// newPausableAudio is a fake audio fan-out whose up-track obeys its
// peer's SetAudioForwarding, as newUpTrack wires it.
func newPausableAudio(t *testing.T) (*upTrack, []*recordingWriter) {
	u, ws := newFakeFanOut(t, opusCap, 2)
	u.off = &u.peer.audioOff
	return u, ws
}

// SetAudioForwarding(false) stops the audio reaching subscribers, and
// keeps it out of the retransmission cache; true resumes it at the next
// packet, with the next sequence number and the timestamp advanced by the
// time that passed.
func TestSetAudioForwarding(t *testing.T) {
	u, ws := newPausableAudio(t)
	p := u.peer
	pkt := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: 100, Timestamp: 9600}, Payload: make([]byte, 50)}
	send := func() {
		pkt.SequenceNumber++
		pkt.Timestamp += 960
		fanOut(u, pkt)
	}
	send()
	if ws[0].n != 1 || ws[1].n != 1 {
		t.Fatalf("forwarding on: %d, %d packets written", ws[0].n, ws[1].n)
	}
	lastSeq, lastTS := ws[0].hdr.SequenceNumber, ws[0].hdr.Timestamp

	p.SetAudioForwarding(false)
	if p.AudioForwarding() {
		t.Fatal("AudioForwarding still true")
	}
	for range 50 {
		send()
	}
	if ws[0].n != 1 || ws[1].n != 1 {
		t.Fatalf("forwarding off: %d, %d packets written, want none more", ws[0].n-1, ws[1].n-1)
	}
	var buf [packetcache.BufSize]byte
	if n := u.cache.Get(pkt.SequenceNumber, buf[:]); n != 0 {
		t.Error("a packet dropped while forwarding was off was cached for retransmission")
	}

	p.SetAudioForwarding(true)
	send()
	if ws[0].n != 2 {
		t.Fatalf("forwarding on again: %d packets written", ws[0].n)
	}
	if got := ws[0].hdr.SequenceNumber; got != lastSeq+1 {
		t.Errorf("resumed at sequence number %d, want %d (no gap)", got, lastSeq+1)
	}
	if got, want := ws[0].hdr.Timestamp, lastTS+51*960; got != want {
		t.Errorf("resumed at timestamp %d, want %d (advanced by the pause)", got, want)
	}
	send()
	if got := ws[0].hdr.SequenceNumber; got != lastSeq+2 {
		t.Errorf("then sequence number %d, want %d", got, lastSeq+2)
	}
}

// The forwarding switch costs no allocation, on or off.
func TestSetAudioForwardingDoesNotAllocate(t *testing.T) {
	u, _ := newPausableAudio(t)
	pkt := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: 1}, Payload: make([]byte, 100)}
	for _, on := range []bool{true, false, true} {
		u.peer.SetAudioForwarding(on)
		allocs := testing.AllocsPerRun(500, func() {
			pkt.SequenceNumber++
			pkt.Timestamp += 960
			fanOut(u, pkt)
		})
		if allocs != 0 {
			t.Errorf("forwarding %v: %v allocations per packet, want 0", on, allocs)
		}
	}
}
