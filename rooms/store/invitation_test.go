package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/parley-dev/parley/rooms"
	"github.com/parley-dev/parley/rooms/store"
)

// invite makes an invitation to room by inviter at at, with its link and
// message, and stores it within limits.
func invite(t *testing.T, db *store.DB, roomID string, via rooms.InvitationVia, to, inviter string, at time.Time, limits rooms.InvitationLimits) (*rooms.Invitation, string, error) {
	t.Helper()
	inv, link, token, err := rooms.NewInvitation(testKey, roomID, via, to, inviter, "Ada", at, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var m *rooms.Mail
	var txt *rooms.TextMessage
	if via == rooms.ViaEmail {
		m, err = rooms.NewMail("invitation", to, "Join me", "https://meet.example.org/g/"+token, at)
		inv.MessageID = m.ID
	} else {
		txt, err = rooms.NewTextMessage("invitation", to, "https://meet.example.org/g/"+token, at)
		inv.MessageID = txt.ID
	}
	if err != nil {
		t.Fatal(err)
	}
	return inv, token, db.CreateInvitation(context.Background(), inv, link, m, txt, limits)
}

func invIDs(invs []*rooms.Invitation) []string {
	var ids []string
	for _, inv := range invs {
		ids = append(ids, inv.ID)
	}
	return ids
}

func TestInvitationLifecycle(t *testing.T) {
	ctx := context.Background()
	db, _ := openTemp(t)
	room := mustCreate(t, db, "Surgery")[0]
	mail, token, err := invite(t, db, room.ID, rooms.ViaEmail, "guest@example.org", "endpoint:ep_1", epoch, rooms.InvitationLimits{})
	if err != nil {
		t.Fatalf("CreateInvitation (email): %v", err)
	}
	text, _, err := invite(t, db, room.ID, rooms.ViaSMS, "+447700900123", "endpoint:ep_1", epoch.Add(time.Minute), rooms.InvitationLimits{})
	if err != nil {
		t.Fatalf("CreateInvitation (sms): %v", err)
	}
	// The link and the message were written with it.
	l, err := db.GuestLinkByHash(ctx, rooms.TokenHash(token))
	if err != nil || l.InvitationID != mail.ID || l.Kind != rooms.GuestLinkInvitation || !l.ExpiresAt.Equal(epoch.Add(24*time.Hour)) {
		t.Fatalf("the invitation's link: %+v, %v", l, err)
	}
	if m, err := db.Mail(ctx, mail.MessageID); err != nil || m.To != "guest@example.org" {
		t.Fatalf("the invitation's mail: %+v, %v", m, err)
	}
	list, err := db.RoomInvitations(ctx, room.ID, 0)
	if err != nil || !slices.Equal(invIDs(list), []string{text.ID, mail.ID}) {
		t.Fatalf("RoomInvitations = %v, %v; want the text's, then the mail's", invIDs(list), err)
	}
	state := func(id string, now time.Time) rooms.InvitationState {
		t.Helper()
		inv, err := db.Invitation(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return inv.State(now)
	}
	now := epoch.Add(time.Hour)
	for _, step := range []struct {
		do   func() error
		id   string
		want rooms.InvitationState
	}{
		{func() error { return nil }, mail.ID, rooms.InvitationQueued},
		{func() error { return db.MarkMailSent(ctx, mail.MessageID, epoch.Add(time.Second)) }, mail.ID, rooms.InvitationSent},
		{func() error { return db.MarkInvitationOpened(ctx, mail.ID, epoch.Add(time.Minute)) }, mail.ID, rooms.InvitationOpened},
		{func() error { return db.MarkInvitationJoined(ctx, mail.ID, "Grace", epoch.Add(2*time.Minute)) }, mail.ID, rooms.InvitationJoined},
		{func() error { return db.MarkTextSent(ctx, text.MessageID, epoch.Add(time.Second)) }, text.ID, rooms.InvitationSent},
		{func() error {
			return db.MarkTextReported(ctx, text.MessageID, rooms.TextDelivered, "", epoch.Add(2*time.Second))
		}, text.ID, rooms.InvitationDelivered},
		{func() error {
			_, err := db.RevokeGuestLink(ctx, text.LinkID, epoch.Add(3*time.Second), "endpoint:ep_2")
			return err
		}, text.ID, rooms.InvitationRevoked},
	} {
		if err := step.do(); err != nil {
			t.Fatal(err)
		}
		if got := state(step.id, now); got != step.want {
			t.Fatalf("state = %s, want %s", got, step.want)
		}
	}
	inv, _ := db.Invitation(ctx, mail.ID)
	if inv.JoinedName != "Grace" || !inv.OpenedAt.Equal(epoch.Add(time.Minute)) {
		t.Errorf("joined invitation: %+v", inv)
	}
	// A second join does not move the first.
	if err := db.MarkInvitationJoined(ctx, mail.ID, "Eve", epoch.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if inv, _ := db.Invitation(ctx, mail.ID); inv.JoinedName != "Grace" {
		t.Errorf("second join recorded: %+v", inv)
	}
	// A day later an invitation nobody used has expired.
	third, _, _ := invite(t, db, room.ID, rooms.ViaEmail, "late@example.org", "endpoint:ep_1", epoch.Add(2*time.Minute), rooms.InvitationLimits{})
	if got := state(third.ID, epoch.Add(2*time.Minute+24*time.Hour)); got != rooms.InvitationExpired {
		t.Errorf("state a day later = %s, want expired", got)
	}
	if err := db.MarkInvitationOpened(ctx, "inv_nope", epoch); !errors.Is(err, rooms.ErrInvitationNotFound) {
		t.Errorf("MarkInvitationOpened(unknown) = %v", err)
	}
	// Deleting the room deletes its invitations.
	if err := db.DeleteRoom(ctx, room.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Invitation(ctx, mail.ID); !errors.Is(err, rooms.ErrInvitationNotFound) {
		t.Errorf("Invitation after DeleteRoom = %v; want ErrInvitationNotFound", err)
	}
}

func TestInvitationLimits(t *testing.T) {
	ctx := context.Background()
	db, _ := openTemp(t)
	rs := mustCreate(t, db, "A", "B")
	limits := rooms.InvitationLimits{PerMember: 2, PerRoom: 3, Window: time.Hour}
	at := func(m int) time.Time { return epoch.Add(time.Duration(m) * time.Minute) }
	for i, who := range []string{"endpoint:ada", "endpoint:ada"} {
		if _, _, err := invite(t, db, rs[0].ID, rooms.ViaEmail, "g@example.org", who, at(i), limits); err != nil {
			t.Fatal(err)
		}
	}
	// Ada's third in the hour is refused, in any room, until her first is an hour old.
	_, _, err := invite(t, db, rs[1].ID, rooms.ViaEmail, "g@example.org", "endpoint:ada", at(10), limits)
	var le *rooms.InvitationLimitError
	if !errors.As(err, &le) || le.PerRoom || le.Limit != 2 || !le.RetryAt.Equal(at(60)) || !errors.Is(err, rooms.ErrInvitationLimit) {
		t.Fatalf("third invitation by ada = %v (%+v); want her limit, retry at +60m", err, le)
	}
	if list, _ := db.RoomInvitations(ctx, rs[1].ID, 0); len(list) != 0 {
		t.Fatalf("a refused invitation was stored: %v", invIDs(list))
	}
	if n, _ := db.Mails(ctx, rooms.MailFilter{}); len(n) != 2 {
		t.Fatalf("%d mails queued, want 2: a refused invitation queued its mail", len(n))
	}
	// Room A takes one more (from Grace), then is full for everyone.
	if _, _, err := invite(t, db, rs[0].ID, rooms.ViaSMS, "+447700900123", "endpoint:grace", at(20), limits); err != nil {
		t.Fatal(err)
	}
	_, _, err = invite(t, db, rs[0].ID, rooms.ViaEmail, "g@example.org", "endpoint:alan", at(30), limits)
	if !errors.As(err, &le) || !le.PerRoom || le.Limit != 3 || !le.RetryAt.Equal(at(60)) {
		t.Fatalf("fourth invitation in room A within the hour = %v (%+v); want the room's limit, retry at +60m", err, le)
	}
	// An hour after the first, both Ada and the room may again.
	if _, _, err := invite(t, db, rs[0].ID, rooms.ViaEmail, "g@example.org", "endpoint:ada", at(60), limits); err != nil {
		t.Fatalf("ada's invitation an hour after her first: %v", err)
	}
}
