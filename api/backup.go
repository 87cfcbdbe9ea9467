package api

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// Backuper writes a consistent copy of the database while the server runs.
// rooms/store.DB implements it.
type Backuper interface {
	// BackupTo calls size with the copy's exact length, then writes the
	// copy to w, returning the bytes written.
	BackupTo(w io.Writer, size func(int64)) (int64, error)
}

// backupWriteTimeout bounds how long one backup download may take, in
// place of the server's usual write timeout: the copy is read in one
// transaction, which should not stay open for a stalled client.
const backupWriteTimeout = 10 * time.Minute

// backup serves GET /api/v1/backup: the whole database as a bbolt file,
// with an exact Content-Length so the client can tell a cut-off copy.
func (s *Server) backup(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.Backup == nil {
		return &apiError{status: http.StatusNotFound, code: "not-found", msg: "this server does not offer backups"}
	}
	// Not supported by every ResponseWriter (tests); the default timeout
	// then stays, which is only shorter.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(backupWriteTimeout))
	started := false
	n, err := s.cfg.Backup.BackupTo(w, func(size int64) {
		h := w.Header()
		h.Set("Content-Type", "application/octet-stream")
		h.Set("Content-Length", strconv.FormatInt(size, 10))
		h.Set("Content-Disposition", `attachment; filename="parley.db"`)
		w.WriteHeader(http.StatusOK)
		started = true
	})
	if err != nil && !started {
		return fmt.Errorf("backup: %w", err)
	}
	if err != nil {
		// The status is sent; the body falls short of its Content-Length,
		// so net/http closes the connection and the client sees the cut.
		s.log.Warn("backup cut off", "bytes", n, "err", err)
		return nil
	}
	s.log.Info("backup sent", "bytes", n)
	return nil
}
