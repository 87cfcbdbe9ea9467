package sfu

import "sync/atomic"

// Stats are the SFU's counters since New; safe to call from any goroutine at any time (atomics, no locks on the media path).
type Stats struct {
	Routers               int    // live routers
	Peers                 int    // live peers
	PublishedTracks       int    // live up-tracks
	SubscribedTracks      int    // live down-tracks
	PacketsIn             uint64 // RTP packets read from publishers
	BytesIn               uint64 // their payload+header bytes
	PacketsOut            uint64 // RTP packets written to subscribers (forwarded, not counting retransmissions)
	BytesOut              uint64
	NACKsIn               uint64 // NACK feedback packets received from subscribers
	Retransmits           uint64 // packets resent from the cache in answer to NACKs
	RetransmitsSuppressed uint64 // NACKed packets not resent: resent less than a round trip before, or over the down-track's budget
	PLIsOut               uint64 // keyframe requests sent to publishers
	KeyframeRequestsIn    uint64 // PLI/FIR received from subscribers
	Dropped               uint64 // packets not delivered to a subscriber (queue full, write error, waiting for keyframe is NOT a drop)
	SendErrors            uint64 // packets queued for the UDP socket that the kernel then refused (batchConn)
	Layers                int    // live incoming RTP streams of published tracks: one per track without simulcast, one per simulcast layer
	LayerSwitches         uint64 // down-tracks switched from one simulcast layer to another
}

// Stats returns the SFU's counters. The per-packet counters live on each
// up-track, written by its reader goroutine alone (one atomic add per
// counter per incoming packet, whatever the number of subscribers), and
// are folded into the SFU's totals when the track ends; Stats adds up the
// totals and the live tracks.
func (s *SFU) Stats() Stats {
	st := Stats{
		Routers:               int(s.stats.routers.Load()),
		Peers:                 int(s.stats.peers.Load()),
		PublishedTracks:       int(s.stats.upTracks.Load()),
		SubscribedTracks:      int(s.stats.downTracks.Load()),
		NACKsIn:               s.stats.nacksIn.Load(),
		Retransmits:           s.stats.retransmits.Load(),
		RetransmitsSuppressed: s.stats.retransmitsSuppressed.Load(),
		PLIsOut:               s.stats.plisOut.Load(),
		KeyframeRequestsIn:    s.stats.keyframeRequestsIn.Load(),
		Layers:                int(s.stats.layers.Load()),
		LayerSwitches:         s.stats.layerSwitches.Load(),
	}
	if s.batch != nil {
		st.SendErrors = s.batch.refused.Load()
	}
	s.statsMu.Lock()
	s.stats.total.addTo(&st)
	for u := range s.liveTracks {
		u.counters.addTo(&st)
	}
	s.statsMu.Unlock()
	return st
}

// sfuStats are the SFU-wide counters. Gauges move when objects are
// registered and unregistered; the rare events (RTCP) are counted here
// directly.
type sfuStats struct {
	routers, peers, upTracks, downTracks, layers atomic.Int64

	nacksIn, retransmits, retransmitsSuppressed, plisOut, keyframeRequestsIn, layerSwitches atomic.Uint64

	total trackCounters // of ended up-tracks; guarded by SFU.statsMu
}

// trackCounters are the per-packet counters of one up-track. Only its
// reader goroutine adds to them; Stats reads them at any time.
type trackCounters struct {
	packetsIn, bytesIn, packetsOut, bytesOut, dropped atomic.Uint64
}

func (c *trackCounters) addTo(st *Stats) {
	st.PacketsIn += c.packetsIn.Load()
	st.BytesIn += c.bytesIn.Load()
	st.PacketsOut += c.packetsOut.Load()
	st.BytesOut += c.bytesOut.Load()
	st.Dropped += c.dropped.Load()
}

func (c *trackCounters) add(o *trackCounters) {
	c.packetsIn.Add(o.packetsIn.Load())
	c.bytesIn.Add(o.bytesIn.Load())
	c.packetsOut.Add(o.packetsOut.Load())
	c.bytesOut.Add(o.bytesOut.Load())
	c.dropped.Add(o.dropped.Load())
}

// trackStarted makes u's counters visible to Stats.
func (s *SFU) trackStarted(u *upTrack) {
	s.statsMu.Lock()
	s.liveTracks[u] = struct{}{}
	s.statsMu.Unlock()
}

// trackEnded folds u's counters into the totals. It must be called once
// u's reader goroutine has stopped adding to them.
func (s *SFU) trackEnded(u *upTrack) {
	s.statsMu.Lock()
	if _, ok := s.liveTracks[u]; ok {
		delete(s.liveTracks, u)
		s.stats.total.add(&u.counters)
	}
	s.statsMu.Unlock()
}
