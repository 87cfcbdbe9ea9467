package api

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestErrorsInPlainWords checks every refusal of a request body says what
// was wrong in terms of the body, never in Go's (type names, "struct
// field", the decoder's "json:" prefix).
func TestErrorsInPlainWords(t *testing.T) {
	f := newFixture(t)
	op := map[string]string{"Authorization": "Bearer " + opToken}
	tests := []struct {
		path, body string
		want       string
	}{
		{"/api/v1/rooms", `{"name": 1}`, `"name" must be a string, not a number`},
		{"/api/v1/rooms", `{"name": true}`, `"name" must be a string, not true or false`},
		{"/api/v1/rooms", `{"name": ["a"]}`, `"name" must be a string, not a list`},
		{"/api/v1/rooms", `{"nam": "Choir"}`, `unknown field "nam"; this request takes only "name"`},
		{"/api/v1/rooms", `"Choir"`, `the request body must be a JSON object, not a string`},
		{"/api/v1/rooms", `[]`, `the request body must be a JSON object, not a list`},
		{"/api/v1/rooms", `{"name": "Ch`, `the request body ends in the middle of its JSON`},
		{"/api/v1/rooms", `{name: "Choir"}`, `the request body is not valid JSON (error at byte 2)`},
		{"/api/v1/rooms", ` `, `the request body is empty; send a JSON object`},
		{"/api/v1/rooms", `{"name": "bad/name"}`, `invalid room name: character '/' not allowed`},
		{"/api/v1/rooms", `{"name": "a"} {}`, `request body has data after the JSON object`},
		{"/api/v1/join", `{"link": 5}`, `"link" must be a string, not a number`},
		{"/api/v1/join", `{"rom": "x"}`, `unknown field "rom"; this request takes "link" and "room"`},
	}
	for _, tt := range tests {
		resp, data := f.do(t, "POST", tt.path, tt.body, op)
		var eb ErrorBody
		if err := json.Unmarshal(data, &eb); err != nil {
			t.Fatalf("POST %s %s: body %q: %v", tt.path, tt.body, data, err)
		}
		msg := eb.Error.Message
		if resp.StatusCode != 400 || eb.Error.Code != "bad-request" || !strings.Contains(msg, tt.want) {
			t.Errorf("POST %s %s = %d %s %q; want 400 bad-request %q", tt.path, tt.body, resp.StatusCode, eb.Error.Code, msg, tt.want)
		}
		for _, jargon := range []string{"json:", "Go ", "struct", "unmarshal", "api.", "store:", "of type"} {
			if strings.Contains(msg, jargon) {
				t.Errorf("POST %s %s: message %q contains %q", tt.path, tt.body, msg, jargon)
			}
		}
	}
}

func TestJSONFields(t *testing.T) {
	type three struct {
		A      int    `json:"a"`
		B      string `json:"b,omitempty"`
		Hidden string `json:"-"`
		C      bool
		d      int
	}
	_ = three{}.d
	for _, tt := range []struct {
		v    any
		want string
	}{
		{&CreateRoomRequest{}, `only "name"`},
		{&three{}, `"a", "b" and "C"`},
		{&struct{}{}, "no fields"},
		{new(int), "no fields"},
	} {
		if got := jsonFields(tt.v); got != tt.want {
			t.Errorf("jsonFields(%T) = %q, want %q", tt.v, got, tt.want)
		}
	}
}
