package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-dev/parley/api"
	"github.com/parley-dev/parley/rooms/store"
)

// crashWorkers create rooms concurrently during the burst.
const crashWorkers = 16

// TestKillDuringRoomCreation kills a real parley process with SIGKILL in
// the middle of a burst of concurrent room creations through its operator
// API, at a different point each round, and checks that nothing it
// acknowledged is lost: the file passes bbolt's consistency check, every
// room answered 201 is there with its id and link, and a restarted server
// lists them and admits a join through the link.
func TestKillDuringRoomCreation(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("needs SIGKILL")
	}
	bin := buildParley(t)
	// The kill comes once acks creations have been acknowledged, and then
	// at once or after a little more of the burst, so that it lands
	// between commits or in the middle of one (16 requests are in flight).
	for _, round := range []struct {
		acks  int
		delay time.Duration
	}{{1, 0}, {10, 0}, {40, 2 * time.Millisecond}, {120, 10 * time.Millisecond}} {
		t.Run(fmt.Sprintf("%d acknowledged+%v", round.acks, round.delay), func(t *testing.T) {
			killRound(t, bin, round.acks, round.delay)
		})
	}
}

// buildParley builds this package into a temporary directory, with the
// race detector if this test has it (so the build reuses the test's
// compiled packages).
func buildParley(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(t.TempDir(), "parley")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	start := time.Now()
	out, err := exec.Command(goTool, append(args, ".")...).CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Logf("built parley in %v", time.Since(start).Round(time.Millisecond))
	return bin
}

// killRound runs one server, kills it delay after acks creations have
// been acknowledged, and checks what survived.
func killRound(t *testing.T, bin string, acks int, delay time.Duration) {
	dir := t.TempDir()
	srv, info := startParleyProcess(t, bin, dir)

	b := &burst{base: info.URL, token: info.Token, killAt: acks, reached: make(chan struct{})}
	b.hc = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: crashWorkers}}
	defer b.hc.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for w := range crashWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b.work(ctx, w)
		}()
	}
	select {
	case <-b.reached:
		time.Sleep(delay)
	case <-ctx.Done():
	}
	b.kill(srv)
	wg.Wait()
	if err := b.unexpected(); err != nil {
		t.Fatalf("before the kill: %v\nserver log:\n%s", err, srv.log())
	}
	acked := b.acknowledged()
	if len(acked) < acks {
		t.Fatalf("only %d creations acknowledged before the deadline, want %d\nserver log:\n%s", len(acked), acks, srv.log())
	}
	t.Logf("killed %v after %d creations were acknowledged; %d were by the end", delay, acks, len(acked))

	// The file as the killed process left it.
	db, err := store.Open(filepath.Join(dir, "parley.db"), store.Options{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("open the database after the kill: %v", err)
	}
	if err := db.Check(); err != nil {
		db.Close()
		t.Fatalf("after the kill: %v", err)
	}
	all, err := db.Rooms(context.Background())
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	var lost []string
	for _, v := range acked {
		rm, err := db.RoomByName(context.Background(), v.Name)
		switch {
		case err != nil:
			lost = append(lost, fmt.Sprintf("%s (%v)", v.Name, err))
		case rm.ID != v.ID || rm.Link != v.Link:
			lost = append(lost, fmt.Sprintf("%s (id %s link %s, acknowledged as id %s link %s)", v.Name, rm.ID, rm.Link, v.ID, v.Link))
		}
	}
	if len(lost) > 0 {
		t.Errorf("%d of %d acknowledged rooms are not in the file as acknowledged: %s", len(lost), len(acked), firstFew(lost))
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d rooms in the file, %d acknowledged", len(all), len(acked))

	// A restarted server on the same directory serves them all.
	m := startServer(t, dir)
	listed := map[string]string{} // name → link
	rc := &httpRoomClient{base: m.LocalURL(), token: operatorToken(t, dir), hc: &http.Client{Timeout: 10 * time.Second}}
	views, err := rc.list(context.Background())
	if err != nil {
		t.Fatalf("list rooms on the restarted server: %v", err)
	}
	for _, v := range views {
		listed[v.Name] = v.Link
	}
	var unlisted []string
	for _, v := range acked {
		if listed[v.Name] != v.Link {
			unlisted = append(unlisted, fmt.Sprintf("%s (link %q, acknowledged %q)", v.Name, listed[v.Name], v.Link))
		}
	}
	if len(unlisted) > 0 {
		t.Errorf("the restarted server does not list %d of %d acknowledged rooms as acknowledged: %s", len(unlisted), len(acked), firstFew(unlisted))
	}
	if err := joinLink(m.LocalURL(), acked[len(acked)-1].Link); err != nil {
		t.Errorf("join the last acknowledged room on the restarted server: %v", err)
	}
}

// parleyProcess is a parley serve subprocess.
type parleyProcess struct {
	cmd    *exec.Cmd
	stderr *bytes.Buffer // read only after waited is closed
	waited chan struct{} // closed when cmd.Wait has returned
}

func (p *parleyProcess) log() string {
	<-p.waited
	return p.stderr.String()
}

// startParleyProcess starts `parley serve` on dir, on free ports, and
// returns once its operator file names it. The process is killed, if it
// still runs, when the test ends.
func startParleyProcess(t *testing.T, bin, dir string) (*parleyProcess, *operatorInfo) {
	t.Helper()
	p := &parleyProcess{stderr: &bytes.Buffer{}, waited: make(chan struct{})}
	p.cmd = exec.Command(bin, "serve", "--data", dir, "--listen", "127.0.0.1:0", "--udp-port", "0", "--tcp-port", "-1", "--log-level", "warn")
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start parley: %v", err)
	}
	go func() {
		p.cmd.Wait()
		close(p.waited)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.waited
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		info, err := readOperatorFile(filepath.Join(dir, operatorFileName))
		if err == nil && info.PID == p.cmd.Process.Pid {
			return p, info
		}
		select {
		case <-p.waited:
			t.Fatalf("parley exited before serving: %v\n%s", p.cmd.ProcessState, p.stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("parley wrote no operator file in 30s (last error: %v)", err)
		}
	}
}

// burst creates rooms from several workers until the server dies.
type burst struct {
	// set at construction
	base, token string
	hc          *http.Client
	killAt      int           // acknowledgements before the kill
	reached     chan struct{} // closed when killAt is reached

	mu     sync.Mutex // guards the fields below
	acked  []api.RoomView
	killed bool
	errs   []error // failures before the kill
}

// work creates rooms named w<worker>-<n> until a request fails.
func (b *burst) work(ctx context.Context, w int) {
	for n := 0; ctx.Err() == nil; n++ {
		v, err := b.create(ctx, fmt.Sprintf("w%02d-%04d", w, n))
		b.mu.Lock()
		if err != nil {
			if !b.killed {
				b.errs = append(b.errs, err)
			}
			b.mu.Unlock()
			return
		}
		b.acked = append(b.acked, v)
		if len(b.acked) == b.killAt {
			close(b.reached)
		}
		b.mu.Unlock()
	}
}

// create is POST /api/v1/rooms; only a 201 with the room counts as an
// acknowledgement.
func (b *burst) create(ctx context.Context, name string) (api.RoomView, error) {
	body, _ := json.Marshal(api.CreateRoomRequest{Name: name})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.base+"/api/v1/rooms", bytes.NewReader(body))
	if err != nil {
		return api.RoomView{}, err
	}
	req.Header.Set("Authorization", "Bearer "+b.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := b.hc.Do(req)
	if err != nil {
		return api.RoomView{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return api.RoomView{}, fmt.Errorf("create %q: reading the answer: %w", name, err)
	}
	if resp.StatusCode != http.StatusCreated {
		return api.RoomView{}, fmt.Errorf("create %q: %s: %s", name, resp.Status, strings.TrimSpace(string(data)))
	}
	var v api.RoomView
	if err := json.Unmarshal(data, &v); err != nil || v.Name != name || v.Link == "" {
		return api.RoomView{}, fmt.Errorf("create %q: a 201 without the room: %q (%v)", name, data, err)
	}
	return v, nil
}

// kill sends SIGKILL to the server and waits for it to die.
func (b *burst) kill(p *parleyProcess) {
	b.mu.Lock()
	b.killed = true
	b.mu.Unlock()
	p.cmd.Process.Kill() // SIGKILL on Unix
	<-p.waited
}

func (b *burst) acknowledged() []api.RoomView {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]api.RoomView(nil), b.acked...)
}

func (b *burst) unexpected() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return errors.Join(b.errs...)
}

func firstFew(s []string) string {
	if len(s) > 5 {
		return strings.Join(s[:5], ", ") + fmt.Sprintf(" and %d more", len(s)-5)
	}
	return strings.Join(s, ", ")
}

func operatorToken(t *testing.T, dir string) string {
	t.Helper()
	info, err := readOperatorFile(filepath.Join(dir, operatorFileName))
	if err != nil {
		t.Fatalf("operator file: %v", err)
	}
	return info.Token
}

// joinLink asks for a join token with link, as a browser would.
func joinLink(base, link string) error {
	body, _ := json.Marshal(map[string]string{"link": link})
	resp, err := http.Post(base+"/api/v1/join", "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(data)))
	}
	var jr struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(data, &jr); err != nil || jr.Token == "" {
		return fmt.Errorf("no token in %q", data)
	}
	return nil
}
