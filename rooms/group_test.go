package rooms_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/parley-dev/parley/rooms"
)

func TestValidateGroupName(t *testing.T) {
	tests := []struct {
		in, want, slug string
		ok             bool
	}{
		{"Choir", "Choir", "choir", true},
		{"  St  Mary's", "", "", false},
		{"St. Mary Choir", "St. Mary Choir", "st-mary-choir", true},
		{"  the   choir ", "the choir", "the-choir", true},
		{"a_b-c.d", "a_b-c.d", "a-b-c-d", true},
		{"7th Street", "7th Street", "7th-street", true},
		{"ab", "ab", "ab", true},
		{"a", "", "", false},
		{"", "", "", false},
		{"1234", "", "", false},
		{"-choir", "", "", false},
		{"Chœur", "", "", false},
		{"choir/x", "", "", false},
		{strings.Repeat("x", 40), strings.Repeat("x", 40), strings.Repeat("x", 40), true},
		{strings.Repeat("x", 41), "", "", false},
	}
	for _, tt := range tests {
		got, err := rooms.ValidateGroupName(tt.in)
		if tt.ok != (err == nil) || got != tt.want {
			t.Errorf("ValidateGroupName(%q) = %q, %v; want %q ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
		if err != nil && !errors.Is(err, rooms.ErrInvalidGroupName) {
			t.Errorf("ValidateGroupName(%q) error %v does not wrap ErrInvalidGroupName", tt.in, err)
		}
		if tt.ok && rooms.GroupKey(got) != tt.slug {
			t.Errorf("GroupKey(%q) = %q, want %q", got, rooms.GroupKey(got), tt.slug)
		}
	}
	if rooms.GroupKey("CHOIR") != rooms.GroupKey("choir") || rooms.GroupKey("St Mary") != rooms.GroupKey("st-mary") {
		t.Error("GroupKey differs between names that should be one")
	}
}

func TestValidatePINAndPassword(t *testing.T) {
	for pin, ok := range map[string]bool{"1234": true, "12345678": true, "123": false, "123456789": false, "12a4": false, "12 34": false, "": false, "١٢٣٤": false} {
		if err := rooms.ValidatePIN(pin); (err == nil) != ok || (err != nil && !errors.Is(err, rooms.ErrInvalidPIN)) {
			t.Errorf("ValidatePIN(%q) = %v, want ok=%v", pin, err, ok)
		}
	}
	tests := []struct {
		pw  string
		min int
		ok  bool
	}{{"abcde", 0, true}, {"abcd", 0, false}, {"abcd", 3, false}, {"abcdefg", 8, false}, {"abcdefgh", 8, true}, {"", 0, false}, {"ééééé", 0, true}}
	for _, tt := range tests {
		if err := rooms.ValidatePassword(tt.pw, tt.min); (err == nil) != tt.ok {
			t.Errorf("ValidatePassword(%q, %d) = %v, want ok=%v", tt.pw, tt.min, err, tt.ok)
		}
	}
}

func TestSignUpCheck(t *testing.T) {
	good := func() rooms.SignUp {
		return rooms.SignUp{AdminName: " Ada  Admin ", AdminEmail: "ada@Example.org", GroupName: "Choir", Password: "secret", PIN: "2468",
			Members: []string{"alice@example.org", "", "bob@example.org"}}
	}
	s := good()
	if fe := s.Check(4, rooms.SignUpRules{}); fe != nil {
		t.Fatalf("good sign-up: %v", fe)
	}
	if s.AdminName != "Ada Admin" || s.AdminEmail != "ada@example.org" {
		t.Errorf("not normalised: %+v", s)
	}
	fifty := strings.Repeat("a", 38) + "@example.org"
	tests := []struct {
		name  string
		step  int
		edit  func(*rooms.SignUp)
		field string
		words string // part of the message
	}{
		{"missing name", 1, func(s *rooms.SignUp) { s.AdminName = "  " }, "adminName", "Enter your name"},
		{"missing email", 1, func(s *rooms.SignUp) { s.AdminEmail = "" }, "adminEmail", "Enter an email address"},
		{"malformed email", 1, func(s *rooms.SignUp) { s.AdminEmail = "ada.example.org" }, "adminEmail", "is not an email address"},
		{"51-char email", 4, func(s *rooms.SignUp) { s.Members[0] = "a" + fifty }, "members.0", "at most 50"},
		{"missing group", 2, func(s *rooms.SignUp) { s.GroupName = "" }, "groupName", "Enter a group name"},
		{"short password", 2, func(s *rooms.SignUp) { s.Password = "abcd" }, "password", "at least 5 characters"},
		{"pin letters", 3, func(s *rooms.SignUp) { s.PIN = "12ab" }, "pin", "digits only"},
		{"pin short", 3, func(s *rooms.SignUp) { s.PIN = "123" }, "pin", "4 to 8 digits"},
		{"no members", 4, func(s *rooms.SignUp) { s.Members = []string{"", " "} }, "members", "at least one member"},
		{"duplicate", 4, func(s *rooms.SignUp) { s.Members[2] = "ALICE@example.org" }, "members.2", "already in the list (entry 1)"},
		{"bad member", 4, func(s *rooms.SignUp) { s.Members[2] = "bob" }, "members.2", "is not an email address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := good()
			tt.edit(&s)
			fe := s.Check(tt.step, rooms.SignUpRules{})
			if msg, ok := fe[tt.field]; !ok || !strings.Contains(msg, tt.words) || len(fe) != 1 {
				t.Fatalf("Check = %v; want only %s saying %q", fe, tt.field, tt.words)
			}
			if tt.step > 1 {
				// An earlier step's check does not look at later fields.
				if fe := s.Check(tt.step-1, rooms.SignUpRules{}); fe != nil {
					t.Errorf("Check(step %d) = %v; want nil", tt.step-1, fe)
				}
			}
		})
	}
	s = good()
	if fe := s.Check(2, rooms.SignUpRules{MinPasswordLen: 8}); !strings.Contains(fe["password"], "at least 8") {
		t.Errorf("min 8: %v", fe)
	}
	s = good()
	if fe := s.Check(4, rooms.SignUpRules{MaxMembers: 1}); !strings.Contains(fe["members"], "At most 1") {
		t.Errorf("max members 1: %v", fe)
	}
}

func TestEndpointAddressLocal(t *testing.T) {
	now := time.Now()
	m, err := rooms.NewMember("g_x", "Alice.Smith@Example.org", now)
	if err != nil || m.AddressLocal() != "alice-smith" {
		t.Errorf("member: %+v %v, local %q", m, err, m.AddressLocal())
	}
	rs, err := rooms.NewRoomSystem("g_x", "  Board   Room 2 ", now)
	if err != nil || rs.Name != "Board Room 2" || rs.AddressLocal() != "board-room-2" {
		t.Errorf("room system: %+v %v", rs, err)
	}
	rs, _ = rooms.NewRoomSystem("g_x", "会議室", now)
	if rs.AddressLocal() != "endpoint" {
		t.Errorf("CJK room system local %q", rs.AddressLocal())
	}
	if _, err := rooms.NewRoomSystem("g_x", "", now); !errors.Is(err, rooms.ErrInvalidEndpointName) {
		t.Errorf("empty room system name: %v", err)
	}
	if _, err := rooms.NewMember("g_x", "board room", now); !errors.Is(err, rooms.ErrInvalidEmail) {
		t.Errorf("member without email: %v", err)
	}
}
