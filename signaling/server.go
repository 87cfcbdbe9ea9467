// Package signaling runs parley's WebSocket signaling: it authenticates
// joins, hands each participant to the live call of its room (package
// livecall, which decides roles, membership and moderation) and relays SDP
// and ICE between each participant's browser and its sfu.Peer. A session
// is transport only: it decodes, rate-limits and hands each message to the
// call or the media peer. The messages are defined in package protocol and
// described in docs/protocol.md.
package signaling

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-dev/parley/auth"
	"github.com/parley-dev/parley/clientaddr"
	"github.com/parley-dev/parley/livecall"
	"github.com/parley-dev/parley/ringing"
	"github.com/parley-dev/parley/rooms"
	"github.com/parley-dev/parley/sfu"
	"github.com/parley-dev/parley/signaling/protocol"
	"github.com/parley-dev/parley/throttle"
)

// TokenVerifier checks a join token and returns its claims.
type TokenVerifier interface {
	VerifyJoin(token string) (*auth.JoinClaims, error)
}

// RoomFinder looks a room up by id.
type RoomFinder interface {
	Room(ctx context.Context, id string) (*rooms.Room, error)
}

// InvitationRecorder records that a guest invited by an invitation joined
// its room's call (cmd/parley gives the store). It is called on the
// joining session's goroutine, once the guest is in the call, and should
// return soon.
type InvitationRecorder interface {
	InvitationJoined(roomID, invitationID, name string)
}

// Config configures a Server. The zero value of every duration and limit
// means the default documented on it.
type Config struct {
	SFU        *sfu.SFU      // required
	Tokens     TokenVerifier // required
	Rooms      RoomFinder    // required
	ICEServers []protocol.ICEServer
	Logger     *slog.Logger

	PingInterval time.Duration // WebSocket ping period; default 20s
	ReadTimeout  time.Duration // a connection silent this long is closed; default 60s
	WriteTimeout time.Duration // per-write deadline; default 10s
	JoinTimeout  time.Duration // a connection must join within this; default 30s
	OfferTimeout time.Duration // a participant must answer each offer within this; default sfu.DefaultOfferTimeout (15s)

	// Connections that have not joined yet are capped, per client
	// (clientaddr.Key of the resolved client address: an IPv4 address or
	// an IPv6 /64) and in all, so idle sockets cannot crowd out joins.
	// Joined participants never count. Over a cap the upgrade is refused
	// with 429 too-many-connections (per client) or 503 server-busy.
	MaxUnjoinedPerClient int // default 32
	MaxUnjoined          int // default 1024

	RateBurst     int     // messages allowed in a burst; default 50
	RatePerSecond float64 // sustained messages per second; default 20
	MaxExcess     int     // rate-limited messages tolerated before closing; default 200

	// OnJoined, if set, is told how long each participant took from its
	// join message to a working media connection (for metrics).
	OnJoined func(time.Duration)
	// Invitations, if set, is told when a guest whose join token carries
	// an invitation's ID has joined the call (the invitation is then
	// "joined" for its inviter).
	Invitations InvitationRecorder

	// Policy, if set, gives the rules of each room's live call (see
	// livecall.Policy); nil means livecall.DefaultPolicy, which admits
	// everyone with their join token's role.
	Policy func(room *rooms.Room) livecall.Policy
	// Clock is the live calls' clock; nil means the system clock.
	Clock livecall.Clock
	// HostKeys, if set, checks the host keys of claim-host (booked
	// meetings, hostkeys.go); nil: claim-host is answered no-host-key.
	HostKeys HostKeys

	// ResumeGrace is how long the place of a participant whose
	// connection dropped is kept for it to resume (shown reconnecting to
	// the others), on Clock; default DefaultResumeGrace (30s). Negative:
	// no grace, a drop is a leave.
	ResumeGrace time.Duration
	// Failed resumes (a wrong token) spend an allowance per client
	// (clientaddr.Key) of ResumeBurst at once, regained at ResumeRate a
	// second; past it they are answered rate-limited. Defaults 20 and 1.
	ResumeBurst int
	ResumeRate  float64

	// AllowedOrigins lists extra origins (scheme://host[:port]) allowed to
	// open the WebSocket besides the server's own host.
	AllowedOrigins []string

	// Endpoints and direct calls (directory.go). Directory, if set,
	// lets endpoints register presence connections and call each other;
	// nil: register is refused with bad-token.
	Directory Directory
	// EndpointCookie names the cookie whose value a register without a
	// token uses; default DefaultEndpointCookie ("parley_endpoint").
	EndpointCookie string
	// RingTimeout is how long a ring waits for an answer, on Clock;
	// default ringing.DefaultTimeout (30s). MaxRings bounds the rings
	// one endpoint has waiting; default ringing.DefaultMaxOutgoing (3).
	RingTimeout time.Duration
	MaxRings    int
	// MaxPresence bounds the presence connections of one endpoint; a
	// newer one closes the oldest. Default DefaultMaxPresence (4).
	MaxPresence int
	// call-endpoint messages spend an allowance per endpoint of
	// CallBurst at once, regained at CallRate a second; past it they
	// are answered rate-limited. Defaults 10 and 0.2 (one per 5 s).
	CallBurst int
	CallRate  float64
	// DirectJoinWindow is how long an accepted direct call waits, on
	// Clock, for its first participant before its tokens stop working;
	// default DefaultDirectJoinWindow (2 minutes).
	DirectJoinWindow time.Duration
	// RecheckInterval is how often, on Clock, the session of every
	// presence connection is checked with the Directory again; one that
	// no longer passes (re-issued, disabled, removed, expired) is ended
	// with bye signed-out. Default DefaultRecheckInterval (1 minute).
	RecheckInterval time.Duration
}

func (c *Config) setDefaults() {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.PingInterval <= 0 {
		c.PingInterval = 20 * time.Second
	}
	if c.ReadTimeout <= 0 {
		c.ReadTimeout = 60 * time.Second
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 10 * time.Second
	}
	if c.JoinTimeout <= 0 {
		c.JoinTimeout = 30 * time.Second
	}
	if c.RateBurst <= 0 {
		c.RateBurst = 50
	}
	if c.RatePerSecond <= 0 {
		c.RatePerSecond = 20
	}
	if c.MaxExcess <= 0 {
		c.MaxExcess = 200
	}
	if c.MaxUnjoinedPerClient <= 0 {
		c.MaxUnjoinedPerClient = 32
	}
	if c.MaxUnjoined <= 0 {
		c.MaxUnjoined = 1024
	}
	if c.ResumeGrace == 0 {
		c.ResumeGrace = DefaultResumeGrace
	}
	if c.EndpointCookie == "" {
		c.EndpointCookie = DefaultEndpointCookie
	}
	if c.RingTimeout <= 0 {
		c.RingTimeout = ringing.DefaultTimeout
	}
	if c.MaxRings <= 0 {
		c.MaxRings = ringing.DefaultMaxOutgoing
	}
	if c.MaxPresence <= 0 {
		c.MaxPresence = DefaultMaxPresence
	}
	if c.CallBurst <= 0 {
		c.CallBurst = 10
	}
	if c.CallRate <= 0 {
		c.CallRate = 0.2
	}
	if c.DirectJoinWindow <= 0 {
		c.DirectJoinWindow = DefaultDirectJoinWindow
	}
	if c.RecheckInterval <= 0 {
		c.RecheckInterval = DefaultRecheckInterval
	}
}

// Server accepts WebSocket connections and owns the live calls.
type Server struct {
	// set at construction
	cfg      Config
	log      *slog.Logger
	upgrader websocket.Upgrader

	mu         sync.Mutex           // guards the fields below
	calls      map[string]*liveCall // by room id
	sessions   map[*session]struct{}
	closing    bool
	unjoined   int                     // sessions holding an unjoined slot
	unjoinedBy map[netip.Prefix]int    // the same, per client key
	parts      map[string]*participant // joined participants by id, for resume (resume.go)

	resumeFails *throttle.Throttle[netip.Prefix] // failed resumes per client key
	dir         *directory                       // presence connections and direct calls (directory.go); set at construction

	wg     sync.WaitGroup // one per live session
	callWG sync.WaitGroup // one per live call, until it has closed its media; one per participant the call let go, until its media is closed
}

// New returns a Server ready to serve /ws.
func New(cfg Config) (*Server, error) {
	if cfg.SFU == nil || cfg.Tokens == nil || cfg.Rooms == nil {
		return nil, errors.New("signaling: SFU, Tokens and Rooms are required")
	}
	cfg.setDefaults()
	s := &Server{
		cfg:        cfg,
		log:        cfg.Logger,
		calls:      make(map[string]*liveCall),
		sessions:   make(map[*session]struct{}),
		unjoinedBy: make(map[netip.Prefix]int),
		parts:      make(map[string]*participant),

		resumeFails: throttle.New[netip.Prefix](throttle.Config{Rate: cfg.ResumeRate, Burst: cfg.ResumeBurst}),
	}
	s.dir = newDirectory(s)
	s.upgrader = websocket.Upgrader{
		ReadBufferSize:  4096,
		WriteBufferSize: 4096,
		CheckOrigin:     s.checkOrigin,
	}
	return s, nil
}

// checkOrigin allows requests with no Origin (non-browser clients), from the
// server's own host, or from a configured origin.
func (s *Server) checkOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	for _, o := range s.cfg.AllowedOrigins {
		if strings.EqualFold(strings.TrimRight(o, "/"), origin) {
			return true
		}
	}
	return false
}

// ServeHTTP upgrades the request to a WebSocket and runs a session on it
// until the connection ends. The connection takes an unjoined slot of its
// client first, and gives it back when it joins or ends.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	addr := clientaddr.FromRequest(r)
	key := clientaddr.Key(addr)
	if err := s.takeUnjoined(key); err != nil {
		writeRefusal(w, err)
		return
	}
	slot := true
	defer func() {
		if slot {
			s.releaseUnjoined(key)
		}
	}()
	conn, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		// Upgrade has already written an HTTP error.
		s.log.Debug("websocket upgrade failed", "remote", remoteAttr(addr), "err", err)
		return
	}
	sess := newSession(s, conn, remoteAttr(addr), key)
	if c, err := r.Cookie(s.cfg.EndpointCookie); err == nil {
		sess.cookie = c.Value // for a register with no token (directory.go)
	}
	slot = false // the session owns it now
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		sess.releaseSlot()
		sess.closeNow(websocket.CloseGoingAway, protocol.ReasonServerShutdown)
		return
	}
	s.sessions[sess] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	defer func() {
		sess.releaseSlot()
		s.mu.Lock()
		delete(s.sessions, sess)
		s.mu.Unlock()
		s.wg.Done()
	}()
	sess.run()
}

// remoteAttr is a client address as session logs show it.
func remoteAttr(a netip.Addr) string {
	if !a.IsValid() {
		return "unknown"
	}
	return a.String()
}

// refusal is why ServeHTTP did not upgrade a request.
type refusal struct {
	status        int
	code, message string
}

func (e *refusal) Error() string { return e.code + ": " + e.message }

var (
	errShuttingDown     = &refusal{http.StatusServiceUnavailable, "server-shutdown", "the server is shutting down"}
	errTooManyUnjoined  = &refusal{http.StatusTooManyRequests, "too-many-connections", "too many connections from your address have not joined yet: join or close some"}
	errTooManyConnected = &refusal{http.StatusServiceUnavailable, "server-busy", "the server has too many connections that have not joined yet: try again shortly"}
)

// writeRefusal answers a refused upgrade with the API's JSON error body.
func writeRefusal(w http.ResponseWriter, err *refusal) {
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	body.Error.Code, body.Error.Message = err.code, err.message
	data, _ := json.Marshal(body)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(err.status)
	w.Write(append(data, '\n'))
}

// takeUnjoined reserves an unjoined slot for a connection from key.
func (s *Server) takeUnjoined(key netip.Prefix) *refusal {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closing:
		return errShuttingDown
	case s.unjoinedBy[key] >= s.cfg.MaxUnjoinedPerClient:
		return errTooManyUnjoined
	case s.unjoined >= s.cfg.MaxUnjoined:
		return errTooManyConnected
	}
	s.unjoined++
	s.unjoinedBy[key]++
	return nil
}

// releaseUnjoined gives back a slot taken by takeUnjoined.
func (s *Server) releaseUnjoined(key netip.Prefix) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unjoined--
	if s.unjoinedBy[key]--; s.unjoinedBy[key] <= 0 {
		delete(s.unjoinedBy, key)
	}
}

// Stats are the signaling layer's gauges.
type Stats struct {
	Calls        int // calls with someone in them
	Participants int // participants in calls
	Sessions     int // open WebSocket connections, joined or not
	Unjoined     int // of those, the ones that have not joined (yet)
}

// Stats reports the live calls, participants and sessions.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	st := Stats{Calls: len(s.calls), Sessions: len(s.sessions), Unjoined: s.unjoined}
	for _, c := range s.calls {
		st.Participants += c.call.Size()
	}
	s.mu.Unlock()
	return st
}

// EndCall tells everyone in the room's call that it has ended, with reason
// (e.g. protocol.ReasonRoomDeleted), and disconnects them.
func (s *Server) EndCall(roomID, reason string) {
	s.mu.Lock()
	c := s.calls[roomID]
	s.mu.Unlock()
	if c != nil {
		c.call.End(reason)
	}
}

// NotifyCall hands notice to the policy of the room's running call, if
// there is one (livecall.Call.Notify), and waits until it was told.
func (s *Server) NotifyCall(roomID string, notice any) {
	s.mu.Lock()
	c := s.calls[roomID]
	s.mu.Unlock()
	if c != nil {
		_ = c.call.Notify(notice) // ErrEnded: the call has gone meanwhile
	}
}

// Shutdown tells every connected client that the server is stopping, closes
// their connections and waits for the sessions to end, or for ctx.
func (s *Server) Shutdown(ctx context.Context) error {
	s.dir.close()
	s.mu.Lock()
	s.closing = true
	sessions := make([]*session, 0, len(s.sessions))
	for sess := range s.sessions {
		sessions = append(sessions, sess)
	}
	s.mu.Unlock()
	for _, sess := range sessions {
		sess.bye(protocol.ReasonServerShutdown, websocket.CloseGoingAway)
	}
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		// No session detaches once closing is set: let go of those
		// detached before, whose grace would keep their calls alive.
		for _, p := range s.detached() {
			p.call.call.Leave(p.id, protocol.ReasonServerShutdown)
		}
		// Every participant has left, so every call ends: wait for
		// each to close its media.
		s.callWG.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		for _, sess := range sessions {
			sess.conn.Close()
		}
		<-done
		return fmt.Errorf("signaling shutdown: %w", ctx.Err())
	}
}
