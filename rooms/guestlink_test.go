package rooms_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/parley-dev/parley/rooms"
)

var guestKey = []byte("0123456789abcdef0123456789abcdef")

func TestNewGuestLink(t *testing.T) {
	now := time.Date(2026, 12, 1, 13, 0, 0, 0, time.UTC)
	inv, tok, err := rooms.NewGuestLink(guestKey, "r_a", rooms.GuestLinkInvitation, "endpoint:e_x", now, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(tok) != rooms.GuestTokenLen || strings.ToLower(tok) != tok {
		t.Errorf("token %q: want %d lower-case characters", tok, rooms.GuestTokenLen)
	}
	if inv.Hash != rooms.TokenHash(tok) || strings.Contains(inv.Hash, tok) || !strings.HasPrefix(inv.ID, "gl_") {
		t.Errorf("link %+v for token %q", inv, tok)
	}
	if again, _ := rooms.GuestToken(guestKey, inv.ID); again != tok {
		t.Errorf("GuestToken(ID) = %q, want the link's token %q", again, tok)
	}
	other := append([]byte{}, guestKey...)
	other[0] ^= 1
	if o, _ := rooms.GuestToken(other, inv.ID); o == tok {
		t.Error("another key gives the same token")
	}
	if _, err := rooms.GuestToken(guestKey[:31], inv.ID); err == nil {
		t.Error("a 31-byte key accepted")
	}
	if !inv.ExpiresAt.Equal(now.Add(rooms.DefaultGuestLinkTTL)) {
		t.Errorf("expires %v, want 24h after %v", inv.ExpiresAt, now)
	}
	if err := inv.Check(now.Add(rooms.DefaultGuestLinkTTL - time.Second)); err != nil {
		t.Errorf("a second before expiry: %v", err)
	}
	if err := inv.Check(now.Add(rooms.DefaultGuestLinkTTL)); !errors.Is(err, rooms.ErrGuestLinkExpired) {
		t.Errorf("at expiry: %v", err)
	}
	st, _, _ := rooms.NewGuestLink(guestKey, "r_a", rooms.GuestLinkStanding, "group", now, time.Minute)
	if !st.ExpiresAt.IsZero() || st.Check(now.Add(1000*time.Hour)) != nil || st.State(now) != "active" {
		t.Errorf("standing link %+v expires", st)
	}
	st.RevokedAt = now
	if err := st.Check(now); !errors.Is(err, rooms.ErrGuestLinkRevoked) || st.State(now) != "revoked" {
		t.Errorf("revoked link: %v", err)
	}
	short, _, _ := rooms.NewGuestLink(guestKey, "r_a", rooms.GuestLinkInvitation, "", now, time.Hour)
	if !short.ExpiresAt.Equal(now.Add(time.Hour)) {
		t.Errorf("ttl 1h: expires %v", short.ExpiresAt)
	}
	if _, _, err := rooms.NewGuestLink(guestKey, "r_a", "other", "", now, 0); err == nil {
		t.Error("unknown kind accepted")
	}
}

func TestParseGuestToken(t *testing.T) {
	_, tok, _ := rooms.NewGuestLink(guestKey, "r_a", rooms.GuestLinkStanding, "", time.Now(), 0)
	grouped := tok[:5] + "-" + tok[5:10] + "-" + tok[10:]
	for _, in := range []string{tok, strings.ToUpper(tok), " " + grouped + " ", strings.ToUpper(grouped)} {
		if got, err := rooms.ParseGuestToken(in); err != nil || got != tok {
			t.Errorf("ParseGuestToken(%q) = %q, %v; want %q", in, got, err, tok)
		}
	}
	for _, in := range []string{"", tok[:25], tok + "a", tok[:25] + "1", tok[:25] + "!", "ééééééééééééé"} {
		if got, err := rooms.ParseGuestToken(in); !errors.Is(err, rooms.ErrInvalidGuestToken) {
			t.Errorf("ParseGuestToken(%q) = %q, %v; want ErrInvalidGuestToken", in, got, err)
		}
	}
	if u := rooms.GuestURL("https://meet.example.org/", tok); u != "https://meet.example.org/g/"+tok {
		t.Errorf("GuestURL = %q", u)
	}
}

// FuzzParseGuestToken: whatever is typed, ParseGuestToken does not panic,
// and what it accepts is canonical (parsing it again gives it back) and
// made only of the 32 base32 characters.
func FuzzParseGuestToken(f *testing.F) {
	_, tok, _ := rooms.NewGuestLink(guestKey, "r_a", rooms.GuestLinkStanding, "", time.Now(), 0)
	for _, s := range []string{tok, strings.ToUpper(tok), tok[:5] + "-" + tok[5:], "", "-", tok + "=", "ä" + tok[1:]} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := rooms.ParseGuestToken(s)
		if err != nil {
			if !errors.Is(err, rooms.ErrInvalidGuestToken) {
				t.Fatalf("error %v does not wrap ErrInvalidGuestToken", err)
			}
			return
		}
		if again, err := rooms.ParseGuestToken(got); err != nil || again != got || len(got) != rooms.GuestTokenLen {
			t.Fatalf("%q → %q, again %q, %v", s, got, again, err)
		}
		if strings.Trim(got, "abcdefghijklmnopqrstuvwxyz234567") != "" {
			t.Fatalf("%q has other characters", got)
		}
	})
}
