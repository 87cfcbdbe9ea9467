package sfu

import (
	"fmt"
	"sync"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/logging"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
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
//
// The three that only serve received media (NACK generator, receiver
// reports, TWCC feedback) are wrapped in receiveOnly, so a subscriber's
// PeerConnection does not run their goroutines and tickers.
func newInterceptors(me *webrtc.MediaEngine, lf logging.LoggerFactory) (*interceptor.Registry, error) {
	ir := &interceptor.Registry{}
	ir.Add(&headerAttrs{})
	gen, err := nack.NewGeneratorInterceptor(nack.WithGeneratorLoggerFactory(lf))
	if err != nil {
		return nil, fmt.Errorf("sfu: nack: %w", err)
	}
	me.RegisterFeedback(webrtc.RTCPFeedback{Type: webrtc.TypeRTCPFBNACK}, webrtc.RTPCodecTypeVideo)
	me.RegisterFeedback(webrtc.RTCPFeedback{Type: webrtc.TypeRTCPFBNACK, Parameter: "pli"}, webrtc.RTPCodecTypeVideo)
	ir.Add(receiveOnly{gen})
	rr, err := report.NewReceiverInterceptor(report.WithReceiverLoggerFactory(lf))
	if err != nil {
		return nil, fmt.Errorf("sfu: receiver reports: %w", err)
	}
	ir.Add(receiveOnly{rr})
	sr, err := report.NewSenderInterceptor(report.WithSenderLoggerFactory(lf))
	if err != nil {
		return nil, fmt.Errorf("sfu: sender reports: %w", err)
	}
	ir.Add(sr)
	// As webrtc.ConfigureTWCCSender, with the interceptor wrapped.
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		me.RegisterFeedback(webrtc.RTCPFeedback{Type: webrtc.TypeRTCPFBTransportCC}, kind)
		if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.TransportCCURI}, kind); err != nil {
			return nil, fmt.Errorf("sfu: twcc: %w", err)
		}
	}
	tw, err := twcc.NewSenderInterceptor(twcc.WithLoggerFactory(lf))
	if err != nil {
		return nil, fmt.Errorf("sfu: twcc: %w", err)
	}
	ir.Add(receiveOnly{tw})
	if err := registerSimulcastExtensions(me); err != nil {
		return nil, err
	}
	return ir, nil
}

// receiveOnly wraps the factory of an interceptor that acts only on
// received media and starts its goroutine (with, for the NACK generator
// and receiver reports, a ticker: every 100 ms and every second) when
// its PeerConnection binds its RTCP writer, i.e. at creation. A
// subscriber's PeerConnection receives no media, so those goroutines
// would only wake up, find nothing and sleep: with 100 subscribers,
// 1,100 wake-ups a second and 3 goroutines each (PROFILE.md, "Under
// load"). The wrapped interceptor gets its RTCP writer when its first
// remote stream is bound instead.
//
// It relies on the wrapped interceptor's BindRTCPWriter returning the
// writer it is given, which the NACK generator, receiver reports and
// TWCC sender do (they only keep it for their loop).
type receiveOnly struct {
	interceptor.Factory
}

// NewInterceptor implements interceptor.Factory.
func (r receiveOnly) NewInterceptor(id string) (interceptor.Interceptor, error) {
	i, err := r.Factory.NewInterceptor(id)
	if err != nil {
		return nil, err
	}
	return &lazyRTCPWriter{Interceptor: i}, nil
}

// lazyRTCPWriter defers its interceptor's BindRTCPWriter to the first
// BindRemoteStream.
type lazyRTCPWriter struct {
	interceptor.Interceptor // set at construction

	mu     sync.Mutex // guards the fields below
	writer interceptor.RTCPWriter
	bound  bool // the interceptor has been given writer
}

// BindRTCPWriter implements interceptor.Interceptor.
func (l *lazyRTCPWriter) BindRTCPWriter(w interceptor.RTCPWriter) interceptor.RTCPWriter {
	l.mu.Lock()
	l.writer = w
	l.mu.Unlock()
	return w
}

// BindRemoteStream implements interceptor.Interceptor.
func (l *lazyRTCPWriter) BindRemoteStream(info *interceptor.StreamInfo, r interceptor.RTPReader) interceptor.RTPReader {
	l.mu.Lock()
	if !l.bound && l.writer != nil {
		l.bound = true
		l.Interceptor.BindRTCPWriter(l.writer)
	}
	l.mu.Unlock()
	return l.Interceptor.BindRemoteStream(info, r)
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
		// Unmarshal leaves some fields of a reused header as they were
		// (ExtensionProfile, when the packet has no extension): start
		// from a zero header, keeping the slices' memory.
		*hdr = rtp.Header{CSRC: hdr.CSRC[:0], Extensions: hdr.Extensions[:0]}
		if _, err := hdr.Unmarshal(b[:n]); err == nil {
			attrs[rtpHeaderKey] = hdr
		}
		return n, attrs, nil
	})
}
