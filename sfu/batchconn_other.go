//go:build !(linux && (amd64 || arm64))

package sfu

import "net/netip"

// Elsewhere than 64-bit Linux, nothing is batched: every write is one
// WriteToUDPAddrPort. (sendmmsg(2) is Linux's; the raw system calls of
// batchconn_linux.go need its structure layouts.)

type batchSys struct{}

type sockSys struct{}

func (b *batchConn) initSock() {}

func (b *batchConn) initBatch(*batch) {}

func (sockSys) canBatch(netip.AddrPort) bool { return false }

// sendBatch is not reached (canBatch is false); it sends q's packets one
// by one.
func (b *batchConn) sendBatch(q *batch) (refused int, err error) {
	for i := range q.n {
		if _, err := b.WriteToUDPAddrPort(q.bufs[i][:q.lens[i]], q.dsts[i]); err != nil {
			refused++
		}
	}
	return refused, nil
}

// readFrom is ReadFromUDPAddrPort; IPv4 peers on a dual-stack socket are
// returned as IPv4.
func (b *batchConn) readFrom(p []byte) (int, netip.AddrPort, error) {
	n, addr, err := b.ReadFromUDPAddrPort(p)
	return n, netip.AddrPortFrom(addr.Addr().Unmap(), addr.Port()), err
}

func (b *batchConn) writeTo(p []byte, addr netip.AddrPort) (int, error) {
	return b.WriteToUDPAddrPort(p, addr)
}
