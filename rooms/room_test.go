package rooms_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/parley-dev/parley/rooms"
)

func TestValidateName(t *testing.T) {
	tests := []struct {
		in      string
		want    string // "" means invalid
		comment string
	}{
		{"Standup", "Standup", "plain"},
		{"  Team Sync  ", "Team Sync", "trimmed"},
		{"\tWeekly\n", "Weekly", "other white space trimmed"},
		{"a   b", "a b", "inner spaces collapsed"},
		{"v1.2_final-draft", "v1.2_final-draft", "allowed punctuation"},
		{"7", "7", "one digit"},
		{"Café Zürich", "Café Zürich", "precomposed accents"},
		{"Cafe\u0301", "Cafe\u0301", "combining accent after a letter"},
		{"会議室", "会議室", "CJK letters"},
		{"Комната 5", "Комната 5", "Cyrillic"},
		{strings.Repeat("x", 64), strings.Repeat("x", 64), "64 chars"},
		{strings.Repeat("é", 64), strings.Repeat("é", 64), "64 two-byte chars"},
		{"", "", "empty"},
		{"   ", "", "only spaces"},
		{strings.Repeat("x", 65), "", "65 chars"},
		{"a/b", "", "slash"},
		{"a\tb", "", "inner tab"},
		{"a\nb", "", "inner newline"},
		{"<script>", "", "markup"},
		{"room 🎉", "", "emoji"},
		{"\u0301a", "", "leading combining mark"},
		{"a\u200bb", "", "zero-width space"},
		{"a\x00b", "", "NUL"},
		{"bad\xffutf8", "", "invalid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.comment, func(t *testing.T) {
			got, err := rooms.ValidateName(tt.in)
			if tt.want == "" {
				if !errors.Is(err, rooms.ErrInvalidName) {
					t.Fatalf("ValidateName(%q) = %q, %v; want ErrInvalidName", tt.in, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ValidateName(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestNameKey(t *testing.T) {
	tests := []struct{ a, b string }{
		{"Standup", "standup"},
		{" Team  Sync ", "team sync"},
		{"ÉTÉ", "été"},
	}
	for _, tt := range tests {
		if ka, kb := rooms.NameKey(tt.a), rooms.NameKey(tt.b); ka != kb {
			t.Errorf("NameKey(%q) = %q, NameKey(%q) = %q; want equal", tt.a, ka, tt.b, kb)
		}
	}
}

func TestNew(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.FixedZone("CET", 3600))
	r, err := rooms.New(" Standup ", now)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if r.Name != "Standup" {
		t.Errorf("Name = %q, want Standup", r.Name)
	}
	if !strings.HasPrefix(r.ID, "r_") || len(r.ID) != 28 {
		t.Errorf("ID = %q, want r_ + 26 base32 chars", r.ID)
	}
	if len(r.Link) != 22 || strings.ContainsAny(r.Link, "+/=") {
		t.Errorf("Link = %q, want 22 base64url chars", r.Link)
	}
	if !r.CreatedAt.Equal(now) || r.CreatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt = %v, want %v in UTC", r.CreatedAt, now)
	}
	if r.GroupID != "" {
		t.Errorf("GroupID = %q, want empty", r.GroupID)
	}
	r2, err := rooms.New("Standup", now)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if r2.ID == r.ID || r2.Link == r.Link {
		t.Errorf("two rooms share ID or link: %+v %+v", r, r2)
	}
	if _, err := rooms.New("a/b", now); !errors.Is(err, rooms.ErrInvalidName) {
		t.Errorf("New(a/b) error = %v, want ErrInvalidName", err)
	}
}

func TestURL(t *testing.T) {
	r := &rooms.Room{Link: "abc"}
	for _, base := range []string{"https://meet.example.org", "https://meet.example.org/", "https://meet.example.org//"} {
		if got, want := r.URL(base), "https://meet.example.org/r/abc"; got != want {
			t.Errorf("URL(%q) = %q, want %q", base, got, want)
		}
	}
	if got, want := r.URL("https://example.org/parley/"), "https://example.org/parley/r/abc"; got != want {
		t.Errorf("URL with path = %q, want %q", got, want)
	}
}
