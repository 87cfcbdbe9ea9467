package sfu

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/pion/logging"
)

// pionLoggerFactory routes Pion's internal logs to slog with a "pion"
// attribute naming the Pion scope (ice, dtls, pc, ...). Levels are shifted
// down one step: Pion's trace, debug and info go to slog Debug, its warnings
// (routine on every peer close: "read/write on closed pipe") to Info, and
// its errors, which it recovers from, to Warn. Messages about normal
// events (routineMessages) go to Debug whatever Pion's level.
//
// Many of Pion's messages can be caused by anyone who can send a packet
// to the media port (a STUN request with an unknown or missing USERNAME,
// garbage on an ICE-TCP connection), so every message goes through a
// rate limiter first: at most logBurst per logInterval for each scope and
// message format, and the next one let through after a pause says how
// many were suppressed.
type pionLoggerFactory struct {
	log   *slog.Logger
	limit *logLimiter // shared by every scope's logger
}

func newPionLoggerFactory(log *slog.Logger, now func() time.Time) pionLoggerFactory {
	return pionLoggerFactory{log: log, limit: newLogLimiter(now)}
}

func (f pionLoggerFactory) NewLogger(scope string) logging.LeveledLogger {
	return pionLogger{log: f.log.With("pion", scope), scope: scope, limit: f.limit}
}

// routineMessages are fragments of Pion messages about normal events,
// which it logs as warnings or errors: they go to Debug. They are matched
// against the formatted message.
var routineMessages = []string{
	// udpmux, at start: we listen on [::] on purpose (one port for all).
	"should not listening on unspecified address",
	// ice, while a peer's candidates are still arriving.
	"Failed to ping without candidate pairs",
	// mux: DTLS arriving before its endpoint is set up; it is queued.
	"mux: no endpoint for packet",
	// pc: RTCP from a subscriber's own SSRC (its receiver reports).
	"Incoming unhandled RTCP ssrc",
	// Everything still in flight when a peer leaves or drops.
	"read/write on closed pipe",
	"stream is already closed",
	"the agent is closed",
	"connection closed",
	"the DTLS transport has not started yet",
	"handshake error: EOF",
	"use of closed network connection",
	// pc, as a peer closes: a stream arrived after its SRTCP session ended.
	"failed to cast child",
}

type pionLogger struct {
	log   *slog.Logger
	scope string
	limit *logLimiter
}

// emit logs a message of Pion's: format, or format formatted with args
// if there are any (a msg from Pion's unformatted methods may hold a %).
func (l pionLogger) emit(level slog.Level, format string, args []any) {
	ctx := context.Background()
	if !l.log.Enabled(ctx, level) { // routine messages only go lower
		return
	}
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, shallow(args)...)
	}
	if level > slog.LevelDebug && isRoutine(msg) {
		level = slog.LevelDebug
	}
	if !l.log.Enabled(ctx, level) {
		return
	}
	ok, suppressed := l.limit.allow(l.scope, format)
	if !ok {
		return
	}
	if suppressed > 0 {
		l.log.Log(ctx, level, msg, "suppressed", suppressed)
		return
	}
	l.log.Log(ctx, level, msg)
}

// shallow replaces each pointer-to-struct argument by its type name. Pion
// passes live objects to some messages ("got new track: %+v" with the
// *TrackRemote that another of its goroutines is filling in), and
// formatting them with %+v would read their fields unguarded: a data race,
// and a dump no reader needs. Anything an error or Stringer says of itself
// is kept.
func shallow(args []any) []any {
	for i, a := range args {
		switch a.(type) {
		case error, fmt.Stringer:
			continue
		}
		if v := reflect.ValueOf(a); v.Kind() == reflect.Pointer && v.Type().Elem().Kind() == reflect.Struct {
			args[i] = fmt.Sprintf("%T", a)
		}
	}
	return args
}

func isRoutine(msg string) bool {
	for _, m := range routineMessages {
		if strings.Contains(msg, m) {
			return true
		}
	}
	return false
}

func (l pionLogger) Trace(msg string)                  { l.emit(slog.LevelDebug-4, msg, nil) }
func (l pionLogger) Tracef(format string, args ...any) { l.emit(slog.LevelDebug-4, format, args) }
func (l pionLogger) Debug(msg string)                  { l.emit(slog.LevelDebug, msg, nil) }
func (l pionLogger) Debugf(format string, args ...any) { l.emit(slog.LevelDebug, format, args) }
func (l pionLogger) Info(msg string)                   { l.emit(slog.LevelDebug, msg, nil) }
func (l pionLogger) Infof(format string, args ...any)  { l.emit(slog.LevelDebug, format, args) }
func (l pionLogger) Warn(msg string)                   { l.emit(slog.LevelInfo, msg, nil) }
func (l pionLogger) Warnf(format string, args ...any)  { l.emit(slog.LevelInfo, format, args) }
func (l pionLogger) Error(msg string)                  { l.emit(slog.LevelWarn, msg, nil) }
func (l pionLogger) Errorf(format string, args ...any) { l.emit(slog.LevelWarn, format, args) }

const (
	logBurst    = 5           // records let through per key per logInterval
	logInterval = time.Minute // the window logBurst applies to
	logMaxKeys  = 512         // keys remembered; beyond, new messages share one key per scope
)

// logLimiter lets through at most logBurst records per key (a Pion scope
// and message format) in each logInterval, counting those it holds back.
type logLimiter struct {
	now func() time.Time // set at construction

	mu   sync.Mutex // guards keys
	keys map[logKey]*logWindow
}

type logKey struct{ scope, format string }

// logWindow is one key's current interval.
type logWindow struct {
	start      time.Time // when the interval began
	n          int       // records let through in it
	suppressed int       // records held back since the last one let through
}

func newLogLimiter(now func() time.Time) *logLimiter {
	if now == nil {
		now = time.Now
	}
	return &logLimiter{now: now, keys: make(map[logKey]*logWindow)}
}

// allow reports whether a record of format in scope may be logged now
// and, if so, how many like it were held back since the last one logged.
// A nil logLimiter allows everything.
func (l *logLimiter) allow(scope, format string) (ok bool, suppressed int) {
	if l == nil {
		return true, 0
	}
	now := l.now()
	k := logKey{scope, format}
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.keys[k]
	if w == nil {
		if len(l.keys) >= logMaxKeys {
			l.forgetQuietLocked(now)
		}
		if len(l.keys) >= logMaxKeys {
			// Messages whose format varies (Pion's Warn(msg) with data
			// in msg) share one key per scope from here on.
			k = logKey{scope, ""}
			w = l.keys[k]
		}
		if w == nil {
			w = &logWindow{start: now}
			l.keys[k] = w
		}
	}
	if now.Sub(w.start) >= logInterval {
		w.start, w.n = now, 0
	}
	if w.n >= logBurst {
		w.suppressed++
		return false, 0
	}
	w.n++
	suppressed, w.suppressed = w.suppressed, 0
	return true, suppressed
}

// forgetQuietLocked drops the keys whose interval has passed with nothing
// held back: forgetting them loses nothing.
func (l *logLimiter) forgetQuietLocked(now time.Time) {
	for k, w := range l.keys {
		if now.Sub(w.start) >= logInterval && w.suppressed == 0 {
			delete(l.keys, k)
		}
	}
}
