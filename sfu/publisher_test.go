package sfu

import (
	"errors"
	"strings"
	"testing"
)

// A renegotiating offer that repeats each a=rid line (Pion's does) names
// three layers, not six; a fourth distinct RID is still refused.
func TestPublishOfferCountsDistinctRIDs(t *testing.T) {
	s := newTestSFU(t)
	r := s.NewRouter("room")
	c := newTestClient(t, r, "pub", false)
	rids := "a=rid:q send\r\na=rid:h send\r\na=rid:f send\r\n"
	if err := c.peer.checkPublishOffer(scOffer("video", rids+rids+"a=simulcast:send q;h;f\r\n")); err != nil {
		t.Errorf("three RIDs, each twice: %v", err)
	}
	four := rids + rids + "a=rid:x send\r\na=simulcast:send q;h;f;x\r\n"
	if err := c.peer.checkPublishOffer(scOffer("video", four)); !errors.Is(err, ErrBadDescription) || !strings.Contains(err.Error(), "4 RIDs") {
		t.Errorf("four distinct RIDs: %v, want ErrBadDescription for 4 RIDs", err)
	}
}
