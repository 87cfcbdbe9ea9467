package protocol

import (
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzDecode feeds Decode arbitrary bytes, as a client (or a server, for
// the Go client) may send. The seed corpus in testdata/fuzz/FuzzDecode
// holds every golden example of testdata/ and the malformed cases of
// TestDecodeErrors.
//
// Properties: Decode returns exactly one of a message and an *Error; an
// *Error is a well-formed error message with a documented code; a message
// is a pointer to the struct its "type" names, and encoding it and decoding
// the result gives the same message again (what the server relays is what
// it read).
func FuzzDecode(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		msg, perr := Decode(data)
		if (msg == nil) == (perr == nil) {
			t.Fatalf("Decode(%q) = %v, %v: want exactly one", data, msg, perr)
		}
		if perr != nil {
			checkDecodeError(t, data, perr)
			return
		}
		v := reflect.ValueOf(msg)
		if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
			t.Fatalf("Decode(%q) = %T, want a pointer to a struct", data, msg)
		}
		typ := v.Elem().FieldByName("Type").String()
		var env Envelope
		if err := json.Unmarshal(data, &env); err != nil || env.Type != typ {
			t.Fatalf("Decode(%q) gave type %q, envelope says %q (%v)", data, typ, env.Type, err)
		}
		out, err := json.Marshal(msg)
		if err != nil {
			t.Fatalf("Marshal(%#v): %v", msg, err)
		}
		again, perr := Decode(out)
		if perr != nil {
			t.Fatalf("re-decoding %s: %s", out, perr.Message)
		}
		if !reflect.DeepEqual(msg, again) {
			t.Fatalf("round trip changed the message:\n  in    %q\n  first %#v\n  again %#v", data, msg, again)
		}
	})
}

// checkDecodeError checks that perr is what Decode documents: an error
// message with code bad-json or unknown-type and a message to show.
func checkDecodeError(t *testing.T, data []byte, perr *Error) {
	t.Helper()
	if perr.Type != TypeError || perr.Message == "" {
		t.Fatalf("Decode(%q) error %+v: want type %q and a message", data, perr, TypeError)
	}
	if perr.Code != CodeBadJSON && perr.Code != CodeUnknownType {
		t.Fatalf("Decode(%q) error code %q, want %q or %q", data, perr.Code, CodeBadJSON, CodeUnknownType)
	}
	if _, err := json.Marshal(perr); err != nil {
		t.Fatalf("error for %q does not encode: %v", data, err)
	}
}
