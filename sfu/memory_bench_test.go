package sfu

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

// sinkHelperEnv makes the test binary run runSinkHelper instead of tests.
const sinkHelperEnv = "PARLEY_SFU_SINK_HELPER"

// sinkMsg is a line of the signaling between the benchmark and its sink
// helper process, in either direction.
type sinkMsg struct {
	ID   string                   `json:"id"`
	Type string                   `json:"type"` // offer, answer, cand
	SDP  string                   `json:"sdp,omitempty"`
	Cand *webrtc.ICECandidateInit `json:"cand,omitempty"`
}

// runSinkHelper plays one receive-only client per peer ID for the offers
// and candidates it reads on in, writing answers and candidates to out. It
// reads and discards all media. It returns when in ends.
func runSinkHelper(in io.Reader, out io.Writer) int {
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		return 1
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	api := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se))

	var outMu sync.Mutex
	enc := json.NewEncoder(out)
	send := func(m sinkMsg) {
		outMu.Lock()
		defer outMu.Unlock()
		_ = enc.Encode(m)
	}
	pcs := make(map[string]*webrtc.PeerConnection)
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m sinkMsg
		if json.Unmarshal(sc.Bytes(), &m) != nil {
			continue
		}
		pc := pcs[m.ID]
		if pc == nil {
			var err error
			if pc, err = api.NewPeerConnection(webrtc.Configuration{}); err != nil {
				return 1
			}
			id := m.ID
			pc.OnICECandidate(func(c *webrtc.ICECandidate) {
				if c != nil {
					ci := c.ToJSON()
					send(sinkMsg{ID: id, Type: "cand", Cand: &ci})
				}
			})
			pc.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
				buf := make([]byte, 1500)
				for {
					if _, _, err := t.Read(buf); err != nil {
						return
					}
				}
			})
			pcs[m.ID] = pc
		}
		switch m.Type {
		case "offer":
			if pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: m.SDP}) != nil {
				continue
			}
			answer, err := pc.CreateAnswer(nil)
			if err != nil || pc.SetLocalDescription(answer) != nil {
				continue
			}
			send(sinkMsg{ID: m.ID, Type: "answer", SDP: answer.SDP})
		case "cand":
			_ = pc.AddICECandidate(*m.Cand)
		}
	}
	for _, pc := range pcs {
		_ = pc.Close()
	}
	return 0
}

// sinkFarm is the benchmark's end of a sink helper process.
type sinkFarm struct {
	cmd   *exec.Cmd
	in    io.WriteCloser
	encMu sync.Mutex
	enc   *json.Encoder
	done  chan struct{} // closed when the reader of the helper's output ends

	mu    sync.Mutex
	peers map[string]chan *Peer // capacity 1, holds the peer once added
}

func startSinkFarm(tb testing.TB) *sinkFarm {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), sinkHelperEnv+"=1")
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	f := &sinkFarm{cmd: cmd, in: in, enc: json.NewEncoder(in), done: make(chan struct{}), peers: make(map[string]chan *Peer)}
	go f.read(out)
	tb.Cleanup(func() {
		_ = in.Close()
		_ = cmd.Wait()
		<-f.done
	})
	return f
}

func (f *sinkFarm) send(m sinkMsg) {
	f.encMu.Lock()
	defer f.encMu.Unlock()
	_ = f.enc.Encode(m)
}

// read applies the helper's answers and candidates to the peers.
func (f *sinkFarm) read(out io.Reader) {
	defer close(f.done)
	dec := json.NewDecoder(out)
	for {
		var m sinkMsg
		if err := dec.Decode(&m); err != nil {
			return
		}
		f.mu.Lock()
		ch := f.peers[m.ID]
		f.mu.Unlock()
		if ch == nil {
			continue
		}
		p := <-ch
		ch <- p
		switch m.Type {
		case "answer":
			_ = p.SetAnswer(m.SDP)
		case "cand":
			_ = p.AddCandidate(*m.Cand)
		}
	}
}

// add adds a subscriber peer id to r, played by the helper.
func (f *sinkFarm) add(tb testing.TB, r *Router, id string) *Peer {
	ch := make(chan *Peer, 1)
	f.mu.Lock()
	f.peers[id] = ch
	f.mu.Unlock()
	p, err := r.AddPeer(PeerConfig{
		ID:      id,
		OnOffer: func(o Offer) { f.send(sinkMsg{ID: id, Type: "offer", SDP: o.SDP}) },
		OnCandidate: func(c webrtc.ICECandidateInit) {
			f.send(sinkMsg{ID: id, Type: "cand", Cand: &c})
		},
	})
	if err != nil {
		tb.Fatal(err)
	}
	ch <- p
	return p
}

// memFootprint returns the live heap and the goroutine stacks, after a
// GC, and the number of goroutines.
func memFootprint() (heap, stack uint64, goroutines int) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc, ms.StackInuse, runtime.NumGoroutine()
}

// procStatus returns a field of /proc/self/status in bytes (Linux), or 0.
func procStatus(field string) uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// BenchmarkSubscriberMemory adds 100 receive-only subscribers to a router
// with one publisher sending audio and video (50 packets/s each), lets
// media flow to all of them for a second, and reports the growth of the
// SFU process's live heap plus goroutine stacks (bytes/subscriber; the
// stacks alone in stack-bytes/subscriber) and of its RSS
// and peak RSS (rss-bytes/subscriber, peak-rss-bytes/subscriber) per
// subscriber. The subscribers run in a helper process (the test binary
// re-executed), so only the server's memory is counted. Run it with
// -benchtime=1x and -count=1 (RSS only means something in a fresh
// process). PARLEY_SFU_HEAPPROFILE=file writes a heap profile taken
// while the subscribers are live.
func BenchmarkSubscriberMemory(b *testing.B) {
	const n = 100
	if os.Getenv("PARLEY_SFU_HEAPPROFILE") != "" {
		runtime.MemProfileRate = 4096
	}
	for b.Loop() {
		s := newTestSFU(b)
		r := s.NewRouter("mem")
		// The publisher has no NACK responder, whose buffers would grow
		// in this process during the measurement.
		pub := newTestClientWith(b, r, "pub", true, newClientAPI(b, nil, false))
		waitFor(b, 10*time.Second, "publisher's tracks", func() bool {
			r.mu.Lock()
			defer r.mu.Unlock()
			return len(r.tracks) == 2
		})
		farm := startSinkFarm(b)
		time.Sleep(500 * time.Millisecond)
		heap0, stack0, g0 := memFootprint()
		rss0 := procStatus("VmRSS")

		peers := make([]*Peer, n)
		for i := range peers {
			peers[i] = farm.add(b, r, fmt.Sprintf("sub%d", i))
		}
		waitFor(b, 60*time.Second, "subscribers connected", func() bool {
			for _, p := range peers {
				if p.pc.ConnectionState() != webrtc.PeerConnectionStateConnected {
					return false
				}
			}
			return s.Stats().SubscribedTracks == 2*n
		})
		out0 := s.Stats().PacketsOut
		time.Sleep(time.Second)
		if got := s.Stats().PacketsOut - out0; got < 50*n {
			b.Errorf("only %d packets forwarded in a second to %d subscribers", got, n)
		}
		heap1, stack1, g1 := memFootprint()
		rss1, hwm := procStatus("VmRSS"), procStatus("VmHWM")
		if path := os.Getenv("PARLEY_SFU_HEAPPROFILE"); path != "" {
			// A heap profile with the subscribers live, for pprof.
			if f, err := os.Create(path); err == nil {
				_ = pprof.WriteHeapProfile(f)
				_ = f.Close()
			}
		}
		b.ReportMetric(float64(int64(heap1+stack1-heap0-stack0))/n, "bytes/subscriber")
		b.ReportMetric(float64(int64(stack1-stack0))/n, "stack-bytes/subscriber")
		b.ReportMetric(float64(g1-g0)/n, "goroutines/subscriber")
		if rss0 > 0 {
			b.ReportMetric(float64(int64(rss1-rss0))/n, "rss-bytes/subscriber")
			b.ReportMetric(float64(int64(hwm-rss0))/n, "peak-rss-bytes/subscriber")
		}
		for _, p := range peers {
			_ = p.Close()
		}
		_ = pub
	}
}
