package sfu

// SetAudioForwarding turns the forwarding of the peer's published audio
// to the other peers on or off. While it is off, the packets the peer
// sends are read and dropped (nothing is cached for retransmission), so
// no one hears it whatever the client does; turning it on again resumes
// at the next packet, with continuous sequence numbers. It is safe from
// any goroutine, costs one atomic load per packet, and holds before the
// peer has published: it applies to its audio track whenever it arrives.
func (p *Peer) SetAudioForwarding(on bool) {
	p.audioOff.Store(!on)
}

// AudioForwarding reports whether the peer's audio is forwarded.
func (p *Peer) AudioForwarding() bool { return !p.audioOff.Load() }
