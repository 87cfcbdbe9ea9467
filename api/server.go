// Package api is parley's HTTP surface: the JSON API under /api/v1 (join
// links, and room management for the operator), the WebSocket endpoint
// (handed to package signaling) and the embedded web client. docs/api.md
// describes every route.
package api

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/parley-dev/parley/auth"
	"github.com/parley-dev/parley/clientaddr"
	"github.com/parley-dev/parley/rooms"
	"github.com/parley-dev/parley/throttle"
)

// maxBodyBytes bounds every JSON request body.
const maxBodyBytes = 64 << 10

// TokenIssuer issues the short-lived tokens that open a WebSocket session.
type TokenIssuer interface {
	IssueJoin(roomID, role string) (string, time.Time, error)
}

// Config configures a Server.
type Config struct {
	Rooms     rooms.Store  // required
	Tokens    TokenIssuer  // required
	WebSocket http.Handler // required: serves GET /ws
	Web       fs.FS        // required: the web client's files (index.html at the root)
	// OperatorToken authorises the room-management API (Bearer). "" turns that API off.
	OperatorToken string
	// PublicURL is the base of the links the API hands out, e.g. "https://meet.example.org".
	PublicURL string
	// OnRoomDeleted is called after a room is deleted, to end its live call.
	OnRoomDeleted func(roomID string)
	// Metrics, if set, serves GET /metrics; Debug, if set, serves
	// /debug/pprof/. Both must already be access-guarded.
	Metrics http.Handler
	Debug   http.Handler
	// Backup, if set, serves GET /api/v1/backup to the operator: a hot,
	// consistent copy of the database.
	Backup Backuper
	// SMTP names the server outgoing mail goes through, for the operator's
	// outbox; "" when none is configured and mail waits in the outbox.
	SMTP string
	// ClientAddrs finds each request's client address (behind trusted
	// proxies) for the throttle, the logs and the metrics guard; nil means
	// the socket's address.
	ClientAddrs *clientaddr.Resolver
	// JoinRate and JoinBurst throttle failed join-link look-ups (and bad
	// operator tokens) per client address (IPv6: per /64), so links cannot
	// be guessed: defaults 1 a second, burst 20. A look-up that finds its
	// room always succeeds, whatever its address failed before.
	JoinRate  float64
	JoinBurst int
	Logger    *slog.Logger
	Now       func() time.Time

	// Groups configures group sign-up, the administrator's console,
	// group users' rooms and endpoint registration (issue #12);
	// Groups.Store nil turns those routes off.
	Groups GroupConfig
	// Guests configures guest links and guests' joins (issue #13,
	// guests.go); Guests.Store nil turns them off.
	Guests GuestConfig

	// Invitations configures invitations to a call by e-mail and text
	// message (issue #13, invitations.go);
	// Invitations.Store nil turns those routes off.
	Invitations InvitationConfig

	// Bookings configures booked meetings (issue #14, bookingconfig.go);
	// Bookings.Store nil turns those routes off.
	Bookings BookingConfig
}

// Server is the HTTP handler for everything parley serves.
type Server struct {
	// set at construction
	cfg     Config
	log     *slog.Logger
	mux     *http.ServeMux
	handler http.Handler // mux behind the client-address middleware

	guesses *throttle.Throttle[netip.Prefix] // failed credentials per clientaddr.Key
	grp     *groupState                      // the groups API's state (signup.go); nil when off
	bk      *bookingState                    // booked meetings' (bookings.go); nil when off
}

// New returns a Server. It fails if a required field is missing or the web
// client files lack index.html.
func New(cfg Config) (*Server, error) {
	if cfg.Rooms == nil || cfg.Tokens == nil || cfg.WebSocket == nil || cfg.Web == nil {
		return nil, errors.New("api: Rooms, Tokens, WebSocket and Web are required")
	}
	if _, err := fs.Stat(cfg.Web, "index.html"); err != nil {
		return nil, fmt.Errorf("api: web client has no index.html: %w", err)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{
		cfg:     cfg,
		log:     cfg.Logger,
		mux:     http.NewServeMux(),
		guesses: throttle.New[netip.Prefix](throttle.Config{Rate: cfg.JoinRate, Burst: cfg.JoinBurst, Now: cfg.Now}),
	}
	s.handler = cfg.ClientAddrs.Middleware(s.mux)
	if err := s.initGroups(); err != nil {
		return nil, err
	}
	s.initBookings()
	if gc := cfg.Guests; gc.Store != nil && (gc.Tokens == nil || len(gc.Key) < rooms.MinGuestKeyLen) {
		return nil, errors.New("api: Guests.Tokens and a Guests.Key of 32 bytes are required with Guests.Store")
	}
	s.routes()
	return s, nil
}

func (s *Server) routes() {
	s.pages() // "/", /signup, /activate/{token}, /admin, /group, /endpoint: api/pages.go
	s.mux.HandleFunc("GET /r/{link}", s.serveIndex)
	s.mux.HandleFunc("GET /call/{id}", s.serveIndex)  // a direct call between endpoints (webclient/static/directcall.js)
	s.mux.HandleFunc("GET /guest/call", s.serveIndex) // a guest's call, joined from /g/{token} (webclient/static/guestcall.js)
	s.mux.Handle("GET /assets/", http.StripPrefix("/assets/", http.FileServerFS(s.cfg.Web)))
	s.mux.Handle("GET /ws", s.cfg.WebSocket)
	if s.cfg.Metrics != nil {
		s.mux.Handle("GET /metrics", s.cfg.Metrics)
	}
	if s.cfg.Debug != nil {
		s.mux.Handle("/debug/pprof/", s.cfg.Debug)
	}

	methods := map[string]bool{} // the methods of the API routes
	api := func(method, path string, h handlerFunc) {
		s.mux.HandleFunc(method+" "+path, s.handle(h))
		methods[method] = true
	}
	api("GET", "/api/v1/health", s.health)
	api("POST", "/api/v1/join", s.join)
	api("GET", "/api/v1/rooms", s.operator(s.listRooms))
	api("POST", "/api/v1/rooms", s.operator(s.createRoom))
	api("GET", "/api/v1/rooms/{name}", s.operator(s.getRoom))
	api("DELETE", "/api/v1/rooms/{name}", s.operator(s.deleteRoom))
	api("GET", "/api/v1/backup", s.operator(s.backup))
	s.bookingRoutes(api) // bookings.go, coordinator.go
	s.groupRoutes(api)
	s.outboxRoutes(api)
	s.guestRoutes(api) // guests.go
	s.invitationRoutes(api)
	s.bookingTableRoutes(api) // bookingtable.go, calendar.go
	s.meetingRoutes(api)      // meetings.go
	s.mux.HandleFunc(apiFallback, s.handle(s.notRouted(methods)))
}

// apiFallback is the pattern of every API path without a route.
const apiFallback = "/api/"

// notRouted answers the API requests no route took: a known API path with
// another method gets 405 with Allow, an unknown one 404, both as JSON
// errors. The mux itself says which methods have a route at the path
// (ServeMux.Handler of the request under each method the API uses), so
// wildcard and literal patterns may share a path, as GET
// /api/v1/guest/{token} and POST /api/v1/guest/join do.
func (s *Server) notRouted(methods map[string]bool) handlerFunc {
	order := make([]string, 0, len(methods))
	for m := range methods {
		order = append(order, m)
	}
	rank := func(m string) int { // GET, POST, PUT, PATCH, DELETE, then others
		if i := slices.Index([]string{"GET", "POST", "PUT", "PATCH", "DELETE"}, m); i >= 0 {
			return i
		}
		return 5
	}
	slices.SortFunc(order, func(a, b string) int { return cmp.Or(cmp.Compare(rank(a), rank(b)), cmp.Compare(a, b)) })
	return func(w http.ResponseWriter, r *http.Request) error {
		var allow []string
		for _, m := range order {
			probe := &http.Request{Method: m, URL: r.URL, Host: r.Host, Header: http.Header{}}
			if _, pattern := s.mux.Handler(probe); pattern != "" && pattern != apiFallback {
				allow = append(allow, m)
			}
		}
		if len(allow) == 0 {
			return errNotFound
		}
		list := strings.Join(allow, ", ")
		w.Header().Set("Allow", list)
		return &apiError{status: http.StatusMethodNotAllowed, code: "method-not-allowed", msg: r.Method + " is not allowed here; use " + list}
	}
}

// ServeHTTP resolves the client address, sets the security headers and
// routes the request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self' ws: wss:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
	h.Set("Permissions-Policy", "camera=(self), microphone=(self), display-capture=(self)")
	s.handler.ServeHTTP(w, r)
}

func (s *Server) serveIndex(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-cache")
	http.ServeFileFS(w, r, s.cfg.Web, "index.html")
}

// handlerFunc is an HTTP handler that returns its error for writeError.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

func (s *Server) handle(h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	}
}

// operatorOr serves a literal path that shadows an operator route with a
// {name} wildcard: a request with the operator's bearer token gets op,
// with {name} set to name, and any other h. So the room named
// "guest-link" stays the operator's at GET /api/v1/rooms/guest-link,
// beside the call members' route of that path.
func (s *Server) operatorOr(op handlerFunc, name string, h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if s.isOperator(r) {
			r.SetPathValue("name", name)
			return op(w, r)
		}
		return h(w, r)
	}
}

// isOperator reports whether r carries the operator's bearer token.
func (s *Server) isOperator(r *http.Request) bool {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && s.cfg.OperatorToken != "" && auth.Equal(token, s.cfg.OperatorToken)
}

// operator wraps h so it runs only with the operator's bearer token.
func (s *Server) operator(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if s.cfg.OperatorToken == "" {
			return errForbidden
		}
		if !s.isOperator(r) {
			if wait, ok := s.guesses.Failed(clientKey(r)); !ok {
				return rateLimited(wait)
			}
			return errUnauthorized
		}
		return h(w, r)
	}
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// JoinRequest is the body of POST /api/v1/join.
type JoinRequest struct {
	Link string `json:"link,omitempty"`
	// Room is a group room's ID, for a registered endpoint (endpoint.go).
	Room string `json:"room,omitempty"`
}

// JoinResponse answers POST /api/v1/join.
type JoinResponse struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expiresAt"`
	Room      RoomInfo  `json:"room"`
	WSPath    string    `json:"wsPath"`
	// Name is the name a registered endpoint joins under (endpoint.go).
	Name string `json:"name,omitempty"`
}

// RoomInfo is what a joiner learns of a room.
type RoomInfo struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

func (s *Server) join(w http.ResponseWriter, r *http.Request) error {
	var req JoinRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	if handled, err := s.groupJoin(w, r, req); handled {
		return err
	}
	link := strings.TrimSpace(req.Link)
	if link == "" {
		return badRequest("link is required")
	}
	// Only look-ups that miss spend the address's allowance, and a link
	// that is right is never refused: a whole office behind one NAT
	// address may join at once, even after someone there mistyped, while
	// a guesser runs out of misses.
	room, err := s.cfg.Rooms.RoomByLink(r.Context(), link)
	if errors.Is(err, rooms.ErrRoomNotFound) {
		if wait, ok := s.guesses.Failed(clientKey(r)); !ok {
			return rateLimited(wait)
		}
	}
	if err != nil {
		return fmt.Errorf("look up join link: %w", err)
	}
	token, exp, err := s.cfg.Tokens.IssueJoin(room.ID, "member")
	if err != nil {
		return fmt.Errorf("issue join token: %w", err)
	}
	return writeJSON(w, http.StatusOK, JoinResponse{
		Token:     token,
		ExpiresAt: exp.UTC(),
		Room:      RoomInfo{ID: room.ID, Name: room.Name},
		WSPath:    "/ws",
	})
}

// RoomView is a room as the operator API shows it.
type RoomView struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Link      string    `json:"link"`
	URL       string    `json:"url"`
	CreatedAt time.Time `json:"createdAt"`
	// Members is a group room's member list (endpoint IDs); left out
	// when empty, which means every endpoint of the group.
	Members []string `json:"members,omitempty"`
}

func (s *Server) view(rm *rooms.Room) RoomView {
	return RoomView{ID: rm.ID, Name: rm.Name, Link: rm.Link, URL: rm.URL(s.cfg.PublicURL), CreatedAt: rm.CreatedAt, Members: rm.Members}
}

func (s *Server) listRooms(w http.ResponseWriter, r *http.Request) error {
	all, err := s.cfg.Rooms.Rooms(r.Context())
	if err != nil {
		return fmt.Errorf("list rooms: %w", err)
	}
	out := make([]RoomView, 0, len(all))
	for _, rm := range all {
		out = append(out, s.view(rm))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"rooms": out})
}

// CreateRoomRequest is the body of POST /api/v1/rooms.
type CreateRoomRequest struct {
	Name string `json:"name"`
}

func (s *Server) createRoom(w http.ResponseWriter, r *http.Request) error {
	var req CreateRoomRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	rm, err := rooms.New(req.Name, s.cfg.Now())
	if err != nil {
		return err
	}
	if err := s.cfg.Rooms.CreateRoom(r.Context(), rm); err != nil {
		return fmt.Errorf("create room: %w", err)
	}
	s.log.Info("room created", "room", rm.Name, "id", rm.ID)
	return writeJSON(w, http.StatusCreated, s.view(rm))
}

func (s *Server) getRoom(w http.ResponseWriter, r *http.Request) error {
	rm, err := s.cfg.Rooms.RoomByName(r.Context(), r.PathValue("name"))
	if err != nil {
		return fmt.Errorf("get room: %w", err)
	}
	return writeJSON(w, http.StatusOK, s.view(rm))
}

func (s *Server) deleteRoom(w http.ResponseWriter, r *http.Request) error {
	rm, err := s.cfg.Rooms.RoomByName(r.Context(), r.PathValue("name"))
	if err != nil {
		return fmt.Errorf("delete room: %w", err)
	}
	if err := s.cfg.Rooms.DeleteRoom(r.Context(), rm.ID); err != nil {
		return fmt.Errorf("delete room: %w", err)
	}
	if s.cfg.OnRoomDeleted != nil {
		s.cfg.OnRoomDeleted(rm.ID)
	}
	s.log.Info("room deleted", "room", rm.Name, "id", rm.ID)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// readJSON decodes one JSON object from the body into v, refusing unknown
// fields, trailing data and bodies over maxBodyBytes.
func readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return &apiError{status: http.StatusUnsupportedMediaType, code: "unsupported-media-type", msg: "send Content-Type: application/json"}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return &apiError{status: http.StatusRequestEntityTooLarge, code: "too-large", msg: fmt.Sprintf("request body over %d bytes", maxBodyBytes)}
		}
		return decodeError(err, v)
	}
	if err := dec.Decode(&struct{}{}); err != io.EOF {
		return badRequest("request body has data after the JSON object")
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

// clientKey is the throttle key of r's client: its address as
// clientaddr.Middleware resolved it, aggregated to /64 for IPv6.
func clientKey(r *http.Request) netip.Prefix {
	return clientaddr.Key(clientaddr.FromRequest(r))
}
