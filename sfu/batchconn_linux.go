//go:build linux && (amd64 || arm64)

package sfu

import (
	"net"
	"net/netip"
	"sync"
	"syscall"
	"unsafe"
)

// mmsghdr is struct mmsghdr of sendmmsg(2) on 64-bit Linux.
type mmsghdr struct {
	hdr syscall.Msghdr
	n   uint32
	_   [4]byte
}

// batchSys sends a batch with sendmmsg(2) made as a raw system call; the
// socket's other reads and writes are raw system calls too.
//
// A batch of 64 packets keeps the kernel busy for 100-200 µs on loopback
// (it delivers each packet to its receiver before returning). Made the
// usual way (syscall.Syscall, as golang.org/x/net/ipv4's WriteBatch
// does), such a call looks to the Go scheduler like a blocked one: sysmon
// polls every 20 µs, takes the P away from the thread in the call and
// hands it to another thread, and the caller must win it back when the
// call returns. On a server with one core that is two thread switches
// per batch and a sysmon awake all the time: about 14 % of the server's
// CPU under load (PROFILE.md, "Under load"). The socket is non-blocking,
// so sendmmsg never waits: it is made with RawSyscall6, and when the
// socket's send buffer is full (EAGAIN) the runtime poller waits for it.
//
// The same goes, less obviously, for every other system call on the
// socket (recvfrom of each incoming packet, sendto of each packet written
// outside a fan-out): a system call made the usual way while the server
// is idle wakes sysmon, which then polls every 20 µs for a millisecond
// or more. The server is idle between most incoming packets, so sysmon
// was awake most of the time. readFrom and writeTo make them raw too.
//
// The functions given to RawConn are method values made at construction
// and their arguments and results live here, so that no call allocates.
type batchSys struct {
	rc syscall.RawConn // set at construction; nil if unavailable

	// sendmmsg; guarded by batchConn.mu
	hdrs     [maxBatch]mmsghdr
	iovs     [maxBatch]syscall.Iovec
	sas      [maxBatch]syscall.RawSockaddrInet4
	from, to int
	sent     int
	sendErr  syscall.Errno
	sendFn   func(fd uintptr) bool

	rmu     sync.Mutex // guards the recvfrom fields below
	rbuf    []byte
	rsa     syscall.RawSockaddrInet4
	salen   uint32 // recvfrom's address length; a field so taking its address does not allocate
	rn      int
	readErr syscall.Errno
	readFn  func(fd uintptr) bool

	wmu     sync.Mutex // guards the sendto fields below
	wbuf    []byte
	wsa     syscall.RawSockaddrInet4
	wErr    syscall.Errno
	writeFn func(fd uintptr) bool
}

func (b *batchConn) initSys() {
	rc, err := b.UDPConn.SyscallConn()
	if err != nil {
		return // the net.UDPConn methods are used instead
	}
	s := &b.sys
	s.rc = rc
	for i := range s.hdrs {
		s.iovs[i].Base = &b.bufs[i][0]
		s.sas[i].Family = syscall.AF_INET
		h := &s.hdrs[i].hdr
		h.Name = (*byte)(unsafe.Pointer(&s.sas[i]))
		h.Namelen = syscall.SizeofSockaddrInet4
		h.Iov = &s.iovs[i]
		h.Iovlen = 1
	}
	s.wsa.Family = syscall.AF_INET
	s.sendFn, s.readFn, s.writeFn = s.sendmmsg, s.recvfrom, s.sendto
}

// setPort stores port in sa in network byte order.
func setPort(sa *syscall.RawSockaddrInet4, port uint16) {
	p := (*[2]byte)(unsafe.Pointer(&sa.Port))
	p[0], p[1] = byte(port>>8), byte(port)
}

// sendBatch sends the queued packets from to to-1 and returns how many
// the kernel took.
func (b *batchConn) sendBatch(from, to int) (int, error) {
	s := &b.sys
	if s.rc == nil {
		_, err := b.WriteToUDPAddrPort(b.bufs[from][:b.lens[from]], b.dsts[from])
		return 1, err
	}
	for i := from; i < to; i++ {
		s.iovs[i].SetLen(b.lens[i])
		setPort(&s.sas[i], b.dsts[i].Port())
		s.sas[i].Addr = b.dsts[i].Addr().As4()
	}
	s.from, s.to, s.sent, s.sendErr = from, to, 0, 0
	if err := s.rc.Write(s.sendFn); err != nil {
		return 0, err
	}
	if s.sendErr != 0 {
		return 0, &net.OpError{Op: "sendmmsg", Net: "udp4", Err: s.sendErr}
	}
	return s.sent, nil
}

// rawCall makes one raw system call on the non-blocking socket, again if
// a signal interrupted it. It reports false on EAGAIN, which tells the
// RawConn to wait in the runtime poller and call again.
func rawCall(trap, a1, a2, a3, a4, a5, a6 uintptr) (r uintptr, e syscall.Errno, done bool) {
	for {
		r, _, e = syscall.RawSyscall6(trap, a1, a2, a3, a4, a5, a6)
		switch e {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return 0, 0, false
		}
		return r, e, true
	}
}

func (s *batchSys) sendmmsg(fd uintptr) bool {
	r, e, done := rawCall(sysSendmmsg, fd, uintptr(unsafe.Pointer(&s.hdrs[s.from])), uintptr(s.to-s.from), 0, 0, 0)
	s.sent, s.sendErr = int(r), e
	return done
}

// readFrom is ReadFromUDPAddrPort made with a raw recvfrom(2).
func (b *batchConn) readFrom(p []byte) (int, netip.AddrPort, error) {
	s := &b.sys
	if s.rc == nil || len(p) == 0 {
		return b.ReadFromUDPAddrPort(p)
	}
	s.rmu.Lock()
	defer s.rmu.Unlock()
	s.rbuf, s.rn, s.readErr = p, 0, 0
	err := s.rc.Read(s.readFn)
	s.rbuf = nil
	if err != nil {
		return 0, netip.AddrPort{}, err
	}
	if s.readErr != 0 {
		return 0, netip.AddrPort{}, &net.OpError{Op: "read", Net: "udp4", Source: b.LocalAddr(), Err: s.readErr}
	}
	pb := (*[2]byte)(unsafe.Pointer(&s.rsa.Port))
	return s.rn, netip.AddrPortFrom(netip.AddrFrom4(s.rsa.Addr), uint16(pb[0])<<8|uint16(pb[1])), nil
}

func (s *batchSys) recvfrom(fd uintptr) bool {
	s.salen = syscall.SizeofSockaddrInet4
	r, e, done := rawCall(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&s.rbuf[0])), uintptr(len(s.rbuf)), 0,
		uintptr(unsafe.Pointer(&s.rsa)), uintptr(unsafe.Pointer(&s.salen)))
	s.rn, s.readErr = int(r), e
	return done
}

// writeTo is WriteToUDPAddrPort made with a raw sendto(2).
func (b *batchConn) writeTo(p []byte, addr netip.AddrPort) (int, error) {
	s := &b.sys
	if s.rc == nil || len(p) == 0 || !addr.Addr().Is4() {
		return b.WriteToUDPAddrPort(p, addr)
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.wbuf, s.wErr = p, 0
	s.wsa.Addr = addr.Addr().As4()
	setPort(&s.wsa, addr.Port())
	err := s.rc.Write(s.writeFn)
	s.wbuf = nil
	if err != nil {
		return 0, err
	}
	if s.wErr != 0 {
		return 0, &net.OpError{Op: "write", Net: "udp4", Addr: net.UDPAddrFromAddrPort(addr), Err: s.wErr}
	}
	return len(p), nil
}

func (s *batchSys) sendto(fd uintptr) bool {
	_, e, done := rawCall(syscall.SYS_SENDTO, fd, uintptr(unsafe.Pointer(&s.wbuf[0])), uintptr(len(s.wbuf)), 0,
		uintptr(unsafe.Pointer(&s.wsa)), syscall.SizeofSockaddrInet4)
	s.wErr = e
	return done
}
