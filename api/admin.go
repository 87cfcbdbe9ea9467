package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/parley-dev/parley/auth"
	"github.com/parley-dev/parley/rooms"
)

// The group administrator's console (docs/api.md, "Administrator's
// console") and the operator's group routes ("Operator routes for
// groups").

func (s *Server) adminRoutes(api, post func(method, path string, h handlerFunc)) {
	post("POST", "/api/v1/admin/login", s.adminLogin)
	post("POST", "/api/v1/admin/logout", s.logout(cookieAdmin))
	api("GET", "/api/v1/admin/group", s.asAdmin(s.adminGroup))
	post("PUT", "/api/v1/admin/contact", s.asAdmin(s.adminContact))
	post("POST", "/api/v1/admin/endpoints", s.asAdmin(s.adminAddEndpoint))
	post("POST", "/api/v1/admin/endpoints/{id}/disable", s.asAdmin(s.adminSetDisabled(true)))
	post("POST", "/api/v1/admin/endpoints/{id}/enable", s.asAdmin(s.adminSetDisabled(false)))
	post("POST", "/api/v1/admin/endpoints/{id}/reissue", s.asAdmin(s.adminReissue))
	post("DELETE", "/api/v1/admin/endpoints/{id}", s.asAdmin(s.adminDeleteEndpoint))
	post("PUT", "/api/v1/admin/password", s.asAdmin(s.adminPassword))
	post("PUT", "/api/v1/admin/pin", s.asAdmin(s.adminPIN))

	api("GET", "/api/v1/groups", s.operator(s.opListGroups))
	api("GET", "/api/v1/groups/{name}", s.operator(s.opGetGroup))
	api("PUT", "/api/v1/groups/{name}/limits", s.operator(s.opSetLimits))
	api("POST", "/api/v1/groups/{name}/disable", s.operator(s.opSetState(rooms.GroupDisabled)))
	api("POST", "/api/v1/groups/{name}/enable", s.operator(s.opSetState(rooms.GroupActive)))
}

// setSession sets a session cookie: HttpOnly, SameSite=Lax, Secure under
// TLS (or a https public URL); persistent ones carry their expiry.
func (s *Server) setSession(w http.ResponseWriter, r *http.Request, name, token string, exp time.Time, persistent bool) {
	c := &http.Cookie{
		Name:     name,
		Value:    token,
		Path:     "/",
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
		Secure:   r.TLS != nil || strings.HasPrefix(s.cfg.PublicURL, "https://"),
	}
	if persistent {
		c.Expires = exp
		c.MaxAge = max(int(exp.Sub(s.cfg.Now()).Seconds()), 1)
	}
	http.SetCookie(w, c)
}

func (s *Server) logout(name string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode,
			Secure: r.TLS != nil || strings.HasPrefix(s.cfg.PublicURL, "https://")})
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

// session reads and verifies the session cookie of kind, returning its claims.
func (s *Server) session(r *http.Request, name string, kind auth.SessionKind) (*auth.SessionClaims, error) {
	c, err := r.Cookie(name)
	if err != nil || c.Value == "" {
		return nil, errSignInFirst
	}
	claims, err := s.grp.cfg.Sessions.Verify(kind, c.Value)
	if err != nil {
		return nil, errSessionEnded
	}
	return claims, nil
}

// adminGroup returns the group whose administrator's session r carries:
// the token valid, its generation the password's, the group not disabled.
func (s *Server) adminSession(r *http.Request) (*rooms.Group, error) {
	claims, err := s.session(r, cookieAdmin, auth.SessionAdmin)
	if err != nil {
		return nil, err
	}
	g, err := s.grp.cfg.Store.Group(r.Context(), claims.Subject)
	if errors.Is(err, rooms.ErrGroupNotFound) {
		return nil, errSessionEnded
	}
	if err != nil {
		return nil, fmt.Errorf("session's group: %w", err)
	}
	if claims.Gen != g.PasswordGen {
		return nil, errSessionEnded
	}
	if g.State == rooms.GroupDisabled {
		return nil, errGroupDisabled
	}
	return g, nil
}

// groupHandler is a handler that runs for a signed-in group.
type groupHandler func(w http.ResponseWriter, r *http.Request, g *rooms.Group) error

func (s *Server) asAdmin(h groupHandler) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		g, err := s.adminSession(r)
		if err != nil {
			return err
		}
		return h(w, r, g)
	}
}

// AdminLoginRequest is the body of POST /api/v1/admin/login.
type AdminLoginRequest struct {
	GroupName string `json:"groupName"`
	Password  string `json:"password"`
}

func (s *Server) adminLogin(w http.ResponseWriter, r *http.Request) error {
	var req AdminLoginRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	g, err := s.groupByPassword(r, req.GroupName, req.Password)
	if err != nil {
		return err
	}
	if g.State == rooms.GroupDisabled {
		return errGroupDisabled
	}
	if err := s.signInAdmin(w, r, g); err != nil {
		return err
	}
	s.log.Info("group administrator signed in", "group", g.Name)
	return writeJSON(w, http.StatusOK, map[string]GroupBrief{"group": brief(g)})
}

func (s *Server) signInAdmin(w http.ResponseWriter, r *http.Request, g *rooms.Group) error {
	tok, exp, err := s.grp.cfg.Sessions.Issue(auth.SessionAdmin, g.ID, g.PasswordGen, adminSessionTTL)
	if err != nil {
		return fmt.Errorf("admin session: %w", err)
	}
	s.setSession(w, r, cookieAdmin, tok, exp, false)
	return nil
}

// EndpointView is an endpoint as the console shows it.
type EndpointView struct {
	ID       string             `json:"id"`
	Kind     rooms.EndpointKind `json:"kind"`
	Name     string             `json:"name"`
	Address  string             `json:"address"`
	Disabled bool               `json:"disabled"`
	Online   bool               `json:"online"`
}

// GroupView is a group as the console and the operator see it.
type GroupView struct {
	ID          string           `json:"id,omitempty"` // operator only
	Name        string           `json:"name"`
	Slug        string           `json:"slug"`
	State       rooms.GroupState `json:"state"`
	Admin       Contact          `json:"admin"`
	Limits      rooms.Limits     `json:"limits"`
	Usage       rooms.Limits     `json:"usage"`
	Endpoints   []EndpointView   `json:"endpoints,omitzero"` // nil: not asked for
	CreatedAt   time.Time        `json:"createdAt"`
	ActivatedAt time.Time        `json:"activatedAt,omitzero"`
}

// Contact is the administrator's contact details.
type Contact struct {
	Name  string `json:"name"`
	Email string `json:"email"`
}

// groupView builds g's view with its usage now and, if withEndpoints,
// its endpoints and which are online.
func (s *Server) groupView(r *http.Request, g *rooms.Group, withEndpoints bool) (GroupView, error) {
	st := s.grp.cfg.Store
	eps, err := st.Endpoints(r.Context(), g.ID)
	if err != nil {
		return GroupView{}, fmt.Errorf("group view: %w", err)
	}
	rms, err := st.GroupRooms(r.Context(), g.ID)
	if err != nil {
		return GroupView{}, fmt.Errorf("group view: %w", err)
	}
	v := GroupView{Name: g.Name, Slug: g.Slug, State: g.State, Admin: Contact{g.AdminName, g.AdminEmail},
		Limits: g.Limits, CreatedAt: g.CreatedAt, ActivatedAt: g.ActivatedAt}
	v.Usage = rooms.Limits{Endpoints: len(eps), Rooms: len(rms), Participants: s.participants(rms)}
	if withEndpoints {
		online := map[string]bool{}
		if p := s.grp.cfg.Presence; p != nil {
			online = p.ConnectedEndpoints()
		}
		v.Endpoints = make([]EndpointView, 0, len(eps))
		for _, ep := range eps {
			v.Endpoints = append(v.Endpoints, endpointView(ep, online[ep.ID]))
		}
	}
	return v, nil
}

func endpointView(ep *rooms.Endpoint, online bool) EndpointView {
	return EndpointView{ID: ep.ID, Kind: ep.Kind, Name: ep.Name, Address: ep.Address, Disabled: ep.Disabled, Online: online}
}

// participants is how many are in the calls of rms now.
func (s *Server) participants(rms []*rooms.Room) int {
	p := s.grp.cfg.Presence
	if p == nil {
		return 0
	}
	n := 0
	for _, rm := range rms {
		n += p.CallSize(rm.ID)
	}
	return n
}

func (s *Server) adminGroup(w http.ResponseWriter, r *http.Request, g *rooms.Group) error {
	v, err := s.groupView(r, g, true)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

// ContactRequest is the body of PUT /api/v1/admin/contact.
type ContactRequest struct {
	AdminName  string `json:"adminName"`
	AdminEmail string `json:"adminEmail"`
}

func (s *Server) adminContact(w http.ResponseWriter, r *http.Request, g *rooms.Group) error {
	var req ContactRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	su := rooms.SignUp{AdminName: req.AdminName, AdminEmail: req.AdminEmail}
	if fe := su.Check(1, rooms.SignUpRules{}); fe != nil {
		return invalid(fe)
	}
	err := s.grp.cfg.Store.UpdateGroup(r.Context(), g.ID, func(tx rooms.GroupTx) error {
		cur := tx.Group()
		cur.AdminName, cur.AdminEmail = su.AdminName, su.AdminEmail
		return tx.PutGroup(cur)
	})
	if err != nil {
		return fmt.Errorf("change contact: %w", err)
	}
	return writeJSON(w, http.StatusOK, map[string]Contact{"admin": {su.AdminName, su.AdminEmail}})
}

// AddEndpointRequest is the body of POST /api/v1/admin/endpoints.
type AddEndpointRequest struct {
	Kind rooms.EndpointKind `json:"kind"`
	Name string             `json:"name"`
}

// EndpointResponse answers the console's endpoint changes: the endpoint,
// and a room system's new secret (shown this once) or where a member's
// credentials were mailed.
type EndpointResponse struct {
	Endpoint EndpointView `json:"endpoint"`
	Secret   string       `json:"secret,omitempty"`
	SentTo   string       `json:"sentTo,omitempty"`
}

var errNotActive = &apiError{status: http.StatusConflict, code: "not-active", msg: "the group must be activated first"}

func limitReached(what string, n int) error {
	return &apiError{status: http.StatusConflict, code: "limit-reached",
		msg: fmt.Sprintf("the group has reached its limit of %d %s; ask the operator to raise it", n, what)}
}

func (s *Server) adminAddEndpoint(w http.ResponseWriter, r *http.Request, g *rooms.Group) error {
	var req AddEndpointRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	ctx := r.Context()
	now := s.cfg.Now()
	var ep *rooms.Endpoint
	var err error
	switch req.Kind {
	case rooms.EndpointMember:
		if ep, err = rooms.NewMember(g.ID, req.Name, now); err != nil {
			return invalidField("name", rooms.Plain(err, rooms.ErrInvalidEmail))
		}
		if _, err := s.grp.cfg.Store.EndpointByEmail(ctx, ep.Name); err == nil {
			return invalidField("name", "This address already belongs to a group on this service.")
		}
	case rooms.EndpointRoomSystem:
		if g.State != rooms.GroupActive {
			return errNotActive
		}
		if ep, err = rooms.NewRoomSystem(g.ID, req.Name, now); err != nil {
			return invalidField("name", rooms.Plain(err, rooms.ErrInvalidEndpointName))
		}
	default:
		return invalidField("kind", `Choose "member" (an email address) or "room-system" (any name).`)
	}
	var c issued
	if g.State == rooms.GroupActive {
		if c, err = s.issueSecret(ctx, ep); err != nil {
			return err
		}
	}
	var taken *rooms.EmailTakenError
	err = s.grp.cfg.Store.UpdateGroup(ctx, g.ID, func(tx rooms.GroupTx) error {
		cur := tx.Group()
		eps, err := tx.Endpoints()
		if err != nil {
			return err
		}
		if len(eps) >= cur.Limits.Endpoints {
			return limitReached("endpoints", cur.Limits.Endpoints)
		}
		if err := tx.AddEndpoint(ep); err != nil {
			return err
		}
		if c.hash == "" {
			return nil // a pending group's member gets its secret at activation
		}
		return s.putIssued(tx, ep, &c)
	})
	if errors.As(err, &taken) {
		return invalidField("name", "This address already belongs to a group on this service.")
	}
	if err != nil {
		return fmt.Errorf("add endpoint: %w", err)
	}
	s.log.Info("endpoint added", "group", g.Name, "endpoint", ep.Address, "kind", ep.Kind)
	return writeJSON(w, http.StatusCreated, endpointResponse(ep, c))
}

func endpointResponse(ep *rooms.Endpoint, c issued) EndpointResponse {
	resp := EndpointResponse{Endpoint: endpointView(ep, false)}
	switch {
	case c.sentTo != "":
		resp.SentTo = c.sentTo
	case ep.Kind == rooms.EndpointRoomSystem:
		resp.Secret = c.secret
	}
	return resp
}

// updateEndpoint runs change on the group's endpoint {id} in one
// transaction and returns it as stored.
func (s *Server) updateEndpoint(r *http.Request, g *rooms.Group, change func(tx rooms.GroupTx, ep *rooms.Endpoint) error) (*rooms.Endpoint, error) {
	var out *rooms.Endpoint
	err := s.grp.cfg.Store.UpdateGroup(r.Context(), g.ID, func(tx rooms.GroupTx) error {
		ep, err := tx.Endpoint(r.PathValue("id"))
		if err != nil {
			return err
		}
		if err := change(tx, ep); err != nil {
			return err
		}
		out = ep
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("change endpoint: %w", err)
	}
	return out, nil
}

func (s *Server) adminSetDisabled(disabled bool) groupHandler {
	return func(w http.ResponseWriter, r *http.Request, g *rooms.Group) error {
		ep, err := s.updateEndpoint(r, g, func(tx rooms.GroupTx, ep *rooms.Endpoint) error {
			ep.Disabled = disabled
			return tx.PutEndpoint(ep)
		})
		if err != nil {
			return err
		}
		s.log.Info("endpoint changed", "group", g.Name, "endpoint", ep.Address, "disabled", disabled)
		if disabled {
			s.signOut(ep.ID)
		}
		return writeJSON(w, http.StatusOK, EndpointResponse{Endpoint: endpointView(ep, false)})
	}
}

func (s *Server) adminReissue(w http.ResponseWriter, r *http.Request, g *rooms.Group) error {
	if g.State != rooms.GroupActive {
		return errNotActive
	}
	ep, err := s.grp.cfg.Store.Endpoint(r.Context(), r.PathValue("id"))
	if err != nil || ep.GroupID != g.ID {
		return fmt.Errorf("reissue: %w", rooms.ErrEndpointNotFound)
	}
	c, err := s.issueSecret(r.Context(), ep)
	if err != nil {
		return err
	}
	ep, err = s.updateEndpoint(r, g, func(tx rooms.GroupTx, ep *rooms.Endpoint) error { return s.putIssued(tx, ep, &c) })
	if err != nil {
		return err
	}
	s.log.Info("endpoint secret re-issued", "group", g.Name, "endpoint", ep.Address)
	s.signOut(ep.ID)
	return writeJSON(w, http.StatusOK, endpointResponse(ep, c))
}

func (s *Server) adminDeleteEndpoint(w http.ResponseWriter, r *http.Request, g *rooms.Group) error {
	ep, err := s.updateEndpoint(r, g, func(tx rooms.GroupTx, ep *rooms.Endpoint) error { return tx.DeleteEndpoint(ep.ID) })
	if err != nil {
		return err
	}
	s.log.Info("endpoint removed", "group", g.Name, "endpoint", ep.Address)
	s.signOut(ep.ID)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// PasswordRequest is the body of PUT /api/v1/admin/password.
type PasswordRequest struct {
	Current  string `json:"current"`
	Password string `json:"password"`
}

func (s *Server) adminPassword(w http.ResponseWriter, r *http.Request, g *rooms.Group) error {
	var req PasswordRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	if err := s.checkAdminPassword(r, g, req.Current, "current"); err != nil {
		return err
	}
	if err := rooms.ValidatePassword(req.Password, s.grp.cfg.MinPasswordLen); err != nil {
		return invalidField("password", rooms.Plain(err, rooms.ErrInvalidPassword))
	}
	hash, err := s.grp.cfg.Verifier.Hash(r.Context(), req.Password)
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	err = s.grp.cfg.Store.UpdateGroup(r.Context(), g.ID, func(tx rooms.GroupTx) error {
		cur := tx.Group()
		cur.PasswordHash = hash
		cur.PasswordGen++
		g = cur
		return tx.PutGroup(cur)
	})
	if err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	// This session carries on under the new generation; all others end.
	if err := s.signInAdmin(w, r, g); err != nil {
		return err
	}
	s.log.Info("group password changed", "group", g.Name)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// checkAdminPassword checks the administrator's password again, as a
// confirmation, under the same throttles as the sign-in.
func (s *Server) checkAdminPassword(r *http.Request, g *rooms.Group, password, field string) error {
	if password == "" {
		return invalidField(field, "Enter your current password.")
	}
	ok, err := s.checkSecret(r, "pw:"+g.Slug, s.verifyHash(g.PasswordHash, password))
	if err != nil {
		return err
	}
	if !ok {
		return &apiError{status: http.StatusUnauthorized, code: "unauthorized", msg: "the password is wrong"}
	}
	return nil
}

// PINRequest is the body of PUT /api/v1/admin/pin.
type PINRequest struct {
	Password string `json:"password"`
	PIN      string `json:"pin"`
}

func (s *Server) adminPIN(w http.ResponseWriter, r *http.Request, g *rooms.Group) error {
	var req PINRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	if err := s.checkAdminPassword(r, g, req.Password, "password"); err != nil {
		return err
	}
	if err := rooms.ValidatePIN(req.PIN); err != nil {
		return invalidField("pin", rooms.Plain(err, rooms.ErrInvalidPIN))
	}
	hash, err := s.grp.cfg.Verifier.Hash(r.Context(), req.PIN)
	if err != nil {
		return fmt.Errorf("hash PIN: %w", err)
	}
	err = s.grp.cfg.Store.UpdateGroup(r.Context(), g.ID, func(tx rooms.GroupTx) error {
		cur := tx.Group()
		cur.PINHash = hash
		cur.PINGen++
		return tx.PutGroup(cur)
	})
	if err != nil {
		return fmt.Errorf("change PIN: %w", err)
	}
	s.log.Info("group PIN changed", "group", g.Name)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// The operator's group routes.

func (s *Server) opListGroups(w http.ResponseWriter, r *http.Request) error {
	all, err := s.grp.cfg.Store.Groups(r.Context())
	if err != nil {
		return fmt.Errorf("list groups: %w", err)
	}
	out := make([]GroupView, 0, len(all))
	for _, g := range all {
		v, err := s.groupView(r, g, false)
		if err != nil {
			return err
		}
		v.ID = g.ID
		out = append(out, v)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"groups": out})
}

func (s *Server) opGroup(r *http.Request) (*rooms.Group, error) {
	g, err := s.grp.cfg.Store.GroupByName(r.Context(), r.PathValue("name"))
	if err != nil {
		return nil, fmt.Errorf("group: %w", err)
	}
	return g, nil
}

func (s *Server) writeOpGroup(w http.ResponseWriter, r *http.Request, g *rooms.Group) error {
	v, err := s.groupView(r, g, true)
	if err != nil {
		return err
	}
	v.ID = g.ID
	return writeJSON(w, http.StatusOK, v)
}

func (s *Server) opGetGroup(w http.ResponseWriter, r *http.Request) error {
	g, err := s.opGroup(r)
	if err != nil {
		return err
	}
	return s.writeOpGroup(w, r, g)
}

func (s *Server) opSetLimits(w http.ResponseWriter, r *http.Request) error {
	var req rooms.Limits
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	if req.Endpoints < 0 || req.Rooms < 0 || req.Participants < 0 {
		return badRequest("limits must be positive whole numbers (0 or absent: unchanged)")
	}
	g, err := s.opGroup(r)
	if err != nil {
		return err
	}
	err = s.grp.cfg.Store.UpdateGroup(r.Context(), g.ID, func(tx rooms.GroupTx) error {
		cur := tx.Group()
		cur.Limits = req.OrDefault(cur.Limits)
		g = cur
		return tx.PutGroup(cur)
	})
	if err != nil {
		return fmt.Errorf("set limits: %w", err)
	}
	s.log.Info("group limits set", "group", g.Name, "endpoints", g.Limits.Endpoints, "rooms", g.Limits.Rooms, "participants", g.Limits.Participants)
	return s.writeOpGroup(w, r, g)
}

func (s *Server) opSetState(state rooms.GroupState) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		g, err := s.opGroup(r)
		if err != nil {
			return err
		}
		err = s.grp.cfg.Store.UpdateGroup(r.Context(), g.ID, func(tx rooms.GroupTx) error {
			cur := tx.Group()
			switch {
			case state == rooms.GroupActive && cur.State != rooms.GroupDisabled:
				return &apiError{status: http.StatusConflict, code: "not-disabled", msg: "the group is not disabled"}
			case state == rooms.GroupActive && cur.ActivatedAt.IsZero():
				state = rooms.GroupPending // it was disabled before activation
			}
			cur.State = state
			g = cur
			return tx.PutGroup(cur)
		})
		if err != nil {
			return fmt.Errorf("set group state: %w", err)
		}
		s.log.Info("group state set by the operator", "group", g.Name, "state", g.State)
		return s.writeOpGroup(w, r, g)
	}
}

// signOut ends the endpoint's presence connections now, rather than at
// signaling's next re-check of its session.
func (s *Server) signOut(endpointID string) {
	if p := s.grp.cfg.Presence; p != nil {
		p.SignOutEndpoint(endpointID)
	}
}
