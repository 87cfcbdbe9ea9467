package api

import (
	"net/http"
	"net/url"
	pathpkg "path"
	"regexp"
	"strings"
	"testing"
)

var (
	pageRefRE    = regexp.MustCompile(`(?i)\s(?:src|href)="([^"]*)"`)
	pageImportRE = regexp.MustCompile(`(?m)^\s*import\s[^'"]*['"]([^'"]+)['"]`)
)

// TestGroupPages serves every group page: HTML with the strict CSP, no
// inline script or style, and every file it loads (and every module those
// import, transitively) served from /assets/.
func TestGroupPages(t *testing.T) {
	f := newFixture(t)
	for _, path := range []string{"/", "/signup", "/activate/some-token", "/admin", "/group", "/endpoint", "/coordinator", "/m/some-token"} {
		resp, data := f.do(t, "GET", path, "", nil)
		html := string(data)
		if resp.StatusCode != 200 || !strings.Contains(html, "<html") {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") {
			t.Errorf("%s: CSP %q", path, csp)
		}
		if cc := resp.Header.Get("Cache-Control"); cc != "no-cache" {
			t.Errorf("%s: Cache-Control %q, want no-cache", path, cc)
		}
		for _, bad := range []string{" style=", "<style", "javascript:", " onclick=", " onload=", " oninput="} {
			if strings.Contains(strings.ToLower(html), bad) {
				t.Errorf("%s contains %q, which the CSP forbids", path, bad)
			}
		}
		for _, m := range regexp.MustCompile(`<script[^>]*>`).FindAllString(html, -1) {
			if !strings.Contains(m, ` src="/assets/`) || !strings.Contains(m, `type="module"`) {
				t.Errorf("%s: script tag %s: want a module with src under /assets/", path, m)
			}
		}
		var assets []string
		for _, m := range pageRefRE.FindAllStringSubmatch(html, -1) {
			if strings.HasPrefix(m[1], "/assets/") {
				assets = append(assets, m[1])
			}
		}
		if len(assets) < 3 {
			t.Errorf("%s loads %d assets, want the icon, the stylesheet and its script", path, len(assets))
		}
		seen := map[string]bool{}
		for len(assets) > 0 {
			a := assets[0]
			assets = assets[1:]
			if seen[a] {
				continue
			}
			seen[a] = true
			resp, data := f.do(t, "GET", a, "", nil)
			if resp.StatusCode != 200 {
				t.Errorf("%s loads %s: %d", path, a, resp.StatusCode)
				continue
			}
			if !strings.HasSuffix(a, ".js") {
				continue
			}
			dir := a[:strings.LastIndex(a, "/")+1]
			for _, m := range pageImportRE.FindAllStringSubmatch(string(data), -1) {
				// ./ within the pages, ../ for the call page's modules
				// they share (pages/directory.js imports ../presence.js).
				if !strings.HasPrefix(m[1], "./") && !strings.HasPrefix(m[1], "../") {
					t.Errorf("%s imports %q: want a relative ./ or ../ path", a, m[1])
					continue
				}
				if imp := pathpkg.Join(dir, m[1]); strings.HasPrefix(imp, "/assets/") {
					assets = append(assets, imp)
				} else {
					t.Errorf("%s imports %q, outside /assets/", a, m[1])
				}
			}
		}
	}
	// The call page is unchanged; a booked meeting's call is the call page too.
	for _, path := range []string{"/r/some-link", "/meeting/call"} {
		if _, data := f.do(t, "GET", path, "", nil); !strings.Contains(string(data), `src="/assets/app.js"`) {
			t.Errorf("%s is not the call page", path)
		}
	}
}

// TestEndpointRoomLinks: the endpoint page's Join is the room's member
// link that GET /api/v1/endpoint/me hands out, the call page; the old
// redirect /endpoint/rooms/{id} is gone.
func TestEndpointRoomLinks(t *testing.T) {
	gf := newGroupFixture(t)
	gf.activeGroup(t)
	user := gf.browser(t)
	user.call("POST", "/api/v1/group/login", map[string]string{"groupName": "choir", "pin": "2468"}).want(t, 200, "")
	var weekly RoomView
	r := user.call("POST", "/api/v1/group/rooms", map[string]string{"name": "Weekly"})
	r.want(t, 201, "")
	r.decode(t, &weekly)

	alice := gf.browser(t)
	addr, secret := gf.credentials(t, "alice@example.org")
	alice.call("POST", "/api/v1/endpoint/login", map[string]string{"address": addr, "secret": secret}).want(t, 200, "")
	var me EndpointMe
	r = alice.call("GET", "/api/v1/endpoint/me", nil)
	r.want(t, 200, "")
	r.decode(t, &me)
	if len(me.Rooms) != 1 || me.Rooms[0].URL != "https://meet.example.org/r/"+weekly.Link {
		t.Fatalf("endpoint/me rooms = %+v, want Weekly with URL https://meet.example.org/r/%s", me.Rooms, weekly.Link)
	}
	u, err := url.Parse(me.Rooms[0].URL)
	if err != nil {
		t.Fatal(err)
	}
	if r := alice.call("GET", u.Path, nil); r.status != http.StatusOK || !strings.Contains(string(r.body), `src="/assets/app.js"`) {
		t.Errorf("GET %s: %d, want the call page", u.Path, r.status)
	}
	alice.c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := alice.c.Get(gf.srv.URL + "/endpoint/rooms/" + weekly.ID)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /endpoint/rooms/{id}: %d (Location %q), want 404: the redirect is gone", resp.StatusCode, resp.Header.Get("Location"))
	}
}
