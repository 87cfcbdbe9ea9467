package api

import (
	"net/http"
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
