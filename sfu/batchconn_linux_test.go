//go:build linux && (amd64 || arm64)

package sfu

import (
	"errors"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// queue writes packets from to to-1 to dst during one fan-out.
func queue(t *testing.T, b *batchConn, dst netip.AddrPort, from, to int) {
	t.Helper()
	b.begin()
	for i := from; i < to; i++ {
		if _, err := b.WriteToAddrPort(testPacket(i), dst); err != nil {
			t.Fatal(err)
		}
	}
	b.end()
}

// TestBatchConnRefusedPacket has the kernel refuse one packet in the
// middle of a batch (destination port 0: EINVAL).
// sendmmsg(2) then sends the packets before it and stops; the rest of
// the batch must still go out, and the refused one be counted.
func TestBatchConnRefusedPacket(t *testing.T) {
	for _, listen := range []string{"127.0.0.1:0", "[::]:0"} {
		t.Run(listen, func(t *testing.T) {
			b := newTestBatchConn(t, listen)
			peer := newTestPeer(t, "127.0.0.1")
			from := netip.AddrPortFrom(peer.addr.Addr(), b.sock.port(t))
			bad := netip.AddrPortFrom(peer.addr.Addr(), 0)
			b.begin()
			for i := range 6 {
				dst := peer.addr
				if i == 2 {
					dst = bad
				}
				if _, err := b.WriteToAddrPort(testPacket(i), dst); err != nil {
					t.Fatal(err)
				}
			}
			b.end()
			for _, i := range []int{0, 1, 3, 4, 5} {
				peer.recv(i, from)
			}
			if n := b.refused.Load(); n != 1 {
				t.Errorf("refused = %d, want 1", n)
			}
			// Written directly, the refusal is the writer's error.
			if _, err := b.WriteToAddrPort(testPacket(9), bad); !errors.Is(err, syscall.EINVAL) {
				t.Errorf("direct write to port 0: %v, want EINVAL", err)
			}
		})
	}
}

func (s *sockSys) port(t *testing.T) uint16 {
	t.Helper()
	var sa syscall.Sockaddr
	var err error
	_ = s.rc.Control(func(fd uintptr) { sa, err = syscall.Getsockname(int(fd)) })
	if err != nil {
		t.Fatal(err)
	}
	switch sa := sa.(type) {
	case *syscall.SockaddrInet4:
		return uint16(sa.Port)
	case *syscall.SockaddrInet6:
		return uint16(sa.Port)
	}
	t.Fatalf("getsockname: %T", sa)
	return 0
}

// TestBatchConnPartialSends has the kernel take at most 3 messages per
// sendmmsg(2) call, as it may: every packet must still go out, once, in
// order.
func TestBatchConnPartialSends(t *testing.T) {
	b := newTestBatchConn(t, "[::]:0")
	peer := newTestPeer(t, "::1")
	var calls atomic.Int32
	b.sock.sendmmsg = func(fd uintptr, msgs []mmsghdr) (int, syscall.Errno) {
		calls.Add(1)
		return sendmmsg(fd, msgs[:min(3, len(msgs))])
	}
	const n = maxBatch + 10
	queue(t, b, peer.addr, 0, n)
	from := netip.AddrPortFrom(peer.addr.Addr(), b.sock.port(t))
	for i := range n {
		peer.recv(i, from)
	}
	if c := calls.Load(); c < n/3 {
		t.Errorf("%d sendmmsg calls for %d packets at most 3 at a time", c, n)
	}
}

// TestBatchConnSendBufferFull has the kernel take 5 packets of a batch,
// then report its send buffer full (EAGAIN) until the test says it has
// room. The sender must wait in the runtime poller (neither spinning nor
// dropping), and send the rest, in order, once the socket is writable.
// (A UDP socket on loopback never fills its send buffer: the kernel hands
// each packet to the receiver at once. So the kernel's answers are made
// up here, and a write to another peer makes the socket signal
// writability, as a real one does when its buffer drains.)
func TestBatchConnSendBufferFull(t *testing.T) {
	b := newTestBatchConn(t, "[::]:0")
	peer, other := newTestPeer(t, "::1"), newTestPeer(t, "127.0.0.1")
	go drain(other.c)
	var calls, eagains atomic.Int32
	var room atomic.Bool
	b.sock.sendmmsg = func(fd uintptr, msgs []mmsghdr) (int, syscall.Errno) {
		if len(msgs) == 1 { // the test's direct writes
			return sendmmsg(fd, msgs)
		}
		if calls.Add(1) == 1 {
			return sendmmsg(fd, msgs[:5])
		}
		if !room.Load() {
			eagains.Add(1)
			return 0, syscall.EAGAIN
		}
		return sendmmsg(fd, msgs)
	}
	const n = 40
	done := make(chan struct{})
	go func() {
		defer close(done)
		queue(t, b, peer.addr, 0, n)
	}()
	waitFor(t, 5*time.Second, "the sender to meet a full buffer twice", func() bool { return eagains.Load() >= 2 })
	select {
	case <-done:
		t.Fatal("the batch was given up while the send buffer was full")
	case <-time.After(50 * time.Millisecond):
	}
	if e := eagains.Load(); e > 5 {
		t.Errorf("%d attempts while the buffer was full: the sender spins instead of waiting", e)
	}
	room.Store(true)
	for ready := false; !ready; {
		if _, err := b.WriteToAddrPort([]byte{0}, other.addr); err != nil { // makes the socket signal writability
			t.Fatal(err)
		}
		select {
		case <-done:
			ready = true
		case <-time.After(10 * time.Millisecond):
		}
	}
	from := netip.AddrPortFrom(peer.addr.Addr(), b.sock.port(t))
	for i := range n {
		peer.recv(i, from)
	}
	if r := b.refused.Load(); r != 0 {
		t.Errorf("refused = %d, want 0", r)
	}
}

// TestBatchSendsDoNotWaitForEachOther holds one fan-out's batch in the
// kernel and checks that another fan-out's batch and a direct write still
// go out meanwhile: no lock shared by all rooms (ours or the socket's
// write lock in package net) is held across a system call.
func TestBatchSendsDoNotWaitForEachOther(t *testing.T) {
	b := newTestBatchConn(t, "[::]:0")
	slow, fast := newTestPeer(t, "::1"), newTestPeer(t, "127.0.0.1")
	inKernel, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	b.sock.sendmmsg = func(fd uintptr, msgs []mmsghdr) (int, syscall.Errno) {
		if len(msgs) == 3 {
			once.Do(func() {
				close(inKernel)
				<-release
			})
		}
		return sendmmsg(fd, msgs)
	}
	slowDone := make(chan struct{})
	go func() {
		defer close(slowDone)
		queue(t, b, slow.addr, 0, 3)
	}()
	<-inKernel

	fastDone := make(chan struct{})
	go func() {
		defer close(fastDone)
		queue(t, b, fast.addr, 10, 12)                                          // another fan-out's batch
		if _, err := b.WriteToAddrPort(testPacket(12), fast.addr); err != nil { // and a direct write
			t.Error(err)
		}
	}()
	select {
	case <-fastDone:
	case <-time.After(5 * time.Second):
		close(release)
		t.Fatal("a fan-out's send waited for another's")
	}
	port := b.sock.port(t)
	for i := 10; i < 13; i++ {
		fast.recv(i, netip.AddrPortFrom(fast.addr.Addr(), port))
	}
	close(release)
	<-slowDone
	for i := range 3 {
		slow.recv(i, netip.AddrPortFrom(slow.addr.Addr(), port))
	}
}
