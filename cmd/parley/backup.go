package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/parley-dev/parley/rooms/store"
)

const backupUsage = `Usage:
  parley backup FILE [--data DIR] [--force]

Writes a consistent copy of the database to FILE: through the server
running on DIR (a hot copy; calls and room changes carry on), or straight
from DIR/parley.db when no server runs. The copy is written to FILE.tmp,
synced, checked, and only then renamed to FILE, so a failed backup never
leaves a partial FILE. FILE gets mode 0600: it holds the token signing key.

To restore: stop the server, replace DIR/parley.db with the copy, start it.

Flags:
  --data DIR   the server's data directory (default ./data, env PARLEY_DATA)
  --force      replace FILE if it exists
`

// runBackup is parley backup.
func runBackup(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	data := dataDirFlag(fs)
	force := fs.Bool("force", false, "replace FILE if it exists")
	rest, err := parseInterspersed(fs, args, backupUsage)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, backupUsage)
		return nil
	}
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usageErrorf(backupUsage, "backup needs one FILE to write, as in: parley backup parley-%s.db", time.Now().Format("2006-01-02"))
	}
	file := rest[0]
	if err := checkBackupTarget(file, *data, *force); err != nil {
		return err
	}
	from, fill, err := backupSource(ctx, *data)
	if err != nil {
		return err
	}
	n, err := writeFileAtomic(file, *force, fill)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (%s) %s\n", file, sizeString(n), from)
	return nil
}

// checkBackupTarget refuses an existing file without force, and the live
// database itself in any case.
func checkBackupTarget(file, dataDir string, force bool) error {
	fi, err := os.Stat(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", file, plainPathError(err))
	}
	if live, err := os.Stat(filepath.Join(dataDir, "parley.db")); err == nil && os.SameFile(fi, live) {
		return fmt.Errorf("%s is the database itself; write the backup somewhere else", file)
	}
	if !force {
		return fmt.Errorf("%s already exists; choose another name, or give --force to replace it", file)
	}
	return nil
}

// backupSource returns where the copy comes from, in words, and a function
// that writes it: the running server's API, or the database file.
func backupSource(ctx context.Context, dataDir string) (string, func(io.Writer) (int64, error), error) {
	hc, err := findServer(ctx, dataDir)
	if err != nil {
		return "", nil, err
	}
	if hc != nil {
		return "from the server running on " + dataDir, func(w io.Writer) (int64, error) { return hc.backup(ctx, w) }, nil
	}
	dbPath, err := existingDB(dataDir)
	if err != nil {
		return "", nil, err
	}
	return "from " + dbPath + " (no server running)", func(w io.Writer) (int64, error) {
		n, err := store.BackupFile(dbPath, w, nil, 2*time.Second)
		if errors.Is(err, store.ErrNoDatabase) || errors.Is(err, store.ErrLocked) {
			return n, dbOpenError(dataDir, dbPath, err)
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return n, fmt.Errorf("cannot copy %s: it is shorter than its own header says, so it is damaged", dbPath)
		}
		if err != nil {
			return n, fmt.Errorf("cannot copy %s: %w", dbPath, err)
		}
		return n, nil
	}, nil
}

// backup downloads the server's hot copy into w, failing if it falls
// short of its announced length.
func (c *httpRoomClient) backup(ctx context.Context, w io.Writer) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/api/v1/backup", nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	// No overall timeout: a large copy takes what it takes (the server
	// bounds it), and ctx ends it on Ctrl-C.
	resp, err := (&http.Client{Transport: c.hc.Transport}).Do(req)
	if err != nil {
		return 0, fmt.Errorf("cannot reach the server at %s: %w", c.base, plainHTTPError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("the server did not make a backup: %w", readServerError(resp))
	}
	n, err := io.Copy(w, resp.Body)
	if err == nil && resp.ContentLength >= 0 && n != resp.ContentLength {
		err = io.ErrUnexpectedEOF
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return n, fmt.Errorf("the server's copy was cut off after %s of %s", sizeString(n), sizeString(resp.ContentLength))
	}
	if err != nil {
		return n, fmt.Errorf("the server's copy was cut off after %s of %s: %w", sizeString(n), sizeString(resp.ContentLength), plainHTTPError(err))
	}
	return n, nil
}

// writeFileAtomic writes path through fill so that path either does not
// change or holds the whole, checked copy: fill writes path+".tmp" (mode
// 0600), which is synced, checked as a database, and then renamed (with
// force) or hard-linked (without, so an existing path is never replaced)
// to path; the directory is synced last. On failure the .tmp is removed.
func writeFileAtomic(path string, force bool, fill func(io.Writer) (int64, error)) (n int64, err error) {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, fmt.Errorf("cannot write %s: %w", tmp, plainPathError(err))
	}
	defer func() {
		if f != nil {
			f.Close()
		}
		if err != nil {
			os.Remove(tmp)
		}
	}()
	if n, err = fill(f); err != nil {
		return n, fmt.Errorf("%w; %s was not written", err, path)
	}
	if err = f.Sync(); err == nil {
		err = f.Close()
	}
	f = nil
	if err != nil {
		return n, fmt.Errorf("cannot write %s: %w", tmp, plainPathError(err))
	}
	if err = store.CheckFile(tmp, 0); err != nil {
		detail := err.Error()
		if i := strings.Index(detail, store.ErrCorrupt.Error()+": "); i >= 0 {
			detail = detail[i+len(store.ErrCorrupt.Error())+2:]
		}
		return n, fmt.Errorf("the copy is damaged (%s), so %s was not written", detail, path)
	}
	if err = publishFile(tmp, path, force); err != nil {
		return n, err
	}
	if d, derr := os.Open(filepath.Dir(path)); derr == nil {
		err = d.Sync()
		d.Close()
		if err != nil {
			return n, fmt.Errorf("cannot sync the directory of %s: %w", path, plainPathError(err))
		}
	}
	return n, nil
}

// publishFile moves tmp to path: a rename if force, else a hard link that fails
// if path exists (then tmp is removed). Where links are not supported it
// falls back to checking, then renaming.
func publishFile(tmp, path string, force bool) error {
	if !force {
		err := os.Link(tmp, path)
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s appeared while the backup ran; it was left alone (give --force to replace it)", path)
		}
		if err == nil {
			return os.Remove(tmp)
		}
		if _, serr := os.Lstat(path); serr == nil {
			return fmt.Errorf("%s appeared while the backup ran; it was left alone (give --force to replace it)", path)
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("cannot rename %s to %s: %w", tmp, path, plainPathError(err))
	}
	return nil
}

// plainPathError drops the operation and path from an *fs.PathError (the
// message already names the file) and words the common causes.
func plainPathError(err error) error {
	switch {
	case errors.Is(err, fs.ErrPermission):
		return errors.New("permission denied")
	case errors.Is(err, fs.ErrNotExist):
		return errors.New("no such directory")
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// sizeString is a byte count for people: "512 bytes", "48.0 KiB", "3.2 MiB".
func sizeString(n int64) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d bytes", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	case n < 1<<30:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
}
