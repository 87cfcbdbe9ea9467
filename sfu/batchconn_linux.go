//go:build linux && (amd64 || arm64)

package sfu

import (
	"net"
	"net/netip"
	"strconv"
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

// On Linux the socket's system calls are made by this file, not by
// package net, for two reasons.
//
// Concurrency: package net (and RawConn.Write) takes the descriptor's
// write lock around every write, so all rooms' sends on the one media
// socket would run one at a time. The kernel needs no such lock for UDP.
// Sends here are made inside RawConn.Control, which holds only a shared
// reference keeping the descriptor open; only when the socket's send
// buffer is full (EAGAIN) does a send go through RawConn.Write, whose
// callback the runtime poller calls again when the socket is writable.
//
// Raw system calls (rawSyscalls, batchconn_rawsys.go): a batch of 64
// packets keeps the kernel busy for 100-200 µs on loopback (it delivers
// each packet to its receiver before returning). Made the usual way
// (syscall.Syscall), such a call looks to the Go scheduler like a blocked
// one: sysmon polls every 20 µs, takes the P away from the thread in the
// call and hands it to another thread, and the caller must win it back
// when the call returns. On a server with one core that was two thread
// switches per batch and a sysmon awake all the time (PROFILE.md, "Under
// load"). Any system call made the usual way while the server is idle
// also wakes sysmon, which then polls every 20 µs for a millisecond or
// more, and the server is idle between most incoming packets; so the
// mux's recvfrom is raw too. The socket is non-blocking, so no call
// waits in the kernel. Build with -tags parley_syscall to make them the
// usual way (batchconn_syscall.go), e.g. to measure the difference.
//
// The functions given to RawConn are method values made once per batch,
// per direct-send record and per socket, and their arguments and results
// live beside them, so that no call allocates.

// batchSys is a batch's sendmmsg arguments: message headers, iovecs
// pointing at the batch's buffers, and destination addresses. Owned
// with the batch.
type batchSys struct {
	hdrs [maxBatch]mmsghdr
	iovs [maxBatch]syscall.Iovec
	sas  [maxBatch]syscall.RawSockaddrInet6 // a RawSockaddrInet4 at the start on an AF_INET socket
	op   sendOp
}

// direct is the arguments of one write that is not queued: one message,
// pointing at the caller's buffer during the call. Taken from
// sockSys.directs for the call.
type direct struct {
	hdr [1]mmsghdr
	iov syscall.Iovec
	sa  syscall.RawSockaddrInet6
	op  sendOp
}

// sendOp sends msgs, from the first: the state of one batch's (or one
// direct write's) sendmmsg calls, owned by the goroutine sending it.
type sendOp struct {
	s      *sockSys
	msgs   []mmsghdr
	from   int           // msgs[from:] are still to send
	sent   int           // result of the last call: messages the kernel took
	errno  syscall.Errno // result of the last call: why it took none
	tryFn  func(fd uintptr)
	waitFn func(fd uintptr) bool
}

// sockSys is the socket's system calls.
type sockSys struct {
	// Set at construction.
	rc syscall.RawConn // nil if unavailable: the net.UDPConn methods are used
	v6 bool            // an AF_INET6 socket (dual-stack: IPv4 peers are IPv4-mapped)
	// sendmmsg makes the system call on fd and returns how many
	// messages the kernel took, or why it took none; tests replace it
	// (before any write) to make the kernel refuse, stop short or be full.
	sendmmsg func(fd uintptr, msgs []mmsghdr) (int, syscall.Errno)
	directs  chan *direct // free direct-write records

	rmu     sync.Mutex // guards the recvfrom fields below (the mux has one reader)
	rbuf    []byte
	rsa     syscall.RawSockaddrInet6
	salen   uint32 // recvfrom's address length; a field so taking its address does not allocate
	rn      int
	readErr syscall.Errno
	readFn  func(fd uintptr) bool
	zoneID  uint32 // the last IPv6 scope id read and its interface name
	zone    string
}

func (b *batchConn) initSock() {
	rc, err := b.UDPConn.SyscallConn()
	if err != nil {
		return // the net.UDPConn methods are used instead
	}
	s := &b.sock
	domain := syscall.AF_INET
	if ua, ok := b.UDPConn.LocalAddr().(*net.UDPAddr); ok && ua.IP.To4() == nil {
		domain = syscall.AF_INET6
	}
	_ = rc.Control(func(fd uintptr) {
		if d, err := syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_DOMAIN); err == nil {
			domain = d
		}
	})
	s.rc, s.v6 = rc, domain == syscall.AF_INET6
	s.sendmmsg = sendmmsg
	s.directs = make(chan *direct, 16)
	s.readFn = s.recvfrom
}

func (b *batchConn) initBatch(q *batch) {
	y := &q.sys
	for i := range y.hdrs {
		y.iovs[i].Base = &q.bufs[i][0]
		h := &y.hdrs[i].hdr
		h.Name = (*byte)(unsafe.Pointer(&y.sas[i]))
		h.Iov = &y.iovs[i]
		h.Iovlen = 1
	}
	y.op.init(&b.sock)
}

func (o *sendOp) init(s *sockSys) {
	o.s = s
	o.tryFn, o.waitFn = o.try, o.tryWait
}

// canBatch reports whether a packet to addr can be sent by this file: the
// socket's family can reach it and it has no IPv6 zone (link-local
// addresses go through package net, which knows the zone's index).
func (s *sockSys) canBatch(addr netip.AddrPort) bool {
	a := addr.Addr()
	return s.rc != nil && a.Zone() == "" && (s.v6 || a.Unmap().Is4())
}

// putAddr writes addr into sa in the socket's family and returns its
// length. IPv4 addresses on an AF_INET6 socket are IPv4-mapped.
func (s *sockSys) putAddr(sa *syscall.RawSockaddrInet6, addr netip.AddrPort) uint32 {
	if s.v6 {
		sa.Family = syscall.AF_INET6
		putPort(&sa.Port, addr.Port())
		sa.Flowinfo = 0
		sa.Addr = addr.Addr().As16()
		sa.Scope_id = 0
		return syscall.SizeofSockaddrInet6
	}
	sa4 := (*syscall.RawSockaddrInet4)(unsafe.Pointer(sa))
	sa4.Family = syscall.AF_INET
	putPort(&sa4.Port, addr.Port())
	sa4.Addr = addr.Addr().Unmap().As4()
	return syscall.SizeofSockaddrInet4
}

// putPort stores port in network byte order.
func putPort(p *uint16, port uint16) {
	b := (*[2]byte)(unsafe.Pointer(p))
	b[0], b[1] = byte(port>>8), byte(port)
}

func getPort(p *uint16) uint16 {
	b := (*[2]byte)(unsafe.Pointer(p))
	return uint16(b[0])<<8 | uint16(b[1])
}

// sendBatch sends q's packets and returns how many the kernel refused,
// and the error that stopped it early, if one did (the socket closed, a
// write deadline passed).
func (b *batchConn) sendBatch(q *batch) (int, error) {
	s := &b.sock
	y := &q.sys
	for i := range q.n {
		y.iovs[i].SetLen(q.lens[i])
		y.hdrs[i].hdr.Namelen = s.putAddr(&y.sas[i], q.dsts[i])
	}
	y.op.msgs = y.hdrs[:q.n]
	return y.op.run()
}

// run sends o.msgs. When the kernel takes k < n messages it goes on from
// message k; when it refuses a message (an error for the first message
// of a call), it skips it and counts it; when the socket's send buffer is
// full it waits in the runtime poller. It returns how many messages were
// refused, and an error only if the socket closed or a write deadline
// passed (the rest are not sent).
func (o *sendOp) run() (refused int, err error) {
	rc := o.s.rc
	for o.from = 0; o.from < len(o.msgs); {
		err = rc.Control(o.tryFn)
		if err == nil && o.errno == syscall.EAGAIN {
			err = rc.Write(o.waitFn)
		}
		if err != nil {
			return refused, err
		}
		if o.errno != 0 || o.sent <= 0 {
			// sendmmsg(2) returns an error only when it took no
			// message: msgs[from] was refused.
			refused++
			o.from++
			if o.errno == 0 {
				o.errno = syscall.EIO
			}
			continue
		}
		o.from += o.sent
	}
	return refused, nil
}

// try is a RawConn.Control callback: one sendmmsg of msgs[from:].
func (o *sendOp) try(fd uintptr) {
	o.sent, o.errno = o.s.sendmmsg(fd, o.msgs[o.from:])
}

// tryWait is a RawConn.Write callback: false asks the poller to wait
// until the socket is writable and call again.
func (o *sendOp) tryWait(fd uintptr) bool {
	o.try(fd)
	return o.errno != syscall.EAGAIN
}

// sendmmsg is sendmmsg(2), again if a signal interrupted it.
func sendmmsg(fd uintptr, msgs []mmsghdr) (int, syscall.Errno) {
	for {
		r, e := syscall6(sysSendmmsg, fd, uintptr(unsafe.Pointer(&msgs[0])), uintptr(len(msgs)), 0, 0, 0)
		switch e {
		case 0:
			return int(r), 0
		case syscall.EINTR:
			continue
		}
		return 0, e
	}
}

// writeTo is WriteToUDPAddrPort made with sendmmsg(2) of one message.
func (b *batchConn) writeTo(p []byte, addr netip.AddrPort) (int, error) {
	s := &b.sock
	if len(p) == 0 || !s.canBatch(addr) {
		return b.WriteToUDPAddrPort(p, addr)
	}
	var d *direct
	select {
	case d = <-s.directs:
	default:
		d = &direct{}
		d.hdr[0].hdr.Name = (*byte)(unsafe.Pointer(&d.sa))
		d.hdr[0].hdr.Iov = &d.iov
		d.hdr[0].hdr.Iovlen = 1
		d.op.init(s)
		d.op.msgs = d.hdr[:]
	}
	d.iov.Base = &p[0]
	d.iov.SetLen(len(p))
	d.hdr[0].hdr.Namelen = s.putAddr(&d.sa, addr)
	refused, err := d.op.run()
	errno := d.op.errno
	d.iov.Base = nil
	select {
	case s.directs <- d:
	default:
	}
	if err != nil {
		return 0, err
	}
	if refused > 0 {
		return 0, &net.OpError{Op: "write", Net: "udp", Addr: net.UDPAddrFromAddrPort(addr), Err: errno}
	}
	return len(p), nil
}

// readFrom is ReadFromUDPAddrPort made with a raw recvfrom(2). IPv4
// peers on a dual-stack socket are returned as IPv4.
func (b *batchConn) readFrom(p []byte) (int, netip.AddrPort, error) {
	s := &b.sock
	if s.rc == nil || len(p) == 0 {
		n, addr, err := b.ReadFromUDPAddrPort(p)
		return n, netip.AddrPortFrom(addr.Addr().Unmap(), addr.Port()), err
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
		return 0, netip.AddrPort{}, &net.OpError{Op: "read", Net: "udp", Source: b.LocalAddr(), Err: s.readErr}
	}
	switch s.rsa.Family {
	case syscall.AF_INET:
		sa4 := (*syscall.RawSockaddrInet4)(unsafe.Pointer(&s.rsa))
		return s.rn, netip.AddrPortFrom(netip.AddrFrom4(sa4.Addr), getPort(&sa4.Port)), nil
	case syscall.AF_INET6:
		a := netip.AddrFrom16(s.rsa.Addr).Unmap()
		if s.rsa.Scope_id != 0 && a.Is6() {
			a = a.WithZone(s.zoneName(s.rsa.Scope_id))
		}
		return s.rn, netip.AddrPortFrom(a, getPort(&s.rsa.Port)), nil
	}
	return 0, netip.AddrPort{}, &net.OpError{Op: "read", Net: "udp", Source: b.LocalAddr(), Err: syscall.EAFNOSUPPORT}
}

// zoneName returns the name of the interface with index id, as package
// net names zones, remembering the last one (guarded by rmu).
func (s *sockSys) zoneName(id uint32) string {
	if id != s.zoneID {
		s.zoneID, s.zone = id, strconv.FormatUint(uint64(id), 10)
		if ifi, err := net.InterfaceByIndex(int(id)); err == nil {
			s.zone = ifi.Name
		}
	}
	return s.zone
}

func (s *sockSys) recvfrom(fd uintptr) bool {
	for {
		s.salen = syscall.SizeofSockaddrInet6
		r, e := syscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&s.rbuf[0])), uintptr(len(s.rbuf)), 0,
			uintptr(unsafe.Pointer(&s.rsa)), uintptr(unsafe.Pointer(&s.salen)))
		switch e {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		}
		s.rn, s.readErr = int(r), e
		return true
	}
}
