package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestBookingFlags: the booking flags' defaults, their PARLEY_* twins,
// and a plain error for each bad value (a link every 5 or 11 meetings
// among them).
func TestBookingFlags(t *testing.T) {
	none := func(string) (string, bool) { return "", false }
	cfg, err := parseServeFlags(nil, &bytes.Buffer{}, none)
	b := cfg.Bookings
	if err != nil || b.Accounts != 2 || b.Location.String() != "Europe/London" || b.MaxDuration != 4*time.Hour || b.LinkEvery != 8 || b.LinkLead != 72*time.Hour {
		t.Fatalf("defaults: %+v, %v", b, err)
	}
	env := map[string]string{"PARLEY_MEETING_ACCOUNTS": "3", "PARLEY_TIME_ZONE": "America/New_York", "PARLEY_BOOKING_LINK_EVERY": "6"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	cfg, err = parseServeFlags([]string{"--booking-max-duration", "90m", "--booking-link-lead", "48h", "--booking-link-every", "10"}, &bytes.Buffer{}, lookup)
	b = cfg.Bookings
	if err != nil || b.Accounts != 3 || b.Location.String() != "America/New_York" || b.MaxDuration != 90*time.Minute || b.LinkEvery != 10 || b.LinkLead != 48*time.Hour {
		t.Fatalf("set: %+v, %v", b, err)
	}
	for _, tc := range []struct {
		args  []string
		words string
	}{
		{[]string{"--booking-link-every", "5"}, "want a whole number from 6 to 10"},
		{[]string{"--booking-link-every", "11"}, "want a whole number from 6 to 10"},
		{[]string{"--booking-link-every", "eight"}, "want a whole number from 6 to 10"},
		{[]string{"--meeting-accounts", "0"}, "at least 1"},
		{[]string{"--time-zone", "Mars/Olympus"}, "time zone name such as Europe/London"},
		{[]string{"--time-zone", "Local"}, "time zone name"},
		{[]string{"--booking-max-duration", "4"}, "duration from 15m to 24h"},
		{[]string{"--booking-link-lead", "10m"}, "from 1h to 720h"},
	} {
		_, err := parseServeFlags(tc.args, &bytes.Buffer{}, none)
		if err == nil || !strings.Contains(err.Error(), tc.words) || !strings.Contains(err.Error(), tc.args[0]) {
			t.Errorf("%v: %v, want an error naming the flag and saying %q", tc.args, err, tc.words)
		}
	}
}
