package rooms_test

import (
	"strings"
	"testing"
	"time"

	"github.com/parley-dev/parley/rooms"
)

// FuzzGroupNameAndAddress checks, for any string, that a group name that
// validates has a slug fit for an endpoint address (non-empty; a-z, 0-9
// and single inner '-'; stable when slugged again), that its normalised
// form validates to itself, and that an endpoint's address local part is
// always such a slug of at most MaxAddressLocalLen characters.
func FuzzGroupNameAndAddress(f *testing.F) {
	for _, s := range []string{"Choir", " St. Mary  ", "a--b", "Chœur", "7th_Street.band", "-x", "", "会議室", "x@y.org", "A+b@c.org"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if name, err := rooms.ValidateGroupName(s); err == nil {
			slug := rooms.GroupKey(name)
			if !isSlug(slug) || rooms.GroupKey(slug) != slug {
				t.Fatalf("ValidateGroupName(%q) = %q with slug %q", s, name, slug)
			}
			if again, err := rooms.ValidateGroupName(name); err != nil || again != name {
				t.Fatalf("normalised name %q validates to %q, %v", name, again, err)
			}
		}
		for _, ep := range []*rooms.Endpoint{{Kind: rooms.EndpointMember, Name: s}, {Kind: rooms.EndpointRoomSystem, Name: s}} {
			local := ep.AddressLocal()
			if !isSlug(local) || len(local) > rooms.MaxAddressLocalLen {
				t.Fatalf("AddressLocal of %s %q = %q", ep.Kind, s, local)
			}
		}
		if rs, err := rooms.NewRoomSystem("g", s, time.Time{}); err == nil {
			if again, err := rooms.ValidateEndpointName(rs.Name); err != nil || again != rs.Name {
				t.Fatalf("room system name %q validates to %q, %v", rs.Name, again, err)
			}
		}
	})
}

func isSlug(s string) bool {
	if s == "" || strings.HasPrefix(s, "-") || strings.HasSuffix(s, "-") || strings.Contains(s, "--") {
		return false
	}
	for _, r := range s {
		if !('a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}
