package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/parley-dev/parley/auth"
	"github.com/parley-dev/parley/rooms"
	"github.com/parley-dev/parley/throttle"
)

// The groups API (issue #12; docs/api.md, "Groups, endpoints and the
// administrator's console"): sign-up and activation here, the
// administrator's console and the operator's group routes in admin.go,
// group users' rooms in grouprooms.go, endpoint registration and joins in
// endpoint.go.

// GroupConfig configures the groups API. Store, Tokens and Sessions are
// required when Store is set; the rest have defaults.
type GroupConfig struct {
	// Store keeps groups and endpoints; nil turns the groups API off.
	Store rooms.GroupStore
	// Tokens issues join tokens for registered endpoints.
	Tokens EndpointTokenIssuer
	// Sessions signs and checks the session cookies.
	Sessions *auth.Sessions
	// Verifier hashes and checks passwords, PINs and secrets with a cap
	// on how many run at once; nil means auth.NewVerifier's defaults.
	Verifier *auth.Verifier
	// Presence reports who is in a call; nil: nobody is.
	Presence Presence
	// MinPasswordLen is the administrators' shortest password; at least
	// (and by default) rooms.MinPasswordLen.
	MinPasswordLen int
	// DefaultLimits are a new group's limits; zero fields mean
	// rooms.DefaultLimits.
	DefaultLimits rooms.Limits
	// Wrong passwords, PINs and secrets are throttled per client address
	// (AddrBurst at once, then AddrRate a second; defaults 5 and 0.2) and
	// per group or endpoint (TargetBurst, TargetRate; defaults 10 and
	// 0.5). The per-target rate is above the per-address one, so that
	// one address cannot throttle a group for the others.
	AddrRate    float64
	AddrBurst   int
	TargetRate  float64
	TargetBurst int
	// Wait holds a throttled attempt for d, or until ctx is done; default
	// a real timer. Tests pass a fake clock's.
	Wait func(ctx context.Context, d time.Duration) error
	// SweepInterval is how often RunSweeper removes pending groups whose
	// activation link expired; default 1 minute (on Wait's clock).
	SweepInterval time.Duration
}

// EndpointTokenIssuer issues the join tokens of registered endpoints
// (auth.Tokens does).
type EndpointTokenIssuer interface {
	IssueEndpointJoin(roomID, role, endpointID, name string) (string, time.Time, error)
}

// Presence tells the groups API who is in a call now (signaling.Server
// does): the registered endpoints, by ID, and the size of a room's call.
type Presence interface {
	ConnectedEndpoints() map[string]bool
	CallSize(roomID string) int
	// SignOutEndpoint closes the endpoint's presence connections at once
	// (its sessions are already refused): after a re-issue, a disable or
	// a removal.
	SignOutEndpoint(id string)
}

// Session lifetimes. An endpoint's session is persistent: a room system
// signed in on a meeting-room screen stays signed in until its secret is
// re-issued or it is removed.
const (
	adminSessionTTL    = 12 * time.Hour
	groupSessionTTL    = 12 * time.Hour
	endpointSessionTTL = 400 * 24 * time.Hour
)

// Cookie names.
const (
	cookieAdmin    = "parley_admin"
	cookieGroup    = "parley_group"
	cookieEndpoint = "parley_endpoint"
)

// groupState is what the groups API keeps beside its Config.
type groupState struct {
	// set at construction
	cfg      GroupConfig
	csrf     *http.CrossOriginProtection
	byAddr   *throttle.Throttle[netip.Prefix] // credential attempts per client key
	byTarget *throttle.Throttle[string]       // per group or endpoint (by kind and name key)
}

// initGroups sets up the groups API if it is configured.
func (s *Server) initGroups() error {
	gc := s.cfg.Groups
	if gc.Store == nil {
		return nil
	}
	if gc.Tokens == nil || gc.Sessions == nil {
		return errors.New("api: Groups.Tokens and Groups.Sessions are required with Groups.Store")
	}
	if gc.Verifier == nil {
		gc.Verifier = auth.NewVerifier(auth.VerifierConfig{})
	}
	gc.MinPasswordLen = max(gc.MinPasswordLen, rooms.MinPasswordLen)
	gc.DefaultLimits = gc.DefaultLimits.OrDefault(rooms.DefaultLimits)
	if gc.AddrRate <= 0 {
		gc.AddrRate = 0.2
	}
	if gc.AddrBurst <= 0 {
		gc.AddrBurst = 5
	}
	if gc.TargetRate <= 0 {
		gc.TargetRate = 0.5
	}
	if gc.TargetBurst <= 0 {
		gc.TargetBurst = 10
	}
	if gc.Wait == nil {
		gc.Wait = realWait
	}
	if gc.SweepInterval <= 0 {
		gc.SweepInterval = time.Minute
	}
	csrf := http.NewCrossOriginProtection()
	if s.cfg.PublicURL != "" {
		if err := csrf.AddTrustedOrigin(publicOrigin(s.cfg.PublicURL)); err != nil {
			return fmt.Errorf("api: public URL as a trusted origin: %w", err)
		}
	}
	s.grp = &groupState{
		cfg:      gc,
		csrf:     csrf,
		byAddr:   throttle.New[netip.Prefix](throttle.Config{Rate: gc.AddrRate, Burst: gc.AddrBurst, Now: s.cfg.Now}),
		byTarget: throttle.New[string](throttle.Config{Rate: gc.TargetRate, Burst: gc.TargetBurst, Now: s.cfg.Now}),
	}
	return nil
}

// publicOrigin is scheme://host[:port] of a base URL.
func publicOrigin(u string) string {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return u
	}
	host, _, _ := strings.Cut(rest, "/")
	return scheme + "://" + host
}

func realWait(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// groupRoutes registers the groups API's routes with api (see routes).
func (s *Server) groupRoutes(api func(method, path string, h handlerFunc)) {
	if s.grp == nil {
		return
	}
	// Every state-changing route is behind the cross-origin check.
	post := func(method, path string, h handlerFunc) { api(method, path, s.sameOrigin(h)) }
	post("POST", "/api/v1/signup/check", s.signupCheck)
	post("POST", "/api/v1/signup", s.signup)
	post("POST", "/api/v1/signup/resend", s.signupResend)
	post("POST", "/api/v1/activate", s.activate)
	s.adminRoutes(api, post)
	s.groupRoomRoutes(api, post)
	s.endpointRoutes(api, post)
}

// sameOrigin refuses cross-origin browser requests (CSRF) with 403.
func (s *Server) sameOrigin(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := s.grp.csrf.Check(r); err != nil {
			return &apiError{status: http.StatusForbidden, code: "cross-origin", msg: "cross-origin requests are not allowed here"}
		}
		return h(w, r)
	}
}

// invalid is the 422 of a form with fields to correct.
func invalid(fields rooms.FieldErrors) error {
	return &apiError{status: http.StatusUnprocessableEntity, code: "invalid", msg: "please correct the marked fields", fields: fields}
}

func invalidField(field, msg string) error { return invalid(rooms.FieldErrors{field: msg}) }

var (
	errSignInFirst   = &apiError{status: http.StatusUnauthorized, code: "unauthorized", msg: "sign in first"}
	errSessionEnded  = &apiError{status: http.StatusUnauthorized, code: "unauthorized", msg: "your session has ended; sign in again"}
	errWrongPassword = &apiError{status: http.StatusUnauthorized, code: "unauthorized", msg: "wrong group name or password"}
	errWrongPIN      = &apiError{status: http.StatusUnauthorized, code: "unauthorized", msg: "wrong group name or PIN"}
	errWrongSecret   = &apiError{status: http.StatusUnauthorized, code: "unauthorized", msg: "wrong endpoint address or secret"}
	errGroupPending  = &apiError{status: http.StatusForbidden, code: "group-pending", msg: "this group is not activated yet: open the link in the activation email"}
	errGroupDisabled = &apiError{status: http.StatusForbidden, code: "group-disabled", msg: "this group has been disabled by the operator"}
	errEPDisabled    = &apiError{status: http.StatusForbidden, code: "endpoint-disabled", msg: "this endpoint has been disabled by the group's administrator"}
	errBusy          = &apiError{status: http.StatusServiceUnavailable, code: "busy", msg: "too many sign-ins at once; try again in a moment", retryAfter: time.Second}
)

// groupError maps the groups' sentinel errors (see writeError), or nil.
func groupError(err error) *apiError {
	switch {
	case errors.Is(err, auth.ErrBusy):
		return errBusy
	case errors.Is(err, rooms.ErrGroupNotFound):
		return &apiError{status: http.StatusNotFound, code: "group-not-found", msg: "no group has that name"}
	case errors.Is(err, rooms.ErrEndpointNotFound):
		return &apiError{status: http.StatusNotFound, code: "endpoint-not-found", msg: "the group has no such endpoint"}
	}
	return nil
}

// checkSecret verifies a password, PIN or secret under both throttles:
// the client's address and target (kind + ":" + the name key of the group
// or endpoint, whether or not it exists). A throttled key's attempt
// waits for the key's next allowance, then is checked like any other;
// one more while that one waits is refused unchecked (429). A right
// answer gives back what it took. verify is nil when the name matched
// nothing: a dummy check of the same cost runs, and the answer is wrong.
func (s *Server) checkSecret(r *http.Request, target string, verify func(ctx context.Context) (bool, error)) (bool, error) {
	return s.checkSecretFrom(r.Context(), clientKey(r), target, verify)
}

// checkSecretFrom is checkSecret for a client known by its throttle key
// (clientaddr.Key of its address), for ways in other than HTTP.
func (s *Server) checkSecretFrom(ctx context.Context, addr netip.Prefix, target string, verify func(ctx context.Context) (bool, error)) (bool, error) {
	g := s.grp
	waitA, ok := g.byAddr.Reserve(addr)
	if !ok {
		return false, rateLimited(waitA)
	}
	waitT, ok := g.byTarget.Reserve(target)
	if !ok {
		g.byAddr.Refund(addr)
		return false, &apiError{status: http.StatusTooManyRequests, code: "rate-limited", retryAfter: waitT,
			msg: fmt.Sprintf("too many failed attempts for this account; try again in %d s", throttle.RetryAfter(waitT))}
	}
	if wait := max(waitA, waitT); wait > 0 {
		if err := g.cfg.Wait(ctx, wait); err != nil {
			return false, fmt.Errorf("wait for the throttle: %w", err)
		}
	}
	var right bool
	var err error
	if verify == nil {
		err = g.cfg.Verifier.VerifyNone(ctx)
	} else {
		right, err = verify(ctx)
	}
	if err != nil {
		// Nothing was learnt: do not charge the attempt.
		g.byAddr.Refund(addr)
		g.byTarget.Refund(target)
		return false, err
	}
	if right {
		g.byAddr.Refund(addr)
		g.byTarget.Refund(target)
	}
	return right, nil
}

// verifyHash is a checkSecret verify func for a stored hash ("" never
// matches, at the cost of a dummy check).
func (s *Server) verifyHash(hash, secret string) func(ctx context.Context) (bool, error) {
	return func(ctx context.Context) (bool, error) {
		if hash == "" || secret == "" {
			return false, s.grp.cfg.Verifier.VerifyNone(ctx)
		}
		return s.grp.cfg.Verifier.Verify(ctx, hash, secret)
	}
}

// groupByPassword finds the group named name and checks its admin password.
func (s *Server) groupByPassword(r *http.Request, name, password string) (*rooms.Group, error) {
	g, err := s.grp.cfg.Store.GroupByName(r.Context(), name)
	if err != nil && !errors.Is(err, rooms.ErrGroupNotFound) {
		return nil, fmt.Errorf("look up group: %w", err)
	}
	var verify func(context.Context) (bool, error)
	if g != nil {
		verify = s.verifyHash(g.PasswordHash, password)
	}
	ok, err := s.checkSecret(r, "pw:"+rooms.GroupKey(name), verify)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errWrongPassword
	}
	return g, nil
}

// SignUpCheckRequest is the body of POST /api/v1/signup/check: the step
// (1-4) and the fields of rooms.SignUp.
type SignUpCheckRequest struct {
	Step       int      `json:"step"`
	AdminName  string   `json:"adminName"`
	AdminEmail string   `json:"adminEmail"`
	GroupName  string   `json:"groupName"`
	Password   string   `json:"password"`
	PIN        string   `json:"pin"`
	Members    []string `json:"members"`
}

func (s *Server) signupCheck(w http.ResponseWriter, r *http.Request) error {
	var req SignUpCheckRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	if req.Step < 1 || req.Step > rooms.SignUpSteps {
		return badRequest(fmt.Sprintf("\"step\" must be 1 to %d", rooms.SignUpSteps))
	}
	su := rooms.SignUp{AdminName: req.AdminName, AdminEmail: req.AdminEmail, GroupName: req.GroupName,
		Password: req.Password, PIN: req.PIN, Members: req.Members}
	if fe := s.validateSignUp(r.Context(), &su, req.Step); fe != nil {
		return invalid(fe)
	}
	return writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

// validateSignUp checks steps 1 to step of su, including whether the
// group name and the members' addresses are free; nil when all is well.
func (s *Server) validateSignUp(ctx context.Context, su *rooms.SignUp, step int) rooms.FieldErrors {
	gc := s.grp.cfg
	fe := su.Check(step, rooms.SignUpRules{MinPasswordLen: gc.MinPasswordLen, MaxMembers: gc.DefaultLimits.Endpoints})
	if fe == nil {
		fe = rooms.FieldErrors{}
	}
	if _, bad := fe["groupName"]; step >= 2 && !bad {
		if _, err := gc.Store.GroupByName(ctx, su.GroupName); err == nil {
			fe["groupName"] = msgGroupTaken
		}
	}
	if step >= 4 {
		for i, m := range su.Members {
			if _, bad := fe[fmt.Sprintf("members.%d", i)]; bad || strings.TrimSpace(m) == "" {
				continue
			}
			if _, err := gc.Store.EndpointByEmail(ctx, m); err == nil {
				fe[fmt.Sprintf("members.%d", i)] = msgEmailTaken
			}
		}
	}
	if len(fe) == 0 {
		return nil
	}
	return fe
}

const (
	msgGroupTaken = "A group with this name already exists (names are compared without regard to case, spaces or '-', '_', '.'); choose another."
	msgEmailTaken = "This address already belongs to another group on this service."
)

// SignUpResponse answers POST /api/v1/signup.
type SignUpResponse struct {
	Group            GroupBrief `json:"group"`
	ActivationSentTo string     `json:"activationSentTo"`
}

// GroupBrief is a group's name and state.
type GroupBrief struct {
	Name  string           `json:"name"`
	State rooms.GroupState `json:"state"`
}

func brief(g *rooms.Group) GroupBrief { return GroupBrief{Name: g.Name, State: g.State} }

func (s *Server) signup(w http.ResponseWriter, r *http.Request) error {
	var su rooms.SignUp
	if err := readJSON(w, r, &su); err != nil {
		return err
	}
	ctx := r.Context()
	if fe := s.validateSignUp(ctx, &su, rooms.SignUpSteps); fe != nil {
		return invalid(fe)
	}
	gc := s.grp.cfg
	pwHash, err := gc.Verifier.Hash(ctx, su.Password)
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	pinHash, err := gc.Verifier.Hash(ctx, su.PIN)
	if err != nil {
		return fmt.Errorf("hash PIN: %w", err)
	}
	now := s.cfg.Now()
	g, err := rooms.NewGroup(su.GroupName, gc.DefaultLimits, now)
	if err != nil {
		return invalidField("groupName", rooms.Plain(err, rooms.ErrInvalidGroupName))
	}
	g.AdminName, g.AdminEmail = su.AdminName, su.AdminEmail
	g.PasswordHash, g.PasswordGen = pwHash, 1
	g.PINHash, g.PINGen = pinHash, 1
	emails, index := su.MemberEmails()
	var members []*rooms.Endpoint
	for _, e := range emails {
		ep, err := rooms.NewMember(g.ID, e, now)
		if err != nil {
			return fmt.Errorf("member %q: %w", e, err) // validated above
		}
		members = append(members, ep)
	}
	m, err := s.newActivation(g, now)
	if err != nil {
		return err
	}
	err = gc.Store.CreateGroup(ctx, g, members, []*rooms.Mail{m})
	var taken *rooms.EmailTakenError
	switch {
	case errors.Is(err, rooms.ErrGroupExists):
		return invalidField("groupName", msgGroupTaken)
	case errors.As(err, &taken):
		for i, e := range emails {
			if rooms.EmailKey(e) == rooms.EmailKey(taken.Email) {
				return invalidField(fmt.Sprintf("members.%d", index[i]), msgEmailTaken)
			}
		}
		return invalidField("members", msgEmailTaken)
	case err != nil:
		return fmt.Errorf("create group: %w", err)
	}
	s.log.Info("group signed up", "group", g.Name, "id", g.ID, "members", len(members))
	return writeJSON(w, http.StatusCreated, SignUpResponse{Group: brief(g), ActivationSentTo: g.AdminEmail})
}

// newActivation gives g a fresh activation link (its hash and expiry set
// on g) and returns the mail carrying it: the token itself is kept
// nowhere else.
func (s *Server) newActivation(g *rooms.Group, now time.Time) (*rooms.Mail, error) {
	token := auth.RandomToken(16)
	g.ActivationHash = rooms.TokenHash(token)
	g.ActivationExpires = now.Add(rooms.ActivationTTL).UTC()
	link := s.absURL("/activate/" + token)
	text := fmt.Sprintf(`Hello %s,

you have set up the group %q. To activate it, open this link within 48 hours:

%s

Until then the group is pending. Once it is active, each member will be
emailed the details their client needs.

If you did not sign up, ignore this message: the sign-up is removed when the
link expires.
`, g.AdminName, g.Name, link)
	m, err := rooms.NewMail("activation", g.AdminEmail, "Activate your group "+g.Name, text, now)
	if err != nil {
		return nil, fmt.Errorf("activation mail: %w", err)
	}
	return m, nil
}

// absURL is path under the server's public URL.
func (s *Server) absURL(path string) string {
	return strings.TrimRight(s.cfg.PublicURL, "/") + path
}

// ResendRequest is the body of POST /api/v1/signup/resend.
type ResendRequest struct {
	GroupName string `json:"groupName"`
	Password  string `json:"password"`
}

func (s *Server) signupResend(w http.ResponseWriter, r *http.Request) error {
	var req ResendRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	g, err := s.groupByPassword(r, req.GroupName, req.Password)
	if err != nil {
		return err
	}
	now := s.cfg.Now()
	err = s.grp.cfg.Store.UpdateGroup(r.Context(), g.ID, func(tx rooms.GroupTx) error {
		cur := tx.Group()
		if cur.State != rooms.GroupPending {
			return errNotPending
		}
		m, err := s.newActivation(cur, now)
		if err != nil {
			return err
		}
		if err := tx.PutGroup(cur); err != nil {
			return err
		}
		g = cur
		return tx.PutMail(m)
	})
	if err != nil {
		return fmt.Errorf("resend activation: %w", err)
	}
	return writeJSON(w, http.StatusAccepted, map[string]string{"activationSentTo": g.AdminEmail})
}

var errNotPending = &apiError{status: http.StatusConflict, code: "not-pending", msg: "this group is already activated; sign in instead"}

// ActivateRequest is the body of POST /api/v1/activate.
type ActivateRequest struct {
	Token string `json:"token"`
}

var (
	errLinkExpired = &apiError{status: http.StatusGone, code: "link-expired",
		msg: "this activation link has expired or was replaced by a newer one; sign in to send a new link, or sign up again"}
	errLinkUsed = &apiError{status: http.StatusGone, code: "link-used", msg: "this activation link has been used already: the group is active"}
)

func (s *Server) activate(w http.ResponseWriter, r *http.Request) error {
	var req ActivateRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	if strings.TrimSpace(req.Token) == "" {
		return badRequest("token is required")
	}
	ctx := r.Context()
	st := s.grp.cfg.Store
	hash := rooms.TokenHash(strings.TrimSpace(req.Token))
	g, err := st.GroupByActivation(ctx, hash)
	if errors.Is(err, rooms.ErrGroupNotFound) {
		return errLinkExpired
	}
	if err != nil {
		return fmt.Errorf("activate: %w", err)
	}
	now := s.cfg.Now()
	if err := activationUsable(g, hash, now); err != nil {
		return err
	}
	eps, err := st.Endpoints(ctx, g.ID)
	if err != nil {
		return fmt.Errorf("activate: %w", err)
	}
	creds := map[string]*issued{}
	for _, ep := range eps {
		if ep.Kind != rooms.EndpointMember {
			continue
		}
		c, err := s.issueSecret(ctx, ep)
		if err != nil {
			return fmt.Errorf("activate: %w", err)
		}
		creds[ep.ID] = &c
	}
	err = st.UpdateGroup(ctx, g.ID, func(tx rooms.GroupTx) error {
		cur := tx.Group()
		if err := activationUsable(cur, hash, now); err != nil {
			return err
		}
		for id, c := range creds {
			ep, err := tx.Endpoint(id)
			if errors.Is(err, rooms.ErrEndpointNotFound) {
				continue // removed meanwhile
			}
			if err != nil {
				return err
			}
			if err := s.putIssued(tx, ep, c); err != nil {
				return err
			}
		}
		cur.State, cur.ActivatedAt = rooms.GroupActive, now.UTC()
		g = cur
		return tx.PutGroup(cur)
	})
	if err != nil {
		return fmt.Errorf("activate: %w", err)
	}
	s.log.Info("group activated", "group", g.Name, "id", g.ID, "members", len(creds))
	return writeJSON(w, http.StatusOK, map[string]GroupBrief{"group": brief(g)})
}

// activationUsable says whether g can be activated now with the link of
// this hash.
func activationUsable(g *rooms.Group, hash string, now time.Time) error {
	switch {
	case g.ActivationHash != hash:
		return errLinkExpired
	case g.State != rooms.GroupPending:
		return errLinkUsed
	case g.PendingExpired(now):
		return errLinkExpired
	}
	return nil
}

// issued is a freshly issued endpoint secret: its hash for the record, and
// the secret itself for the member's mail or (room system) the reply.
type issued struct {
	hash   string
	secret string
	sentTo string // the member's address once its mail is queued
}

// issueSecret makes a new secret for ep and hashes it (slow: do it
// outside any transaction, then store it with putIssued).
func (s *Server) issueSecret(ctx context.Context, ep *rooms.Endpoint) (issued, error) {
	secret := auth.RandomToken(16)
	hash, err := s.grp.cfg.Verifier.Hash(ctx, secret)
	if err != nil {
		return issued{}, fmt.Errorf("hash secret of %s: %w", ep.ID, err)
	}
	return issued{hash: hash, secret: secret}, nil
}

// putIssued stores c as ep's secret (raising its generation, which signs
// out its sessions) inside tx, and for a member queues the mail with its
// credentials.
func (s *Server) putIssued(tx rooms.GroupTx, ep *rooms.Endpoint, c *issued) error {
	ep.SecretHash = c.hash
	ep.Generation++
	if err := tx.PutEndpoint(ep); err != nil {
		return err
	}
	if ep.Kind != rooms.EndpointMember {
		return nil
	}
	g := tx.Group()
	text := fmt.Sprintf(`Hello,

you are a member of the group %q. Your endpoint details are:

  Address: %s
  Secret:  %s

To register a client, open %s and enter the address and the secret, or
enter them in any client that speaks parley's protocol. Once registered,
your client joins the group's rooms under your name.

Keep the secret to yourself. If it is lost or leaked, ask your group's
administrator (%s) to issue a new one.
`, g.Name, ep.Address, c.secret, s.absURL("/endpoint"), g.AdminEmail)
	m, err := rooms.NewMail("credentials", ep.Name, "Your endpoint for "+g.Name, text, s.cfg.Now())
	if err != nil {
		return fmt.Errorf("credentials mail: %w", err)
	}
	c.sentTo = m.To
	return tx.PutMail(m)
}

// SweepGroups removes the pending groups whose activation link has
// expired, freeing their names and member addresses. It returns how many
// it removed.
func (s *Server) SweepGroups(ctx context.Context) (int, error) {
	if s.grp == nil {
		return 0, nil
	}
	st := s.grp.cfg.Store
	all, err := st.Groups(ctx)
	if err != nil {
		return 0, fmt.Errorf("sweep groups: %w", err)
	}
	now := s.cfg.Now()
	n := 0
	for _, g := range all {
		if !g.PendingExpired(now) {
			continue
		}
		// Checked again inside the delete's transaction: a resend or
		// the activation may have come in meanwhile.
		_, err := st.DeleteGroup(ctx, g.ID, func(cur *rooms.Group) error {
			if !cur.PendingExpired(now) {
				return errNotPending
			}
			return nil
		})
		if errors.Is(err, errNotPending) || errors.Is(err, rooms.ErrGroupNotFound) {
			continue
		}
		if err != nil {
			return n, fmt.Errorf("sweep groups: %w", err)
		}
		s.log.Info("pending group expired and removed", "group", g.Name, "id", g.ID)
		n++
	}
	return n, nil
}

// RunSweeper calls SweepGroups every GroupConfig.SweepInterval (on its
// Wait's clock) until ctx is done.
func (s *Server) RunSweeper(ctx context.Context) {
	if s.grp == nil {
		return
	}
	for s.grp.cfg.Wait(ctx, s.grp.cfg.SweepInterval) == nil {
		if _, err := s.SweepGroups(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("sweeping expired sign-ups failed", "err", err)
		}
	}
}
