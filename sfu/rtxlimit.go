package sfu

import "time"

// Retransmission limits: what a subscriber's NACKs may make the SFU resend
// on one down-track (see doc.go, "Retransmission").
const (
	// rtxMinInterval is the least time between two resends of one packet
	// to one subscriber. The subscriber's round-trip time, once its
	// receiver reports give one, replaces it when longer, up to
	// rtxMaxInterval.
	rtxMinInterval = 100 * time.Millisecond
	rtxMaxInterval = time.Second

	// rtxShare: a down-track earns one byte of resend credit for every
	// rtxShare bytes it forwards (25%).
	rtxShare = 4

	// rtxBurst is the most resend credit a down-track holds, in bytes, and
	// what it starts with, so that a fresh subscriber can recover its
	// first losses: about 27 full-size packets.
	rtxBurst = 32 << 10

	// rtpHeaderLen is the size of the header a down-track writes: no CSRC
	// or extension (see fillHeader).
	rtpHeaderLen = 12
)

// rtxLimiter decides which of the packets a subscriber NACKs on one
// down-track are resent. It enforces two rules:
//
//   - a packet is resent at most once per interval (rtxMinInterval, or the
//     round-trip time if longer), so a sequence number listed twice in one
//     NACK, in overlapping FCI entries, or NACKed again before a resend
//     could have arrived, is resent once;
//   - the bytes resent are paid for from a credit that grows by one byte
//     for every rtxShare bytes forwarded and is capped at rtxBurst (a
//     token bucket filled by forwarded media, not by time), so over any
//     stretch of time the bytes resent are at most 1/rtxShare of the bytes
//     forwarded in it, plus rtxBurst.
//
// Its state is bounded: one slot per packet-cache slot, allocated on the
// first NACK. It is owned by the down-track's RTCP goroutine and takes the
// time as an argument, so tests need no clock.
type rtxLimiter struct {
	base     time.Time // the first NACK's time; slot times count from it
	slots    []rtxSlot // by source sequence number & mask; nil until init
	mask     uint16
	interval time.Duration // between two resends of one packet; 0: rtxMinInterval
	credit   uint64        // in 1/rtxShare bytes
	fwdSeen  uint64        // the forwarded-bytes count credit was last grown from
}

// rtxSlot records the last resend of the packet cached in one slot.
type rtxSlot struct {
	seq uint16 // source sequence number
	at  uint32 // rtxLimiter.tick of the resend; 0: never resent
}

// init sizes the limiter for a packet cache of size packets (a power of
// two) and gives it its starting credit. fwd is the down-track's
// forwarded-bytes count now.
func (l *rtxLimiter) init(size int, now time.Time, fwd uint64) {
	l.base = now
	l.slots = make([]rtxSlot, size)
	l.mask = uint16(size - 1)
	l.credit = rtxBurst * rtxShare
	l.fwdSeen = fwd
}

// begin grows the credit by what was forwarded since the last call (fwd
// is the down-track's forwarded-bytes count) and returns the tick for now,
// to pass to the calls that follow.
func (l *rtxLimiter) begin(now time.Time, fwd uint64) uint32 {
	const full = rtxBurst * rtxShare
	if d := fwd - l.fwdSeen; d >= full-l.credit {
		l.credit = full
	} else {
		l.credit += d
	}
	l.fwdSeen = fwd
	return l.tick(now)
}

// tick is now in milliseconds since base, plus one so that 0 means never;
// it wraps after 49 days, which at worst refuses one resend once then.
func (l *rtxLimiter) tick(now time.Time) uint32 {
	t := uint32(now.Sub(l.base)/time.Millisecond) + 1
	if t == 0 {
		t = 1
	}
	return t
}

// recent reports whether source packet src was resent less than an
// interval before tick now.
func (l *rtxLimiter) recent(src uint16, now uint32) bool {
	iv := l.interval
	if iv == 0 {
		iv = rtxMinInterval
	}
	s := &l.slots[src&l.mask]
	return s.at != 0 && s.seq == src && time.Duration(now-s.at)*time.Millisecond < iv
}

// afford reports whether the credit pays for resending n bytes.
func (l *rtxLimiter) afford(n int) bool {
	return uint64(n)*rtxShare <= l.credit
}

// spend records that source packet src, n bytes, was resent at tick now.
func (l *rtxLimiter) spend(src uint16, n int, now uint32) {
	l.credit -= uint64(n) * rtxShare
	l.slots[src&l.mask] = rtxSlot{seq: src, at: now}
}

// setRTT makes the interval the round-trip time rtt, within
// [rtxMinInterval, rtxMaxInterval].
func (l *rtxLimiter) setRTT(rtt time.Duration) {
	l.interval = min(max(rtt, rtxMinInterval), rtxMaxInterval)
}

// reportRTT computes the round-trip time from a receiver report block
// (RFC 3550 §6.4.1): the middle 32 bits of the NTP time the report
// arrived, less the last sender report's (lsr) and the delay since it
// (dlsr), all in 1/65536 s. ok is false if the block has no sender report
// to refer to or gives a time in the future.
func reportRTT(now time.Time, lsr, dlsr uint32) (rtt time.Duration, ok bool) {
	if lsr == 0 {
		return 0, false
	}
	d := ntpMiddle(now) - lsr - dlsr
	if int32(d) < 0 {
		return 0, false
	}
	return time.Duration(uint64(d) * uint64(time.Second) >> 16), true
}

// ntpMiddle returns the middle 32 bits of t as an NTP timestamp (RFC 3550
// §4), as Pion's sender reports and receiver reports' LSR field carry it.
func ntpMiddle(t time.Time) uint32 {
	const ntpEpochOffset = 2208988800 // seconds from 1900 to 1970
	secs := uint64(t.Unix()) + ntpEpochOffset
	frac := uint64(t.Nanosecond()) << 32 / uint64(time.Second)
	return uint32((secs<<32 | frac) >> 16)
}
