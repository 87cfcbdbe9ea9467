package main

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"time"
)

// Report is what one run measured. JSON field names are part of the
// --json output that scripts/bench.sh reads.
type Report struct {
	Label string   `json:"label,omitempty"`
	Load  LoadSpec `json:"load"`

	Target      int            `json:"target"` // participants the run meant to join
	Joined      int            `json:"joined"`
	Failed      int            `json:"failed"`
	FailReasons map[string]int `json:"failReasons,omitempty"`
	// JoinToMedia is from the WebSocket opening to the first media packet
	// received, for participants who joined a room already publishing;
	// JoinToVideo to the first video packet (the first keyframe).
	JoinToMedia durationStats `json:"joinToMedia"`
	JoinToVideo durationStats `json:"joinToVideo"`
	NoMedia     int           `json:"noMedia"` // joined but received nothing

	// Over the measured window, at the receivers.
	WindowSeconds float64 `json:"windowSeconds"`
	Packets       uint64  `json:"packets"`
	PacketsPerSec float64 `json:"packetsPerSec"`
	Mbps          float64 `json:"mbps"`
	Expected      uint64  `json:"expected"`
	Lost          uint64  `json:"lost"`
	LossPct       float64 `json:"lossPct"`
	LatencyP50Ms  float64 `json:"latencyP50Ms"`
	LatencyP99Ms  float64 `json:"latencyP99Ms"`
	LatencyMaxMs  float64 `json:"latencyMaxMs"`

	Server   *ProcReport `json:"server,omitempty"`
	LoadTool ProcReport  `json:"loadTool"`

	Ramp   *RampReport `json:"ramp,omitempty"`
	Series []Sample    `json:"series"`
}

// LoadSpec is the load asked for.
type LoadSpec struct {
	Rooms       int     `json:"rooms"`
	Publishers  int     `json:"publishersPerRoom"`
	Subscribers int     `json:"subscribersPerRoom"`
	VideoKbps   int     `json:"videoKbps"`
	Audio       bool    `json:"audio"`
	Video       bool    `json:"video"`
	RampRate    float64 `json:"rampRatePerSec"`
	RampUntil   bool    `json:"rampUntil"`
}

// ProcReport is one process's CPU and memory over the measured window.
type ProcReport struct {
	PID        int     `json:"pid,omitempty"`
	CPUSeconds float64 `json:"cpuSeconds"`
	CPUPct     float64 `json:"cpuPct"` // 100 = one core
	RSSStartMB float64 `json:"rssStartMB"`
	RSSEndMB   float64 `json:"rssEndMB"`
	PeakRSSMB  float64 `json:"peakRssMB"` // VmHWM
	// Server only.
	RSSGrowthPerParticipantMB float64 `json:"rssGrowthPerParticipantMB,omitempty"`
	CPUMicrosPerPacket        float64 `json:"cpuMicrosPerPacket,omitempty"`
	CPUPctPerMbps             float64 `json:"cpuPctPerMbps,omitempty"`
}

// RampReport says where a --ramp-until run broke.
type RampReport struct {
	Broke          bool    `json:"broke"`
	BrokeAt        int     `json:"brokeAt"` // subscribers when the breach began
	Reached        int     `json:"reached"` // subscribers joined when the ramp stopped
	Reason         string  `json:"reason"`
	LatencyLimitMs float64 `json:"latencyLimitMs"`
	LossLimitPct   float64 `json:"lossLimitPct"`
}

// Sample is one second of the run.
type Sample struct {
	T            float64 `json:"t"`
	Joined       int     `json:"joined"`
	Subscribers  int     `json:"subscribers"`
	Failed       int     `json:"failed"`
	PPS          float64 `json:"pps"`
	Mbps         float64 `json:"mbps"`
	P50Ms        float64 `json:"p50Ms"`
	P99Ms        float64 `json:"p99Ms"`
	MaxMs        float64 `json:"maxMs"`
	LossPct      float64 `json:"lossPct"`
	ServerCPUPct float64 `json:"serverCpuPct"`
	ServerRSSMB  float64 `json:"serverRssMB"`
	LoadCPUPct   float64 `json:"loadCpuPct"`
}

// report builds the Report from the run's state after the loop.
func (r *run) report() *Report {
	c := r.cfg
	rep := &Report{
		Label: c.Label,
		Load: LoadSpec{Rooms: c.Rooms, Publishers: c.Publishers, Subscribers: c.Subscribers, VideoKbps: c.VideoKbps,
			Audio: c.Audio, Video: c.Video, RampRate: c.RampRate, RampUntil: c.RampUntil},
		Target: len(r.plan), Joined: len(r.joined), Failed: r.failed, FailReasons: r.failReasons,
		Ramp: r.rampReport, Series: r.series,
	}
	if len(rep.FailReasons) == 0 {
		rep.FailReasons = nil
	}
	var toMedia, toVideo []time.Duration
	for _, p := range r.joined {
		if !p.early {
			continue
		}
		first, firstVid := p.recv.firstPackets()
		if first == 0 {
			rep.NoMedia++
			continue
		}
		toMedia = append(toMedia, first-p.opened)
		if firstVid != 0 {
			toVideo = append(toVideo, firstVid-p.opened)
		}
	}
	rep.JoinToMedia, rep.JoinToVideo = summarize(toMedia), summarize(toVideo)

	m := &r.measured
	secs := r.lastTick.Sub(r.mStart).Seconds()
	rep.WindowSeconds = round(secs, 1)
	rep.Packets = m.packets
	rep.Expected = m.expected
	if m.expected > m.received {
		rep.Lost = m.expected - m.received
	}
	rep.LossPct = m.lossPct()
	if secs > 0 {
		rep.PacketsPerSec = float64(m.packets) / secs
		rep.Mbps = float64(m.bytes) * 8 / secs / 1e6
	}
	rep.LatencyP50Ms = ms(m.hist.quantile(0.50))
	rep.LatencyP99Ms = ms(m.hist.quantile(0.99))
	rep.LatencyMaxMs = float64(m.hist.max) / 1000
	rep.LoadTool = procReport(r.mSelf, r.lastSelf, secs)
	if r.haveServer {
		s := procReport(r.mServer, r.lastServer, secs)
		s.PID = c.ServerPID
		s.RSSStartMB = mb(r.rssStartKB)
		if n := len(r.joined); n > 0 {
			s.RSSGrowthPerParticipantMB = (s.RSSEndMB - s.RSSStartMB) / float64(n)
		}
		if m.packets > 0 {
			s.CPUMicrosPerPacket = s.CPUSeconds * 1e6 / float64(m.packets)
		}
		if rep.Mbps > 0 {
			s.CPUPctPerMbps = s.CPUPct / rep.Mbps
		}
		rep.Server = &s
	}
	return rep
}

func procReport(from, to procSample, secs float64) ProcReport {
	p := ProcReport{
		CPUSeconds: (to.cpu - from.cpu).Seconds(),
		RSSStartMB: mb(from.rssKB),
		RSSEndMB:   mb(to.rssKB),
		PeakRSSMB:  mb(to.hwmKB),
	}
	if secs > 0 {
		p.CPUPct = 100 * p.CPUSeconds / secs
	}
	return p
}

func mb(kb uint64) float64 { return float64(kb) / 1024 }

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

// WriteText writes the report for people.
func (rep *Report) WriteText(w io.Writer) {
	l := rep.Load
	kinds := []string{}
	if l.Audio {
		kinds = append(kinds, "audio")
	}
	if l.Video {
		kinds = append(kinds, fmt.Sprintf("video %d kbps", l.VideoKbps))
	}
	if rep.Label != "" {
		fmt.Fprintf(w, "== %s\n", rep.Label)
	}
	fmt.Fprintf(w, "load:        %d room(s) × (%d publishers + %d subscribers), %s, ramp %.0f/s\n",
		l.Rooms, l.Publishers, l.Subscribers, strings.Join(kinds, " + "), l.RampRate)
	fmt.Fprintf(w, "joined:      %d of %d, %d failed%s, %d received no media\n", rep.Joined, rep.Target, rep.Failed, failText(rep.FailReasons), rep.NoMedia)
	fmt.Fprintf(w, "join→media:  p50 %.0f ms, p99 %.0f ms, max %.0f ms (n=%d); →first video p50 %.0f ms, p99 %.0f ms\n",
		rep.JoinToMedia.P50, rep.JoinToMedia.P99, rep.JoinToMedia.Max, rep.JoinToMedia.N, rep.JoinToVideo.P50, rep.JoinToVideo.P99)
	fmt.Fprintf(w, "window:      %.1f s\n", rep.WindowSeconds)
	fmt.Fprintf(w, "forwarded:   %.0f packets/s, %.1f Mbps (at the receivers)\n", rep.PacketsPerSec, rep.Mbps)
	fmt.Fprintf(w, "loss:        %.3f%% (%d of %d)\n", rep.LossPct, rep.Lost, rep.Expected)
	fmt.Fprintf(w, "latency:     p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", rep.LatencyP50Ms, rep.LatencyP99Ms, rep.LatencyMaxMs)
	if s := rep.Server; s != nil {
		fmt.Fprintf(w, "server:      cpu %.2f s = %.1f%% of a core; %.2f µs/packet; %.2f %%cpu per Mbps\n", s.CPUSeconds, s.CPUPct, s.CPUMicrosPerPacket, s.CPUPctPerMbps)
		fmt.Fprintf(w, "server rss:  %.1f MB at start, %.1f MB at end, peak %.1f MB; %.3f MB per participant\n", s.RSSStartMB, s.RSSEndMB, s.PeakRSSMB, s.RSSGrowthPerParticipantMB)
	}
	fmt.Fprintf(w, "load tool:   cpu %.1f%% of a core, peak rss %.0f MB\n", rep.LoadTool.CPUPct, rep.LoadTool.PeakRSSMB)
	if rp := rep.Ramp; rp != nil {
		if rp.Broke {
			fmt.Fprintf(w, "ramp:        broke at %d subscribers (%s); stopped at %d\n", rp.BrokeAt, rp.Reason, rp.Reached)
		} else {
			fmt.Fprintf(w, "ramp:        did not break: %s (%d subscribers)\n", rp.Reason, rp.Reached)
		}
	}
}

func failText(m map[string]int) string {
	if len(m) == 0 {
		return ""
	}
	var parts []string
	for k, v := range m {
		parts = append(parts, fmt.Sprintf("%d× %s", v, k))
	}
	sort.Strings(parts)
	return " (" + strings.Join(parts, "; ") + ")"
}
