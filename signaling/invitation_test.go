package signaling

import (
	"sync"
	"testing"
	"time"

	"github.com/parley-dev/parley/client"
)

// joins records InvitationJoined calls.
type joins struct {
	mu  sync.Mutex
	got []string
}

func (j *joins) InvitationJoined(roomID, invitationID, name string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.got = append(j.got, roomID+" "+invitationID+" "+name)
}

func (j *joins) list() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]string(nil), j.got...)
}

// TestInvitationJoinedHook checks the hook hears of a guest whose token
// carries an invitation, once they are in the call, under the token's
// name; and of nobody else.
func TestInvitationJoinedHook(t *testing.T) {
	rec := &joins{}
	ts := startTestServer(t, Config{Invitations: rec}, 0)
	ts.join("Ada", false)
	plain, _, err := ts.tokens.IssueGuestJoin(ts.room.ID, "Walk-in", "")
	if err != nil {
		t.Fatal(err)
	}
	ts.joinWith(client.Config{Token: plain, Name: "ignored"})
	invited, _, err := ts.tokens.IssueGuestJoin(ts.room.ID, "Grace", "inv_abc")
	if err != nil {
		t.Fatal(err)
	}
	ts.joinWith(client.Config{Token: invited, Name: "ignored"})
	waitFor(t, 5*time.Second, "the hook", func() bool { return len(rec.list()) > 0 })
	if got := rec.list(); len(got) != 1 || got[0] != ts.room.ID+" inv_abc Grace" {
		t.Errorf("InvitationJoined calls: %q; want one for Grace's invitation", got)
	}
}
