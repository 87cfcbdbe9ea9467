package rooms_test

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/parley-dev/parley/rooms"
)

// spaceRuns matches the runs of spaces ValidateName collapses.
var spaceRuns = regexp.MustCompile(` {2,}`)

// FuzzValidateName checks ValidateName against its documented rules for
// any string an operator (or, through the API, an HTTP client) can give
// as a room name. The seeds (testdata/fuzz/FuzzValidateName) are the cases
// of TestValidateName.
//
// Properties: a name is accepted exactly when, trimmed and with its runs
// of spaces collapsed, it is 1 to MaxNameLen characters of valid UTF-8,
// each a letter, digit, space, '-', '_' or '.', or a combining mark after
// a letter (or after such a mark); the result is that normalised form,
// ValidateName of it is itself, and NameKey finds the same room whether
// given the input or the result. A refusal wraps ErrInvalidName.
func FuzzValidateName(f *testing.F) {
	f.Fuzz(func(t *testing.T, in string) {
		got, err := rooms.ValidateName(in)
		norm := spaceRuns.ReplaceAllString(strings.TrimSpace(in), " ")
		follows := utf8.ValidString(in) && followsNameRules(norm)
		if err != nil {
			if !errors.Is(err, rooms.ErrInvalidName) || got != "" || follows {
				t.Fatalf("ValidateName(%q) = %q, %v; normalised %q follows the rules: %v", in, got, err, norm, follows)
			}
			return
		}
		if !follows || got != norm {
			t.Fatalf("ValidateName(%q) = %q; want %q, follows the rules: %v", in, got, norm, follows)
		}
		if again, err := rooms.ValidateName(got); err != nil || again != got {
			t.Fatalf("ValidateName(%q) = %q, %v: not idempotent", got, again, err)
		}
		if rooms.NameKey(in) != rooms.NameKey(got) {
			t.Fatalf("NameKey(%q) = %q but NameKey(%q) = %q", in, rooms.NameKey(in), got, rooms.NameKey(got))
		}
	})
}

// followsNameRules is ValidateName's rule for an already normalised name.
func followsNameRules(name string) bool {
	if n := utf8.RuneCountInString(name); n == 0 || n > rooms.MaxNameLen {
		return false
	}
	prev := rune(-1) // the last rune that was not a combining mark
	for _, r := range name {
		switch {
		case unicode.Is(unicode.M, r):
			if prev < 0 || !unicode.IsLetter(prev) {
				return false
			}
			continue
		case unicode.IsLetter(r), unicode.IsDigit(r), strings.ContainsRune(" -_.", r):
		default:
			return false
		}
		prev = r
	}
	return true
}
