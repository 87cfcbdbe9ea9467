// Package metrics exposes parley's counters to Prometheus at /metrics: the
// media server's packet and track counts, the signaling layer's calls,
// participants and WebSocket sessions, and a histogram of join times. It
// reads the other packages' counters when scraped, so nothing on the media
// path knows Prometheus exists. Guard restricts who may scrape.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// MediaStats are the media server's counters (a copy of sfu.Stats, so this
// package does not depend on sfu).
type MediaStats struct {
	Routers, Peers                    int
	PublishedTracks, SubscribedTracks int
	PacketsIn, BytesIn                uint64
	PacketsOut, BytesOut              uint64
	NACKsIn, Retransmits              uint64
	RetransmitsSuppressed             uint64
	PLIsOut, KeyframeRequestsIn       uint64
	Dropped, SendErrors               uint64
	Layers                            int    // incoming RTP streams: one per track, one per simulcast layer
	LayerSwitches                     uint64 // subscribers switched between simulcast layers
}

// CallStats are the signaling layer's gauges.
type CallStats struct {
	Calls, Participants, Sessions int
}

// Sources are read at every scrape.
type Sources struct {
	Media func() MediaStats
	Calls func() CallStats
}

// Metrics owns parley's Prometheus registry.
type Metrics struct {
	reg      *prometheus.Registry
	joinTime prometheus.Histogram
}

// New registers parley's metrics, the Go runtime's and the process's.
func New(src Sources) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		joinTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "parley_join_seconds",
			Help:    "Time from a join message to the participant's media connection being up.",
			Buckets: []float64{0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 2, 5, 10},
		}),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.joinTime,
		&collector{src: src},
	)
	return m
}

// ObserveJoin records one participant's join time.
func (m *Metrics) ObserveJoin(d time.Duration) { m.joinTime.Observe(d.Seconds()) }

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

func desc(name, help string) *prometheus.Desc {
	return prometheus.NewDesc("parley_"+name, help, nil, nil)
}

var (
	descRooms        = desc("rooms_active", "Calls in progress (rooms with someone in them).")
	descParticipants = desc("participants", "Participants in calls.")
	descSessions     = desc("websocket_sessions", "Open signaling WebSocket connections.")
	descPeers        = desc("peer_connections", "Media PeerConnections.")
	descPublished    = desc("tracks_published", "Tracks participants are sending to the server.")
	descSubscribed   = desc("tracks_subscribed", "Tracks the server is sending to participants.")
	descPacketsIn    = desc("rtp_packets_in_total", "RTP packets received from publishers.")
	descBytesIn      = desc("rtp_bytes_in_total", "RTP bytes received from publishers.")
	descPacketsOut   = desc("rtp_packets_out_total", "RTP packets forwarded to subscribers (not counting retransmissions).")
	descBytesOut     = desc("rtp_bytes_out_total", "RTP bytes forwarded to subscribers.")
	descNACKs        = desc("nacks_received_total", "NACK feedback packets received from subscribers.")
	descRetransmits  = desc("retransmits_total", "Packets resent in answer to NACKs.")
	descRtxRefused   = desc("retransmits_suppressed_total", "NACKed packets not resent: resent less than a round trip before, or over the subscriber's budget.")
	descPLIs         = desc("plis_sent_total", "Keyframe requests (PLI) sent to publishers.")
	descKeyframeReqs = desc("keyframe_requests_received_total", "PLI/FIR received from subscribers.")
	descDropped      = desc("packets_dropped_total", "Packets not delivered to a subscriber.")
	descSendErrors   = desc("media_send_errors_total", "Media packets the kernel refused to send on the UDP socket.")
	descLayers       = desc("layers_in", "RTP streams arriving from publishers: one per track, or one per simulcast layer.")
	descSwitches     = desc("layer_switches_total", "Subscribers switched from one simulcast layer to another.")
)

// collector reads the sources at scrape time.
type collector struct {
	src Sources
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descRooms, descParticipants, descSessions, descPeers, descPublished,
		descSubscribed, descPacketsIn, descBytesIn, descPacketsOut, descBytesOut, descNACKs, descRetransmits, descRtxRefused,
		descPLIs, descKeyframeReqs, descDropped, descLayers, descSwitches} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v int) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v))
	}
	counter := func(d *prometheus.Desc, v uint64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
	if c.src.Calls != nil {
		s := c.src.Calls()
		gauge(descRooms, s.Calls)
		gauge(descParticipants, s.Participants)
		gauge(descSessions, s.Sessions)
	}
	if c.src.Media != nil {
		s := c.src.Media()
		gauge(descPeers, s.Peers)
		gauge(descPublished, s.PublishedTracks)
		gauge(descSubscribed, s.SubscribedTracks)
		counter(descPacketsIn, s.PacketsIn)
		counter(descBytesIn, s.BytesIn)
		counter(descPacketsOut, s.PacketsOut)
		counter(descBytesOut, s.BytesOut)
		counter(descNACKs, s.NACKsIn)
		counter(descRetransmits, s.Retransmits)
		counter(descRtxRefused, s.RetransmitsSuppressed)
		counter(descPLIs, s.PLIsOut)
		counter(descKeyframeReqs, s.KeyframeRequestsIn)
		counter(descDropped, s.Dropped)
		counter(descSendErrors, s.SendErrors)
		gauge(descLayers, s.Layers)
		counter(descSwitches, s.LayerSwitches)
	}
}
