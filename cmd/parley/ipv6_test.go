package main

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"

	"github.com/parley-dev/parley/client"
)

// hostIPv6 returns one of this host's IPv6 addresses that ICE gathers, or
// skips the test. Pion never gathers ::1 (it takes ::/96 for deprecated
// IPv4-compatible addresses, RFC 4291 §2.5.5.1), nor link-local ones
// without a zone, so a test over IPv6 needs a global or unique local
// address; traffic to it stays on the host.
func hostIPv6(t *testing.T) net.IP {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Skipf("no interface addresses: %v", err)
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() == nil && ipn.IP.IsGlobalUnicast() {
			c, err := net.ListenUDP("udp6", &net.UDPAddr{IP: ipn.IP})
			if err != nil {
				continue
			}
			c.Close()
			return ipn.IP
		}
	}
	t.Skip("no global or unique local IPv6 address on this host (Pion does not gather ::1)")
	return nil
}

// ipv6API is a client's webrtc.API that gathers only ip and uses only
// network, so that it can reach the server over IPv6 alone.
func ipv6API(t *testing.T, ip net.IP, network webrtc.NetworkType) *webrtc.API {
	t.Helper()
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(me, ir); err != nil {
		t.Fatal(err)
	}
	se := webrtc.SettingEngine{}
	se.SetNetworkTypes([]webrtc.NetworkType{network})
	se.SetIPFilter(func(a net.IP) bool { return a.Equal(ip) })
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
}

// TestIPv6Media checks clients that can reach the server over IPv6 only,
// by UDP and by ICE-TCP, get media through it.
func TestIPv6Media(t *testing.T) {
	ip := hostIPv6(t)
	m := startServer(t, "")
	for _, network := range []webrtc.NetworkType{webrtc.NetworkTypeUDP6, webrtc.NetworkTypeTCP6} {
		t.Run(network.String(), func(t *testing.T) {
			link := createRoom(t, m, "ipv6 "+network.String())
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			api := ipv6API(t, ip, network)
			var mu sync.Mutex
			got := map[string]int{}
			viewer, err := client.Join(ctx, client.Config{
				BaseURL: m.LocalURL(), Link: link, Name: "ipv6 viewer", API: api, Logger: testLogger(),
				OnTrack: func(_ string, track *webrtc.TrackRemote) {
					go func() {
						for {
							if _, _, err := track.ReadRTP(); err != nil {
								return
							}
							mu.Lock()
							got[track.Kind().String()]++
							mu.Unlock()
						}
					}()
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			defer viewer.Close()
			speaker, err := client.Join(ctx, client.Config{
				BaseURL: m.LocalURL(), Link: link, Name: "ipv6 speaker", API: api,
				PublishAudio: true, PublishVideo: true, Logger: testLogger(),
			})
			if err != nil {
				t.Fatal(err)
			}
			defer speaker.Close()
			pubCtx, stop := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() { defer close(done); publish(pubCtx, speaker, 0) }()
			defer func() { stop(); <-done }()
			for _, c := range []*client.Client{viewer, speaker} {
				if err := c.WaitConnected(ctx); err != nil {
					t.Fatalf("%s over IPv6 never connected: %v", network, err)
				}
			}
			waitFor(t, ctx, "audio and video over IPv6", func() bool {
				mu.Lock()
				defer mu.Unlock()
				return got["audio"] > 20 && got["video"] > 20
			})
		})
	}
}
