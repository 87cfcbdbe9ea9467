package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/parley-dev/parley/auth"
	"github.com/parley-dev/parley/rooms"
	"github.com/parley-dev/parley/sms"
)

// InvitationConfig configures the invitations API (issue #13): a member in
// a call invites a guest by e-mail or text message (the room's standing
// guest link, for copied instructions, is guests.go's); and the SMS
// gateway's delivery reports.
type InvitationConfig struct {
	// Store keeps invitations, guest links and the outboxes; nil turns
	// the invitations API off.
	Store InvitationStore
	// Verifier checks the caller's join token (auth.Tokens does).
	Verifier JoinVerifier
	// Key derives guest link tokens (rooms.GuestToken): the server's
	// signing key, as the guest links use it.
	Key []byte
	// LinkTTL is how long an invitation's link works; default
	// rooms.DefaultGuestLinkTTL.
	LinkTTL time.Duration
	// Limits bound invitations per member and per room; zero fields mean
	// rooms.DefaultInvitationLimits.
	Limits rooms.InvitationLimits
	// SMSStatusSecret authenticates the gateway's delivery reports (POST
	// /api/v1/sms/status); "" turns that route off.
	SMSStatusSecret string
	// SMSGateway names the gateway for the operator ("" when none is
	// configured and text messages wait in the SMS outbox).
	SMSGateway string
}

// InvitationStore is what the invitations API keeps its records in
// (rooms/store.DB).
type InvitationStore interface {
	rooms.InvitationStore
	rooms.GuestLinkStore
	rooms.SMSOutbox
	Room(ctx context.Context, id string) (*rooms.Room, error)
}

// JoinVerifier checks join tokens.
type JoinVerifier interface {
	VerifyJoin(token string) (*auth.JoinClaims, error)
}

func (s *Server) invitationRoutes(api func(method, path string, h handlerFunc)) {
	ic := &s.cfg.Invitations
	if ic.Store == nil {
		return
	}
	if ic.LinkTTL <= 0 {
		ic.LinkTTL = rooms.DefaultGuestLinkTTL
	}
	ic.Limits = ic.Limits.WithDefaults()
	// The guest page's look-up of an invitation's link makes it "opened"
	// (guests.go calls OnOpened at request time).
	if s.cfg.Guests.OnOpened == nil {
		s.cfg.Guests.OnOpened = s.NoteGuestLinkOpened
	}
	api("POST", "/api/v1/invitations", s.inCall(s.createInvitation))
	api("GET", "/api/v1/invitations", s.inCall(s.listInvitations))
	api("DELETE", "/api/v1/invitations/{id}", s.inCall(s.revokeInvitation))
	api("POST", "/api/v1/sms/status", s.smsStatus)
	api("GET", "/api/v1/sms-outbox", s.operator(s.listSMSOutbox))
}

// caller is the participant an invitations request comes from.
type caller struct {
	room    *rooms.Room
	inviter string // Invitation.Inviter
	name    string // the name the guest is told ("" if not known)
}

// errNotAMember and errJoinTokenNeeded are guests.go's.
var (
	errJoinTokenExpired = &apiError{status: http.StatusUnauthorized, code: "token-expired",
		msg: "your join token has expired: fetch a new one from POST /api/v1/join"}
)

// inCall wraps h so it runs only for a member or host of a room, named by
// the join token in the Authorization header.
func (s *Server) inCall(h func(w http.ResponseWriter, r *http.Request, c *caller) error) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		ic := s.cfg.Invitations
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || token == "" {
			return errJoinTokenNeeded
		}
		claims, err := ic.Verifier.VerifyJoin(token)
		switch {
		case errors.Is(err, auth.ErrTokenExpired):
			return errJoinTokenExpired
		case err != nil:
			if wait, ok := s.guesses.Failed(clientKey(r)); !ok {
				return rateLimited(wait)
			}
			return &apiError{status: http.StatusUnauthorized, code: "unauthorized", msg: "that join token is not valid"}
		}
		if claims.Role != auth.RoleMember && claims.Role != auth.RoleHost {
			return errNotAMember
		}
		room, err := ic.Store.Room(r.Context(), claims.RoomID)
		if err != nil {
			return fmt.Errorf("room of join token: %w", err)
		}
		c := &caller{room: room, name: claims.Name}
		if claims.Endpoint != "" {
			c.inviter = "endpoint:" + claims.Endpoint
		} else {
			// A member who came by the member link has no identity but
			// their address: members behind one address share a limit.
			c.inviter = "address:" + clientKey(r).String()
		}
		return h(w, r, c)
	}
}

// CreateInvitationRequest is the body of POST /api/v1/invitations.
type CreateInvitationRequest struct {
	// Via is "email" or "sms".
	Via string `json:"via"`
	// To is the guest's e-mail address, or UK mobile number as typed.
	To string `json:"to"`
	// Name is the inviter's name as shown in the call, for a member whose
	// join token carries none (one who came by the member link); a
	// registered endpoint's own name is used instead.
	Name string `json:"name,omitempty"`
}

// InvitationView is an invitation as the inviter's panel shows it.
type InvitationView struct {
	ID  string `json:"id"`
	Via string `json:"via"`
	// To is the address, or for a text message the number masked
	// ("+44 77•• •••123").
	To        string                `json:"to"`
	State     rooms.InvitationState `json:"state"`
	CreatedAt time.Time             `json:"createdAt"`
	ExpiresAt time.Time             `json:"expiresAt"`
	URL       string                `json:"url"`
	// JoinedName is the name the guest joined under, once joined.
	JoinedName string `json:"joinedName,omitempty"`
	// Error is the last delivery error in plain words, while the message
	// is being retried or after the gateway reported a failure.
	Error string `json:"error,omitempty"`
}

func (s *Server) invitationView(inv *rooms.Invitation) InvitationView {
	v := InvitationView{ID: inv.ID, Via: string(inv.Via), To: inv.To, State: inv.State(s.cfg.Now()),
		CreatedAt: inv.CreatedAt, ExpiresAt: inv.ExpiresAt, JoinedName: inv.JoinedName, Error: inv.Message.LastError}
	if inv.Via == rooms.ViaSMS {
		v.To = rooms.MaskPhone(inv.To)
	}
	if token, err := rooms.GuestToken(s.cfg.Invitations.Key, inv.LinkID); err == nil {
		v.URL = rooms.GuestURL(s.cfg.PublicURL, token)
	}
	return v
}

func (s *Server) createInvitation(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req CreateInvitationRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	ic := s.cfg.Invitations
	name := c.name
	if name == "" {
		name = strings.Join(strings.Fields(req.Name), " ")
	}
	if utf8.RuneCountInString(name) > 64 {
		return invalidInvite("name", "your name is over 64 characters")
	}
	if strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return invalidInvite("name", "your name has a control character in it")
	}
	var to string
	switch rooms.InvitationVia(req.Via) {
	case rooms.ViaEmail:
		addr, err := rooms.ValidateEmail(req.To)
		if err != nil {
			return invalidInvite("to", plainWords(err, rooms.ErrInvalidEmail))
		}
		to = addr
	case rooms.ViaSMS:
		num, err := sms.ParseUKMobile(req.To)
		if err != nil {
			return invalidInvite("to", plainWords(err, rooms.ErrInvalidPhone))
		}
		to = num
	default:
		return invalidInvite("via", `choose how to send the invitation: "email" or "sms"`)
	}
	now := s.cfg.Now()
	inv, link, token, err := rooms.NewInvitation(ic.Key, c.room.ID, rooms.InvitationVia(req.Via), to, c.inviter, name, now, ic.LinkTTL)
	if err != nil {
		return fmt.Errorf("new invitation: %w", err)
	}
	url := rooms.GuestURL(s.cfg.PublicURL, token)
	var m *rooms.Mail
	var text *rooms.TextMessage
	if inv.Via == rooms.ViaEmail {
		m, err = rooms.NewMail("invitation", to, invitationSubject(name), invitationMail(name, c.room.Name, url, inv.ExpiresAt), now)
		if err != nil {
			return fmt.Errorf("invitation mail: %w", err)
		}
		inv.MessageID = m.ID
	} else {
		text, err = rooms.NewTextMessage("invitation", to, invitationText(name, c.room.Name, url, inv.ExpiresAt), now)
		if err != nil {
			return fmt.Errorf("invitation text message: %w", err)
		}
		inv.MessageID = text.ID
		text.InvitationID = inv.ID
	}
	if err := ic.Store.CreateInvitation(r.Context(), inv, link, m, text, ic.Limits); err != nil {
		var le *rooms.InvitationLimitError
		if errors.As(err, &le) {
			wait := max(le.RetryAt.Sub(now), time.Second)
			return &apiError{status: http.StatusTooManyRequests, code: "too-many-invitations", retryAfter: wait,
				msg: fmt.Sprintf("%s; you can send another in %s", le.Error(), minutesWords(wait))}
		}
		return fmt.Errorf("create invitation: %w", err)
	}
	s.log.Info("invitation sent", "room", c.room.Name, "invitation", inv.ID, "via", inv.Via, "inviter", c.inviter)
	return writeJSON(w, http.StatusCreated, map[string]InvitationView{"invitation": s.invitationView(inv)})
}

// plainWords is the part of err after its sentinel's text ("invalid phone
// number: 020... is a landline" -> "020... is a landline").
func plainWords(err, sentinel error) string {
	msg := err.Error()
	if i := strings.Index(msg, sentinel.Error()+": "); i >= 0 {
		return msg[i+len(sentinel.Error())+2:]
	}
	return msg
}

// invalidInvite is the 422 for one field of an invitation, its message
// the field's problem in plain words (shown beside the field).
func invalidInvite(field, msg string) error {
	return &apiError{status: http.StatusUnprocessableEntity, code: "invalid", msg: msg, fields: map[string]string{field: msg}}
}

// minutesWords says a wait in whole minutes (at least one).
func minutesWords(d time.Duration) string {
	m := int((d + time.Minute - 1) / time.Minute)
	if m <= 1 {
		return "a minute"
	}
	return fmt.Sprintf("%d minutes", m)
}

func (s *Server) listInvitations(w http.ResponseWriter, r *http.Request, c *caller) error {
	invs, err := s.cfg.Invitations.Store.RoomInvitations(r.Context(), c.room.ID, 100)
	if err != nil {
		return fmt.Errorf("list invitations: %w", err)
	}
	out := make([]InvitationView, 0, len(invs))
	for _, inv := range invs {
		out = append(out, s.invitationView(inv))
	}
	return writeJSON(w, http.StatusOK, map[string][]InvitationView{"invitations": out})
}

var errInvitationNotFound = &apiError{status: http.StatusNotFound, code: "invitation-not-found", msg: "this room has no such invitation"}

func (s *Server) revokeInvitation(w http.ResponseWriter, r *http.Request, c *caller) error {
	st := s.cfg.Invitations.Store
	inv, err := st.Invitation(r.Context(), r.PathValue("id"))
	switch {
	case errors.Is(err, rooms.ErrInvitationNotFound):
		return errInvitationNotFound
	case err != nil:
		return fmt.Errorf("revoke invitation: %w", err)
	case inv.RoomID != c.room.ID:
		return errInvitationNotFound
	}
	if _, err := st.RevokeGuestLink(r.Context(), inv.LinkID, s.cfg.Now(), c.inviter); err != nil {
		return fmt.Errorf("revoke invitation %s: %w", inv.ID, err)
	}
	if inv, err = st.Invitation(r.Context(), inv.ID); err != nil {
		return fmt.Errorf("revoke invitation: %w", err)
	}
	s.log.Info("invitation revoked", "room", c.room.Name, "invitation", inv.ID, "by", c.inviter)
	return writeJSON(w, http.StatusOK, map[string]InvitationView{"invitation": s.invitationView(inv)})
}

// NoteGuestLinkOpened records that a guest's page looked up the invitation
// link l (GET /api/v1/guest/{token}): the invitation becomes "opened". A
// standing link has no invitation and nothing is recorded. A failure is
// logged, not returned: the guest is let in regardless.
func (s *Server) NoteGuestLinkOpened(ctx context.Context, l *rooms.GuestLink) {
	st := s.cfg.Invitations.Store
	if st == nil || l.InvitationID == "" {
		return
	}
	if err := st.MarkInvitationOpened(ctx, l.InvitationID, s.cfg.Now()); err != nil {
		s.log.Warn("record an invitation opened", "invitation", l.InvitationID, "err", err)
	}
}

// SMSStatusRequest is the body of POST /api/v1/sms/status, a gateway's
// delivery report.
type SMSStatusRequest struct {
	// ID is the message's ID as the gateway was given it ({{.ID}} in the
	// body template).
	ID string `json:"id"`
	// Status is "delivered", or "failed" (also "undelivered", "rejected",
	// "expired"); anything else ("sent", "queued", ...) is acknowledged
	// and ignored.
	Status string `json:"status"`
	// Error, for a failure, says why (kept for the operator).
	Error string `json:"error,omitempty"`
}

func (s *Server) smsStatus(w http.ResponseWriter, r *http.Request) error {
	ic := s.cfg.Invitations
	if ic.SMSStatusSecret == "" {
		return &apiError{status: http.StatusNotFound, code: "not-found", msg: "SMS delivery reports are not enabled on this server (--sms-status-secret)"}
	}
	secret, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		secret = r.URL.Query().Get("secret")
	}
	if !auth.Equal(secret, ic.SMSStatusSecret) {
		if wait, ok := s.guesses.Failed(clientKey(r)); !ok {
			return rateLimited(wait)
		}
		return &apiError{status: http.StatusUnauthorized, code: "unauthorized", msg: "a valid SMS status secret is required (Authorization: Bearer …)"}
	}
	var req SMSStatusRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	var state rooms.TextState
	switch strings.ToLower(strings.TrimSpace(req.Status)) {
	case "delivered":
		state = rooms.TextDelivered
	case "failed", "undelivered", "rejected", "expired":
		state = rooms.TextFailed
	default:
		return writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	}
	err := ic.Store.MarkTextReported(r.Context(), strings.TrimSpace(req.ID), state, req.Error, s.cfg.Now())
	if errors.Is(err, rooms.ErrTextNotFound) {
		return &apiError{status: http.StatusNotFound, code: "text-not-found", msg: "no text message has that id"}
	}
	if err != nil {
		return fmt.Errorf("record SMS status: %w", err)
	}
	s.log.Info("text message report", "id", req.ID, "state", state)
	return writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

// TextView is an SMS outbox message as the operator API shows it. Text is
// gone once the gateway accepted the message.
type TextView struct {
	ID           string          `json:"id"`
	Kind         string          `json:"kind"`
	To           string          `json:"to"`
	Text         string          `json:"text,omitempty"`
	InvitationID string          `json:"invitationId,omitempty"`
	State        rooms.TextState `json:"state"`
	CreatedAt    time.Time       `json:"createdAt"`
	Attempts     int             `json:"attempts"`
	NextAttempt  time.Time       `json:"nextAttempt,omitzero"`
	LastError    string          `json:"lastError,omitempty"`
	SentAt       time.Time       `json:"sentAt,omitzero"`
	DeliveredAt  time.Time       `json:"deliveredAt,omitzero"`
}

// SMSOutboxList answers GET /api/v1/sms-outbox.
type SMSOutboxList struct {
	// Gateway is where text messages go, "" when none is configured
	// and they wait here.
	Gateway string     `json:"gateway"`
	Texts   []TextView `json:"texts"`
}

// TextViewOf is m as the operator API shows it.
func TextViewOf(m *rooms.TextMessage) TextView {
	return TextView{ID: m.ID, Kind: m.Kind, To: m.To, Text: m.Text, InvitationID: m.InvitationID, State: m.State,
		CreatedAt: m.CreatedAt, Attempts: m.Attempts, NextAttempt: m.NextAttempt, LastError: m.LastError,
		SentAt: m.SentAt, DeliveredAt: m.DeliveredAt}
}

func (s *Server) listSMSOutbox(w http.ResponseWriter, r *http.Request) error {
	f := rooms.TextFilter{Limit: defaultMailLimit}
	switch st := rooms.TextState(r.URL.Query().Get("state")); st {
	case "", rooms.TextQueued, rooms.TextSent, rooms.TextDelivered, rooms.TextFailed:
		f.State = st
	default:
		return badRequest(fmt.Sprintf("state %q is not queued, sent, delivered or failed", st))
	}
	texts, err := s.cfg.Invitations.Store.Texts(r.Context(), f)
	if err != nil {
		return fmt.Errorf("list SMS outbox: %w", err)
	}
	out := SMSOutboxList{Gateway: s.cfg.Invitations.SMSGateway, Texts: make([]TextView, 0, len(texts))}
	for _, m := range texts {
		out.Texts = append(out.Texts, TextViewOf(m))
	}
	return writeJSON(w, http.StatusOK, out)
}
