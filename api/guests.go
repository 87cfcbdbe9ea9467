package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/parley-dev/parley/auth"
	"github.com/parley-dev/parley/rooms"
)

// Guests (issue #13; docs/api.md, "Guests and guest links"): a guest opens
// a guest link /g/{token}, gives a name and gets a guest join token; the
// room's members manage its standing guest link and (group users, the
// administrator) its member list. Guests never reach the member routes:
// those take a member's session or a host's or member's join token.

// GuestConfig configures guest links. Store nil turns them off.
type GuestConfig struct {
	// Store keeps the guest links.
	Store rooms.GuestLinkStore
	// Key derives each link's token from its ID (rooms.GuestToken): the
	// server's signing key. Required with Store.
	Key []byte
	// Tokens issues guests' join tokens and checks members' (the in-call
	// routes take a join token). Required with Store.
	Tokens GuestTokens
	// TTL is how long an invitation link works; default
	// rooms.DefaultGuestLinkTTL.
	TTL time.Duration
	// RoomLimit, if set, is the most participants rm's call admits (the
	// call's policy refuses past it with room-full); the guest join
	// refuses early with the same code when the call is full.
	RoomLimit func(ctx context.Context, rm *rooms.Room) int
	// CallSize, if set, is how many are in a room's call now (the
	// signaling server); needed for RoomLimit's early refusal.
	CallSize func(roomID string) int
	// OnOpened, if set, is told each time a working guest link's page
	// loaded it (GET /api/v1/guest/{token}): an invitation is "opened".
	// It must not block.
	OnOpened func(ctx context.Context, l *rooms.GuestLink)
}

// GuestTokens issues guest join tokens and verifies join tokens
// (auth.Tokens does).
type GuestTokens interface {
	IssueGuestJoin(roomID, name, invitationID string) (string, time.Time, error)
	VerifyJoin(token string) (*auth.JoinClaims, error)
}

var (
	errGuestLinkNotFound = &apiError{status: http.StatusNotFound, code: "link-not-found",
		msg: "this guest link is not valid: check that you have the whole link, or ask the person who invited you for a new link"}
	errGuestLinkExpired = &apiError{status: http.StatusGone, code: "link-expired",
		msg: "this guest link has expired. Ask the person who invited you for a new link"}
	errGuestLinkRevoked = &apiError{status: http.StatusGone, code: "link-revoked",
		msg: "this guest link was revoked by a member of the room. Ask the person who invited you for a new link"}
	errNotAMember = &apiError{status: http.StatusForbidden, code: "not-a-member",
		msg: "only the room's members may do this; guests cannot invite others or manage the room"}
	errRoomFull = &apiError{status: http.StatusConflict, code: "room-full",
		msg: "the room is full; try again later"}
	errJoinTokenNeeded = &apiError{status: http.StatusUnauthorized, code: "unauthorized",
		msg: "send your join token (Authorization: Bearer …); fetch a fresh one from /api/v1/join"}
)

// guestRoutes adds the guest routes, if guest links are configured.
func (s *Server) guestRoutes(api func(method, path string, h handlerFunc)) {
	gc := s.cfg.Guests
	if gc.Store == nil {
		return
	}
	s.mux.HandleFunc("GET /g/{token}", s.servePage("pages/guest.html"))
	api("GET", "/api/v1/guest/{token}", s.guestLinkInfo)
	api("POST", "/api/v1/guest/join", s.guestJoin)
	// Beside the operator's GET /api/v1/rooms/{name}, which keeps the
	// room named "guest-link".
	api("GET", "/api/v1/rooms/guest-link", s.operatorOr(s.getRoom, "guest-link", s.asCallMember(s.standingLink)))
	if s.grp == nil {
		return
	}
	post := func(method, path string, h handlerFunc) { api(method, path, s.sameOrigin(h)) }
	api("GET", "/api/v1/group/endpoints", s.asGroupUser(s.groupEndpoints))
	post("PUT", "/api/v1/group/rooms/{id}/members", s.asGroupUser(s.setMembers))
	post("POST", "/api/v1/group/rooms/{id}/guest-link", s.asGroupUser(s.groupRoom("group", s.standingLink)))
	post("DELETE", "/api/v1/group/rooms/{id}/guest-link", s.asGroupUser(s.groupRoom("group", s.revokeStanding)))
	api("GET", "/api/v1/admin/rooms", s.asAdmin(s.listGroupRooms))
	post("PUT", "/api/v1/admin/rooms/{id}/members", s.asAdmin(s.setMembers))
	post("POST", "/api/v1/admin/rooms/{id}/guest-link", s.asAdmin(s.groupRoom("admin", s.standingLink)))
	post("DELETE", "/api/v1/admin/rooms/{id}/guest-link", s.asAdmin(s.groupRoom("admin", s.revokeStanding)))
	post("POST", "/api/v1/endpoint/rooms/{id}/guest-link", s.asMemberEndpoint(s.standingLink))
	post("DELETE", "/api/v1/endpoint/rooms/{id}/guest-link", s.asMemberEndpoint(s.revokeStanding))
}

// GuestLinkInfo answers GET /api/v1/guest/{token}.
type GuestLinkInfo struct {
	Room struct {
		Name string `json:"name"`
	} `json:"room"`
	Kind      rooms.GuestLinkKind `json:"kind"`
	ExpiresAt *time.Time          `json:"expiresAt,omitempty"`
}

func (s *Server) guestLinkInfo(w http.ResponseWriter, r *http.Request) error {
	l, rm, err := s.openGuestLink(r, r.PathValue("token"))
	if err != nil {
		return err
	}
	if s.cfg.Guests.OnOpened != nil {
		s.cfg.Guests.OnOpened(r.Context(), l)
	}
	var info GuestLinkInfo
	info.Room.Name = rm.Name
	info.Kind = l.Kind
	if !l.ExpiresAt.IsZero() {
		info.ExpiresAt = &l.ExpiresAt
	}
	return writeJSON(w, http.StatusOK, info)
}

// GuestJoinRequest is the body of POST /api/v1/guest/join.
type GuestJoinRequest struct {
	Token string `json:"token"`
	Name  string `json:"name"`
}

// joinerName validates the name someone joins a call under (a guest, or
// anyone by a booked meeting's link): a 422 on field "name" in plain words.
func joinerName(name string) (string, error) {
	name, err := rooms.ValidatePersonName(name)
	if err != nil {
		msg := err.Error()
		if _, after, ok := strings.Cut(msg, ": "); ok {
			msg = after
		}
		return "", invalidField("name", strings.ToUpper(msg[:1])+msg[1:])
	}
	return name, nil
}

func (s *Server) guestJoin(w http.ResponseWriter, r *http.Request) error {
	var req GuestJoinRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	l, rm, err := s.openGuestLink(r, req.Token)
	if err != nil {
		return err
	}
	name, err := joinerName(req.Name)
	if err != nil {
		return err
	}
	if err := s.roomHasRoom(r.Context(), rm); err != nil {
		return err
	}
	token, exp, err := s.cfg.Guests.Tokens.IssueGuestJoin(rm.ID, name, l.InvitationID)
	if err != nil {
		return fmt.Errorf("issue guest join token: %w", err)
	}
	s.log.Info("guest admitted by link", "room", rm.Name, "link", l.ID, "kind", l.Kind)
	return writeJSON(w, http.StatusOK, JoinResponse{
		Token: token, ExpiresAt: exp.UTC(), Room: RoomInfo{ID: rm.ID, Name: rm.Name}, WSPath: "/ws", Name: name,
	})
}

// openGuestLink finds the working link with this token and its room. A
// token that matches nothing spends the client's allowance of misses
// (like join links), so links cannot be guessed; an expired or revoked
// link is a real one and costs nothing.
func (s *Server) openGuestLink(r *http.Request, raw string) (*rooms.GuestLink, *rooms.Room, error) {
	miss := func() (*rooms.GuestLink, *rooms.Room, error) {
		if wait, ok := s.guesses.Failed(clientKey(r)); !ok {
			return nil, nil, rateLimited(wait)
		}
		return nil, nil, errGuestLinkNotFound
	}
	token, err := rooms.ParseGuestToken(raw)
	if err != nil {
		return miss()
	}
	l, err := s.cfg.Guests.Store.GuestLinkByHash(r.Context(), rooms.TokenHash(token))
	if errors.Is(err, rooms.ErrGuestLinkNotFound) {
		return miss()
	}
	if err != nil {
		return nil, nil, fmt.Errorf("look up guest link: %w", err)
	}
	if err := l.Check(s.cfg.Now()); err != nil {
		if errors.Is(err, rooms.ErrGuestLinkRevoked) {
			return nil, nil, errGuestLinkRevoked
		}
		return nil, nil, errGuestLinkExpired
	}
	rm, err := s.cfg.Rooms.Room(r.Context(), l.RoomID)
	if errors.Is(err, rooms.ErrRoomNotFound) {
		return nil, nil, errGuestLinkNotFound
	}
	if err != nil {
		return nil, nil, fmt.Errorf("guest link's room: %w", err)
	}
	return l, rm, nil
}

// roomHasRoom refuses a guest's join early when the room's call, or its
// group's calls together, are at their limit; and when the room's group
// is not active.
func (s *Server) roomHasRoom(ctx context.Context, rm *rooms.Room) error {
	gc := s.cfg.Guests
	if gc.RoomLimit != nil && gc.CallSize != nil {
		if max := gc.RoomLimit(ctx, rm); max > 0 && gc.CallSize(rm.ID) >= max {
			return errRoomFull
		}
	}
	if rm.GroupID == "" || s.grp == nil {
		return nil
	}
	g, err := s.grp.cfg.Store.Group(ctx, rm.GroupID)
	if err != nil {
		return fmt.Errorf("room's group: %w", err)
	}
	if err := usable(g); err != nil {
		return err
	}
	rms, err := s.grp.cfg.Store.GroupRooms(ctx, g.ID)
	if err != nil {
		return fmt.Errorf("group rooms: %w", err)
	}
	if n := s.participants(rms); n >= g.Limits.Participants {
		return &apiError{status: http.StatusConflict, code: "room-full",
			msg: fmt.Sprintf("the group's rooms already have %d participants, its limit; try again later", g.Limits.Participants)}
	}
	return nil
}

// GuestLinkView is a guest link as its room's members see it.
type GuestLinkView struct {
	ID        string              `json:"id"`
	Kind      rooms.GuestLinkKind `json:"kind"`
	URL       string              `json:"url"`
	State     string              `json:"state"`
	CreatedAt time.Time           `json:"createdAt"`
	ExpiresAt *time.Time          `json:"expiresAt,omitempty"`
}

// GuestLinkView returns l as members see it, with its URL.
func (s *Server) GuestLinkView(l *rooms.GuestLink) (GuestLinkView, error) {
	token, err := rooms.GuestToken(s.cfg.Guests.Key, l.ID)
	if err != nil {
		return GuestLinkView{}, err
	}
	v := GuestLinkView{ID: l.ID, Kind: l.Kind, URL: rooms.GuestURL(s.cfg.PublicURL, token), State: l.State(s.cfg.Now()), CreatedAt: l.CreatedAt}
	if !l.ExpiresAt.IsZero() {
		v.ExpiresAt = &l.ExpiresAt
	}
	return v, nil
}

// StandingGuestLink returns the room's standing guest link, making one
// (by who) if it has none.
func (s *Server) StandingGuestLink(ctx context.Context, roomID, who string) (*rooms.GuestLink, error) {
	var out *rooms.GuestLink
	err := s.cfg.Guests.Store.UpdateGuestLinks(ctx, func(tx rooms.GuestLinkTx) error {
		links, err := tx.GuestLinks(roomID)
		if err != nil {
			return err
		}
		for _, l := range links {
			if l.Kind == rooms.GuestLinkStanding && l.RevokedAt.IsZero() {
				out = l
				return nil
			}
		}
		l, _, err := rooms.NewGuestLink(s.cfg.Guests.Key, roomID, rooms.GuestLinkStanding, who, s.cfg.Now(), 0)
		if err != nil {
			return err
		}
		out = l
		return tx.CreateGuestLink(l)
	})
	if err != nil {
		return nil, fmt.Errorf("standing guest link of %s: %w", roomID, err)
	}
	return out, nil
}

// roomHandler handles a request about one room for someone who may
// manage it; who names them for the records ("group", "admin",
// "endpoint:<id>", "participant:<name>").
type roomHandler func(w http.ResponseWriter, r *http.Request, rm *rooms.Room, who string) error

// standingLink answers with the room's standing guest link, made (by
// who) if it has none.
func (s *Server) standingLink(w http.ResponseWriter, r *http.Request, rm *rooms.Room, who string) error {
	l, err := s.StandingGuestLink(r.Context(), rm.ID, who)
	if err != nil {
		return err
	}
	v, err := s.GuestLinkView(l)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

// revokeStanding revokes the room's standing guest link, if it has one.
func (s *Server) revokeStanding(w http.ResponseWriter, r *http.Request, rm *rooms.Room, who string) error {
	err := s.cfg.Guests.Store.UpdateGuestLinks(r.Context(), func(tx rooms.GuestLinkTx) error {
		links, err := tx.GuestLinks(rm.ID)
		if err != nil {
			return err
		}
		for _, l := range links {
			if l.Kind == rooms.GuestLinkStanding && l.RevokedAt.IsZero() {
				if _, err := tx.RevokeGuestLink(l.ID, s.cfg.Now(), who); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("revoke guest link: %w", err)
	}
	s.log.Info("standing guest link revoked", "room", rm.Name, "by", who)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// groupRoom runs h for the room {id} of the group g, as who.
func (s *Server) groupRoom(who string, h roomHandler) groupHandler {
	return func(w http.ResponseWriter, r *http.Request, g *rooms.Group) error {
		rm, err := s.cfg.Rooms.Room(r.Context(), r.PathValue("id"))
		if err != nil || rm.GroupID != g.ID {
			return fmt.Errorf("room of group: %w", rooms.ErrRoomNotFound)
		}
		return h(w, r, rm, who)
	}
}

// asMemberEndpoint runs h for the room {id}, if the signed-in endpoint is
// on its member list.
func (s *Server) asMemberEndpoint(h roomHandler) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		reg, err := s.endpointSession(r)
		if err != nil {
			return err
		}
		rm, err := s.cfg.Rooms.Room(r.Context(), r.PathValue("id"))
		if err != nil || rm.GroupID != reg.Group.ID || !rm.HasMember(reg.Endpoint.ID) {
			return fmt.Errorf("room of endpoint: %w", rooms.ErrRoomNotFound)
		}
		return h(w, r, rm, "endpoint:"+reg.Endpoint.ID)
	}
}

// asCallMember runs h for the room of the join token r carries
// (Authorization: Bearer), if its role is host or member: guests get
// not-a-member.
func (s *Server) asCallMember(h roomHandler) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || token == "" {
			return errJoinTokenNeeded
		}
		claims, err := s.cfg.Guests.Tokens.VerifyJoin(strings.TrimSpace(token))
		if err != nil {
			return errJoinTokenNeeded
		}
		if claims.Role != auth.RoleMember && claims.Role != auth.RoleHost {
			return errNotAMember
		}
		rm, err := s.cfg.Rooms.Room(r.Context(), claims.RoomID)
		if err != nil {
			return fmt.Errorf("join token's room: %w", err)
		}
		who := "participant"
		switch {
		case claims.Endpoint != "":
			who = "endpoint:" + claims.Endpoint
		case claims.Name != "":
			who = "participant:" + claims.Name
		}
		return h(w, r, rm, who)
	}
}

// SetMembersRequest is the body of PUT …/rooms/{id}/members.
type SetMembersRequest struct {
	Members []string `json:"members"`
}

func (s *Server) setMembers(w http.ResponseWriter, r *http.Request, g *rooms.Group) error {
	var req SetMembersRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	if req.Members == nil {
		return invalidField("members", "Send the list of member endpoint IDs (an empty list opens the room to every endpoint of the group).")
	}
	var rm *rooms.Room
	err := s.grp.cfg.Store.UpdateGroup(r.Context(), g.ID, func(tx rooms.GroupTx) error {
		var err error
		rm, err = tx.SetRoomMembers(r.PathValue("id"), req.Members)
		return err
	})
	if errors.Is(err, rooms.ErrNotGroupEndpoint) {
		for i, id := range req.Members {
			if strings.Contains(err.Error(), fmt.Sprintf("%q", id)) {
				return invalidField(fmt.Sprintf("members.%d", i), "This is not an endpoint of the group.")
			}
		}
		return invalidField("members", "A member is not an endpoint of the group.")
	}
	if err != nil {
		return fmt.Errorf("set room members: %w", err)
	}
	s.log.Info("room members set", "group", g.Name, "room", rm.Name, "members", len(rm.Members))
	return writeJSON(w, http.StatusOK, s.view(rm))
}

func (s *Server) groupEndpoints(w http.ResponseWriter, r *http.Request, g *rooms.Group) error {
	eps, err := s.grp.cfg.Store.Endpoints(r.Context(), g.ID)
	if err != nil {
		return fmt.Errorf("group endpoints: %w", err)
	}
	out := make([]EndpointView, 0, len(eps))
	for _, ep := range eps {
		out = append(out, endpointView(ep, false))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"endpoints": out})
}
