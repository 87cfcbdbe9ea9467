// Package webclient holds the browser client, embedded into the binary.
//
// The client is plain ES modules, HTML and CSS under static/, served by the
// HTTP layer under /assets/ (index.html, the call page, also answers /r/{link}). No
// build step: go build embeds the files as they are. static/protocol.js
// talks to the server (see docs/protocol.md); the user interface is split
// by concern: app.js (entry), join.js (landing and join pages), media.js
// (camera and microphone), call.js (the call and its connection), tiles.js
// (video tiles and layout), notices.js (banner and messages), dom.js.
// static/pages/ holds the group pages (front page, sign-up, activation,
// the administrator's console, group rooms, endpoint sign-in): an HTML
// file and a module each, sharing api.js, form.js and ui.js.
package webclient

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
)

//go:embed static
var static embed.FS

// Files returns the client's files: the embedded static tree when dir is
// "", or the directory dir on disk (for developing the client without
// rebuilding, see --webclient-dir). It fails with ErrNotDirectory when dir
// is not a directory.
func Files(dir string) (fs.FS, error) {
	if dir == "" {
		return fs.Sub(static, "static")
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("webclient: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("webclient: %s: %w", dir, ErrNotDirectory)
	}
	return os.DirFS(dir), nil
}
