package sfu

import (
	"reflect"
	"testing"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
)

// FuzzHeaderAttrs reads two packets through headerAttrs, as the NACK
// generator, receiver reports and TWCC do for every packet a publisher
// sends, and checks the RTP header each of them gets from the attributes.
// The seeds (testdata/fuzz/FuzzHeaderAttrs) are pairs of packets the tests'
// publishers send, with extensions, CSRCs and padding, and damaged ones.
//
// Property: after each read, Attributes.GetRTPHeader returns exactly the
// header a fresh rtp.Header.Unmarshal of that packet gives, or an error if
// it gives one: never the previous packet's header, which the attributes
// are reused for.
func FuzzHeaderAttrs(f *testing.F) {
	if rtpHeaderKey == nil {
		f.Skip("interceptor.Attributes no longer caches headers under a key headerAttrs can find")
	}
	f.Fuzz(func(t *testing.T, p1, p2 []byte) {
		var next []byte
		src := interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
			return copy(b, next), a, nil
		})
		r := (&headerAttrs{}).BindRemoteStream(&interceptor.StreamInfo{}, src)
		buf := make([]byte, 1500)
		for _, p := range [][]byte{p1, p2} {
			next = p
			n, attrs, err := r.Read(buf, nil)
			if err != nil || n != min(len(p), len(buf)) {
				t.Fatalf("Read = %d, %v", n, err)
			}
			var want rtp.Header
			_, wantErr := want.Unmarshal(buf[:n])
			got, err := attrs.GetRTPHeader(buf[:n])
			if (err != nil) != (wantErr != nil) {
				t.Fatalf("packet % x: GetRTPHeader error %v, Unmarshal error %v", buf[:n], err, wantErr)
			}
			if err == nil && !sameHeader(*got, want) {
				t.Fatalf("packet % x: attributes hold %+v, packet has %+v", buf[:n], *got, want)
			}
		}
	})
}

// sameHeader compares two headers, an empty CSRC or extension list being
// the same as none.
func sameHeader(a, b rtp.Header) bool {
	for _, h := range []*rtp.Header{&a, &b} {
		if len(h.CSRC) == 0 {
			h.CSRC = nil
		}
		if len(h.Extensions) == 0 {
			h.Extensions = nil
		}
	}
	return reflect.DeepEqual(a, b)
}
