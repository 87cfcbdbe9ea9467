package signaling

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/parley-dev/parley/client"
	"github.com/parley-dev/parley/signaling/protocol"
)

// A call without host keys answers claim-host no-host-key; an empty key
// is a bad request; before join, not-joined.
func TestClaimHostWithoutHostKeys(t *testing.T) {
	ts := startTestServer(t, Config{}, 0)
	c := ts.join("Ann", false)
	c.Send(protocol.ClaimHost{Type: protocol.TypeClaimHost, Key: "  "})
	if e := waitError(t, c, 1); e.Code != protocol.CodeBadRequest {
		t.Errorf("an empty key: %+v", e)
	}
	c.Send(protocol.ClaimHost{Type: protocol.TypeClaimHost, Key: "12345678"})
	if e := waitError(t, c, 2); e.Code != protocol.CodeNoHostKey || e.Ref != protocol.TypeClaimHost {
		t.Errorf("claim-host with no HostKeys: %+v", e)
	}
	if r := c.State().Self.Role; r != protocol.RoleMember {
		t.Errorf("role %s", r)
	}
}

// blockingKeys holds each check until told, so the test sees a check in
// flight; the right key is "right".
type blockingKeys struct {
	started chan string
	release chan struct{}
}

func (b *blockingKeys) CheckHostKey(ctx context.Context, roomID string, client netip.Prefix, key string) error {
	b.started <- roomID + " " + client.String()
	select {
	case <-b.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	if key != "right" {
		return ErrWrongHostKey
	}
	return nil
}

// The check runs off the reader: while it is held, the session still
// answers (ping), a second claim is refused rate-limited; the right key
// makes the participant a host, seen by everyone; a session that ends
// during a check cancels it and leaves no goroutine (goleak).
func TestClaimHostOffTheReader(t *testing.T) {
	hk := &blockingKeys{started: make(chan string, 1), release: make(chan struct{})}
	ts := startTestServer(t, Config{HostKeys: hk}, 0)
	ann := ts.join("Ann", false)
	bob := ts.join("Bob", false)
	ann.Send(protocol.ClaimHost{Type: protocol.TypeClaimHost, Key: "right"})
	select {
	case got := <-hk.started:
		if got != "rm_test 127.0.0.1/32" {
			t.Errorf("checked for %q", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no check started")
	}
	ann.Send(protocol.ClaimHost{Type: protocol.TypeClaimHost, Key: "other"})
	if e := waitError(t, ann, 1); e.Code != protocol.CodeRateLimited || e.RetryAfter != 1 {
		t.Errorf("a second claim meanwhile: %+v", e)
	}
	if err := ann.Send(protocol.Ping{Type: protocol.TypePing}); err != nil {
		t.Fatal(err)
	}
	hk.release <- struct{}{}
	waitState(t, bob, "Ann the host", func(s client.State) bool { return s.Participants[ann.ID].Role == protocol.RoleHost })
	waitState(t, ann, "herself the host", func(s client.State) bool { return s.Self.Role == protocol.RoleHost })

	bob.Send(protocol.ClaimHost{Type: protocol.TypeClaimHost, Key: "wrong"})
	<-hk.started
	hk.release <- struct{}{}
	if e := waitError(t, bob, 1); e.Code != protocol.CodeWrongHostKey {
		t.Errorf("a wrong key: %+v", e)
	}
	bob.Send(protocol.ClaimHost{Type: protocol.TypeClaimHost, Key: "right"})
	<-hk.started
	bob.Close() // the session ends with the check held: it is cancelled
}
