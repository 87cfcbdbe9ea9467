// Package client is a Go client for parley. It joins a room exactly as the
// browser client does, over the network only: POST /api/v1/join for a
// token, then the WebSocket protocol of docs/protocol.md, with a Pion
// PeerConnection carrying the media. Integration tests and parley-load use it.
package client

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
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"github.com/parley-dev/parley/signaling/protocol"
)

// Version is the signaling protocol version the client speaks: 1, in
// which it publishes on its one connection (docs/protocol.md).
const Version = 1

// Config says where and how to join.
type Config struct {
	BaseURL      string // e.g. "http://127.0.0.1:8080"
	Link         string // the room's link id (the last part of /r/<link>)
	Name         string
	PublishAudio bool
	PublishVideo bool
	Logger       *slog.Logger
	// OnTrack is called for each remote track; participantID is the
	// publisher. It runs on a Pion goroutine: read the track there or hand
	// it off.
	OnTrack func(participantID string, track *webrtc.TrackRemote)
	// API builds the PeerConnection; nil means a default with Opus, VP8 and
	// the default interceptors. parley-load shares one across clients.
	API *webrtc.API
	// HTTPClient makes the join request; nil means http.DefaultClient.
	// parley-load gives each client one bound to its own loopback source
	// address, as distinct users would have.
	HTTPClient *http.Client
	// OnKeyframeRequest, if set, is called when the server asks for a
	// keyframe (RTCP PLI or FIR) on the published video. It runs on the
	// goroutine draining the video sender's RTCP and must not block.
	OnKeyframeRequest func()
	// Room is a group room's ID, joined as the registered endpoint whose
	// session HTTPClient holds (see Register); Link is then not needed,
	// and the server names the participant (Name is ignored).
	Room string
	// Token, if set, is a join token got another way (a direct call's
	// call-accepted token); Join then skips the HTTP join and uses /ws.
	Token string
	// Header, if set, is sent with the WebSocket upgrade (tests behind a
	// trusted proxy give each client its own X-Forwarded-For address).
	Header http.Header
}

// ErrClosed is returned by calls on a closed Client.
var ErrClosed = errors.New("client closed")

// Client is one participant.
type Client struct {
	// set at construction
	cfg   Config
	log   *slog.Logger
	wsURL string
	pc    *webrtc.PeerConnection
	Audio *webrtc.TrackLocalStaticRTP // nil unless PublishAudio; write RTP here to publish
	Video *webrtc.TrackLocalStaticRTP // nil unless PublishVideo

	// ID is the participant id the server gave this client.
	ID string
	// Opened is when the WebSocket connection was established.
	Opened time.Time

	writeMu sync.Mutex      // serializes WebSocket writes; held to replace conn
	conn    *websocket.Conn // the current WebSocket; replaced by Resume under writeMu and mu

	mu           sync.Mutex // guards the fields below, and conn (with writeMu)
	participants map[string]protocol.Participant
	self         protocol.Participant // this client's own record, as the server last sent it
	call         protocol.CallState
	errors       []protocol.Error
	warnings     []protocol.CallWarning
	bye          string
	published    bool
	pending      []webrtc.ICECandidateInit // remote candidates before the first offer
	changed      chan struct{}             // closed and replaced on every change
	closed       bool
	reading      bool // readLoop was started
	resumeToken  string
	history      []string // what the server said about others, in order; at most maxHistory
	localPorts   []int    // UDP ports of this client's host candidates, for Vanish

	done chan struct{} // closed when the current connection's read loop ends; replaced by Resume
}

// maxHistory bounds State.History.
const maxHistory = 1000

// Join joins the room and returns once the server has answered with
// joined; media negotiation then continues in the background.
func Join(ctx context.Context, cfg Config) (*Client, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	token, wsPath, name := cfg.Token, "/ws", ""
	if token == "" {
		var err error
		if token, wsPath, name, err = fetchToken(ctx, cfg.HTTPClient, cfg.BaseURL, cfg.Link, cfg.Room); err != nil {
			return nil, err
		}
	}
	if name != "" {
		cfg.Name = name
	}
	wsURL, err := websocketURL(cfg.BaseURL, wsPath)
	if err != nil {
		return nil, err
	}
	conn, _, err := websocket.DefaultDialer.DialContext(ctx, wsURL, cfg.Header)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", wsURL, err)
	}
	opened := time.Now()
	c := &Client{
		Opened:       opened,
		wsURL:        wsURL,
		cfg:          cfg,
		log:          cfg.Logger,
		conn:         conn,
		participants: make(map[string]protocol.Participant),
		changed:      make(chan struct{}),
		done:         make(chan struct{}),
	}
	if err := c.setupPeer(); err != nil {
		conn.Close()
		return nil, err
	}
	if err := c.write(protocol.Join{
		Type:    protocol.TypeJoin,
		Version: Version,
		Token:   token,
		Name:    cfg.Name,
		Publish: protocol.Publish{Audio: cfg.PublishAudio, Video: cfg.PublishVideo},
	}); err != nil {
		c.Close()
		return nil, err
	}
	joined, err := c.readJoined(ctx)
	if err != nil {
		c.Close()
		return nil, err
	}
	c.ID = joined.ParticipantID
	for _, p := range joined.Participants {
		c.participants[p.ID] = p
	}
	c.self = protocol.Participant{ID: joined.ParticipantID, Name: cfg.Name, Role: joined.Role,
		AudioMuted: !cfg.PublishAudio, VideoMuted: !cfg.PublishVideo}
	c.call = joined.Call
	c.resumeToken = joined.ResumeToken
	c.mu.Lock()
	c.reading = true
	c.mu.Unlock()
	go c.readLoop(conn, c.done)
	return c, nil
}

// fetchToken exchanges a room link (or, for a registered endpoint, a
// group room's ID) for a join token, and the name the server gives an
// endpoint.
func fetchToken(ctx context.Context, hc *http.Client, base, link, room string) (token, wsPath, name string, err error) {
	if hc == nil {
		hc = http.DefaultClient
	}
	req0 := map[string]string{"link": link}
	if room != "" {
		req0 = map[string]string{"room": room}
	}
	body, _ := json.Marshal(req0)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(base, "/")+"/api/v1/join", bytes.NewReader(body))
	if err != nil {
		return "", "", "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return "", "", "", fmt.Errorf("join link: %w", err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return "", "", "", fmt.Errorf("join link: %s: %s", resp.Status, strings.TrimSpace(string(data)))
	}
	var jr struct {
		Token  string `json:"token"`
		WSPath string `json:"wsPath"`
		Name   string `json:"name"`
	}
	if err := json.Unmarshal(data, &jr); err != nil {
		return "", "", "", fmt.Errorf("join link: malformed answer: %w", err)
	}
	return jr.Token, jr.WSPath, jr.Name, nil
}

func websocketURL(base, path string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("base URL: %w", err)
	}
	switch u.Scheme {
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	default:
		return "", fmt.Errorf("base URL %q is not http(s)", base)
	}
	u.Path = path
	return u.String(), nil
}

// APIOptions shape the webrtc.API that NewAPI builds.
type APIOptions struct {
	// Networks the ICE agent may use; nil means UDP over IPv4 only.
	Networks []webrtc.NetworkType
	// LoopbackOnly gathers candidates on loopback addresses only.
	LoopbackOnly bool
}

// NewAPI returns a webrtc.API with Opus, VP8 and the default interceptors
// (NACK, RTCP reports, TWCC), as a browser has them, which gathers
// loopback candidates too and no mDNS ones.
func NewAPI(o APIOptions) (*webrtc.API, error) {
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		return nil, err
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(me, ir); err != nil {
		return nil, err
	}
	if o.Networks == nil {
		o.Networks = []webrtc.NetworkType{webrtc.NetworkTypeUDP4}
	}
	n, err := newCutoffNet()
	if err != nil {
		return nil, fmt.Errorf("network: %w", err)
	}
	se := webrtc.SettingEngine{}
	se.SetNet(n) // so that Vanish can cut the media off
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes(o.Networks)
	if o.LoopbackOnly {
		se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se)), nil
}

// DefaultAPI is NewAPI with the default options.
func DefaultAPI() (*webrtc.API, error) { return NewAPI(APIOptions{}) }

func (c *Client) setupPeer() error {
	api := c.cfg.API
	if api == nil {
		var err error
		if api, err = DefaultAPI(); err != nil {
			return fmt.Errorf("webrtc api: %w", err)
		}
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return fmt.Errorf("new peer connection: %w", err)
	}
	c.pc = pc
	if c.cfg.PublishAudio {
		c.Audio, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "parley")
		if err != nil {
			return err
		}
	}
	if c.cfg.PublishVideo {
		c.Video, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "video", "parley")
		if err != nil {
			return err
		}
	}
	pc.OnICECandidate(func(cand *webrtc.ICECandidate) {
		if cand == nil {
			return
		}
		if cand.Typ == webrtc.ICECandidateTypeHost && cand.Protocol == webrtc.ICEProtocolUDP {
			c.mu.Lock()
			c.localPorts = append(c.localPorts, int(cand.Port))
			c.mu.Unlock()
		}
		init := cand.ToJSON()
		c.write(protocol.Candidate{Type: protocol.TypeCandidate, Candidate: protocol.ICECandidate{
			Candidate: init.Candidate, SDPMid: init.SDPMid, SDPMLineIndex: init.SDPMLineIndex, UsernameFragment: init.UsernameFragment,
		}})
	})
	pc.OnTrack(func(track *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
		go drainRTCP(recv)
		if c.cfg.OnTrack != nil {
			c.cfg.OnTrack(track.StreamID(), track)
		}
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		c.log.Debug("client peer state", "participant", c.ID, "state", s)
		c.notify()
	})
	return nil
}

func drainRTCP(r *webrtc.RTPReceiver) {
	buf := make([]byte, 1500)
	for {
		if _, _, err := r.Read(buf); err != nil {
			return
		}
	}
}

// readJoined reads until the joined message, failing on an error message.
func (c *Client) readJoined(ctx context.Context) (*protocol.Joined, error) {
	if dl, ok := ctx.Deadline(); ok {
		c.conn.SetReadDeadline(dl)
		defer c.conn.SetReadDeadline(time.Time{})
	}
	for {
		_, data, err := c.conn.ReadMessage()
		if err != nil {
			return nil, fmt.Errorf("waiting for joined: %w", err)
		}
		msg, perr := protocol.Decode(data)
		if perr != nil {
			return nil, fmt.Errorf("waiting for joined: server sent %s", perr.Message)
		}
		switch m := msg.(type) {
		case *protocol.Joined:
			return m, nil
		case *protocol.Error:
			return nil, fmt.Errorf("join refused: %s: %s", m.Code, m.Message)
		case *protocol.Bye:
			return nil, fmt.Errorf("join refused: bye %s", m.Reason)
		}
	}
}

func (c *Client) write(msg any) error {
	data, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if err := c.conn.WriteMessage(websocket.TextMessage, data); err != nil {
		return fmt.Errorf("send %T: %w", msg, err)
	}
	return nil
}

// readLoop handles the server messages of conn until it ends, then
// closes done.
func (c *Client) readLoop(conn *websocket.Conn, done chan struct{}) {
	defer c.notify()
	defer close(done)
	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			c.log.Debug("client connection ended", "participant", c.ID, "err", err)
			return
		}
		msg, perr := protocol.Decode(data)
		if perr != nil {
			c.log.Warn("client: undecodable server message", "err", perr.Message)
			continue
		}
		if err := c.handle(msg); err != nil {
			c.log.Warn("client: handling server message", "participant", c.ID, "err", err)
		}
	}
}

func (c *Client) handle(msg any) error {
	switch m := msg.(type) {
	case *protocol.Offer:
		return c.handleOffer(m)
	case *protocol.Candidate:
		return c.handleCandidate(m)
	case *protocol.ParticipantJoined:
		c.update(func() {
			c.participants[m.Participant.ID] = m.Participant
			c.record("joined " + m.Participant.ID)
		})
	case *protocol.ParticipantUpdated:
		c.update(func() {
			if m.Participant.ID != c.ID {
				c.participants[m.Participant.ID] = m.Participant
				c.record("updated " + m.Participant.ID + " " + m.Participant.Connection)
			} else {
				c.self = m.Participant
			}
		})
	case *protocol.CallUpdated:
		c.update(func() { c.call = m.Call })
	case *protocol.ParticipantLeft:
		c.update(func() {
			delete(c.participants, m.ParticipantID)
			c.record("left " + m.ParticipantID + " " + m.Reason)
		})
	case *protocol.Error:
		c.update(func() { c.errors = append(c.errors, *m) })
	case *protocol.CallWarning:
		c.update(func() {
			if len(c.warnings) < maxHistory {
				c.warnings = append(c.warnings, *m)
			}
		})
	case *protocol.Bye:
		c.update(func() { c.bye = m.Reason })
	}
	return nil
}

func (c *Client) handleOffer(m *protocol.Offer) error {
	if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: m.SDP}); err != nil {
		return fmt.Errorf("apply offer: %w", err)
	}
	c.mu.Lock()
	first := !c.published
	c.published = true
	pending := c.pending
	c.pending = nil
	c.mu.Unlock()
	if first {
		for _, t := range []*webrtc.TrackLocalStaticRTP{c.Audio, c.Video} {
			if t == nil {
				continue
			}
			sender, err := c.pc.AddTrack(t)
			if err != nil {
				return fmt.Errorf("publish %s: %w", t.Kind(), err)
			}
			var onKeyframe func()
			if t == c.Video {
				onKeyframe = c.cfg.OnKeyframeRequest
			}
			go drainSender(sender, onKeyframe)
		}
	}
	for _, cand := range pending {
		if err := c.pc.AddICECandidate(cand); err != nil {
			c.log.Debug("client: add candidate", "err", err)
		}
	}
	answer, err := c.pc.CreateAnswer(nil)
	if err != nil {
		return fmt.Errorf("create answer: %w", err)
	}
	if err := c.pc.SetLocalDescription(answer); err != nil {
		return fmt.Errorf("set answer: %w", err)
	}
	return c.write(protocol.Answer{Type: protocol.TypeAnswer, SDP: answer.SDP})
}

func (c *Client) handleCandidate(m *protocol.Candidate) error {
	init := webrtc.ICECandidateInit{
		Candidate: m.Candidate.Candidate, SDPMid: m.Candidate.SDPMid,
		SDPMLineIndex: m.Candidate.SDPMLineIndex, UsernameFragment: m.Candidate.UsernameFragment,
	}
	c.mu.Lock()
	if !c.published {
		c.pending = append(c.pending, init)
		c.mu.Unlock()
		return nil
	}
	c.mu.Unlock()
	return c.pc.AddICECandidate(init)
}

// drainSender reads a sender's RTCP until it stops, calling onKeyframe (if
// not nil) for each PLI (RFC 4585 §6.3.1) or FIR (RFC 5104 §4.3.1).
func drainSender(s *webrtc.RTPSender, onKeyframe func()) {
	buf := make([]byte, 1500)
	for {
		n, _, err := s.Read(buf)
		if err != nil {
			return
		}
		if onKeyframe == nil {
			continue
		}
		pkts, err := rtcp.Unmarshal(buf[:n])
		if err != nil {
			continue
		}
		for _, p := range pkts {
			switch p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				onKeyframe()
			}
		}
	}
}

// record adds an entry to the history; c.mu held.
func (c *Client) record(entry string) {
	if len(c.history) < maxHistory {
		c.history = append(c.history, entry)
	}
}

// update runs f under the lock and wakes waiters.
func (c *Client) update(f func()) {
	c.mu.Lock()
	f()
	c.mu.Unlock()
	c.notify()
}

func (c *Client) notify() {
	c.mu.Lock()
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
}

// State is a snapshot of what the client knows.
type State struct {
	Participants map[string]protocol.Participant // everyone else
	Self         protocol.Participant            // this client, as the server last described it (role, mute state)
	Call         protocol.CallState              // e.g. whether a host locked the call
	Errors       []protocol.Error
	Warnings     []protocol.CallWarning // the call's warnings that it ends soon, in order
	Bye          string                 // reason of the server's bye, if any
	PeerState    webrtc.PeerConnectionState
	Closed       bool // the current WebSocket has ended
	// History is what the server said about the others, in order:
	// "joined ID", "updated ID CONNECTION", "left ID REASON" (the first
	// 1000 entries).
	History []string
}

// State returns a snapshot.
func (c *Client) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	ps := make(map[string]protocol.Participant, len(c.participants))
	for k, v := range c.participants {
		ps[k] = v
	}
	st := State{Participants: ps, Self: c.self, Call: c.call, Errors: append([]protocol.Error(nil), c.errors...),
		Warnings: append([]protocol.CallWarning(nil), c.warnings...), Bye: c.bye, PeerState: c.pc.ConnectionState(),
		History: append([]string(nil), c.history...)}
	select {
	case <-c.done:
		st.Closed = true
	default:
	}
	return st
}

// Wait blocks until cond holds for the client's state, or ctx ends.
func (c *Client) Wait(ctx context.Context, cond func(State) bool) error {
	for {
		c.mu.Lock()
		ch := c.changed
		c.mu.Unlock()
		if cond(c.State()) {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("client %s: %w", c.ID, ctx.Err())
		}
	}
}

// WaitConnected waits for the media connection to be up.
func (c *Client) WaitConnected(ctx context.Context) error {
	return c.Wait(ctx, func(s State) bool { return s.PeerState == webrtc.PeerConnectionStateConnected })
}

// SetMute reports the client's mute state to the others.
func (c *Client) SetMute(audio, video bool) error {
	return c.write(protocol.Mute{Type: protocol.TypeMute, AudioMuted: audio, VideoMuted: video})
}

// RemoteSDP returns the server's latest offer as applied, "" before the
// first (tests read its m-lines).
func (c *Client) RemoteSDP() string {
	if d := c.pc.RemoteDescription(); d != nil {
		return d.SDP
	}
	return ""
}

// Send writes any message to the server (tests use it for bad input).
func (c *Client) Send(msg any) error { return c.write(msg) }

// Done is closed when the current server connection has ended.
func (c *Client) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.done
}

// Leave says goodbye and closes the client.
func (c *Client) Leave() error {
	err := c.write(protocol.Leave{Type: protocol.TypeLeave})
	select {
	case <-c.Done():
	case <-time.After(3 * time.Second):
	}
	return errors.Join(err, c.Close())
}

// Vanish closes the client as a lost network would, with no word to the
// server: the TCP connection under the WebSocket ends without a close
// frame or leave, and the media sockets are cut off before the
// PeerConnection closes, so no DTLS close_notify reaches the server
// either. Tests use it to check that the server cleans up after a
// participant on its own. It waits for the read loop to end first:
// Pion's Close can hang if the media sockets close while an offer is
// being applied.
//
// With an API built by NewAPI the sockets stay open but pass nothing
// (see cutoffNet): closing them, or stopping the ICE transport, under a
// PeerConnection that receives two or more tracks can make Pion's Close
// hang for ever. With another API, Vanish stops the ICE transport, and
// takes that risk.
func (c *Client) Vanish() error {
	c.mu.Lock()
	conn, done, reading, ports := c.conn, c.done, c.reading, c.localPorts
	c.mu.Unlock()
	err := conn.Close()
	if reading {
		<-done
	}
	if c.pc != nil && !cutOff(ports) {
		err = errors.Join(err, c.pc.SCTP().Transport().ICETransport().Stop())
	}
	return errors.Join(err, c.Close())
}

// Close drops the connection and the media without saying goodbye.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	reading := c.reading
	conn, done := c.conn, c.done
	c.mu.Unlock()
	err := conn.Close()
	if c.pc != nil {
		err = errors.Join(err, c.pc.Close())
	}
	if reading {
		<-done
	}
	return err
}
