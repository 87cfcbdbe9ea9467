package main

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/parley-dev/parley/client"
)

// TestICETCPFallback checks a client that can use only TCP (a network that
// blocks UDP) still gets media through the server's ICE-TCP port. It joins
// first, alone and publishing nothing, so its first offer has no media to
// carry.
func TestICETCPFallback(t *testing.T) {
	m := startServer(t, "")
	link := createRoom(t, m, "tcp only")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	tcpAPI, err := client.NewAPI(client.APIOptions{Networks: []webrtc.NetworkType{webrtc.NetworkTypeTCP4}})
	if err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	got := 0
	viewer, err := client.Join(ctx, client.Config{
		BaseURL: m.LocalURL(), Link: link, Name: "tcp viewer", API: tcpAPI, Logger: testLogger(),
		OnTrack: func(_ string, track *webrtc.TrackRemote) {
			go func() {
				for {
					if _, _, err := track.ReadRTP(); err != nil {
						return
					}
					mu.Lock()
					got++
					mu.Unlock()
				}
			}()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer viewer.Close()
	speaker, err := client.Join(ctx, client.Config{BaseURL: m.LocalURL(), Link: link, Name: "speaker", PublishAudio: true, PublishVideo: true, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer speaker.Close()
	pubCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); publish(pubCtx, speaker, 0) }()
	defer func() { stop(); <-done }()
	if err := viewer.WaitConnected(ctx); err != nil {
		t.Fatalf("TCP-only client never connected: %v", err)
	}
	waitFor(t, ctx, "media over ICE-TCP", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return got > 30
	})
}
