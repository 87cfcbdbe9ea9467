package api

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/parley-dev/parley/rooms"
)

// The web pages of groups (docs/api.md, "Pages"). Each is a static HTML
// file under pages/ in the web client's files, with its script a module
// under /assets/pages/; what a page shows it fetches from the JSON API.
// /r/{link} stays the call page (index.html).
var pageFiles = map[string]string{
	"GET /{$}":              "pages/front.html",
	"GET /signup":           "pages/signup.html",
	"GET /activate/{token}": "pages/activate.html",
	"GET /admin":            "pages/admin.html",
	"GET /group":            "pages/group.html",
	"GET /endpoint":         "pages/endpoint.html",
	// Booked meetings (issue #14): the coordinator's page, and a meeting's
	// link page (its token is a secret: no-referrer, as for /activate).
	"GET /coordinator": "pages/coordinator.html",
	"GET /m/{token}":   "pages/meeting.html",
}

// pages adds the routes of the web pages.
func (s *Server) pages() {
	for pattern, name := range pageFiles {
		s.mux.HandleFunc(pattern, s.servePage(name))
	}
	s.mux.HandleFunc("GET /endpoint/rooms/{id}", s.endpointJoinPage)
	s.mux.HandleFunc("GET /meeting/call", s.serveIndex) // a booked meeting's call, joined from /m/{token} (webclient/static/meetingcall.js)
}

// servePage serves one page's HTML. The pages change with each release,
// so the browser revalidates them every time (no-cache); the activation
// page's URL holds a secret token, which no-referrer (see ServeHTTP) keeps
// from leaking to anything the page loads.
func (s *Server) servePage(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeFileFS(w, r, s.cfg.Web, name)
	}
}

// endpointJoinPage is the endpoint page's Join: for the signed-in
// endpoint and a room of its group, a redirect to the room's call page,
// where POST /api/v1/join (with the endpoint's cookie) issues the token
// for the endpoint. Anything else goes back to /endpoint, which shows the
// sign-in or the rooms there are (with ?gone=1 when the room is not one).
func (s *Server) endpointJoinPage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if s.grp == nil {
		http.Redirect(w, r, "/endpoint", http.StatusSeeOther)
		return
	}
	reg, err := s.endpointSession(r)
	if err != nil {
		http.Redirect(w, r, "/endpoint", http.StatusSeeOther)
		return
	}
	rm, err := s.cfg.Rooms.Room(r.Context(), r.PathValue("id"))
	switch {
	case errors.Is(err, rooms.ErrRoomNotFound) || err == nil && rm.GroupID != reg.Group.ID:
		http.Redirect(w, r, "/endpoint?gone=1", http.StatusSeeOther)
	case err != nil:
		s.log.Error("endpoint join page", "endpoint", reg.Endpoint.ID, "room", r.PathValue("id"), "err", err)
		http.Error(w, "The room could not be opened. Please try again.", http.StatusInternalServerError)
	default:
		http.Redirect(w, r, "/r/"+url.PathEscape(rm.Link), http.StatusSeeOther)
	}
}
