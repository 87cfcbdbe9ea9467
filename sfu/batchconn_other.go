//go:build !(linux && (amd64 || arm64))

package sfu

import (
	"net"
	"net/netip"

	"golang.org/x/net/ipv4"
)

// batchSys sends a batch with golang.org/x/net/ipv4's WriteBatch
// (sendmmsg(2) where there is one, else a write per packet).
//
// Set at construction, then guarded by batchConn.mu.
type batchSys struct {
	pc    *ipv4.PacketConn
	msgs  [maxBatch]ipv4.Message
	addrs [maxBatch]net.UDPAddr
}

func (b *batchConn) initSys() {
	s := &b.sys
	s.pc = ipv4.NewPacketConn(b.UDPConn)
	for i := range s.msgs {
		s.msgs[i].Buffers = make([][]byte, 1)
		s.msgs[i].Addr = &s.addrs[i]
	}
}

// sendBatch sends the queued packets from to to-1 and returns how many
// the kernel took.
func (b *batchConn) sendBatch(from, to int) (int, error) {
	s := &b.sys
	for i := from; i < to; i++ {
		s.msgs[i].Buffers[0] = b.bufs[i][:b.lens[i]]
		ip := b.dsts[i].Addr().As4()
		s.addrs[i].IP = append(s.addrs[i].IP[:0], ip[:]...)
		s.addrs[i].Port = int(b.dsts[i].Port())
	}
	return s.pc.WriteBatch(s.msgs[from:to], 0)
}

func (b *batchConn) readFrom(p []byte) (int, netip.AddrPort, error) {
	return b.ReadFromUDPAddrPort(p)
}

func (b *batchConn) writeTo(p []byte, addr netip.AddrPort) (int, error) {
	return b.WriteToUDPAddrPort(p, addr)
}
