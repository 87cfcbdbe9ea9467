package signaling

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzValidDisplayName checks the display-name rule of docs/protocol.md
// ("1–64 characters after trimming"; valid UTF-8, no control characters)
// against validDisplayName for any string a join can carry.
//
// Properties: an accepted name is the input trimmed, and obeys every rule;
// a refused one breaks at least one, and the error says something;
// accepting is idempotent. The seeds (testdata/fuzz/FuzzValidDisplayName)
// are the cases of TestValidDisplayName and a few invisible or
// direction-changing names.
func FuzzValidDisplayName(f *testing.F) {
	f.Fuzz(func(t *testing.T, in string) {
		got, err := validDisplayName(in)
		trimmed := strings.TrimSpace(in)
		follows := utf8.ValidString(trimmed) && trimmed != "" && utf8.RuneCountInString(trimmed) <= maxNameRunes &&
			strings.IndexFunc(trimmed, unicode.IsControl) < 0
		if err != nil {
			if follows || got != "" || err.Error() == "" {
				t.Fatalf("validDisplayName(%q) = %q, %v; the name follows the rules", in, got, err)
			}
			return
		}
		if !follows || got != trimmed {
			t.Fatalf("validDisplayName(%q) = %q, accepted; want %q, follows=%v", in, got, trimmed, follows)
		}
		if again, err := validDisplayName(got); err != nil || again != got {
			t.Fatalf("validDisplayName(%q) = %q, %v: not idempotent", got, again, err)
		}
	})
}
