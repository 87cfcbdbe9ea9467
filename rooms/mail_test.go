package rooms_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/parley-dev/parley/rooms"
)

func TestValidateEmail(t *testing.T) {
	fifty := strings.Repeat("a", 50-len("@example.org")) + "@example.org"
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"alice@example.org", "alice@example.org", true},
		{"  Alice.Smith@Example.ORG ", "Alice.Smith@example.org", true},
		{fifty, fifty, true},
		{"a" + fifty, "", false}, // 51 characters
		{"", "", false},
		{"alice", "", false},
		{"alice@", "", false},
		{"@example.org", "", false},
		{"alice@localhost", "", false},
		{"Alice <alice@example.org>", "", false},
		{"alice smith@example.org", "", false},
		{"alice@example.org\r\nBcc: x@y.org", "", false},
	}
	for _, tt := range tests {
		got, err := rooms.ValidateEmail(tt.in)
		if tt.ok && (err != nil || got != tt.want) {
			t.Errorf("ValidateEmail(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
		if !tt.ok && !errors.Is(err, rooms.ErrInvalidEmail) {
			t.Errorf("ValidateEmail(%q) = %q, %v; want ErrInvalidEmail", tt.in, got, err)
		}
	}
	if _, err := rooms.ValidateEmail("a" + fifty); err == nil || !strings.Contains(err.Error(), "at most 50") {
		t.Errorf("51 characters: error %v; want it to say at most 50", err)
	}
}

func TestNewMail(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	m, err := rooms.NewMail("activation", "bob@example.org", "Subject", "Body", now)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(m.ID, "m_") || len(m.ID) != 28 || m.State != rooms.MailQueued || !m.NextAttempt.Equal(now) {
		t.Errorf("NewMail = %+v", m)
	}
	if _, err := rooms.NewMail("x", "not an address", "s", "b", now); !errors.Is(err, rooms.ErrInvalidEmail) {
		t.Errorf("NewMail(bad address) error %v; want ErrInvalidEmail", err)
	}
}
