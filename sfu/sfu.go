package sfu

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
)

// Config configures an SFU. The zero value is usable: free ports, host
// candidates from local addresses, ICE-TCP enabled, 500ms PLI throttle.
type Config struct {
	UDPPort     int           // the ONE UDP port all media uses (ICE UDP mux, one dual-stack socket on [::], or 0.0.0.0 on a host without IPv6). 0 picks a free port.
	TCPPort     int           // ICE-TCP passive fallback port, dual-stack like UDPPort. 0 picks a free port; -1 disables ICE-TCP.
	PublicIPs   []string      // if set, announced as host candidates instead of local addresses (SetNAT1To1IPs, host type), IPv4 and/or IPv6; only the families given are announced
	Loopback    bool          // include loopback candidates (local use and tests)
	PLIInterval time.Duration // minimum gap between keyframe requests (PLI) sent to one publisher track; 0 means 500ms
	Logger      *slog.Logger  // nil means slog.Default()
	// WrapTCPListener, if set, wraps the ICE-TCP listener before the mux
	// accepts on it: the caller bounds connections per client address and
	// in all there (connections arrive before any authentication), since
	// sfu knows nothing of clients.
	WrapTCPListener func(net.Listener) net.Listener
}

const defaultPLIInterval = 500 * time.Millisecond

// SFU is the media server: one webrtc.API and the shared media sockets.
// Create Routers with NewRouter and peers with Router.AddPeer.
type SFU struct {
	// Set at construction, read-only afterwards.
	log         *slog.Logger
	pliInterval time.Duration
	api         apiParts // each peer builds its own webrtc.API from these (see streamBudget)
	udpConn     *net.UDPConn
	batch       *batchConn // udpConn as the mux sees it
	udpMux      ice.UDPMux
	v4, v6      bool             // the address families candidates are announced for
	tcpLn       *net.TCPListener // nil when ICE-TCP is disabled
	tcpMux      ice.TCPMux       // nil when ICE-TCP is disabled

	// wg counts every goroutine sfu starts (see spawn); Close waits on it.
	wg sync.WaitGroup

	mu      sync.Mutex // guards the fields below
	routers map[*Router]struct{}
	closed  bool

	stats      sfuStats
	statsMu    sync.Mutex            // guards liveTracks and stats.total
	liveTracks map[*upTrack]struct{} // up-tracks whose counters Stats must add
}

// New binds the media sockets and builds what every PeerConnection's
// webrtc.API is made of: a MediaEngine with Opus and VP8 only, NACK, RTCP report
// and TWCC interceptors (see newInterceptors), and a SettingEngine using
// the shared muxes.
func New(cfg Config) (*SFU, error) {
	s := &SFU{
		log:         cfg.Logger,
		pliInterval: cfg.PLIInterval,
		routers:     make(map[*Router]struct{}),
		liveTracks:  make(map[*upTrack]struct{}),
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.pliInterval <= 0 {
		s.pliInterval = defaultPLIInterval
	}
	lf := newPionLoggerFactory(s.log, nil)

	// With no IP, "udp" and "tcp" listen on [::] with IPV6_V6ONLY off
	// (IPv4 peers arrive IPv4-mapped), or on 0.0.0.0 if the host has
	// no IPv6.
	var err error
	s.udpConn, err = net.ListenUDP("udp", &net.UDPAddr{Port: cfg.UDPPort})
	if err != nil {
		return nil, fmt.Errorf("sfu: listen udp :%d: %w", cfg.UDPPort, err)
	}
	s.v4, s.v6 = announcedFamilies(cfg.PublicIPs, s.UDPAddr().IP.To4() == nil)
	if !s.v4 && !s.v6 {
		_ = s.udpConn.Close()
		return nil, fmt.Errorf("sfu: public IPs %v: all IPv6, and this host has no IPv6", cfg.PublicIPs)
	}
	s.batch = newBatchConn(s.udpConn)
	s.udpMux = webrtc.NewICEUDPMux(lf.NewLogger("udpmux"), s.batch)
	if len(cfg.PublicIPs) > 0 {
		s.udpMux = familyMux{UDPMux: s.udpMux, v4: s.v4, v6: s.v6, loopback: cfg.Loopback}
	}
	if cfg.TCPPort >= 0 {
		s.tcpLn, err = net.ListenTCP("tcp", &net.TCPAddr{Port: cfg.TCPPort})
		if err != nil {
			_ = s.udpMux.Close()
			_ = s.udpConn.Close()
			return nil, fmt.Errorf("sfu: listen tcp :%d: %w", cfg.TCPPort, err)
		}
		var ln net.Listener = s.tcpLn
		if cfg.WrapTCPListener != nil {
			ln = cfg.WrapTCPListener(ln)
		}
		s.tcpMux = webrtc.NewICETCPMux(lf.NewLogger("tcpmux"), ln, 8)
	}

	s.api, err = s.newAPI(cfg, lf)
	if err != nil {
		s.closeSockets()
		return nil, err
	}
	s.log.Info("sfu started", "udp", s.UDPAddr().String(), "tcp", s.TCPAddr())
	return s, nil
}

func (s *SFU) newAPI(cfg Config, lf pionLoggerFactory) (apiParts, error) {
	me := &webrtc.MediaEngine{}
	videoFB := []webrtc.RTCPFeedback{
		{Type: webrtc.TypeRTCPFBGoogREMB},
		{Type: webrtc.TypeRTCPFBCCM, Parameter: "fir"},
	}
	codecs := []struct {
		p    webrtc.RTPCodecParameters
		kind webrtc.RTPCodecType
	}{
		{webrtc.RTPCodecParameters{
			RTPCodecCapability: webrtc.RTPCodecCapability{
				MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
				SDPFmtpLine: "minptime=10;useinbandfec=1",
			},
			PayloadType: 111,
		}, webrtc.RTPCodecTypeAudio},
		{webrtc.RTPCodecParameters{
			RTPCodecCapability: webrtc.RTPCodecCapability{
				MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: videoFB,
			},
			PayloadType: 96,
		}, webrtc.RTPCodecTypeVideo},
	}
	for _, c := range codecs {
		if err := me.RegisterCodec(c.p, c.kind); err != nil {
			return apiParts{}, fmt.Errorf("sfu: register codec %s: %w", c.p.MimeType, err)
		}
	}

	ir, err := newInterceptors(me, lf)
	if err != nil {
		return apiParts{}, err
	}

	se := webrtc.SettingEngine{LoggerFactory: lf}
	se.SetICEUDPMux(s.udpMux)
	var networks []webrtc.NetworkType
	if s.v4 {
		networks = append(networks, webrtc.NetworkTypeUDP4)
	}
	if s.v6 {
		networks = append(networks, webrtc.NetworkTypeUDP6)
	}
	if s.tcpMux != nil {
		se.SetICETCPMux(s.tcpMux)
		if s.v4 {
			networks = append(networks, webrtc.NetworkTypeTCP4)
		}
		if s.v6 {
			networks = append(networks, webrtc.NetworkTypeTCP6)
		}
	}
	se.SetNetworkTypes(networks)
	se.SetIncludeLoopbackCandidate(cfg.Loopback)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	if len(cfg.PublicIPs) > 0 {
		se.SetNAT1To1IPs(cfg.PublicIPs, webrtc.ICECandidateTypeHost)
	}
	return apiParts{me: me, ir: ir, se: se}, nil
}

// announcedFamilies returns the address families host candidates are
// announced for: those of publicIPs if any are given, else IPv4 and, if
// the socket is dual-stack, IPv6.
func announcedFamilies(publicIPs []string, dualStack bool) (v4, v6 bool) {
	if len(publicIPs) == 0 {
		return true, dualStack
	}
	for _, ip := range publicIPs {
		if a, err := netip.ParseAddr(ip); err == nil {
			v4 = v4 || a.Unmap().Is4()
			v6 = v6 || !a.Unmap().Is4()
		}
	}
	return v4, v6 && dualStack
}

// familyMux is the UDP mux announcing only the local addresses of the
// chosen families, when Config.PublicIPs gives only some: Pion keeps a
// local address whose family no public IP replaces. Pion's agent skips
// loopback addresses itself only for its own mux type, so familyMux does
// it too.
type familyMux struct {
	ice.UDPMux
	v4, v6, loopback bool
}

func (m familyMux) GetListenAddresses() []net.Addr {
	var out []net.Addr
	for _, a := range m.UDPMux.GetListenAddresses() {
		ua, ok := a.(*net.UDPAddr)
		if !ok || ua.IP.IsLoopback() && !m.loopback {
			continue
		}
		if is4 := ua.IP.To4() != nil; is4 && m.v4 || !is4 && m.v6 {
			out = append(out, a)
		}
	}
	return out
}

// UDPAddr returns the bound media UDP address.
func (s *SFU) UDPAddr() *net.UDPAddr {
	a, _ := s.udpConn.LocalAddr().(*net.UDPAddr)
	return a
}

// TCPAddr returns the bound ICE-TCP address, or nil when ICE-TCP is
// disabled.
func (s *SFU) TCPAddr() *net.TCPAddr {
	if s.tcpLn == nil {
		return nil
	}
	a, _ := s.tcpLn.Addr().(*net.TCPAddr)
	return a
}

// NewRouter returns a new, empty Router. Tracks are forwarded between the
// peers of one router only. After Close it returns a closed router whose
// AddPeer fails with ErrClosed.
func (s *SFU) NewRouter(name string) *Router {
	r := &Router{
		sfu:   s,
		name:  name,
		log:   s.log.With("router", name),
		peers: make(map[string]*Peer),
	}
	s.mu.Lock()
	if s.closed {
		r.closed = true
	} else {
		s.routers[r] = struct{}{}
		s.stats.routers.Add(1)
	}
	s.mu.Unlock()
	return r
}

// Close closes every router and peer, waits for all goroutines the SFU
// started, then closes the sockets. It is idempotent. It must not be called
// from inside a PeerConfig callback.
func (s *SFU) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	routers := make([]*Router, 0, len(s.routers))
	for r := range s.routers {
		routers = append(routers, r)
	}
	s.routers = nil
	s.stats.routers.Add(-int64(len(routers)))
	s.mu.Unlock()

	for _, r := range routers {
		r.close(true)
	}
	s.wg.Wait()
	err := s.closeSockets()
	s.log.Info("sfu closed")
	return err
}

func (s *SFU) closeSockets() error {
	var errs []error
	if s.tcpMux != nil {
		errs = append(errs, s.tcpMux.Close())
	}
	errs = append(errs, s.udpMux.Close())
	if s.tcpLn != nil {
		if err := s.tcpLn.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	if err := s.udpConn.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (s *SFU) forgetRouter(r *Router) {
	s.mu.Lock()
	if _, ok := s.routers[r]; ok {
		delete(s.routers, r)
		s.stats.routers.Add(-1)
	}
	s.mu.Unlock()
}

// spawn runs f in a new goroutine counted by s.wg, unless the SFU is
// closed, in which case it returns false and f does not run. Every
// goroutine sfu starts goes through spawn, so Close can wait for them.
func (s *SFU) spawn(f func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
	return true
}

// isClosedErr reports whether err says the PeerConnection was closed:
// normal when a peer leaves while something is in flight, so not worth a
// warning.
func isClosedErr(err error) bool {
	return errors.Is(err, webrtc.ErrConnectionClosed)
}
