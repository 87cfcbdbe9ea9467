package sfu

import (
	"testing"

	"github.com/pion/transport/v5/packetio"
)

// TestRetiredSSRCStreamKeepsNothing: the RTCP stream Pion opens for a
// stopped sender's SSRC (a client's late receiver report) gets a buffer
// that takes every write, keeps nothing and holds no slot of the budget;
// an RTP stream of that SSRC, a stream of any other SSRC, and one of a
// retired SSRC a new sender drew again get a real, counted buffer; only
// the last maxRetired SSRCs are remembered.
func TestRetiredSSRCStreamKeepsNothing(t *testing.T) {
	b := &streamBudget{}
	b.retire(1001)

	rtcp := b.newBuffer(packetio.RTCPBufferPacket, 1001)
	if _, ok := rtcp.(discardBuffer); !ok {
		t.Fatalf("RTCP buffer of a retired SSRC is %T, want discardBuffer", rtcp)
	}
	pkt := make([]byte, 200)
	for range 1000 {
		if n, err := rtcp.Write(pkt); n != len(pkt) || err != nil {
			t.Fatalf("write to a discardBuffer: %d, %v; want %d, nil", n, err, len(pkt))
		}
	}
	if n, err := rtcp.Read(pkt); n != 0 || err == nil {
		t.Errorf("read from a discardBuffer: %d, %v; want 0 and an error", n, err)
	}
	if got := b.live.Load(); got != 0 {
		t.Errorf("%d live streams after the retired SSRC's, want 0", got)
	}

	counted := func(buf any, what string) {
		t.Helper()
		if _, ok := buf.(*streamBuffer); !ok {
			t.Errorf("%s: buffer %T, want a counted *streamBuffer", what, buf)
		}
	}
	counted(b.newBuffer(packetio.RTPBufferPacket, 1001), "RTP of a retired SSRC")
	counted(b.newBuffer(packetio.RTCPBufferPacket, 1002), "RTCP of another SSRC")
	b.unretire(1001)
	counted(b.newBuffer(packetio.RTCPBufferPacket, 1001), "RTCP of an SSRC drawn again")
	if got := b.live.Load(); got != 3 {
		t.Errorf("%d live streams, want 3", got)
	}

	for i := range maxRetired + 1 {
		b.retire(uint32(2000 + i))
	}
	if b.isRetired(2000) {
		t.Error("the oldest of maxRetired+1 retired SSRCs is still remembered")
	}
	if !b.isRetired(2001) || !b.isRetired(2000+maxRetired) {
		t.Error("the last maxRetired retired SSRCs are not all remembered")
	}
	if len(b.retired) != maxRetired {
		t.Errorf("%d SSRCs remembered, want %d", len(b.retired), maxRetired)
	}
}
