// Command parley-load is parley's load generator. It joins a running
// server over the network only, as browsers do (HTTP join, then the
// WebSocket protocol of docs/protocol.md, with Pion PeerConnections),
// publishes synthetic VP8 and Opus, and measures at its own receivers the
// packets forwarded, their loss and their one-way latency; it reads the
// server's CPU time and memory from /proc.
//
//	parley-load --server http://127.0.0.1:8080 --data ./data \
//	    --publishers 1 --subscribers 100 --duration 30s --json out.json
//
// "parley-load summarize" turns such JSON reports into the tables of
// docs/benchmarks.md (scripts/bench.sh runs both).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	run := run1
	args := os.Args[1:]
	if len(args) > 0 && args[0] == "summarize" {
		run = func(_ context.Context, args []string, stdout, stderr io.Writer) error {
			return summarize1(args, stdout, stderr)
		}
		args = args[1:]
	}
	if err := run(ctx, args, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "parley-load:", err)
		}
		os.Exit(2)
	}
}

// options are the flags that are not a Config field.
type options struct {
	data, jsonOut, svgOut string
	logLevel              slog.Level
}

// run1 parses args, runs the load and writes the reports.
func run1(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, opt, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if opt.data != "" {
		op, err := readOperator(opt.data)
		if err != nil {
			return err
		}
		if cfg.Link == "" {
			cfg.OperatorToken = op.Token
		}
		if cfg.ServerPID == 0 {
			cfg.ServerPID = op.PID
		}
	}
	cfg.Progress = stderr
	cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: opt.logLevel}))
	rep, err := Run(ctx, cfg)
	if err != nil {
		return err
	}
	rep.WriteText(stdout)
	if opt.jsonOut != "" {
		data, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(opt.jsonOut, append(data, '\n'), 0o644); err != nil {
			return err
		}
	}
	if opt.svgOut != "" {
		f, err := os.Create(opt.svgOut)
		if err != nil {
			return err
		}
		if err := errors.Join(rep.WriteSVG(f), f.Close()); err != nil {
			return err
		}
	}
	return nil
}

func parseFlags(args []string, stderr io.Writer) (Config, options, error) {
	var cfg Config
	var opt options
	fs := flag.NewFlagSet("parley-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.Label, "label", "", "scenario name for the report")
	fs.StringVar(&cfg.Server, "server", "http://127.0.0.1:8080", "the server's base URL")
	fs.StringVar(&opt.data, "data", "", "the server's data directory: operator.json gives the operator token (to create rooms) and the server's pid")
	fs.StringVar(&cfg.Link, "link", "", "join this room link instead of creating rooms (then --rooms 1)")
	fs.IntVar(&cfg.ServerPID, "server-pid", 0, "read this process's CPU and memory (default: the pid in operator.json)")
	fs.IntVar(&cfg.Rooms, "rooms", 1, "rooms")
	fs.IntVar(&cfg.Publishers, "publishers", 1, "publishers per room (they also receive each other)")
	fs.IntVar(&cfg.Subscribers, "subscribers", 10, "subscribers per room (with --ramp-until: the most to add)")
	fs.IntVar(&cfg.VideoKbps, "video-kbps", 1500, "video bitrate per publisher")
	fs.BoolVar(&cfg.Audio, "audio", true, "publish Opus, 50 packets/s")
	fs.BoolVar(&cfg.Video, "video", true, "publish VP8, 30 frames/s")
	fs.DurationVar(&cfg.Duration, "duration", 20*time.Second, "measured window after the ramp")
	fs.DurationVar(&cfg.Settle, "settle", 2*time.Second, "wait after the ramp before measuring")
	fs.DurationVar(&cfg.JoinTimeout, "join-timeout", 20*time.Second, "a join fails if media is not connected by then")
	fs.TextVar(&opt.logLevel, "log-level", slog.LevelError, "log clients at this level (debug, info, warn, error)")
	rate := fs.String("ramp-rate", "10/s", "joins per second")
	fs.BoolVar(&cfg.RampUntil, "ramp-until", false, "add subscribers until p99 latency or loss passes its limit")
	fs.DurationVar(&cfg.LatencyLimit, "latency-limit", 50*time.Millisecond, "--ramp-until: p99 latency limit")
	fs.Float64Var(&cfg.LossLimit, "loss-limit", 1, "--ramp-until: loss limit, percent")
	fs.DurationVar(&cfg.Window, "window", 2*time.Second, "--ramp-until: the window the limits apply to")
	fs.DurationVar(&cfg.MaxRampTime, "max-ramp-time", 5*time.Minute, "--ramp-until: stop after this long")
	fs.BoolVar(&cfg.SourceIPs, "source-ips", true, "spread clients over loopback source addresses 127.0.x.1 (ten a address) when the server is on loopback")
	fs.StringVar(&opt.jsonOut, "json", "", "write the report as JSON here")
	fs.StringVar(&opt.svgOut, "svg", "", "write the subscribers/latency/CPU plot here")
	if err := fs.Parse(args); err != nil {
		return cfg, opt, err
	}
	if fs.NArg() > 0 {
		return cfg, opt, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var err error
	if cfg.RampRate, err = parseRate(*rate); err != nil {
		return cfg, opt, fmt.Errorf("--ramp-rate: %w", err)
	}
	return cfg, opt, nil
}

// parseRate reads "10/s", "10" or "600/m".
func parseRate(s string) (float64, error) {
	num, unit, _ := strings.Cut(s, "/")
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("%q is not a positive rate", s)
	}
	switch unit {
	case "", "s":
		return v, nil
	case "m":
		return v / 60, nil
	}
	return 0, fmt.Errorf("%q: unit must be /s or /m", s)
}

type operatorInfo struct {
	URL   string `json:"url"`
	Token string `json:"token"`
	PID   int    `json:"pid"`
}

// readOperator reads the operator.json a running server writes in its
// data directory.
func readOperator(dir string) (*operatorInfo, error) {
	data, err := os.ReadFile(filepath.Join(dir, "operator.json"))
	if err != nil {
		return nil, fmt.Errorf("is the server running with --data %s? %w", dir, err)
	}
	var op operatorInfo
	if err := json.Unmarshal(data, &op); err != nil {
		return nil, fmt.Errorf("operator.json: %w", err)
	}
	return &op, nil
}
