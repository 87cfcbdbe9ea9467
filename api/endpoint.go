package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"

	"github.com/parley-dev/parley/auth"
	"github.com/parley-dev/parley/clientaddr"
	"github.com/parley-dev/parley/rooms"
)

// Endpoints (docs/api.md, "Endpoints"): a member's client or a room system
// registers with its address and secret, then joins the group's rooms
// under its name with the member role.

// Registrar registers endpoints: it checks an address and secret (under
// the credential throttles, with the slow-hash cap) and says which
// endpoint of which group they belong to. The HTTP sign-in below is one
// way in; another, such as a SIP registrar answering REGISTER, would take
// a Registrar (Server is one) and bind the Registration to its own
// transport. Errors are the API's: wrong credentials, rate-limited (with
// the wait), busy, group pending or disabled, endpoint disabled.
type Registrar interface {
	Register(ctx context.Context, client netip.Addr, address, secret string) (*rooms.Registration, error)
}

var _ Registrar = (*Server)(nil)

func (s *Server) endpointRoutes(api, post func(method, path string, h handlerFunc)) {
	post("POST", "/api/v1/endpoint/login", s.endpointLogin)
	post("POST", "/api/v1/endpoint/logout", s.logout(cookieEndpoint))
	api("GET", "/api/v1/endpoint/me", s.endpointMe)
}

// Register checks address and secret for a client at the address client
// (what the per-client throttle counts: clientaddr.Key of it). See
// Registrar.
func (s *Server) Register(ctx context.Context, client netip.Addr, address, secret string) (*rooms.Registration, error) {
	if s.grp == nil {
		return nil, errForbidden
	}
	st := s.grp.cfg.Store
	address = rooms.AddressKey(address)
	ep, err := st.EndpointByAddress(ctx, address)
	if err != nil && !errors.Is(err, rooms.ErrEndpointNotFound) {
		return nil, fmt.Errorf("look up endpoint: %w", err)
	}
	verify := s.verifyHash("", "")
	if ep != nil {
		verify = s.verifyHash(ep.SecretHash, secret)
	}
	ok, err := s.checkSecretFrom(ctx, clientaddr.Key(client), "ep:"+address, verify)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errWrongSecret
	}
	g, err := st.Group(ctx, ep.GroupID)
	if err != nil {
		return nil, fmt.Errorf("endpoint's group: %w", err)
	}
	if err := usable(g); err != nil {
		return nil, err
	}
	if ep.Disabled {
		return nil, errEPDisabled
	}
	return &rooms.Registration{Endpoint: ep, Group: g}, nil
}

// EndpointLoginRequest is the body of POST /api/v1/endpoint/login.
type EndpointLoginRequest struct {
	Address string `json:"address"`
	Secret  string `json:"secret"`
}

func (s *Server) endpointLogin(w http.ResponseWriter, r *http.Request) error {
	var req EndpointLoginRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	reg, err := s.Register(r.Context(), clientaddr.FromRequest(r), req.Address, strings.TrimSpace(req.Secret))
	if err != nil {
		return err
	}
	ep := reg.Endpoint
	tok, exp, err := s.grp.cfg.Sessions.Issue(auth.SessionEndpoint, ep.ID, ep.Generation, endpointSessionTTL)
	if err != nil {
		return fmt.Errorf("endpoint session: %w", err)
	}
	s.setSession(w, r, cookieEndpoint, tok, exp, true)
	s.log.Info("endpoint registered", "group", reg.Group.Name, "endpoint", ep.Address)
	return writeJSON(w, http.StatusOK, map[string]EndpointView{"endpoint": endpointView(ep, false)})
}

// endpointSession returns the registration r's endpoint cookie carries:
// token valid, its generation the endpoint's, the endpoint enabled and its
// group active.
func (s *Server) endpointSession(r *http.Request) (*rooms.Registration, error) {
	claims, err := s.session(r, cookieEndpoint, auth.SessionEndpoint)
	if err != nil {
		return nil, err
	}
	st := s.grp.cfg.Store
	ep, err := st.Endpoint(r.Context(), claims.Subject)
	if errors.Is(err, rooms.ErrEndpointNotFound) {
		return nil, errSessionEnded
	}
	if err != nil {
		return nil, fmt.Errorf("session's endpoint: %w", err)
	}
	if claims.Gen != ep.Generation {
		return nil, errSessionEnded
	}
	g, err := st.Group(r.Context(), ep.GroupID)
	if err != nil {
		return nil, fmt.Errorf("session's group: %w", err)
	}
	if err := usable(g); err != nil {
		return nil, err
	}
	if ep.Disabled {
		return nil, errEPDisabled
	}
	return &rooms.Registration{Endpoint: ep, Group: g}, nil
}

// EndpointMe answers GET /api/v1/endpoint/me.
type EndpointMe struct {
	ID      string             `json:"id"`
	Address string             `json:"address"`
	Name    string             `json:"name"`
	Kind    rooms.EndpointKind `json:"kind"`
	Group   struct {
		Name string `json:"name"`
	} `json:"group"`
	Rooms []EndpointRoom `json:"rooms"`
}

// EndpointRoom is a room of GET /api/v1/endpoint/me: its URL is the
// room's member link, /r/{link} under the public URL, which the endpoint
// page's Join opens.
type EndpointRoom struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	URL  string `json:"url"`
}

func (s *Server) endpointMe(w http.ResponseWriter, r *http.Request) error {
	reg, err := s.endpointSession(r)
	if err != nil {
		return err
	}
	rms, err := s.grp.cfg.Store.GroupRooms(r.Context(), reg.Group.ID)
	if err != nil {
		return fmt.Errorf("endpoint's rooms: %w", err)
	}
	ep := reg.Endpoint
	me := EndpointMe{ID: ep.ID, Address: ep.Address, Name: ep.Name, Kind: ep.Kind, Rooms: make([]EndpointRoom, 0, len(rms))}
	me.Group.Name = reg.Group.Name
	for _, rm := range rms {
		if rm.HasMember(ep.ID) {
			me.Rooms = append(me.Rooms, EndpointRoom{ID: rm.ID, Name: rm.Name, URL: rm.URL(s.cfg.PublicURL)})
		}
	}
	return writeJSON(w, http.StatusOK, me)
}

// groupJoin handles the POST /api/v1/join requests that concern groups:
// a room named by ID (a registered endpoint's join), and links to group
// rooms, whose group must be active and under its participant limit. With
// a valid endpoint cookie and a room of its group, the token is the
// endpoint's. It reports false for the joins it leaves to join.
func (s *Server) groupJoin(w http.ResponseWriter, r *http.Request, req JoinRequest) (bool, error) {
	if s.grp == nil {
		if req.Room != "" {
			return true, badRequest("joining by room id needs a registered endpoint; send the room's link")
		}
		return false, nil
	}
	if _, err := r.Cookie(cookieEndpoint); err == nil {
		// A join carrying an endpoint's session is state-changing like
		// the routes behind sameOrigin.
		if err := s.grp.csrf.Check(r); err != nil {
			return true, &apiError{status: http.StatusForbidden, code: "cross-origin", msg: "cross-origin requests are not allowed here"}
		}
	}
	ctx := r.Context()
	var rm *rooms.Room
	var err error
	switch {
	case req.Room != "" && req.Link != "":
		return true, badRequest("send either link or room, not both")
	case req.Room != "":
		reg, err := s.endpointSession(r)
		if err != nil {
			return true, err
		}
		rm, err = s.cfg.Rooms.Room(ctx, req.Room)
		if err != nil || rm.GroupID != reg.Group.ID {
			return true, fmt.Errorf("join group room: %w", rooms.ErrRoomNotFound)
		}
		return true, s.issueGroupJoin(w, r, rm, reg)
	case strings.TrimSpace(req.Link) != "":
		rm, err = s.cfg.Rooms.RoomByLink(ctx, strings.TrimSpace(req.Link))
		if err != nil || rm.GroupID == "" {
			return false, nil // an operator's room, or a miss: the usual path
		}
	default:
		return false, nil
	}
	// A link to a group room: the endpoint's join if a session of its
	// group comes with it, anyone's otherwise.
	var reg *rooms.Registration
	if _, err := r.Cookie(cookieEndpoint); err == nil {
		if reg, err = s.endpointSession(r); err != nil || reg.Group.ID != rm.GroupID {
			reg = nil
		}
	}
	return true, s.issueGroupJoin(w, r, rm, reg)
}

// issueGroupJoin answers a join to the group room rm, for reg's endpoint
// or (reg nil) an anonymous member.
func (s *Server) issueGroupJoin(w http.ResponseWriter, r *http.Request, rm *rooms.Room, reg *rooms.Registration) error {
	g := (*rooms.Group)(nil)
	if reg != nil {
		g = reg.Group
	} else {
		var err error
		if g, err = s.grp.cfg.Store.Group(r.Context(), rm.GroupID); err != nil {
			return fmt.Errorf("room's group: %w", err)
		}
		if err := usable(g); err != nil {
			return err
		}
	}
	rms, err := s.grp.cfg.Store.GroupRooms(r.Context(), g.ID)
	if err != nil {
		return fmt.Errorf("group rooms: %w", err)
	}
	if n := s.participants(rms); n >= g.Limits.Participants {
		return &apiError{status: http.StatusConflict, code: "limit-reached",
			msg: fmt.Sprintf("the group's rooms already have %d participants, its limit; try again later", g.Limits.Participants)}
	}
	resp := JoinResponse{Room: RoomInfo{ID: rm.ID, Name: rm.Name}, WSPath: "/ws"}
	if reg != nil {
		resp.Name = reg.Endpoint.Name
		resp.Token, resp.ExpiresAt, err = s.grp.cfg.Tokens.IssueEndpointJoin(rm.ID, auth.RoleMember, reg.Endpoint.ID, reg.Endpoint.Name)
	} else {
		resp.Token, resp.ExpiresAt, err = s.cfg.Tokens.IssueJoin(rm.ID, auth.RoleMember)
	}
	if err != nil {
		return fmt.Errorf("issue join token: %w", err)
	}
	resp.ExpiresAt = resp.ExpiresAt.UTC()
	return writeJSON(w, http.StatusOK, resp)
}
