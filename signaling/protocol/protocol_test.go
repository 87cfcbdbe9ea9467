package protocol

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
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
		// "type.json", or "type.variant.json" for a further example.
		typ, _, _ := strings.Cut(strings.TrimSuffix(filepath.Base(f), ".json"), ".")
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
		TypeParticipantJoined, TypeParticipantUpdated, TypeParticipantLeft, TypePong, TypeError, TypeBye,
		TypeEndCall, TypeRemove, TypeMuteParticipant, TypeMuteAll, TypeLock, TypeUnlock, TypeSetHost, TypeCallUpdated, TypeCallWarning, TypeResume, TypeResumed,
		TypeRegister, TypeRegistered, TypePresence, TypeCallEndpoint, TypeAcceptCall, TypeDeclineCall, TypeCancelCall,
		TypeRinging, TypeIncomingCall, TypeCallAccepted, TypeCallDeclined, TypeCallCancelled, TypeCallMissed,
		TypePublishOffer, TypePublishAnswer, TypeSetLayer, TypeClaimHost} {
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

// TestCodesDocumented checks that every error code and reason declared in
// protocol.go has a row in docs/protocol.md, so a client writer finds each
// one the server can send.
func TestCodesDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/protocol.md")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, file := range []string{"protocol.go", "directory.go"} {
		f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		n += documentedCodes(t, f, doc)
	}
	if n < 30 {
		t.Fatalf("found only %d codes and reasons in protocol.go and directory.go", n)
	}
}

// documentedCodes checks the Code and Reason constants of f against doc
// and returns how many it found.
func documentedCodes(t *testing.T, f *ast.File, doc []byte) int {
	t.Helper()
	n := 0
	for _, decl := range f.Decls {
		g, ok := decl.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if !strings.HasPrefix(name.Name, "Code") && !strings.HasPrefix(name.Name, "Reason") {
					continue
				}
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok {
					continue
				}
				value, _ := strconv.Unquote(lit.Value)
				n++
				if !bytes.Contains(doc, []byte("| `"+value+"` |")) {
					t.Errorf("%s (%q) has no row in docs/protocol.md", name.Name, value)
				}
			}
		}
	}
	return n
}
