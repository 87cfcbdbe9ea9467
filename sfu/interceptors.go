package sfu

import (
	"fmt"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/logging"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// newInterceptors registers the Pion interceptors every PeerConnection
// gets, innermost first: headerAttrs; the NACK generator (RFC 4585
// §6.2.1), which asks publishers for what we lost; RTCP sender and
// receiver reports (RFC 3550 §6.4); TWCC feedback for what we receive.
//
// There is deliberately no NACK responder: it would copy every packet sent
// into a buffer per down-track (up to 1024 packets each), while we answer
// subscribers' NACKs from one packet cache per up-track (see
// downTrack.handleNACK). Nor is there a TWCC header-extension sender or
// the stats interceptor, which would work on every packet sent.
func newInterceptors(me *webrtc.MediaEngine, lf logging.LoggerFactory) (*interceptor.Registry, error) {
	ir := &interceptor.Registry{}
	ir.Add(&headerAttrs{})
	gen, err := nack.NewGeneratorInterceptor(nack.WithGeneratorLoggerFactory(lf))
	if err != nil {
		return nil, fmt.Errorf("sfu: nack: %w", err)
	}
	me.RegisterFeedback(webrtc.RTCPFeedback{Type: webrtc.TypeRTCPFBNACK}, webrtc.RTPCodecTypeVideo)
	me.RegisterFeedback(webrtc.RTCPFeedback{Type: webrtc.TypeRTCPFBNACK, Parameter: "pli"}, webrtc.RTPCodecTypeVideo)
	ir.Add(gen)
	if err := webrtc.ConfigureRTCPReports(ir); err != nil {
		return nil, fmt.Errorf("sfu: rtcp reports: %w", err)
	}
	if err := webrtc.ConfigureTWCCSender(me, ir); err != nil {
		return nil, fmt.Errorf("sfu: twcc: %w", err)
	}
	return ir, nil
}

// headerAttrs is an interceptor that makes reading an incoming RTP packet
// allocation-free. Each interceptor reading remote streams (the NACK
// generator, receiver reports, TWCC) needs the packet's header and gets
// it from the Attributes the read returns (Attributes.GetRTPHeader); with
// no Attributes passed in, the first makes a map and a header for every
// packet. Registered first, so innermost, headerAttrs returns instead one
// reused map per stream, holding the header already unmarshalled into one
// reused rtp.Header. The header is valid until the next read of the
// stream, which is all those interceptors need.
type headerAttrs struct {
	interceptor.NoOp
}

// rtpHeaderKey is the key under which interceptor.Attributes caches an
// unmarshalled RTP header. The interceptor package does not export it, so
// it is learnt by asking Attributes to cache a header. It is nil (and
// headerAttrs does nothing) if that ever stops working. Never modified.
var rtpHeaderKey = func() any {
	a := interceptor.Attributes{}
	_, _ = a.GetRTPHeader([]byte{0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	for k, v := range a {
		if _, ok := v.(*rtp.Header); ok {
			return k
		}
	}
	return nil
}()

// NewInterceptor implements interceptor.Factory.
func (h *headerAttrs) NewInterceptor(string) (interceptor.Interceptor, error) { return h, nil }

// BindRemoteStream implements interceptor.Interceptor.
func (*headerAttrs) BindRemoteStream(_ *interceptor.StreamInfo, reader interceptor.RTPReader) interceptor.RTPReader {
	if rtpHeaderKey == nil {
		return reader
	}
	// Owned by the stream's reader goroutine.
	attrs := make(interceptor.Attributes, 1)
	hdr := new(rtp.Header)
	return interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n, a, err := reader.Read(b, a)
		if err != nil || a != nil {
			return n, a, err
		}
		clear(attrs)
		if _, err := hdr.Unmarshal(b[:n]); err == nil {
			attrs[rtpHeaderKey] = hdr
		}
		return n, attrs, nil
	})
}
