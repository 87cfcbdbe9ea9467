package livecall

import (
	"fmt"

	"github.com/parley-dev/parley/signaling/protocol"
)

// Moderation: each method is a host's request, by the host's participant
// id. From a member or guest each returns ErrNotHost and changes nothing;
// a target not in the call gives ErrUnknownParticipant.

// host returns the participant id if it is a host of the open call.
func (c *Call) host(id string) (*member, error) {
	m, err := c.find(id)
	if err != nil {
		return nil, err
	}
	if m.Role != RoleHost {
		return nil, fmt.Errorf("%s is a %s: %w", id, m.Role, ErrNotHost)
	}
	return m, nil
}

// EndForAll ends the call for everyone: each is sent bye with reason
// ended-by-host.
func (c *Call) EndForAll(hostID string) error {
	return c.do(func() error {
		if _, err := c.host(hostID); err != nil {
			return err
		}
		c.end(protocol.ReasonEndedByHost)
		return nil
	})
}

// Remove sends participant target bye with reason removed and closes its
// connection; the others see participant-left with reason removed. A host
// may remove another host, not themselves (ErrSelf: they leave instead).
func (c *Call) Remove(hostID, target string) error {
	return c.do(func() error {
		if _, err := c.host(hostID); err != nil {
			return err
		}
		m, err := c.find(target)
		if err != nil {
			return err
		}
		if m.ID == hostID {
			return ErrSelf
		}
		c.drop(m)
		m.conn.Close(protocol.ReasonRemoved)
		c.broadcast("", protocol.ParticipantLeft{Type: protocol.TypeParticipantLeft, ParticipantID: m.ID, Reason: protocol.ReasonRemoved})
		c.left(m, protocol.ReasonRemoved)
		return nil
	})
}

// Mute mutes participant target: the server stops forwarding its audio,
// and everyone sees it audioMuted and audioMutedByHost, until the
// participant unmutes themselves (SetMute with audioMuted false). Muting
// a participant already muted by a host does nothing.
func (c *Call) Mute(hostID, target string) error {
	return c.do(func() error {
		if _, err := c.host(hostID); err != nil {
			return err
		}
		m, err := c.find(target)
		if err != nil {
			return err
		}
		c.hostMute(m)
		return nil
	})
}

// MuteAll mutes, as Mute does, every participant who is not a host.
func (c *Call) MuteAll(hostID string) error {
	return c.do(func() error {
		if _, err := c.host(hostID); err != nil {
			return err
		}
		for _, m := range c.sorted() {
			if m.Role != RoleHost {
				c.hostMute(m)
			}
		}
		return nil
	})
}

func (c *Call) hostMute(m *member) {
	if m.MutedByHost {
		return
	}
	m.MutedByHost, m.AudioMuted = true, true
	m.conn.SetAudioForwarding(false)
	c.updated(m)
}

// SetLocked locks or unlocks the call: while it is locked, joins by
// anyone but a host are refused with ErrLocked. Everyone is sent
// call-updated when it changes. The lock lasts as long as the call.
func (c *Call) SetLocked(hostID string, locked bool) error {
	return c.do(func() error {
		if _, err := c.host(hostID); err != nil {
			return err
		}
		if c.locked == locked {
			return nil
		}
		c.locked = locked
		c.broadcast("", protocol.CallUpdated{Type: protocol.TypeCallUpdated, Call: c.wireState()})
		return nil
	})
}

// HandHost hands the host role to participant target: target becomes a
// host, and the sender a member. Everyone is sent participant-updated for
// both, target first.
func (c *Call) HandHost(hostID, target string) error {
	return c.do(func() error {
		h, err := c.host(hostID)
		if err != nil {
			return err
		}
		m, err := c.find(target)
		if err != nil {
			return err
		}
		if m.ID == hostID {
			return ErrSelf
		}
		c.setRole(m, RoleHost)
		c.setRole(h, RoleMember)
		return nil
	})
}

// setRole changes m's role, tells everyone, and tells the policy.
func (c *Call) setRole(m *member, role Role) {
	old := m.Role
	if old == role {
		return
	}
	m.Role = role
	c.updated(m)
	c.event(Event{Kind: EventRoleChanged, Participant: m.Participant, OldRole: old})
}

// ClaimHost makes participant id a host, for a participant who proved
// the right to it outside the call (the host key of a booked meeting,
// which the caller checked). Everyone is sent participant-updated, as
// for HandHost; the hosts already there stay hosts. A host claiming
// again changes nothing.
func (c *Call) ClaimHost(id string) error {
	return c.do(func() error {
		m, err := c.find(id)
		if err != nil {
			return err
		}
		c.setRole(m, RoleHost)
		return nil
	})
}
