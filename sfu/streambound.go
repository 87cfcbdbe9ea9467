package sfu

import (
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/pion/interceptor"
	"github.com/pion/transport/v5/packetio"
	"github.com/pion/webrtc/v4"
)

// Pion's SRTP layer makes a read stream, with its own buffer, for every
// SSRC a client names: in an RTP header, or as the destination of an RTCP
// packet (each report block of a receiver report names one). A stream for
// an SSRC nothing was negotiated for is never read, and Pion keeps it,
// filling with every later packet for that SSRC, until the PeerConnection
// closes: the undeclared RTCP streams in PeerConnection's
// undeclaredRTCPMediaProcessor, the undeclared RTP ones (and their RTCP
// twins) in DTLSTransport's simulcast streams, even when probing them fails.
// So each peer has its own webrtc.API whose SettingEngine.BufferFactory
// counts the peer's live streams, makes their buffers small, and ends the
// peer when a client names more SSRCs than its transceivers can explain.
const (
	// rtpStreamBuffer bounds one RTP read stream's buffer, as Pion's
	// default does. A negotiated stream is read continuously.
	rtpStreamBuffer = 1000 * 1000
	// rtcpStreamBuffer bounds one RTCP read stream's buffer. Ours are read
	// continuously (the down-tracks' readRTCP, Pion's receivers), so a few
	// dozen compound packets is plenty; Pion's default is 100 kB.
	rtcpStreamBuffer = 16 << 10

	// baseStreams, streamsPerTransceiver and streamsPerReuse make the
	// bound on a peer's live read streams: baseStreams, plus
	// streamsPerTransceiver for each of its transceivers, plus
	// streamsPerReuse each time a transceiver gets a new sender. A
	// transceiver explains at most three streams at once (its sender's
	// RTCP; its receiver's RTP and RTCP). A sender's SSRC outlives it: the
	// client's reports name it until it applies the next offer, and Pion
	// keeps the stream a late report makes until the PeerConnection
	// closes, so each sender the server replaces may leave one such
	// stream behind, which streamsPerReuse allows for (the first sender's
	// is in streamsPerTransceiver). Such a stream of one of the last
	// maxRetired stopped senders gets a discardBuffer and no slot (see
	// retire); the allowance is for older ones. The allowance grows only with what the
	// server sends the client, never with what the client sends. The base
	// covers SSRCs browsers name outside any m-line (RTCP feedback with
	// media SSRC 0 or 1, probing padding) with a wide margin. A client can
	// make a peer hold at most this many buffers, each bounded above.
	baseStreams           = 64
	streamsPerTransceiver = 4
	streamsPerReuse       = 2
)

// apiParts are what every peer's webrtc.API is built from; set once by
// New, read-only afterwards. The MediaEngine is copied by each
// PeerConnection, the interceptor Registry builds a fresh chain for each,
// and the SettingEngine is a value each peer's API copies.
type apiParts struct {
	me *webrtc.MediaEngine
	ir *interceptor.Registry
	se webrtc.SettingEngine
}

// newAPI returns a webrtc.API whose read-stream buffers come from b.
func (a *apiParts) newAPI(b *streamBudget) *webrtc.API {
	se := a.se
	se.BufferFactory = b.newBuffer
	return webrtc.NewAPI(
		webrtc.WithMediaEngine(a.me),
		webrtc.WithInterceptorRegistry(a.ir),
		webrtc.WithSettingEngine(se),
	)
}

// maxRetired is how many of a peer's stopped senders' SSRCs are
// remembered (see streamBudget.retire): enough for the tracks that leave a
// room while a client takes its time over one offer, 1 kB per peer.
const maxRetired = 256

// streamBudget counts one peer's live SRTP and SRTCP read streams. Pion
// calls newBuffer from its SRTP read loop, once per new stream; the
// stream's Close closes the buffer, which gives the slot back.
type streamBudget struct {
	allowed atomic.Int64 // the bound beyond baseStreams: raised by the peer (allow) as it adds transceivers and senders
	live    atomic.Int64 // buffers made and not yet closed
	over    atomic.Bool  // the bound was passed: set once
	onOver  func(error)  // called once, on the goroutine of the newBuffer call that passed the bound; must not block or call into Pion synchronously

	mu      sync.Mutex // guards retired and next
	retired []uint32   // SSRCs of the peer's stopped senders, the last maxRetired of them
	next    int        // where the next one goes once retired is full
}

// retire records that the sender with ssrc has stopped. A client goes on
// naming a stopped sender's SSRC in its receiver reports until it applies
// the next offer, and the first such report makes Pion open a new RTCP
// read stream for it, which nothing reads and which Pion keeps, with what
// was written to it, until the PeerConnection closes: at least 2 kB a
// departed track on a long-lived connection. The stream of a retired SSRC
// gets a discardBuffer instead.
func (b *streamBudget) retire(ssrc uint32) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.retired) < maxRetired {
		b.retired = append(b.retired, ssrc)
		return
	}
	b.retired[b.next] = ssrc
	b.next = (b.next + 1) % maxRetired
}

// unretire forgets ssrc, which a new sender of the peer has drawn, should
// it be a retired one, so that the new sender's RTCP is read.
func (b *streamBudget) unretire(ssrc uint32) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, s := range b.retired {
		if s == ssrc {
			b.retired[i] = 0 // Pion never draws SSRC 0
		}
	}
}

// isRetired reports whether ssrc is a stopped sender's.
func (b *streamBudget) isRetired(ssrc uint32) bool {
	if ssrc == 0 {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Contains(b.retired, ssrc)
}

// limit returns the bound on live streams.
func (b *streamBudget) limit() int64 { return baseStreams + b.allowed.Load() }

// allow raises the bound by n streams.
func (b *streamBudget) allow(n int64) { b.allowed.Add(n) }

// newBuffer is the SettingEngine.BufferFactory. Past the bound it returns
// a closed buffer, so the stream takes nothing (writes fail, reads end)
// and the peer, which onOver ends, holds no more memory for it.
func (b *streamBudget) newBuffer(t packetio.BufferPacketType, ssrc uint32) io.ReadWriteCloser {
	if t == packetio.RTCPBufferPacket && b.isRetired(ssrc) {
		return discardBuffer{}
	}
	buf := packetio.NewBuffer()
	if n := b.live.Add(1); n > b.limit() {
		b.live.Add(-1)
		_ = buf.Close()
		if b.over.CompareAndSwap(false, true) && b.onOver != nil {
			b.onOver(fmt.Errorf("%w: ssrc %d would be read stream %d, the limit is %d",
				ErrTooManyStreams, ssrc, n, b.limit()))
		}
		return &streamBuffer{Buffer: buf}
	}
	size := rtpStreamBuffer
	if t == packetio.RTCPBufferPacket {
		size = rtcpStreamBuffer
	}
	buf.SetLimitSize(size)
	return &streamBuffer{Buffer: buf, budget: b}
}

// streamBuffer is a packetio.Buffer as SRTP wants it: an io.ReadWriteCloser
// that also carries packet attributes. Its first Close gives its slot back
// to budget (nil for a buffer made past the bound, which holds none).
type streamBuffer struct {
	*packetio.Buffer
	budget *streamBudget
	once   sync.Once
}

func (s *streamBuffer) Read(p []byte) (int, error) {
	n, _, err := s.Buffer.Read(p, nil)
	return n, err
}

func (s *streamBuffer) Write(p []byte) (int, error) { return s.Buffer.Write(p, nil) }

// ReadWithAttributes and WriteWithAttributes keep the attributes SRTP
// passes along with each packet.
func (s *streamBuffer) ReadWithAttributes(p []byte, a packetio.Attributes) (int, packetio.Attributes, error) {
	return s.Buffer.Read(p, a)
}

func (s *streamBuffer) WriteWithAttributes(p []byte, a packetio.Attributes) (int, error) {
	return s.Buffer.Write(p, a)
}

func (s *streamBuffer) Close() error {
	s.once.Do(func() {
		if s.budget != nil {
			s.budget.live.Add(-1)
		}
	})
	return s.Buffer.Close()
}

// discardBuffer is the buffer of a read stream nothing will read: the
// RTCP stream Pion opens for a retired sender's SSRC (see
// streamBudget.retire). Writes succeed and keep nothing, so that SRTP goes
// on to deliver the rest of the compound packet (a write error would drop
// it); reads end at once. It holds no slot of the budget: what a client
// can make a peer open with it is bounded by the senders the server made.
type discardBuffer struct{}

func (discardBuffer) Read([]byte) (int, error)    { return 0, io.EOF }
func (discardBuffer) Write(p []byte) (int, error) { return len(p), nil }
func (discardBuffer) Close() error                { return nil }
