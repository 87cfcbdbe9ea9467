package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/parley-dev/parley/api"
	"github.com/parley-dev/parley/auth"
	"github.com/parley-dev/parley/bookings/office"
	"github.com/parley-dev/parley/clientaddr"
	"github.com/parley-dev/parley/connlimit"
	"github.com/parley-dev/parley/livecall"
	"github.com/parley-dev/parley/livecall/callrules"
	"github.com/parley-dev/parley/mail"
	"github.com/parley-dev/parley/metrics"
	"github.com/parley-dev/parley/rooms"
	"github.com/parley-dev/parley/rooms/store"
	"github.com/parley-dev/parley/sfu"
	"github.com/parley-dev/parley/signaling"
	"github.com/parley-dev/parley/signaling/protocol"
	"github.com/parley-dev/parley/sms"
	"github.com/parley-dev/parley/webclient"
)

// Defaults for parley serve.
const (
	defaultListen  = ":8080"
	defaultDataDir = "./data"
	// defaultMediaPort is the one UDP port (and ICE-TCP port) all media uses.
	defaultMediaPort = 8189
)

// Config is everything parley serve is told. Its zero value is not used
// directly: flags fill it with the defaults above.
type Config struct {
	Listen       string               // HTTP(S) listen address
	DataDir      string               // holds parley.db and operator.json
	UDPPort      int                  // media UDP port; 0 picks a free one
	TCPPort      int                  // ICE-TCP port; 0 picks a free one, -1 disables
	PublicIPs    []string             // announced in ICE candidates (servers behind 1:1 NAT)
	PublicURL    string               // base of join links; derived from Listen when ""
	ICEServers   []protocol.ICEServer // STUN/TURN handed to clients
	TLSCert      string
	TLSKey       string
	WebclientDir string // serve the web client from disk instead of the embedded copy
	LogLevel     slog.Level
	Metrics      metrics.Access // who may read /metrics (and /debug/pprof/)
	PProf        bool           // serve /debug/pprof/
	// TrustedProxies are the reverse proxies whose X-Forwarded-For or
	// Forwarded headers give the client address; none: the socket's.
	TrustedProxies []netip.Prefix
	// Conns bounds the HTTP connections accepted (per client address and
	// in all); zero values are connlimit's defaults.
	Conns connlimit.Config
	// Signaling holds the WebSocket timeouts and limits (JoinTimeout,
	// MaxUnjoined…); Run fills in the rest. Zero values are signaling's
	// defaults, except MaxUnjoined: a quarter of the connection total.
	Signaling signaling.Config
	// Groups holds the groups API's settings (MinPasswordLen,
	// DefaultLimits, throttles); Run fills in the store, tokens, sessions
	// and presence. Zero values are api's defaults.
	Groups api.GroupConfig
	// SMTP is the server outgoing mail goes through. With no Host, none:
	// mail stays in the outbox for the operator (parley outbox).
	SMTP mail.SMTPConfig
	// MailClock is the mail dispatcher's clock; nil: the real one.
	MailClock mail.Clock
	// GuestLinkTTL is how long an invitation's guest link works; zero:
	// rooms.DefaultGuestLinkTTL.
	GuestLinkTTL time.Duration
	// RoomMaxParticipants is the most participants a room's call admits
	// (a group room's is also at most its group's participant limit);
	// zero: defaultRoomMax.
	RoomMaxParticipants int
	// NoMemberWait is how long a call of guests without a member lasts
	// (the 10-minute rule); zero: callrules.DefaultNoMemberWait.
	NoMemberWait time.Duration
	// SMS is how invitations by text message are sent (sms.go).
	SMS SMSConfig
	// Invitations configures invitations to a call: the rate limits
	// (Run fills in the rest).
	Invitations api.InvitationConfig
	// Bookings are the booked meetings' settings (bookings.go).
	Bookings BookingSettings
}

// defaultRoomMax is --room-max-participants' default.
const defaultRoomMax = 50

// Main is a running parley server: built by NewMain, started by Run,
// stopped by Close. Tests run the same Main on 127.0.0.1:0.
type Main struct {
	// set at construction
	cfg Config
	log *slog.Logger

	// set by Run
	db       *store.DB
	sfu      *sfu.SFU
	sig      *signaling.Server
	http     *http.Server
	ln       net.Listener
	url      string // the public base URL of links
	localURL string // where this machine reaches the server
	opFile   string
	served   chan error
	metrics  *metrics.Metrics
	mail     *mailDispatch // nil without SMTP
	sms      *smsDispatch  // nil without an SMS gateway

	stopSweep context.CancelFunc // ends the sweeper of expired sign-ups
	swept     chan struct{}      // closed when the sweeper has ended
	refresher *office.Refresher  // mails booked series' new links (bookings.go)
}

// NewMain returns a Main for cfg.
func NewMain(cfg Config, log *slog.Logger) *Main {
	if log == nil {
		log = slog.Default()
	}
	return &Main{cfg: cfg, log: log}
}

// Run opens the database, starts the media server and the HTTP server,
// and returns once it is serving. Close stops it.
func (m *Main) Run(ctx context.Context) (err error) {
	defer func() {
		if err != nil {
			m.Close()
		}
	}()
	if (m.cfg.TLSCert == "") != (m.cfg.TLSKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	dbPath := filepath.Join(m.cfg.DataDir, "parley.db")
	m.db, err = store.Open(dbPath, store.Options{OnMailQueued: m.MailQueued, OnTextQueued: m.TextQueued})
	if err != nil {
		if errors.Is(err, store.ErrLocked) {
			return fmt.Errorf("data directory %s is in use by another parley process: %w", m.cfg.DataDir, err)
		}
		return fmt.Errorf("open database: %w", err)
	}
	key, err := m.db.SigningKey()
	if err != nil {
		return fmt.Errorf("load signing key: %w", err)
	}
	tokens, err := auth.NewTokens(auth.TokenConfig{Key: key})
	if err != nil {
		return fmt.Errorf("token signer: %w", err)
	}
	proxies := clientaddr.NewResolver(m.cfg.TrustedProxies)
	conns := m.cfg.Conns
	conns.Exempt = proxies.Trusted
	if conns.Total <= 0 {
		conns.Total = connlimit.DefaultTotal()
	}
	media := mediaTCPLimits(conns)
	m.sfu, err = sfu.New(sfu.Config{
		UDPPort:   m.cfg.UDPPort,
		TCPPort:   m.cfg.TCPPort,
		PublicIPs: m.cfg.PublicIPs,
		Loopback:  len(m.cfg.PublicIPs) == 0,
		Logger:    m.log.With("component", "sfu"),
		// ICE-TCP connections arrive before any authentication.
		WrapTCPListener: func(ln net.Listener) net.Listener { return connlimit.NewListener(ln, media) },
	})
	if err != nil {
		return fmt.Errorf("start media server: %w", err)
	}
	sigCfg := m.cfg.Signaling
	sigCfg.SFU, sigCfg.Tokens, sigCfg.Rooms = m.sfu, tokens, m.db
	// Booked meetings' calls (meetings.go), on the meeting clock (the
	// calls' clock: a test's fake clock drives it all); host keys are
	// checked with the groups' Verifier (its cap).
	meetingClock := m.meetingClock()
	verifier := m.cfg.Groups.Verifier
	if verifier == nil {
		verifier = auth.NewVerifier(auth.VerifierConfig{})
	}
	var bookingStore rooms.BookingStore = m.db
	sigCfg.Rooms = meetingRooms{rooms: m.db, bookings: bookingStore}
	if sigCfg.HostKeys == nil {
		sigCfg.HostKeys = newHostKeyChecker(bookingStore, verifier, meetingClock, m.roomMax())
	}
	if sigCfg.Directory, err = newEndpointDirectory(m.db, key); err != nil { // endpoints and direct calls
		return err
	}
	sigCfg.ICEServers = m.cfg.ICEServers
	sigCfg.Logger = m.log.With("component", "signaling")
	sigCfg.OnJoined = func(d time.Duration) { m.metrics.ObserveJoin(d) }
	sigCfg.Invitations = invitationJoins{db: m.db, log: m.log.With("component", "invitations")}
	if sigCfg.MaxUnjoined <= 0 {
		sigCfg.MaxUnjoined = max(conns.Total/4, 16)
	}
	if sigCfg.Policy == nil { // the rules of meeting rooms' calls (issue #13)
		sigCfg.Policy = func(room *rooms.Room) livecall.Policy {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			if isMeetingID(room.ID) { // issue #14
				return meetingPolicy(ctx, bookingStore, room, m.roomLimit(ctx, room), m.log)
			}
			return callrules.New(callrules.Config{NoMemberWait: m.cfg.NoMemberWait, MaxParticipants: m.roomLimit(ctx, room)})
		}
	}
	m.sig, err = signaling.New(sigCfg)
	if err != nil {
		return err
	}
	web, err := webclient.Files(m.cfg.WebclientDir)
	if err != nil {
		return fmt.Errorf("web client: %w", err)
	}

	ln, err := net.Listen("tcp", m.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", m.cfg.Listen, err)
	}
	m.ln = connlimit.NewListener(ln, conns)
	scheme := "http"
	if m.cfg.TLSCert != "" {
		scheme = "https"
	}
	m.localURL = localURL(scheme, m.ln.Addr())
	m.url = strings.TrimRight(m.cfg.PublicURL, "/")
	if m.url == "" {
		m.url = m.localURL
	}
	if err := m.db.SetPublicURL(m.url); err != nil {
		return fmt.Errorf("record public URL: %w", err)
	}
	m.metrics = newMetrics(func() *signaling.Server { return m.sig }, func() metrics.MediaStats { return mediaStats(m.sfu) })
	var debug http.Handler
	if m.cfg.PProf {
		debug = metrics.Guard(m.cfg.Metrics, pprofHandler())
	}
	opToken := auth.RandomToken(32)
	sessions, err := auth.NewSessions(auth.SessionConfig{Key: key})
	if err != nil {
		return fmt.Errorf("session signer: %w", err)
	}
	groups := m.cfg.Groups
	// The SMS dispatcher, like the mail one, starts before the first
	// request; the API names its gateway.
	if m.sms, err = m.startSMS(); err != nil {
		return err
	}
	invitations := m.cfg.Invitations
	invitations.Store, invitations.Verifier, invitations.Key = m.db, tokens, key
	invitations.SMSStatusSecret, invitations.SMSGateway = m.cfg.SMS.StatusSecret, m.sms.gatewayName()
	invitations.LinkTTL = m.cfg.GuestLinkTTL
	groups.Store, groups.Tokens, groups.Sessions, groups.Presence = m.db, tokens, sessions, m.sig
	groups.Verifier = verifier
	guests := api.GuestConfig{Store: m.db, Key: key, Tokens: tokens, TTL: m.cfg.GuestLinkTTL, RoomLimit: m.roomLimit, CallSize: m.sig.CallSize}
	booked, err := m.bookingConfig(ctx) // bookings.go
	if err != nil {
		return err
	}
	handler, err := api.New(api.Config{
		Rooms:         m.db,
		Backup:        m.db,
		SMTP:          smtpName(m.cfg.SMTP),
		Tokens:        tokens,
		WebSocket:     m.sig,
		Web:           web,
		OperatorToken: opToken,
		PublicURL:     m.url,
		OnRoomDeleted: func(id string) { m.sig.EndCall(id, protocol.ReasonRoomDeleted) },
		Metrics:       metrics.Guard(m.cfg.Metrics, m.metrics.Handler()),
		Debug:         debug,
		ClientAddrs:   proxies,
		Logger:        m.log.With("component", "api"),
		Groups:        groups,
		Guests:        guests,
		Invitations:   invitations,
		Bookings:      booked,
	})
	if err != nil {
		return err
	}
	sweepCtx, stopSweep := context.WithCancel(context.Background())
	m.stopSweep, m.swept = stopSweep, make(chan struct{})
	go func() { defer close(m.swept); handler.RunSweeper(sweepCtx) }()
	m.http = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(m.log.Handler(), slog.LevelDebug),
	}
	if scheme == "https" {
		cert, err := tls.LoadX509KeyPair(m.cfg.TLSCert, m.cfg.TLSKey)
		if err != nil {
			return fmt.Errorf("load TLS certificate: %w", err)
		}
		m.http.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		m.ln = tls.NewListener(m.ln, m.http.TLSConfig)
	}
	// The dispatcher starts before the first request, which may queue
	// mail and tell it (MailQueued, through the store's OnMailQueued).
	if m.mail, err = m.startMail(); err != nil {
		return err
	}
	m.startRefresher(booked)
	m.served = make(chan error, 1)
	go func() { m.served <- m.http.Serve(m.ln) }()

	m.opFile = filepath.Join(m.cfg.DataDir, operatorFileName)
	if err := writeOperatorFile(m.opFile, operatorInfo{URL: m.localURL, Token: opToken, PID: os.Getpid()}); err != nil {
		return fmt.Errorf("write operator file: %w", err)
	}
	attrs := []any{"url", m.url, "listen", m.ln.Addr().String(), "media_udp", m.sfu.UDPAddr().String(), "data", m.cfg.DataDir}
	if a := m.sfu.TCPAddr(); a != nil {
		attrs = append(attrs, "media_tcp", a.String())
	}
	m.log.Info("parley serving", attrs...)
	return nil
}

// mediaTCPLimits bounds the ICE-TCP media connections, which arrive
// before any authentication: a quarter of the HTTP total (each joined
// participant on ICE-TCP holds one), and an eighth of that per client
// address (at least 8), so one address cannot take them all. Media comes
// straight from clients, never through the HTTP proxies, so none is exempt.
func mediaTCPLimits(http connlimit.Config) connlimit.Config {
	total := max(http.Total/4, 32)
	return connlimit.Config{Total: total, PerClient: max(total/8, 8)}
}

// Wait blocks until ctx ends or the HTTP server fails.
func (m *Main) Wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return nil
	case err := <-m.served:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("http server: %w", err)
	}
}

// URL is the base URL of join links.
func (m *Main) URL() string { return m.url }

// LocalURL is where a client on this machine reaches the server.
func (m *Main) LocalURL() string { return m.localURL }

// DB is the server's database, for tests and the CLI.
func (m *Main) DB() *store.DB { return m.db }

// Close tells participants the server is stopping, closes their
// connections, stops the media server and closes the database.
func (m *Main) Close() error {
	var errs []error
	if m.opFile != "" {
		if err := os.Remove(m.opFile); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if m.stopSweep != nil {
		m.stopSweep()
		<-m.swept
	}
	if m.refresher != nil {
		m.refresher.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if m.sig != nil {
		if err := m.sig.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if m.http != nil {
		if err := m.http.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("http shutdown: %w", err))
		}
	} else if m.ln != nil {
		m.ln.Close()
	}
	m.mail.stop()
	m.sms.stop()
	if m.sfu != nil {
		if err := m.sfu.Close(); err != nil {
			errs = append(errs, fmt.Errorf("media server: %w", err))
		}
	}
	if m.db != nil {
		if err := m.db.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close database: %w", err))
		}
	}
	m.log.Info("parley stopped")
	return errors.Join(errs...)
}

// CreateRoom creates a room and returns it with its join URL.
func (m *Main) CreateRoom(ctx context.Context, name string) (*rooms.Room, string, error) {
	rm, err := rooms.New(name, time.Now())
	if err != nil {
		return nil, "", err
	}
	if err := m.db.CreateRoom(ctx, rm); err != nil {
		return nil, "", err
	}
	return rm, rm.URL(m.url), nil
}

// localURL turns a listen address into a URL reachable from this machine.
func localURL(scheme string, addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return scheme + "://" + addr.String()
	}
	ip := net.ParseIP(host)
	if ip == nil || ip.IsUnspecified() || ip.IsLoopback() {
		host = "localhost"
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// runServe parses serve's flags and runs the server until ctx ends.
func runServe(ctx context.Context, args []string, stderr io.Writer) error {
	cfg, err := parseServeFlags(args, stderr, os.LookupEnv)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	m := NewMain(cfg, log)
	if err := m.Run(ctx); err != nil {
		return err
	}
	err = m.Wait(ctx)
	log.Info("shutting down")
	return errors.Join(err, m.Close())
}

// parseServeFlags builds a Config from flags, falling back to PARLEY_*
// environment variables, then to the defaults.
func parseServeFlags(args []string, stderr io.Writer, env func(string) (string, bool)) (Config, error) {
	fs := flag.NewFlagSet("parley serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	str := func(name, def, help string) *string {
		if v, ok := env(envName(name)); ok {
			def = v
		}
		return fs.String(name, def, help+" (env "+envName(name)+")")
	}
	listen := str("listen", defaultListen, "HTTP listen address")
	data := str("data", defaultDataDir, "data directory (holds parley.db)")
	udpPort := str("udp-port", strconv.Itoa(defaultMediaPort), "UDP port for all media (ICE UDP mux)")
	tcpPort := str("tcp-port", "", "ICE-TCP fallback port; default: the UDP port number; -1 disables")
	publicIP := str("public-ip", "", "comma-separated public IPs announced in ICE candidates (for 1:1 NAT)")
	publicURL := str("public-url", "", "base URL of join links, e.g. https://meet.example.org (default: from --listen)")
	iceServers := str("ice-servers", "", `STUN/TURN servers for clients: comma-separated URLs, or a JSON array of {"urls":[...],"username":"...","credential":"..."}`)
	tlsCert := str("tls-cert", "", "TLS certificate file (PEM); serves HTTPS")
	tlsKey := str("tls-key", "", "TLS private key file (PEM)")
	webDir := str("webclient-dir", "", "serve the web client from this directory instead of the embedded copy (development)")
	logLevel := str("log-level", "info", "how much to log: debug, info, warn or error")
	metricsAccess := str("metrics", "loopback", "who may read /metrics: loopback, off, any, or comma-separated networks (CIDR)")
	metricsToken := str("metrics-token", "", "bearer token that also admits /metrics (and /debug/pprof/) from any address")
	trustedProxies := str("trusted-proxies", "", "comma-separated reverse proxies (CIDR networks or addresses) whose X-Forwarded-For/Forwarded headers give the client address; default none: the socket's address")
	minPassword := str("min-password-length", strconv.Itoa(rooms.MinPasswordLen), "shortest password a group administrator may choose (at least 5)")
	groupEndpoints := str("group-endpoints", strconv.Itoa(rooms.DefaultLimits.Endpoints), "a new group's limit of endpoints (members and room systems)")
	groupRooms := str("group-rooms", strconv.Itoa(rooms.DefaultLimits.Rooms), "a new group's limit of rooms")
	groupParticipants := str("group-participants", strconv.Itoa(rooms.DefaultLimits.Participants), "a new group's limit of participants in its rooms at once")
	pprofDefault := false
	if v, ok := env(envName("pprof")); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return Config{}, fmt.Errorf("%s: %q is not true or false", envName("pprof"), v)
		}
		pprofDefault = b
	}
	smtpHost := str("smtp-host", "", "SMTP server for outgoing mail; default none: mail waits in the outbox (parley outbox)")
	smtpPort := str("smtp-port", "", "SMTP port (default 587, or 465 with --smtp-tls tls)")
	smtpTLS := str("smtp-tls", "starttls", "SMTP encryption: starttls (required), tls (implicit, port 465), opportunistic, or none (only to localhost)")
	smtpUser := str("smtp-user", "", "SMTP user name (AUTH)")
	// Not str: its environment value would show as the default in -h.
	smtpPassword := fs.String("smtp-password", "", "SMTP password; prefer --smtp-password-file or the environment, which ps does not show (env PARLEY_SMTP_PASSWORD)")
	smtpPasswordFile := str("smtp-password-file", "", "file holding the SMTP password (one line)")
	mailFrom := str("mail-from", "", `sender of outgoing mail, e.g. parley@example.org or "Parley <parley@example.org>"`)
	guestTTL := str("guest-link-ttl", rooms.DefaultGuestLinkTTL.String(), "how long the guest link of an emailed or texted invitation works (e.g. 24h, 90m)")
	roomMax := str("room-max-participants", strconv.Itoa(defaultRoomMax), "the most participants in one room's call; a group room's is also at most its group's participant limit")
	smsURL := str("sms-url", "", "SMS gateway (https URL) invitations by text message are POSTed to; default none: they wait in the outbox (parley outbox sms)")
	// Secrets: not str, whose environment value would show as the default in -h.
	smsAuth := fs.String("sms-auth-header", "", `header sent to the SMS gateway, e.g. "Authorization: Bearer KEY"; prefer the environment, which ps does not show (env PARLEY_SMS_AUTH_HEADER)`)
	smsBody := str("sms-body-template", "", "the SMS gateway request body, a Go template with {{.To}} {{.Text}} {{.ID}} (JSON-escaped); default "+sms.DefaultBodyTemplate)
	smsSecret := fs.String("sms-status-secret", "", "secret the SMS gateway's delivery reports to /api/v1/sms/status carry (Authorization: Bearer); default none: reports are refused (env PARLEY_SMS_STATUS_SECRET)")
	invPerMember := str("invitations-per-member", strconv.Itoa(rooms.DefaultInvitationLimits.PerMember), "invitations one member may send in an hour")
	invPerRoom := str("invitations-per-room", strconv.Itoa(rooms.DefaultInvitationLimits.PerRoom), "invitations one room may send in an hour")
	bookingFlags := defineBookingFlags(str) // bookings.go
	pprofOn := fs.Bool("pprof", pprofDefault, "serve Go profiles at /debug/pprof/, to the same clients as /metrics (env PARLEY_PPROF)")
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("serve takes no arguments, got %q", fs.Args())
	}
	cfg := Config{
		Listen:       *listen,
		DataDir:      *data,
		PublicURL:    *publicURL,
		TLSCert:      *tlsCert,
		TLSKey:       *tlsKey,
		WebclientDir: *webDir,
	}
	var err error
	if cfg.UDPPort, err = parsePort(*udpPort, false); err != nil {
		return Config{}, fmt.Errorf("--udp-port: %w", err)
	}
	cfg.TCPPort = cfg.UDPPort
	if *tcpPort != "" {
		if cfg.TCPPort, err = parsePort(*tcpPort, true); err != nil {
			return Config{}, fmt.Errorf("--tcp-port: %w", err)
		}
	}
	if cfg.PublicIPs, err = parseIPs(*publicIP); err != nil {
		return Config{}, fmt.Errorf("--public-ip: %w", err)
	}
	if cfg.ICEServers, err = parseICEServers(*iceServers); err != nil {
		return Config{}, fmt.Errorf("--ice-servers: %w", err)
	}
	if cfg.Metrics, err = metrics.ParseAccess(*metricsAccess, *metricsToken); err != nil {
		return Config{}, fmt.Errorf("--metrics: %w", err)
	}
	cfg.PProf = *pprofOn
	if cfg.TrustedProxies, err = clientaddr.ParsePrefixes(*trustedProxies); err != nil {
		return Config{}, fmt.Errorf("--trusted-proxies: %w", err)
	}
	if err := cfg.LogLevel.UnmarshalText([]byte(*logLevel)); err != nil {
		return Config{}, fmt.Errorf("--log-level %q: want debug, info, warn or error", *logLevel)
	}
	if err := parseGroupFlags(&cfg.Groups, *minPassword, *groupEndpoints, *groupRooms, *groupParticipants); err != nil {
		return Config{}, err
	}
	if cfg.GuestLinkTTL, err = time.ParseDuration(strings.TrimSpace(*guestTTL)); err != nil || cfg.GuestLinkTTL < time.Minute {
		return Config{}, fmt.Errorf("--guest-link-ttl %q: want a duration of at least a minute, such as 24h or 90m", *guestTTL)
	}
	if cfg.RoomMaxParticipants, err = strconv.Atoi(strings.TrimSpace(*roomMax)); err != nil || cfg.RoomMaxParticipants < 2 {
		return Config{}, fmt.Errorf("--room-max-participants %q: want a whole number of at least 2", *roomMax)
	}
	if v, ok := env(envName("smtp-password")); ok && *smtpPassword == "" {
		*smtpPassword = v
	}
	if cfg.SMTP, err = parseSMTP(*smtpHost, *smtpPort, *smtpTLS, *smtpUser, *smtpPassword, *smtpPasswordFile, *mailFrom); err != nil {
		return Config{}, err
	}
	for name, v := range map[string]*string{"sms-auth-header": smsAuth, "sms-status-secret": smsSecret} {
		if e, ok := env(envName(name)); ok && *v == "" {
			*v = e
		}
	}
	if cfg.SMS, err = parseSMS(*smsURL, *smsAuth, *smsBody, *smsSecret); err != nil {
		return Config{}, err
	}
	if cfg.Invitations, err = parseInvitationFlags(*invPerMember, *invPerRoom); err != nil {
		return Config{}, err
	}
	if cfg.Bookings, err = bookingFlags.parse(); err != nil {
		return Config{}, err
	}
	if cfg.PublicURL != "" && !strings.HasPrefix(cfg.PublicURL, "http://") && !strings.HasPrefix(cfg.PublicURL, "https://") {
		return Config{}, fmt.Errorf("--public-url %q must start with http:// or https://", cfg.PublicURL)
	}
	return cfg, nil
}

func envName(flagName string) string {
	return "PARLEY_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func parsePort(s string, allowDisable bool) (int, error) {
	p, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("%q is not a port number", s)
	}
	if allowDisable && p == -1 {
		return -1, nil
	}
	if p < 0 || p > 65535 {
		return 0, fmt.Errorf("port %d is out of range 0-65535", p)
	}
	return p, nil
}

// parseIPs parses a comma-separated list of IPv4 and IPv6 addresses (an
// IPv6 one optionally in brackets) into their canonical forms.
func parseIPs(s string) ([]string, error) {
	var ips []string
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(f, "["), "]"))
		if err != nil {
			return nil, fmt.Errorf("%q is not an IP address", f)
		}
		if a.Zone() != "" {
			return nil, fmt.Errorf("%q has a zone: give an address others can reach", f)
		}
		ips = append(ips, a.Unmap().String())
	}
	return ips, nil
}

func parseICEServers(s string) ([]protocol.ICEServer, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	var out []protocol.ICEServer
	if strings.HasPrefix(s, "[") {
		if err := json.Unmarshal([]byte(s), &out); err != nil {
			return nil, fmt.Errorf("malformed JSON: %w", err)
		}
	} else {
		for _, u := range strings.Split(s, ",") {
			if u = strings.TrimSpace(u); u != "" {
				out = append(out, protocol.ICEServer{URLs: []string{u}})
			}
		}
	}
	for _, srv := range out {
		if len(srv.URLs) == 0 {
			return nil, errors.New("an ICE server has no urls")
		}
		for _, u := range srv.URLs {
			if !strings.HasPrefix(u, "stun:") && !strings.HasPrefix(u, "stuns:") && !strings.HasPrefix(u, "turn:") && !strings.HasPrefix(u, "turns:") {
				return nil, fmt.Errorf("%q is not a stun:, stuns:, turn: or turns: URL", u)
			}
		}
	}
	return out, nil
}

// parseGroupFlags reads the groups flags into gc.
func parseGroupFlags(gc *api.GroupConfig, minPassword, endpoints, roomsLimit, participants string) error {
	for _, f := range []struct {
		name string
		val  string
		min  int
		dst  *int
	}{
		{"min-password-length", minPassword, rooms.MinPasswordLen, &gc.MinPasswordLen},
		{"group-endpoints", endpoints, 1, &gc.DefaultLimits.Endpoints},
		{"group-rooms", roomsLimit, 1, &gc.DefaultLimits.Rooms},
		{"group-participants", participants, 1, &gc.DefaultLimits.Participants},
	} {
		n, err := strconv.Atoi(strings.TrimSpace(f.val))
		if err != nil || n < f.min {
			return fmt.Errorf("--%s %q: want a whole number of at least %d", f.name, f.val, f.min)
		}
		*f.dst = n
	}
	return nil
}

// roomLimit is the most participants room's call admits: the configured
// maximum, and for a group room at most its group's participant limit.
func (m *Main) roomLimit(ctx context.Context, room *rooms.Room) int {
	limit := m.roomMax()
	if room.GroupID == "" {
		return limit
	}
	g, err := m.db.Group(ctx, room.GroupID)
	if err != nil {
		m.log.Warn("room limit: the room's group", "room", room.ID, "err", err)
		return limit
	}
	if p := g.Limits.Participants; p > 0 {
		limit = min(limit, p)
	}
	return limit
}

// roomMax is the configured most participants of a call.
func (m *Main) roomMax() int {
	if m.cfg.RoomMaxParticipants > 0 {
		return m.cfg.RoomMaxParticipants
	}
	return defaultRoomMax
}
