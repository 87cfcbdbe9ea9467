package webclient

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func embedded(t *testing.T) fs.FS {
	t.Helper()
	fsys, err := Files("")
	if err != nil {
		t.Fatalf("Files(\"\"): %v", err)
	}
	return fsys
}

func TestFilesHasClient(t *testing.T) {
	fsys := embedded(t)
	for _, name := range []string{"index.html", "app.js", "protocol.js", "style.css", "favicon.svg",
		"dom.js", "notices.js", "media.js", "tiles.js", "call.js", "join.js", "backoff.js", "publisher.js", "layers.js"} {
		fi, err := fs.Stat(fsys, name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if fi.Size() == 0 {
			t.Errorf("%s is empty", name)
		}
	}
}

var attrRE = regexp.MustCompile(`(?i)\s(src|href)="([^"]*)"`)

// TestIndexReferences checks that index.html loads only files that exist,
// from /assets/, and nothing a default-src 'self' CSP would block.
func TestIndexReferences(t *testing.T) {
	fsys := embedded(t)
	html, err := fs.ReadFile(fsys, "index.html")
	if err != nil {
		t.Fatal(err)
	}
	refs := attrRE.FindAllStringSubmatch(string(html), -1)
	if len(refs) == 0 {
		t.Fatal("index.html references no files")
	}
	for _, m := range refs {
		ref := m[2]
		if ref == "/" { // the "back to start" link
			continue
		}
		name, ok := strings.CutPrefix(ref, "/assets/")
		if !ok {
			t.Errorf("%s=%q: not under /assets/", m[1], ref)
			continue
		}
		if _, err := fs.Stat(fsys, name); err != nil {
			t.Errorf("%s=%q: %v", m[1], ref, err)
		}
	}
	for _, bad := range []string{" style=", "<style", "javascript:", " onclick=", " onload="} {
		if strings.Contains(strings.ToLower(string(html)), bad) {
			t.Errorf("index.html contains %q, which the CSP forbids", bad)
		}
	}
	for _, m := range regexp.MustCompile(`<script[^>]*>`).FindAllString(string(html), -1) {
		if !strings.Contains(m, ` src="/assets/`) || !strings.Contains(m, `type="module"`) {
			t.Errorf("script tag %s: want a module with src under /assets/ (no inline scripts)", m)
		}
	}
}

var importRE = regexp.MustCompile(`(?m)^\s*import\s[^'"]*['"]([^'"]+)['"]`)

// TestModuleImports checks that every ES module import is relative and names
// a file in the tree.
func TestModuleImports(t *testing.T) {
	fsys := embedded(t)
	names, err := fs.Glob(fsys, "*.js")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		src, err := fs.ReadFile(fsys, name)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range importRE.FindAllStringSubmatch(string(src), -1) {
			target, ok := strings.CutPrefix(m[1], "./")
			if !ok {
				t.Errorf("%s imports %q: want a relative ./ path", name, m[1])
				continue
			}
			if _, err := fs.Stat(fsys, target); err != nil {
				t.Errorf("%s imports %q: %v", name, m[1], err)
			}
		}
	}
}

func TestFilesDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte("dev"), 0o644); err != nil {
		t.Fatal(err)
	}
	fsys, err := Files(dir)
	if err != nil {
		t.Fatalf("Files(%q): %v", dir, err)
	}
	got, err := fs.ReadFile(fsys, "index.html")
	if err != nil || string(got) != "dev" {
		t.Fatalf("index.html from disk = %q, %v; want \"dev\"", got, err)
	}

	if _, err := Files(filepath.Join(dir, "index.html")); !errors.Is(err, ErrNotDirectory) {
		t.Errorf("Files(file) error = %v, want ErrNotDirectory", err)
	}
	if _, err := Files(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Files(missing) error = %v, want fs.ErrNotExist", err)
	}
}
