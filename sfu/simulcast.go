package sfu

import (
	"errors"
	"fmt"

	"github.com/pion/webrtc/v4"
)

// MaxLayers is the most simulcast layers a published track may have; a
// publisher's offer declaring more RIDs on an m-line is refused.
const MaxLayers = 3

// ErrNoSuchLayer is returned by Peer.SetLayer when the publisher has no
// video track, or its track no layer with the RID asked for.
var ErrNoSuchLayer = errors.New("sfu: no such layer")

// switchTSGap is how far the timestamp advances from the last packet of
// the old layer to the first of the new one at a layer switch: one frame
// at 30 frames a second, on VP8's 90 kHz clock. Each layer has its own
// random timestamp origin, so the true interval is not known; a frame is
// what it nearly always is.
const switchTSGap = 90000 / 30

// registerSimulcastExtensions registers the header extensions a receiver
// of simulcast needs to tell the layers apart (RFC 8852, RFC 8843 §15):
// the MID, the RID and the repaired RID.
func registerSimulcastExtensions(me *webrtc.MediaEngine) error {
	if err := webrtc.ConfigureSimulcastExtensionHeaders(me); err != nil {
		return fmt.Errorf("sfu: simulcast header extensions: %w", err)
	}
	return nil
}

// layerIndex is the position of the encoding with RID rid among
// receiver's, as the publisher's description lists them (its simulcast
// attribute's order); 0 without simulcast, or if rid is not found.
func layerIndex(receiver *webrtc.RTPReceiver, rid string) int32 {
	if receiver == nil || rid == "" {
		return 0
	}
	for i, t := range receiver.Tracks() {
		if t.RID() == rid {
			return int32(i)
		}
	}
	return 0
}

// addLayer starts forwarding track, a further simulcast layer of u. It
// returns false if u is closed, has MaxLayers layers already, or has a
// layer with that RID: the caller then discards the track.
func (u *upTrack) addLayer(track *webrtc.TrackRemote) bool {
	l := newLayer(u.kind, track, u.receiver)
	lp := &l
	u.mu.Lock()
	old := u.layerList()
	ok := u.layered && !u.closed && len(old) < MaxLayers
	for _, x := range old {
		ok = ok && x.rid != l.rid
	}
	if ok {
		next := make([]*layer, len(old), len(old)+1)
		copy(next, old)
		next = append(next, lp)
		u.layers.Store(&next)
		u.readers.Add(1)
	}
	u.mu.Unlock()
	if !ok {
		return false
	}
	u.sfu.stats.layers.Add(1)
	if !u.sfu.spawn(func() { u.readLoop(lp) }) {
		u.sfu.stats.layers.Add(-1)
		u.readerEnded()
		return true // the SFU is closing and closes the track
	}
	u.startLayer(lp)
	u.log.Info("simulcast layer added", "rid", l.rid, "index", l.idx, "layers", len(old)+1)
	return true
}

// layerList returns the layers started so far.
func (u *upTrack) layerList() []*layer {
	if ls := u.layers.Load(); ls != nil {
		return *ls
	}
	return []*layer{&u.layer}
}

// layerAt returns the started layer with index idx, or nil.
func (u *upTrack) layerAt(idx int32) *layer {
	if ls := u.layers.Load(); ls != nil {
		for _, l := range *ls {
			if l.idx == idx {
				return l
			}
		}
		return nil
	}
	if u.layer.idx == idx {
		return &u.layer
	}
	return nil
}

// ridIndex returns the index of the layer with RID rid, among the
// encodings the publisher declared whether or not they have started, or
// -1. The empty rid names the track's only layer when it has no
// simulcast.
func (u *upTrack) ridIndex(rid string) int32 {
	if u.receiver != nil {
		for i, t := range u.receiver.Tracks() {
			if t.RID() == rid {
				return int32(i)
			}
		}
	}
	for _, l := range u.layerList() {
		if l.rid == rid {
			return l.idx
		}
	}
	return -1
}

// SetLayer asks that the subscriber p receive the video of publisherID
// from its simulcast layer rid (one of the RIDs of the publisher's offer,
// e.g. "q", "h" or "f"). The switch happens at the next keyframe of that
// layer, which is requested now; until then the current layer goes on,
// and a layer that has not started yet is switched to when it does. The
// numbering the subscriber sees (sequence numbers, timestamps, VP8
// picture IDs and TL0PICIDX) goes on without a jump. It returns
// ErrNoSuchLayer if p has no down-track of that publisher's video, or
// the publisher declared no such RID, and ErrClosed after Close. Safe
// from any goroutine.
func (p *Peer) SetLayer(publisherID, rid string) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return ErrClosed
	}
	var d *downTrack
	for x := range p.downTracks {
		if x.up.kind == webrtc.RTPCodecTypeVideo && x.up.peer.id == publisherID {
			d = x
			break
		}
	}
	p.mu.Unlock()
	if d == nil {
		return fmt.Errorf("%w: %s publishes no video to %s", ErrNoSuchLayer, publisherID, p.id)
	}
	idx := d.up.ridIndex(rid)
	if idx < 0 {
		return fmt.Errorf("%w: %s's video has no layer %q", ErrNoSuchLayer, publisherID, rid)
	}
	d.setTarget(idx)
	return nil
}

// Layer returns the RID of the layer the subscriber p receives
// publisherID's video from, and whether it does (false before the first
// keyframe, or without such a down-track).
func (p *Peer) Layer(publisherID string) (rid string, ok bool) {
	p.mu.Lock()
	var d *downTrack
	for x := range p.downTracks {
		if x.up.kind == webrtc.RTPCodecTypeVideo && x.up.peer.id == publisherID {
			d = x
			break
		}
	}
	p.mu.Unlock()
	if d == nil {
		return "", false
	}
	cur, started := d.currentLayer()
	if !started {
		return "", false
	}
	if l := d.up.layerAt(cur); l != nil {
		return l.rid, true
	}
	return "", false
}
