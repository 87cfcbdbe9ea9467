package sfu

import (
	"testing"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// TestReceiveInterceptorsDoNotAllocate reads packets of a VP8 stream that
// negotiated NACK and transport-cc through the interceptors every
// PeerConnection gets, as an up-track's reader does.
func TestReceiveInterceptorsDoNotAllocate(t *testing.T) {
	if rtpHeaderKey == nil {
		t.Fatal("could not learn the interceptor package's RTP header key")
	}
	{
		ir, err := newInterceptors(&webrtc.MediaEngine{}, pionLoggerFactory{log: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		chain, err := ir.Build("test")
		if err != nil {
			t.Fatal(err)
		}
		pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SSRC: 42}, Payload: make([]byte, 1000)}
		_ = pkt.SetExtension(5, []byte{0, 0})
		raw := make([]byte, 1500)
		ext := make([]byte, 2) // transport-wide sequence number
		src := interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
			pkt.SequenceNumber++
			pkt.Timestamp += 3000
			ext[0], ext[1] = byte(pkt.SequenceNumber>>8), byte(pkt.SequenceNumber)
			_ = pkt.SetExtension(5, ext)
			n, err := pkt.MarshalTo(b)
			return n, a, err
		})
		info := &interceptor.StreamInfo{
			SSRC: 42, ClockRate: 90000, MimeType: webrtc.MimeTypeVP8, PayloadType: 96,
			RTCPFeedback:        []interceptor.RTCPFeedback{{Type: "nack"}},
			RTPHeaderExtensions: []interceptor.RTPHeaderExtension{{URI: sdp.TransportCCURI, ID: 5}},
		}
		// The feedback loops (TWCC's reads wait for it) write here.
		chain.BindRTCPWriter(interceptor.RTCPWriterFunc(func(p []rtcp.Packet, _ interceptor.Attributes) (int, error) {
			return 0, nil
		}))
		reader := chain.BindRemoteStream(info, src)
		for range 100 { // warm up
			_, _, _ = reader.Read(raw, nil)
		}
		allocs := testing.AllocsPerRun(1000, func() {
			if _, _, err := reader.Read(raw, nil); err != nil {
				t.Fatal(err)
			}
		})
		chain.UnbindRemoteStream(info)
		_ = chain.Close()
		if allocs != 0 {
			t.Errorf("reading a packet allocates %v times, want 0", allocs)
		}
	}
}

// bindCounter is an interceptor that counts its BindRTCPWriter calls.
type bindCounter struct {
	interceptor.NoOp
	binds int
}

func (c *bindCounter) NewInterceptor(string) (interceptor.Interceptor, error) { return c, nil }

func (c *bindCounter) BindRTCPWriter(w interceptor.RTCPWriter) interceptor.RTCPWriter {
	c.binds++
	return w
}

// TestReceiveOnlyBindsOnFirstRemoteStream: a receive-only interceptor gets
// its RTCP writer (and so starts its loop) only once a remote stream is
// bound, and only once.
func TestReceiveOnlyBindsOnFirstRemoteStream(t *testing.T) {
	c := &bindCounter{}
	i, err := receiveOnly{c}.NewInterceptor("")
	if err != nil {
		t.Fatal(err)
	}
	w := interceptor.RTCPWriterFunc(func([]rtcp.Packet, interceptor.Attributes) (int, error) { return 0, nil })
	i.BindRTCPWriter(w)
	i.BindLocalStream(&interceptor.StreamInfo{SSRC: 1}, interceptor.RTPWriterFunc(func(*rtp.Header, []byte, interceptor.Attributes) (int, error) { return 0, nil }))
	if c.binds != 0 {
		t.Fatalf("bound %d times before any remote stream", c.binds)
	}
	r := interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) { return 0, a, nil })
	i.BindRemoteStream(&interceptor.StreamInfo{SSRC: 2}, r)
	i.BindRemoteStream(&interceptor.StreamInfo{SSRC: 3}, r)
	if c.binds != 1 {
		t.Fatalf("bound %d times after two remote streams, want 1", c.binds)
	}
	_ = i.Close()
}
