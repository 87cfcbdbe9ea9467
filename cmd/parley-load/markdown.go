package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
)

// The summarize subcommand turns the --json reports of scripts/bench.sh's
// scenarios into the scenario and target sections of docs/benchmarks.md:
//
//	parley-load summarize [--sfu-bench FILE] [--idle-rss-kb N] a=a.json b=b.json …
//
// Scenario keys a-e are the ones the targets refer to.

func summarize1(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("parley-load summarize", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sfuBench := fs.String("sfu-bench", "", "output of go test -bench ./sfu/...")
	idleKB := fs.Uint64("idle-rss-kb", 0, "the idle server's RSS, kB")
	if err := fs.Parse(args); err != nil {
		return err
	}
	reps := map[string]*Report{}
	var keys []string
	for _, a := range fs.Args() {
		key, file, ok := strings.Cut(a, "=")
		if !ok {
			return fmt.Errorf("argument %q is not KEY=FILE", a)
		}
		data, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		var rep Report
		if err := json.Unmarshal(data, &rep); err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		reps[key] = &rep
		keys = append(keys, key)
	}
	var allocs *benchAllocs
	if *sfuBench != "" {
		a, err := readBenchAllocs(*sfuBench)
		if err != nil {
			return err
		}
		allocs = &a
	}
	writeScenarios(stdout, keys, reps, *idleKB)
	writeTargets(stdout, reps, allocs)
	return nil
}

func writeScenarios(w io.Writer, keys []string, reps map[string]*Report, idleKB uint64) {
	fmt.Fprintln(w, "## Scenarios")
	fmt.Fprintln(w)
	if idleKB > 0 {
		fmt.Fprintf(w, "Idle server RSS (a fresh server, before any scenario): %.1f MB. Each scenario runs on a freshly started server.\n\n", mb(idleKB))
	}
	fmt.Fprintln(w, "| | "+strings.Join(keys, " | ")+" |")
	fmt.Fprintln(w, "|---|"+strings.Repeat("---|", len(keys)))
	row := func(name string, f func(r *Report) string) {
		cells := []string{}
		for _, k := range keys {
			cells = append(cells, f(reps[k]))
		}
		fmt.Fprintf(w, "| %s | %s |\n", name, strings.Join(cells, " | "))
	}
	srv := func(f func(s *ProcReport) string) func(r *Report) string {
		return func(r *Report) string {
			if r.Server == nil {
				return "–"
			}
			return f(r.Server)
		}
	}
	row("scenario", func(r *Report) string { return r.Label })
	row("load", func(r *Report) string {
		l := r.Load
		kinds := "audio+video"
		switch {
		case !l.Video:
			kinds = "audio only"
		case !l.Audio:
			kinds = "video only"
		}
		s := fmt.Sprintf("%d room(s) × (%d pub + %d sub), %s", l.Rooms, l.Publishers, l.Subscribers, kinds)
		if l.Video {
			s += fmt.Sprintf(" @ %d kbps", l.VideoKbps)
		}
		if l.RampUntil {
			s += ", ramp until limit"
		}
		return s + fmt.Sprintf(", joins %.0f/s", l.RampRate)
	})
	row("joined / failed", func(r *Report) string { return fmt.Sprintf("%d / %d of %d", r.Joined, r.Failed, r.Target) })
	row("join → first packet p50 / p99", func(r *Report) string {
		return fmt.Sprintf("%.0f / %.0f ms", r.JoinToMedia.P50, r.JoinToMedia.P99)
	})
	row("join → first video p50 / p99", func(r *Report) string {
		if !r.Load.Video {
			return "–"
		}
		return fmt.Sprintf("%.0f / %.0f ms", r.JoinToVideo.P50, r.JoinToVideo.P99)
	})
	row("measured window", func(r *Report) string { return fmt.Sprintf("%.0f s", r.WindowSeconds) })
	row("forwarded (at receivers)", func(r *Report) string {
		return fmt.Sprintf("%.0f pkt/s, %.1f Mbps", r.PacketsPerSec, r.Mbps)
	})
	row("loss", func(r *Report) string { return fmt.Sprintf("%.3f%% (%d of %d)", r.LossPct, r.Lost, r.Expected) })
	row("latency p50 / p99 / max", func(r *Report) string {
		return fmt.Sprintf("%.2f / %.2f / %.1f ms", r.LatencyP50Ms, r.LatencyP99Ms, r.LatencyMaxMs)
	})
	row("server CPU", srv(func(s *ProcReport) string { return fmt.Sprintf("%.1f%% of a core", s.CPUPct) }))
	row("server CPU per packet", srv(func(s *ProcReport) string { return fmt.Sprintf("%.2f µs", s.CPUMicrosPerPacket) }))
	row("server CPU per Mbps", srv(func(s *ProcReport) string { return fmt.Sprintf("%.2f %%", s.CPUPctPerMbps) }))
	row("server RSS start → end (peak)", srv(func(s *ProcReport) string {
		return fmt.Sprintf("%.0f → %.0f (%.0f) MB", s.RSSStartMB, s.RSSEndMB, s.PeakRSSMB)
	}))
	row("RSS growth per participant", srv(func(s *ProcReport) string { return fmt.Sprintf("%.3f MB", s.RSSGrowthPerParticipantMB) }))
	row("load tool CPU (its own core)", func(r *Report) string { return fmt.Sprintf("%.0f%%", r.LoadTool.CPUPct) })
	row("ramp", func(r *Report) string {
		switch {
		case r.Ramp == nil:
			return "–"
		case r.Ramp.Broke:
			return fmt.Sprintf("broke at %d subscribers: %s", r.Ramp.BrokeAt, r.Ramp.Reason)
		}
		return fmt.Sprintf("no break up to %d: %s", r.Ramp.Reached, r.Ramp.Reason)
	})
	fmt.Fprintln(w)
}

// target is one line of the targets table.
type target struct {
	name, want, got string
	met             *bool // nil: not measured
}

func writeTargets(w io.Writer, reps map[string]*Report, allocs *benchAllocs) {
	var ts []target
	yes := func(b bool) *bool { return &b }
	if r := reps["e"]; r != nil && r.Server != nil {
		ts = append(ts, target{"CPU per forwarded packet, 1→100 @ 1.5 Mbps (e)", "≤ 6 µs",
			fmt.Sprintf("%.2f µs", r.Server.CPUMicrosPerPacket), yes(r.Server.CPUMicrosPerPacket <= 6)})
	} else {
		ts = append(ts, target{"CPU per forwarded packet, 1→100 @ 1.5 Mbps (e)", "≤ 6 µs", "not run", nil})
	}
	if allocs != nil {
		var met *bool // not measured when a benchmark package failed
		if len(allocs.failed) == 0 && allocs.n > 0 {
			met = yes(allocs.worst == 0)
		}
		ts = append(ts, target{"hot-path allocations (go test -bench ./sfu/..., except *Memory* setup benchmarks)", "0 allocs/op", allocs.String(), met})
	} else {
		ts = append(ts, target{"hot-path allocations (go test -bench ./sfu/...)", "0 allocs/op", "not run", nil})
	}
	if r := reps["a"]; r != nil {
		ts = append(ts, target{"scenario (a): loss and p99 latency", "no loss, p99 < 5 ms",
			fmt.Sprintf("%.3f%% loss, p99 %.2f ms", r.LossPct, r.LatencyP99Ms), yes(r.Lost == 0 && r.LatencyP99Ms < 5)})
		ts = append(ts, target{"join p99 with 50 joins at 10/s (a: WebSocket open → first packet)", "< 500 ms",
			fmt.Sprintf("%.0f ms (%d failed)", r.JoinToMedia.P99, r.Failed), yes(r.JoinToMedia.P99 < 500 && r.Failed == 0)})
	}
	if r := reps["d"]; r != nil && r.Ramp != nil {
		n := r.Ramp.Reached
		got := fmt.Sprintf("no break up to %d (%s)", n, r.Ramp.Reason)
		if r.Ramp.Broke {
			n = r.Ramp.BrokeAt
			got = fmt.Sprintf("broke at %d (%s)", n, r.Ramp.Reason)
		}
		ts = append(ts, target{"scenario (d): subscribers before p99 > 50 ms or loss > 1%", "≥ 150", got, yes(n >= 150)})
	}
	var worst float64
	var from string
	for _, k := range []string{"a", "c", "e"} {
		if r := reps[k]; r != nil && r.Server != nil && r.Server.RSSGrowthPerParticipantMB > worst {
			worst, from = r.Server.RSSGrowthPerParticipantMB, k
		}
	}
	if from != "" {
		ts = append(ts, target{"RSS growth per subscriber (worst of a, c, e)", "≤ 0.3 MB",
			fmt.Sprintf("%.3f MB (%s)", worst, from), yes(worst <= 0.3)})
	}
	fmt.Fprintln(w, "## Targets")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| target | wanted | measured | |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, t := range ts {
		verdict := "not measured"
		if t.met != nil {
			verdict = "**missed**"
			if *t.met {
				verdict = "met"
			}
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", t.name, t.want, t.got, verdict)
	}
	fmt.Fprintln(w)
}

// benchAllocs is the allocs/op column of Go benchmark output.
type benchAllocs struct {
	failed    []string // FAIL lines: a package did not build or a benchmark failed
	n         int
	worst     int64
	worstName string
}

func (b benchAllocs) String() string {
	if len(b.failed) > 0 {
		return fmt.Sprintf("benchmarks failed (%s); %d others ran", strings.Join(b.failed, "; "), b.n)
	}
	if b.n == 0 {
		return "no benchmarks ran"
	}
	if b.worst == 0 {
		return fmt.Sprintf("0 allocs/op in all %d benchmarks", b.n)
	}
	return fmt.Sprintf("%d allocs/op in %s (worst of %d)", b.worst, b.worstName, b.n)
}

var benchLine = regexp.MustCompile(`^(Benchmark\S+)\s+\d+\s+.*?\s(\d+) allocs/op`)

func readBenchAllocs(path string) (benchAllocs, error) {
	f, err := os.Open(path)
	if err != nil {
		return benchAllocs{}, err
	}
	defer f.Close()
	var b benchAllocs
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if f, ok := strings.CutPrefix(sc.Text(), "FAIL\t"); ok {
			b.failed = append(b.failed, strings.TrimSpace(f))
		}
		m := benchLine.FindStringSubmatch(sc.Text())
		if m == nil || strings.Contains(m[1], "Memory") {
			// Memory benchmarks measure a subscriber's setup, not the
			// per-packet hot path the target is about.
			continue
		}
		var n int64
		if _, err := fmt.Sscan(m[2], &n); err != nil {
			return b, errors.New("bad allocs/op in " + sc.Text())
		}
		b.n++
		if n > b.worst || b.n == 1 {
			b.worst, b.worstName = n, m[1]
		}
	}
	return b, sc.Err()
}
