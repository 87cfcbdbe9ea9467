package main

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// TestLoadSmoke builds the real server, starts it on loopback, and runs
// one publisher to three subscribers for three seconds through Run.
func TestLoadSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "parley")
	build := exec.Command("go", "build", "-o", bin, "github.com/parley-dev/parley/cmd/parley")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	addr := freeAddr(t)
	data := filepath.Join(dir, "data")
	srv := exec.Command(bin, "serve", "--listen", addr, "--udp-port", "0", "--tcp-port", "-1", "--data", data, "--log-level", "warn")
	srv.Stdout, srv.Stderr = os.Stderr, os.Stderr
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		srv.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- srv.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			srv.Process.Kill()
			<-done
			t.Error("server did not stop on SIGTERM")
		}
	}()
	base := "http://" + addr
	op := waitReady(t, base, data)
	if op.PID != srv.Process.Pid {
		t.Errorf("operator.json pid %d, started %d", op.PID, srv.Process.Pid)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rep, err := Run(ctx, Config{
		Server: base, OperatorToken: op.Token, ServerPID: op.PID,
		Publishers: 1, Subscribers: 3, VideoKbps: 500, Audio: true, Video: true,
		RampRate: 20, Settle: 500 * time.Millisecond, Duration: 3 * time.Second,
		SourceIPs: true, Progress: testWriter{t},
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Joined != 4 || rep.Failed != 0 || rep.NoMedia != 0 {
		t.Errorf("joined %d, failed %d (%v), no media %d; want 4, 0, 0", rep.Joined, rep.Failed, rep.FailReasons, rep.NoMedia)
	}
	// 3 subscribers × (50 audio + ≈60 video packets a second) × 3 s is
	// about 1,000; under the race detector beside other test binaries far
	// fewer arrive in time, so this asks only that media flowed. Speed is
	// make bench's business, not this test's.
	if rep.Packets < 3*100 || rep.Expected == 0 {
		t.Errorf("received %d packets (%d expected)", rep.Packets, rep.Expected)
	}
	if rep.Lost != 0 || rep.LossPct != 0 {
		t.Errorf("lost %d packets (%.2f%%)", rep.Lost, rep.LossPct)
	}
	if rep.LatencyP50Ms <= 0 || rep.LatencyP99Ms < rep.LatencyP50Ms || rep.LatencyMaxMs < rep.LatencyP99Ms || rep.LatencyP99Ms > 10000 {
		t.Errorf("latency p50 %.2f p99 %.2f max %.2f ms", rep.LatencyP50Ms, rep.LatencyP99Ms, rep.LatencyMaxMs)
	}
	if rep.JoinToMedia.N != 3 || rep.JoinToMedia.P50 <= 0 || rep.JoinToMedia.P99 > 5000 {
		t.Errorf("join to media %+v", rep.JoinToMedia)
	}
	if rep.Mbps < 0.3 || rep.Mbps > 10 {
		t.Errorf("%.1f Mbps at the receivers, want about 3 × 0.55", rep.Mbps)
	}
	if s := rep.Server; s == nil || s.CPUSeconds <= 0 || s.PeakRSSMB <= 0 || s.CPUMicrosPerPacket <= 0 {
		t.Errorf("server figures %+v", rep.Server)
	}
	if rep.WindowSeconds < 2.5 || rep.WindowSeconds > 4 || len(rep.Series) == 0 {
		t.Errorf("window %.1f s, %d samples", rep.WindowSeconds, len(rep.Series))
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return "127.0.0.1:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// waitReady waits for /api/v1/health and the operator file.
func waitReady(t *testing.T, base, data string) *operatorInfo {
	t.Helper()
	hc := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := hc.Get(base + "/api/v1/health")
		if err == nil {
			resp.Body.Close()
			if op, err := readOperator(data); err == nil && resp.StatusCode == http.StatusOK {
				return op
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("server at %s not ready after 10 s", base)
	return nil
}

// testWriter sends progress lines to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p[:len(p)-1]))
	return len(p), nil
}
