package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/parley-dev/parley/rooms/store"
	"github.com/parley-dev/parley/signaling"
)

// invitationJoins records in the store that an invited guest joined the
// call (signaling.InvitationRecorder): the invitation shows "joined" to
// its inviter.
type invitationJoins struct {
	db  *store.DB
	log *slog.Logger
}

var _ signaling.InvitationRecorder = invitationJoins{}

// InvitationJoined marks the invitation joined, if it is the room's; a
// failure is logged (the guest is in the call regardless).
func (j invitationJoins) InvitationJoined(roomID, invitationID, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	inv, err := j.db.Invitation(ctx, invitationID)
	if err != nil || inv.RoomID != roomID {
		j.log.Warn("a guest joined with an invitation not of the room", "room", roomID, "invitation", invitationID, "err", err)
		return
	}
	if err := j.db.MarkInvitationJoined(ctx, invitationID, name, time.Now()); err != nil {
		j.log.Warn("record an invitation joined", "invitation", invitationID, "err", err)
	}
}
