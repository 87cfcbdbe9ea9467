package main

import (
	"net/http"
	"net/http/pprof"

	"github.com/parley-dev/parley/metrics"
	"github.com/parley-dev/parley/sfu"
	"github.com/parley-dev/parley/signaling"
)

// newMetrics builds the /metrics registry over the running server's parts.
func newMetrics(sig func() *signaling.Server, media func() metrics.MediaStats) *metrics.Metrics {
	return metrics.New(metrics.Sources{
		Media: media,
		Calls: func() metrics.CallStats {
			s := sig().Stats()
			return metrics.CallStats{Calls: s.Calls, Participants: s.Participants, Sessions: s.Sessions}
		},
	})
}

// mediaStats copies the SFU's counters for /metrics.
func mediaStats(s *sfu.SFU) metrics.MediaStats {
	st := s.Stats()
	return metrics.MediaStats{
		Routers: st.Routers, Peers: st.Peers,
		PublishedTracks: st.PublishedTracks, SubscribedTracks: st.SubscribedTracks,
		PacketsIn: st.PacketsIn, BytesIn: st.BytesIn,
		PacketsOut: st.PacketsOut, BytesOut: st.BytesOut,
		NACKsIn: st.NACKsIn, Retransmits: st.Retransmits, RetransmitsSuppressed: st.RetransmitsSuppressed,
		PLIsOut: st.PLIsOut, KeyframeRequestsIn: st.KeyframeRequestsIn,
		Dropped: st.Dropped, SendErrors: st.SendErrors,
		Layers: st.Layers, LayerSwitches: st.LayerSwitches,
	}
}

// pprofHandler serves the runtime profiles under /debug/pprof/.
func pprofHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
