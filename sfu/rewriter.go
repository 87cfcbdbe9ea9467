package sfu

// rewriter maps the RTP sequence numbers and timestamps of a source stream
// onto the continuous output numbering of one down-track (RFC 3550 §5.1:
// both must increase monotonically, modulo wraparound, on one SSRC).
//
// The output is source + offset, in modular uint16/uint32 arithmetic, so
// wraparound needs no special case. The rewriter remembers the highest
// output it produced; switchSource (e.g. a future simulcast layer switch)
// makes the next packet continue right after it, whatever the new source's
// numbering, so the receiver sees no jump.
//
// A rewriter is owned by one goroutine (the up-track reader); it is not
// safe for concurrent use.
type rewriter struct {
	started  bool
	resync   bool   // recompute offsets on the next packet
	tsGap    uint32 // timestamp advance to apply at the next resync
	seqOff   uint16
	tsOff    uint32
	lastSeq  uint16 // highest sequence number written so far
	lastTS   uint32 // timestamp of the packet carrying lastSeq
	haveLast bool
	epoch    uint32 // incremented whenever seqOff and tsOff are (re)computed
}

// rewrite returns the output sequence number and timestamp for a source
// packet. The first packet keeps its source numbering.
func (r *rewriter) rewrite(seq uint16, ts uint32) (uint16, uint32) {
	switch {
	case !r.started:
		r.started = true
		r.seqOff, r.tsOff = 0, 0
		r.epoch++
	case r.resync:
		r.seqOff = r.lastSeq + 1 - seq
		r.tsOff = r.lastTS + r.tsGap - ts
		r.epoch++
	}
	r.resync = false

	outSeq := seq + r.seqOff
	outTS := ts + r.tsOff
	if !r.haveLast || seqNewer(outSeq, r.lastSeq) {
		r.haveLast = true
		r.lastSeq, r.lastTS = outSeq, outTS
	}
	return outSeq, outTS
}

// switchSource prepares the rewriter for a new source (or a discontinuity
// in the current one): the next packet gets sequence number lastSeq+1 and
// timestamp lastTS+tsGap. tsGap should be the elapsed time since the last
// packet in clock-rate units; 0 is raised to 1 so timestamps stay strictly
// increasing across frames.
func (r *rewriter) switchSource(tsGap uint32) {
	if !r.started {
		return
	}
	if tsGap == 0 {
		tsGap = 1
	}
	r.resync = true
	r.tsGap = tsGap
}

// seqNewer reports whether a is after b in RFC 3550 modular order.
func seqNewer(a, b uint16) bool {
	return a != b && a-b < 0x8000
}
