package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strconv"
	"strings"
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
	// fields, for 422 invalid, says what is wrong with each form field.
	fields map[string]string
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
		// Fields, with code "invalid" (422), maps each form field
		// ("adminEmail", "members.2", ...) to its problem in plain words.
		Fields map[string]string `json:"fields,omitempty"`
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
		ae = &apiError{status: http.StatusBadRequest, code: "bad-request", msg: invalidNameMessage(err)}
	case groupError(err) != nil:
		ae = groupError(err)
	default:
		id := auth.RandomToken(6)
		s.log.Error("request failed", "id", id, "method", r.Method, "path", r.URL.Path, "err", err)
		ae = &apiError{status: http.StatusInternalServerError, code: "internal", msg: "internal error (ref " + id + ")"}
	}
	if ae.status == http.StatusTooManyRequests || ae.status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", strconv.Itoa(throttle.RetryAfter(ae.retryAfter)))
	}
	var body ErrorBody
	body.Error.Code = ae.code
	body.Error.Message = ae.msg
	body.Error.Fields = ae.fields
	if err := writeJSON(w, ae.status, body); err != nil {
		s.log.Debug("write error response", "err", err, slog.String("path", r.URL.Path))
	}
}

// invalidNameMessage is the part of an error wrapping rooms.ErrInvalidName
// that a person needs ("invalid room name: character '/' not allowed ..."),
// without the context the layers below added.
func invalidNameMessage(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, rooms.ErrInvalidName.Error()); i >= 0 {
		return msg[i:]
	}
	return rooms.ErrInvalidName.Error()
}

// decodeError says in plain words what was wrong with a JSON request body
// that failed to decode into v (a pointer to a request struct): in terms
// of the body's own fields, never of Go types or decoder internals.
func decodeError(err error, v any) error {
	var (
		syntax *json.SyntaxError
		typ    *json.UnmarshalTypeError
	)
	switch {
	case errors.Is(err, io.EOF):
		return badRequest("the request body is empty; send a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("the request body ends in the middle of its JSON")
	case errors.As(err, &syntax):
		return badRequest(fmt.Sprintf("the request body is not valid JSON (error at byte %d)", syntax.Offset))
	case errors.As(err, &typ) && typ.Field == "":
		return badRequest(fmt.Sprintf("the request body must be a JSON object, not %s", jsonValueKind(typ.Value)))
	case errors.As(err, &typ):
		return badRequest(fmt.Sprintf("%q must be %s, not %s", typ.Field, jsonTypeKind(typ.Type), jsonValueKind(typ.Value)))
	}
	// encoding/json reports unknown fields only as text.
	if field, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return badRequest(fmt.Sprintf("unknown field %s; this request takes %s", field, jsonFields(v)))
	}
	return badRequest("the request body is not valid JSON")
}

// jsonValueKind names the kind of JSON value that encoding/json reports in
// UnmarshalTypeError.Value ("string", "number 1.5", "bool", ...).
func jsonValueKind(value string) string {
	kind, _, _ := strings.Cut(value, " ")
	switch kind {
	case "string":
		return "a string"
	case "number":
		return "a number"
	case "bool":
		return "true or false"
	case "array":
		return "a list"
	case "object":
		return "an object"
	}
	return "that"
}

// jsonTypeKind names the JSON value a Go type decodes from.
func jsonTypeKind(t reflect.Type) string {
	if t == nil {
		return "another kind of value"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return "another kind of value"
}

// jsonFields lists the JSON field names of the struct v points to, quoted
// and joined for a message: `"name"`, or `"a", "b" and "c"`.
func jsonFields(v any) string {
	t := reflect.TypeOf(v)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return "no fields"
	}
	var names []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		names = append(names, fmt.Sprintf("%q", name))
	}
	switch len(names) {
	case 0:
		return "no fields"
	case 1:
		return "only " + names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}
