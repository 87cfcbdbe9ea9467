package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/parley-dev/parley/client"
)

// Config is one load run. The zero value of every field but Server and
// Link/OperatorToken means a sensible default.
type Config struct {
	Label         string // names the scenario in the report
	Server        string // base URL, e.g. http://127.0.0.1:8080
	Link          string // join this room (Rooms must be 1); else rooms are created
	OperatorToken string // bearer token of the operator API, to create rooms
	ServerPID     int    // read the server's CPU and memory from /proc; 0: don't

	Rooms       int // default 1
	Publishers  int // per room
	Subscribers int // per room
	VideoKbps   int // per publisher; default 1500
	Audio       bool
	Video       bool

	RampRate    float64       // joins per second; default 10
	Settle      time.Duration // after the ramp, before measuring; default 2s
	Duration    time.Duration // measured window; default 20s
	JoinTimeout time.Duration // join until media connected; default 20s

	// RampUntil keeps adding subscribers (up to Subscribers, for at most
	// MaxRampTime) until the p99 latency over the last Window passes
	// LatencyLimit or loss passes LossLimit, twice in a row.
	RampUntil    bool
	MaxRampTime  time.Duration // default 5m
	LatencyLimit time.Duration // default 50ms
	LossLimit    float64       // percent; default 1
	Window       time.Duration // default 2s

	// SourceIPs spreads clients over loopback source addresses
	// (127.0.x.y, ten clients each), as distinct users would come from,
	// so the server's per-address join throttle does not refuse a ramp.
	SourceIPs bool

	Progress io.Writer // a line a second; nil: none
	Logger   *slog.Logger
}

func (c *Config) defaults() {
	if c.Rooms <= 0 {
		c.Rooms = 1
	}
	if c.VideoKbps <= 0 {
		c.VideoKbps = 1500
	}
	if c.RampRate <= 0 {
		c.RampRate = 10
	}
	if c.Settle <= 0 {
		c.Settle = 2 * time.Second
	}
	if c.Duration <= 0 {
		c.Duration = 20 * time.Second
	}
	if c.JoinTimeout <= 0 {
		c.JoinTimeout = 20 * time.Second
	}
	if c.MaxRampTime <= 0 {
		c.MaxRampTime = 5 * time.Minute
	}
	if c.LatencyLimit <= 0 {
		c.LatencyLimit = 50 * time.Millisecond
	}
	if c.LossLimit <= 0 {
		c.LossLimit = 1
	}
	if c.Window <= 0 {
		c.Window = 2 * time.Second
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// ErrConfig is returned for a Config that cannot be run.
var ErrConfig = errors.New("bad configuration")

func (c *Config) check() error {
	switch {
	case c.Server == "":
		return fmt.Errorf("%w: no server URL", ErrConfig)
	case c.Link != "" && c.Rooms != 1:
		return fmt.Errorf("%w: --link joins one room; --rooms must be 1", ErrConfig)
	case c.Link == "" && c.OperatorToken == "":
		return fmt.Errorf("%w: give --link, or --data (for the operator token) to create rooms", ErrConfig)
	case c.Publishers < 1:
		return fmt.Errorf("%w: need at least one publisher", ErrConfig)
	case !c.Audio && !c.Video:
		return fmt.Errorf("%w: publish audio, video or both", ErrConfig)
	case c.Publishers+c.Subscribers < 2:
		return fmt.Errorf("%w: nobody to receive the media", ErrConfig)
	}
	return nil
}

// participant is one simulated client.
type participant struct {
	// set before the join
	index   int // in the join plan
	room    int
	publish bool
	early   bool // another publisher in the room had joined before it started
	recv    *receiver
	pub     *publisher // nil for subscribers

	// set by the join
	c      *client.Client
	opened time.Duration // WebSocket open, since the tool started
}

// joinResult is what a join goroutine hands back to run.
type joinResult struct {
	p   *participant
	err error
}

// run is the state of one Run; the fields below are owned by Run's loop
// unless noted.
type run struct {
	// set at construction
	cfg   Config
	start time.Time
	api   *webrtc.API
	links []string
	hc    *sourceClients

	ctx     context.Context // cancelled by shutdown: ends joins and publishers
	cancel  context.CancelFunc
	readers sync.WaitGroup  // track reader goroutines
	pubs    sync.WaitGroup  // publisher goroutines
	joins   sync.WaitGroup  // join goroutines
	results chan joinResult // buffered for the whole plan

	plan          []*participant
	next          int // next plan entry to join
	inFlight      int
	joined        []*participant
	failed        int
	failReasons   map[string]int
	pubsJoined    []int // per room
	subsJoined    int
	nextPub       uint32
	series        []Sample
	windows       []*window // one per second, beside series
	lastServer    procSample
	lastSelf      procSample
	lastTick      time.Time
	haveServer    bool
	serverErr     error
	rssStartKB    uint64
	measured      window
	measureFrom   int // index in series of the first measured second; -1 until measuring
	mServer       procSample
	mSelf         procSample
	mStart        time.Time
	breach        int // consecutive windows over a ramp limit
	breachAt      int // subscribers when the current breach streak began
	rampReport    *RampReport
	lastPubJoined time.Time
	afterPubs     bool // every publisher has joined
	pubsDoneTick  int  // series index when afterPubs became true
}

// clock is the tool's monotonic time, which stamps travel in.
func (r *run) clock() time.Duration { return time.Since(r.start) }

// Run runs one load and returns its report.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg.defaults()
	if err := cfg.check(); err != nil {
		return nil, err
	}
	api, err := newAPI()
	if err != nil {
		return nil, err
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r := &run{
		cfg: cfg, start: time.Now(), api: api, ctx: rctx, cancel: cancel,
		hc:          newSourceClients(cfg.Server, cfg.SourceIPs),
		failReasons: map[string]int{},
		pubsJoined:  make([]int, cfg.Rooms),
		measureFrom: -1,
	}
	defer r.hc.close()
	if cfg.Link != "" {
		r.links = []string{cfg.Link}
	} else if r.links, err = createRooms(ctx, r.hc.get(0), cfg.Server, cfg.OperatorToken, cfg.Rooms); err != nil {
		return nil, err
	}
	r.makePlan()
	r.results = make(chan joinResult, len(r.plan))
	defer r.shutdown()
	if err := r.readProcs(); err != nil {
		return nil, err
	}
	r.rssStartKB = r.lastServer.rssKB
	if err := r.loop(ctx); err != nil {
		return nil, err
	}
	return r.report(), nil
}

// makePlan orders the joins: every publisher first, then the subscribers
// spread over the rooms.
func (r *run) makePlan() {
	add := func(room int, publish bool) {
		r.plan = append(r.plan, &participant{index: len(r.plan), room: room, publish: publish, recv: newReceiver()})
	}
	for room := range r.cfg.Rooms {
		for range r.cfg.Publishers {
			add(room, true)
		}
	}
	for range r.cfg.Subscribers {
		for room := range r.cfg.Rooms {
			add(room, false)
		}
	}
}

// loop ramps, settles and measures, one collection a second.
func (r *run) loop(ctx context.Context) error {
	ramp := time.NewTicker(time.Duration(float64(time.Second) / r.cfg.RampRate))
	defer ramp.Stop()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	r.lastTick = time.Now()
	var settleUntil time.Time
	rampDeadline := time.Now().Add(r.cfg.MaxRampTime)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ramp.C:
			if r.next < len(r.plan) && r.rampReport == nil && r.mayLaunch(r.plan[r.next]) {
				r.launch(r.plan[r.next])
				r.next++
			}
		case res := <-r.results:
			r.joinDone(res)
		case now := <-tick.C:
			if err := r.collect(now); err != nil {
				return err
			}
			rampOver := r.inFlight == 0 && (r.next == len(r.plan) || r.rampReport != nil)
			if r.cfg.RampUntil {
				if r.rampReport == nil && time.Now().After(rampDeadline) {
					r.endRamp(fmt.Sprintf("time limit %v", r.cfg.MaxRampTime), false)
				}
				if rampOver {
					if r.rampReport == nil {
						r.endRamp(fmt.Sprintf("reached --subscribers %d without breaking", r.cfg.Subscribers), false)
					}
					return r.finishMeasure()
				}
				continue
			}
			switch {
			case r.measureFrom >= 0:
				if time.Since(r.mStart) >= r.cfg.Duration-time.Second/2 {
					return r.finishMeasure()
				}
			case !rampOver:
			case settleUntil.IsZero():
				settleUntil = now.Add(r.cfg.Settle)
			case !now.Before(settleUntil):
				r.startMeasure()
			}
		}
	}
}

// publisherHeadStart is how long subscribers wait after the last
// publisher connected, so that its tracks are published first: the server
// answers a join to a room with nothing to forward with an offer without
// m-lines, which Pion (unlike a browser) cannot apply ("no ice-ufrag").
const publisherHeadStart = time.Second

// mayLaunch reports whether p's turn has come: subscribers wait until
// every publisher has joined, and a little more.
func (r *run) mayLaunch(p *participant) bool {
	if p.publish {
		return true
	}
	return r.inFlight == 0 && !r.lastPubJoined.IsZero() && time.Since(r.lastPubJoined) >= publisherHeadStart
}

// startMeasure begins the measured window at this collection.
func (r *run) startMeasure() {
	r.measureFrom = len(r.series)
	r.mServer, r.mSelf, r.mStart = r.lastServer, r.lastSelf, time.Now()
}

// finishMeasure ends the measured window; in ramp mode, it spans
// everything after the publishers joined.
func (r *run) finishMeasure() error {
	if r.measureFrom < 0 {
		return errors.New("nothing was measured")
	}
	for _, w := range r.windows[r.measureFrom:] {
		r.measured.add(w)
	}
	return nil
}

// launch starts joining p.
func (r *run) launch(p *participant) {
	p.early = r.pubsJoined[p.room] > 0
	if p.publish {
		p.pub = &publisher{
			pub: r.nextPub, clock: r.clock,
			model: videoModel{bps: r.cfg.VideoKbps * 1000, fps: 30, keyEvery: 60, keyMult: 5},
		}
		r.nextPub++
	}
	r.inFlight++
	r.joins.Add(1)
	go func() {
		defer r.joins.Done()
		r.results <- joinResult{p: p, err: r.join(p)}
	}()
}

// join joins p and waits for its media to connect.
func (r *run) join(p *participant) error {
	ctx, cancel := context.WithTimeout(r.ctx, r.cfg.JoinTimeout)
	defer cancel()
	cfg := client.Config{
		BaseURL: r.cfg.Server, Link: r.links[p.room],
		Name:         fmt.Sprintf("load %d", p.index),
		PublishAudio: p.publish && r.cfg.Audio,
		PublishVideo: p.publish && r.cfg.Video,
		Logger:       r.cfg.Logger,
		API:          r.api,
		HTTPClient:   r.hc.get(p.index),
		OnTrack: func(_ string, t *webrtc.TrackRemote) {
			r.readers.Add(1)
			go func() {
				defer r.readers.Done()
				r.readTrack(t, p.recv)
			}()
		},
	}
	if p.pub != nil {
		cfg.OnKeyframeRequest = p.pub.requestKeyframe
	}
	c, err := client.Join(ctx, cfg)
	if err != nil {
		return err
	}
	p.c = c
	p.opened = c.Opened.Sub(r.start)
	if err := c.WaitConnected(ctx); err != nil {
		return fmt.Errorf("media: %w", err)
	}
	return nil
}

// joinDone books a finished join; a publisher starts sending.
func (r *run) joinDone(res joinResult) {
	r.inFlight--
	p := res.p
	if res.err != nil {
		r.failed++
		r.failReasons[reason(res.err)]++
		r.cfg.Logger.Warn("join failed", "participant", p.index, "err", res.err)
		if p.c != nil {
			p.c.Close()
			p.c = nil
		}
		return
	}
	r.joined = append(r.joined, p)
	if !p.publish {
		r.subsJoined++
		return
	}
	r.pubsJoined[p.room]++
	r.lastPubJoined = time.Now()
	p.pub.audio, p.pub.video = p.c.Audio, p.c.Video
	r.pubs.Add(1)
	go func() {
		defer r.pubs.Done()
		p.pub.run(r.ctx)
	}()
}

// reason shortens a join error to a countable phrase.
func reason(err error) string {
	s := err.Error()
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case strings.Contains(s, "429"):
		return "rate-limited"
	}
	if len(s) > 60 {
		s = s[:60]
	}
	return s
}

// readTrack reads one received track until it ends.
func (r *run) readTrack(t *webrtc.TrackRemote, recv *receiver) {
	video := t.Kind() == webrtc.RTPCodecTypeVideo
	buf := make([]byte, 1500)
	for {
		n, _, err := t.Read(buf)
		if err != nil {
			return
		}
		payload, ok := rtpPayload(buf[:n])
		if !ok {
			continue
		}
		st, ok := parseStamp(payload, video)
		if !ok {
			continue
		}
		recv.packet(st, n, r.clock())
	}
}

// collect takes this second's window from every receiver and the
// processes' CPU and memory, and prints a progress line.
func (r *run) collect(now time.Time) error {
	w := &window{}
	for _, p := range r.joined {
		p.recv.take(w)
	}
	prevServer, prevSelf, prevTick := r.lastServer, r.lastSelf, r.lastTick
	if err := r.readProcs(); err != nil {
		return err
	}
	r.lastTick = now
	secs := now.Sub(prevTick).Seconds()
	s := Sample{
		T:           r.clock().Seconds(),
		Joined:      len(r.joined),
		Subscribers: r.subsJoined,
		Failed:      r.failed,
		PPS:         float64(w.packets) / secs,
		Mbps:        float64(w.bytes) * 8 / secs / 1e6,
		P50Ms:       ms(w.hist.quantile(0.50)),
		P99Ms:       ms(w.hist.quantile(0.99)),
		MaxMs:       float64(w.hist.max) / 1000,
		LossPct:     w.lossPct(),
		LoadCPUPct:  cpuPct(r.lastSelf.cpu-prevSelf.cpu, secs),
	}
	if r.haveServer {
		s.ServerCPUPct = cpuPct(r.lastServer.cpu-prevServer.cpu, secs)
		s.ServerRSSMB = float64(r.lastServer.rssKB) / 1024
	}
	r.series = append(r.series, s)
	r.windows = append(r.windows, w)
	fmt.Fprintf(r.cfg.Progress, "%5.0fs joined %d/%d failed %d | %6.0f pkt/s %6.1f Mbps p50 %.2f ms p99 %.2f ms loss %.2f%% | server cpu %3.0f%% rss %.0f MB | load cpu %3.0f%%\n",
		s.T, s.Joined, len(r.plan), s.Failed, s.PPS, s.Mbps, s.P50Ms, s.P99Ms, s.LossPct, s.ServerCPUPct, s.ServerRSSMB, s.LoadCPUPct)
	if !r.afterPubs && r.next >= r.cfg.Rooms*r.cfg.Publishers && r.inFlight == 0 {
		r.afterPubs = true
		if r.cfg.RampUntil {
			r.startMeasure()
		}
	}
	if r.cfg.RampUntil && r.afterPubs && r.rampReport == nil {
		r.checkRamp()
	}
	return nil
}

// checkRamp ends a ramp when the last Window broke a limit twice running.
func (r *run) checkRamp() {
	n := max(int(r.cfg.Window/time.Second), 1)
	if len(r.windows) < n || r.subsJoined == 0 {
		return
	}
	var w window
	for _, x := range r.windows[len(r.windows)-n:] {
		w.add(x)
	}
	p99 := time.Duration(w.hist.quantile(0.99)) * time.Microsecond
	loss := w.lossPct()
	if w.packets < 100 || (p99 <= r.cfg.LatencyLimit && loss <= r.cfg.LossLimit) {
		r.breach = 0
		return
	}
	if r.breach == 0 {
		r.breachAt = r.subsJoined
	}
	r.breach++
	if r.breach >= 2 {
		why := fmt.Sprintf("p99 %.1f ms over the last %v", float64(p99)/1e6, r.cfg.Window)
		if loss > r.cfg.LossLimit {
			why = fmt.Sprintf("loss %.2f%% over the last %v", loss, r.cfg.Window)
		}
		r.endRamp(why, true)
	}
}

func (r *run) endRamp(why string, broke bool) {
	r.rampReport = &RampReport{
		Broke: broke, Reason: why, BrokeAt: r.breachAt, Reached: r.subsJoined,
		LatencyLimitMs: float64(r.cfg.LatencyLimit) / 1e6, LossLimitPct: r.cfg.LossLimit,
	}
	if !broke {
		r.rampReport.BrokeAt = 0
	}
}

func (r *run) readProcs() error {
	self, err := readProc("self")
	if err != nil {
		return err
	}
	r.lastSelf = self
	if r.cfg.ServerPID > 0 {
		srv, err := readProc(strconv.Itoa(r.cfg.ServerPID))
		if err != nil {
			return fmt.Errorf("server process: %w", err)
		}
		r.lastServer, r.haveServer = srv, true
	}
	return nil
}

// shutdown stops the publishers, says goodbye for every client and waits
// for every goroutine Run started.
func (r *run) shutdown() {
	r.cancel() // ends joins in flight and the publishers
	for r.inFlight > 0 {
		r.joinDone(<-r.results)
	}
	r.joins.Wait()
	r.pubs.Wait()
	sem := make(chan struct{}, 32)
	var wg sync.WaitGroup
	for _, p := range r.joined {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			p.c.Leave()
		}()
	}
	wg.Wait()
	r.readers.Wait()
}

// newAPI is the one webrtc.API every client shares: Opus, VP8 and the
// default interceptors (NACK, reports, TWCC), as a browser would have,
// with ICE on loopback UDP only.
func newAPI() (*webrtc.API, error) {
	return client.NewAPI(client.APIOptions{LoopbackOnly: true})
}

// sourceClients hands out HTTP clients, one per group of ten
// participants, each bound to its own loopback source address when the
// server is on loopback and spreading is asked for.
type sourceClients struct {
	spread bool
	mu     sync.Mutex
	byIP   map[int]*http.Client
}

func newSourceClients(server string, spread bool) *sourceClients {
	if spread {
		u, err := url.Parse(server)
		ip := net.ParseIP("")
		if err == nil {
			ip = net.ParseIP(u.Hostname())
		}
		spread = ip != nil && ip.IsLoopback() && ip.To4() != nil
	}
	return &sourceClients{spread: spread, byIP: map[int]*http.Client{}}
}

const perSourceIP = 10

func (s *sourceClients) get(index int) *http.Client {
	g := 0
	if s.spread {
		g = index / perSourceIP
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.byIP[g]; c != nil {
		return c
	}
	d := &net.Dialer{Timeout: 10 * time.Second}
	if s.spread {
		// 127.0.1.1, 127.0.1.2, …: all on the loopback interface.
		d.LocalAddr = &net.TCPAddr{IP: net.IPv4(127, byte(1+g/250), byte(1+g%250), 1)}
	}
	c := &http.Client{
		Timeout:   15 * time.Second,
		Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true},
	}
	s.byIP[g] = c
	return c
}

func (s *sourceClients) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.byIP {
		c.CloseIdleConnections()
	}
}

// createRooms creates n rooms through the operator API and returns their
// links.
func createRooms(ctx context.Context, hc *http.Client, server, token string, n int) ([]string, error) {
	id := strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	var links []string
	for i := range n {
		body, _ := json.Marshal(map[string]string{"name": fmt.Sprintf("load-%s-%d", id, i)})
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(server, "/")+"/api/v1/rooms", bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := hc.Do(req)
		if err != nil {
			return nil, fmt.Errorf("create room: %w", err)
		}
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			return nil, fmt.Errorf("create room: %s: %s", resp.Status, bytes.TrimSpace(data))
		}
		var room struct {
			Link string `json:"link"`
		}
		if err := json.Unmarshal(data, &room); err != nil || room.Link == "" {
			return nil, fmt.Errorf("create room: malformed answer %q", data)
		}
		links = append(links, room.Link)
	}
	return links, nil
}

func ms(us uint64) float64 { return float64(us) / 1000 }

func cpuPct(d time.Duration, secs float64) float64 {
	if secs <= 0 {
		return 0
	}
	return 100 * d.Seconds() / secs
}
