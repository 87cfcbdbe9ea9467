package api

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/parley-dev/parley/auth"
	"github.com/parley-dev/parley/rooms"
	"github.com/parley-dev/parley/throttle"
)

// apiError is an error with the status, code and message the client sees.
type apiError struct {
	status int
	code   string
	msg    string
	// retryAfter, for 429s, is the time until the next attempt is allowed.
	retryAfter time.Duration
}

func (e *apiError) Error() string { return e.code + ": " + e.msg }

var (
	errNotFound     = &apiError{status: http.StatusNotFound, code: "not-found", msg: "no such API endpoint"}
	errUnauthorized = &apiError{status: http.StatusUnauthorized, code: "unauthorized", msg: "a valid operator token is required (Authorization: Bearer …)"}
	errForbidden    = &apiError{status: http.StatusForbidden, code: "forbidden", msg: "the operator API is disabled on this server"}
)

// rateLimited is the 429 for a client that must wait before failing again.
func rateLimited(wait time.Duration) error {
	secs := throttle.RetryAfter(wait)
	return &apiError{status: http.StatusTooManyRequests, code: "rate-limited", retryAfter: wait,
		msg: fmt.Sprintf("too many failed attempts from your address; try again in %d s", secs)}
}

func badRequest(msg string) error {
	return &apiError{status: http.StatusBadRequest, code: "bad-request", msg: msg}
}

// ErrorBody is the JSON body of every error response.
type ErrorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// writeError maps err to a status and a safe message. Errors it does not
// know are logged with an id the user can quote, and shown only as that id.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
	case errors.Is(err, rooms.ErrRoomNotFound):
		ae = &apiError{status: http.StatusNotFound, code: "room-not-found", msg: "no room has that link or name"}
	case errors.Is(err, rooms.ErrRoomExists):
		ae = &apiError{status: http.StatusConflict, code: "room-exists", msg: "a room with that name already exists"}
	case errors.Is(err, rooms.ErrInvalidName):
		ae = &apiError{status: http.StatusBadRequest, code: "bad-request", msg: err.Error()}
	default:
		id := auth.RandomToken(6)
		s.log.Error("request failed", "id", id, "method", r.Method, "path", r.URL.Path, "err", err)
		ae = &apiError{status: http.StatusInternalServerError, code: "internal", msg: "internal error (ref " + id + ")"}
	}
	if ae.status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", strconv.Itoa(throttle.RetryAfter(ae.retryAfter)))
	}
	var body ErrorBody
	body.Error.Code = ae.code
	body.Error.Message = ae.msg
	if err := writeJSON(w, ae.status, body); err != nil {
		s.log.Debug("write error response", "err", err, slog.String("path", r.URL.Path))
	}
}
