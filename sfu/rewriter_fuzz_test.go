package sfu

import (
	"encoding/binary"
	"testing"
)

// rwOpSize is the size of one FuzzRewriter operation: a kind byte, a
// 16-bit and a 32-bit argument.
const rwOpSize = 7

// FuzzRewriter drives a rewriter with a stream of packets and source
// switches decoded from the input, 7 bytes an operation (kind, a 16-bit
// and a 32-bit argument; see the switch below), and checks its contract:
//
//   - the first packet keeps its numbering;
//   - between switches, output = source + a constant offset, for sequence
//     numbers and timestamps alike;
//   - the first packet after a switch gets the newest sequence number
//     sent plus one, and that packet's timestamp plus the gap (at least 1);
//   - a packet newer than every packet of its source so far is newer
//     than every packet sent (sequence numbers strictly increase in RFC
//     3550 order, timestamps never go back); a reordered, older packet
//     is older than the newest sent;
//   - the epoch (which tells NACK handling the mapping changed) moves
//     exactly when the offsets are computed.
func FuzzRewriter(f *testing.F) {
	f.Fuzz(func(t *testing.T, ops []byte) {
		var (
			r          rewriter
			m          rwModel
			pendSwitch bool
			gap        uint32
		)
		for len(ops) >= rwOpSize {
			kind, a16, a32 := ops[0]%4, binary.BigEndian.Uint16(ops[1:]), binary.BigEndian.Uint32(ops[3:])
			ops = ops[rwOpSize:]
			var seq uint16
			var ts uint32
			newer := false
			switch {
			case kind == 3: // switch to a new source numbered from a16, a32
				r.switchSource(a32)
				if m.started {
					pendSwitch, gap = true, max(a32, 1)
				}
				m.srcSeq, m.srcTS, m.fresh = a16, a32, true
				continue
			case kind == 2 && !m.fresh && m.started: // a reordered packet, older than the newest of this source
				seq = m.srcSeq - 1 - a16%0x7fff
				ts = m.srcTS - a32%(1<<31)
			default: // a packet newer than every one of this source
				seq, ts = m.srcSeq+1+a16%0x7fff, m.srcTS+a32%(1<<31)
				if m.fresh {
					seq, ts = m.srcSeq, m.srcTS
				}
				m.srcSeq, m.srcTS, newer, m.fresh = seq, ts, true, false
			}
			epoch := r.epoch
			outSeq, outTS := r.rewrite(seq, ts)
			m.check(t, seq, ts, outSeq, outTS, epoch != r.epoch, pendSwitch, gap, newer)
			pendSwitch = false
		}
	})
}

// rwModel is what FuzzRewriter knows of the stream so far.
type rwModel struct {
	started    bool
	fresh      bool   // the next packet is the first of a source
	srcSeq     uint16 // newest sequence number of the current source
	srcTS      uint32 // its timestamp
	seqOff     uint16
	tsOff      uint32
	newestSeq  uint16 // newest output sequence number
	newestTS   uint32 // its timestamp
	haveNewest bool
}

func (m *rwModel) check(t *testing.T, seq uint16, ts uint32, outSeq uint16, outTS uint32, epochMoved, afterSwitch bool, gap uint32, newer bool) {
	t.Helper()
	switch {
	case !m.started:
		if outSeq != seq || outTS != ts || !epochMoved {
			t.Fatalf("first packet (%d, %d) became (%d, %d), epoch moved %v", seq, ts, outSeq, outTS, epochMoved)
		}
		m.started = true
	case afterSwitch:
		if outSeq != m.newestSeq+1 || outTS != m.newestTS+gap || !epochMoved {
			t.Fatalf("after a switch with gap %d, (%d, %d) became (%d, %d); newest sent (%d, %d), epoch moved %v",
				gap, seq, ts, outSeq, outTS, m.newestSeq, m.newestTS, epochMoved)
		}
	default:
		if outSeq-seq != m.seqOff || outTS-ts != m.tsOff || epochMoved {
			t.Fatalf("(%d, %d) became (%d, %d): offsets changed from (%d, %d) without a switch, epoch moved %v",
				seq, ts, outSeq, outTS, m.seqOff, m.tsOff, epochMoved)
		}
		if newer && (!seqNewer(outSeq, m.newestSeq) || int32(outTS-m.newestTS) < 0) {
			t.Fatalf("new packet (%d, %d) sent as (%d, %d), not after the newest (%d, %d)", seq, ts, outSeq, outTS, m.newestSeq, m.newestTS)
		}
		if !newer && !seqNewer(m.newestSeq, outSeq) {
			t.Fatalf("reordered packet %d sent as %d, not before the newest %d", seq, outSeq, m.newestSeq)
		}
	}
	m.seqOff, m.tsOff = outSeq-seq, outTS-ts
	if !m.haveNewest || seqNewer(outSeq, m.newestSeq) {
		m.haveNewest = true
		m.newestSeq, m.newestTS = outSeq, outTS
	}
}
