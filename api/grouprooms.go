package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/parley-dev/parley/auth"
	"github.com/parley-dev/parley/rooms"
)

// Group users (docs/api.md, "Group users"): they sign in with the group's
// name and meeting PIN, and manage the group's rooms. They have no
// personal accounts.

func (s *Server) groupRoomRoutes(api, post func(method, path string, h handlerFunc)) {
	post("POST", "/api/v1/group/login", s.groupLogin)
	post("POST", "/api/v1/group/logout", s.logout(cookieGroup))
	api("GET", "/api/v1/group/rooms", s.asGroupUser(s.listGroupRooms))
	post("POST", "/api/v1/group/rooms", s.asGroupUser(s.createGroupRoom))
	post("DELETE", "/api/v1/group/rooms/{id}", s.asGroupUser(s.deleteGroupRoom))
}

// GroupLoginRequest is the body of POST /api/v1/group/login.
type GroupLoginRequest struct {
	GroupName string `json:"groupName"`
	PIN       string `json:"pin"`
}

func (s *Server) groupLogin(w http.ResponseWriter, r *http.Request) error {
	var req GroupLoginRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	g, err := s.grp.cfg.Store.GroupByName(r.Context(), req.GroupName)
	if err != nil && !errors.Is(err, rooms.ErrGroupNotFound) {
		return fmt.Errorf("look up group: %w", err)
	}
	var verify = s.verifyHash("", "")
	if g != nil {
		verify = s.verifyHash(g.PINHash, req.PIN)
	}
	ok, err := s.checkSecret(r, "pin:"+rooms.GroupKey(req.GroupName), verify)
	if err != nil {
		return err
	}
	if !ok {
		return errWrongPIN
	}
	if err := usable(g); err != nil {
		return err
	}
	tok, exp, err := s.grp.cfg.Sessions.Issue(auth.SessionGroup, g.ID, g.PINGen, groupSessionTTL)
	if err != nil {
		return fmt.Errorf("group session: %w", err)
	}
	s.setSession(w, r, cookieGroup, tok, exp, false)
	s.log.Info("group user signed in", "group", g.Name)
	return writeJSON(w, http.StatusOK, map[string]GroupBrief{"group": brief(g)})
}

// usable refuses a group that is pending or disabled.
func usable(g *rooms.Group) error {
	switch g.State {
	case rooms.GroupActive:
		return nil
	case rooms.GroupPending:
		return errGroupPending
	}
	return errGroupDisabled
}

// asGroupUser runs h for the group whose user's session r carries: token
// valid, its generation the PIN's, the group active.
func (s *Server) asGroupUser(h groupHandler) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		claims, err := s.session(r, cookieGroup, auth.SessionGroup)
		if err != nil {
			return err
		}
		g, err := s.grp.cfg.Store.Group(r.Context(), claims.Subject)
		if errors.Is(err, rooms.ErrGroupNotFound) {
			return errSessionEnded
		}
		if err != nil {
			return fmt.Errorf("session's group: %w", err)
		}
		if claims.Gen != g.PINGen {
			return errSessionEnded
		}
		if err := usable(g); err != nil {
			return err
		}
		return h(w, r, g)
	}
}

func (s *Server) listGroupRooms(w http.ResponseWriter, r *http.Request, g *rooms.Group) error {
	rms, err := s.grp.cfg.Store.GroupRooms(r.Context(), g.ID)
	if err != nil {
		return fmt.Errorf("list group rooms: %w", err)
	}
	out := make([]RoomView, 0, len(rms))
	for _, rm := range rms {
		out = append(out, s.view(rm))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"group": brief(g), "limits": g.Limits, "rooms": out})
}

func (s *Server) createGroupRoom(w http.ResponseWriter, r *http.Request, g *rooms.Group) error {
	var req CreateRoomRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	rm, err := rooms.New(req.Name, s.cfg.Now())
	if err != nil {
		return err
	}
	err = s.grp.cfg.Store.UpdateGroup(r.Context(), g.ID, func(tx rooms.GroupTx) error {
		rms, err := tx.Rooms()
		if err != nil {
			return err
		}
		if lim := tx.Group().Limits.Rooms; len(rms) >= lim {
			return limitReached("rooms", lim)
		}
		return tx.CreateRoom(rm)
	})
	if err != nil {
		return fmt.Errorf("create group room: %w", err)
	}
	s.log.Info("group room created", "group", g.Name, "room", rm.Name, "id", rm.ID)
	return writeJSON(w, http.StatusCreated, s.view(rm))
}

func (s *Server) deleteGroupRoom(w http.ResponseWriter, r *http.Request, g *rooms.Group) error {
	id := r.PathValue("id")
	err := s.grp.cfg.Store.UpdateGroup(r.Context(), g.ID, func(tx rooms.GroupTx) error { return tx.DeleteRoom(id) })
	if err != nil {
		return fmt.Errorf("delete group room: %w", err)
	}
	if s.cfg.OnRoomDeleted != nil {
		s.cfg.OnRoomDeleted(id)
	}
	s.log.Info("group room deleted", "group", g.Name, "id", id)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
