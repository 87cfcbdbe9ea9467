package sfu

import (
	"net"
	"slices"
	"testing"
)

// TestAnnouncedFamilies checks which address families host candidates are
// announced for, with and without public IPs, on dual-stack and
// IPv4-only hosts.
func TestAnnouncedFamilies(t *testing.T) {
	for _, tc := range []struct {
		ips             []string
		dual, v4, want6 bool
	}{
		{nil, true, true, true},
		{nil, false, true, false},
		{[]string{"203.0.113.7"}, true, true, false},
		{[]string{"2001:db8::7"}, true, false, true},
		{[]string{"203.0.113.7", "2001:db8::7"}, true, true, true},
		{[]string{"203.0.113.7", "2001:db8::7"}, false, true, false},
		{[]string{"::ffff:203.0.113.7"}, true, true, false},
		{[]string{"2001:db8::7"}, false, false, false}, // New refuses this
	} {
		v4, v6 := announcedFamilies(tc.ips, tc.dual)
		if v4 != tc.v4 || v6 != tc.want6 {
			t.Errorf("announcedFamilies(%v, dual-stack %v) = %v, %v; want %v, %v", tc.ips, tc.dual, v4, v6, tc.v4, tc.want6)
		}
	}
}

// TestFamilyMux checks familyMux keeps only the chosen families' local
// addresses, and loopback ones only if asked.
func TestFamilyMux(t *testing.T) {
	addrs := []net.Addr{
		&net.UDPAddr{IP: net.ParseIP("127.0.0.1")}, &net.UDPAddr{IP: net.ParseIP("192.0.2.2")},
		&net.UDPAddr{IP: net.ParseIP("::1")}, &net.UDPAddr{IP: net.ParseIP("2001:db8::2")},
	}
	str := func(as []net.Addr) []string {
		var out []string
		for _, a := range as {
			out = append(out, a.(*net.UDPAddr).IP.String())
		}
		return out
	}
	for _, tc := range []struct {
		m    familyMux
		want []string
	}{
		{familyMux{v4: true}, []string{"192.0.2.2"}},
		{familyMux{v6: true}, []string{"2001:db8::2"}},
		{familyMux{v4: true, v6: true, loopback: true}, []string{"127.0.0.1", "192.0.2.2", "::1", "2001:db8::2"}},
	} {
		tc.m.UDPMux = fixedAddrsMux(addrs)
		if got := str(tc.m.GetListenAddresses()); !slices.Equal(got, tc.want) {
			t.Errorf("%+v: %v, want %v", tc.m, got, tc.want)
		}
	}
}

// fixedAddrsMux is a UDP mux that only lists addresses.
type fixedAddrsMux []net.Addr

func (m fixedAddrsMux) GetListenAddresses() []net.Addr                 { return m }
func (fixedAddrsMux) GetConn(string, net.Addr) (net.PacketConn, error) { return nil, nil }
func (fixedAddrsMux) RemoveConnByUfrag(string)                         {}
func (fixedAddrsMux) Close() error                                     { return nil }
