package protocol

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestGolden decodes every example in testdata/ (one per message type),
// checks it decodes to the struct its name says, and that encoding the
// struct gives the same JSON back: the examples are the wire format.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.json")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		typ := strings.TrimSuffix(filepath.Base(f), ".json")
		msg, perr := Decode(data)
		if perr != nil {
			t.Errorf("%s: %s", f, perr.Message)
			continue
		}
		seen[typ] = true
		got := reflect.ValueOf(msg).Elem().FieldByName("Type").String()
		if got != typ {
			t.Errorf("%s decoded as type %q", f, got)
		}
		out, err := json.Marshal(msg)
		if err != nil {
			t.Fatal(err)
		}
		var want, have any
		json.Unmarshal(data, &want)
		json.Unmarshal(out, &have)
		if !reflect.DeepEqual(want, have) {
			t.Errorf("%s: round trip changed it:\n  file %s\n  code %s", f, bytes.TrimSpace(data), out)
		}
	}
	for _, typ := range []string{TypeJoin, TypeAnswer, TypeCandidate, TypeMute, TypePing, TypeLeave, TypeJoined, TypeOffer,
		TypeParticipantJoined, TypeParticipantUpdated, TypeParticipantLeft, TypePong, TypeError, TypeBye} {
		if !seen[typ] {
			t.Errorf("no golden example testdata/%s.json", typ)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	cases := []struct{ in, code string }{
		{`{"type":"join",`, CodeBadJSON},
		{`[]`, CodeBadJSON},
		{`"join"`, CodeBadJSON},
		{`{}`, CodeUnknownType},
		{`{"type":"nope"}`, CodeUnknownType},
		{`{"type":"join","version":"1"}`, CodeBadJSON},
		{`{"type":"mute","audioMuted":"yes"}`, CodeBadJSON},
	}
	for _, c := range cases {
		_, perr := Decode([]byte(c.in))
		if perr == nil || perr.Code != c.code || perr.Message == "" || perr.Type != TypeError {
			t.Errorf("Decode(%s) = %+v, want code %s", c.in, perr, c.code)
		}
	}
}
