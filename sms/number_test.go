package sms_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/parley-dev/parley/rooms"
	"github.com/parley-dev/parley/sms"
)

func TestParseUKMobileAccepts(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"07700 900123", "+447700900123"},
		{"+44 7700 900123", "+447700900123"},
		{"0044 7700-900123", "+447700900123"},
		{"(07700) 900 123", "+447700900123"},
		{"447700900123", "+447700900123"},
		{"+44 (0)7700 900123", "+447700900123"},
		{"07700.900.123", "+447700900123"},
		{"  07700900123  ", "+447700900123"},
		{"07400 123456", "+447400123456"},
		{"+447911123456", "+447911123456"}, // a Guernsey operator's range: still +44
		{"07624 123456", "+447624123456"},  // Isle of Man
		{"7911 123456", "+447911123456"},   // the 0 left off
	} {
		got, err := sms.ParseUKMobile(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseUKMobile(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestParseUKMobileRefuses(t *testing.T) {
	for _, tc := range []struct{ in, why string }{
		{"", "enter a UK mobile number"},
		{"   ", "enter a UK mobile number"},
		{"020 7946 0000", "02079460000 is a landline number, not a mobile"},
		{"0161 496 0000", "a landline number, not a mobile"},
		{"0800 123 4567", "a freephone number, not a mobile"},
		{"076 4012 3456", "a pager number, not a mobile"},
		{"070 1234 5678", "a personal number (070), not a mobile"},
		{"+1 202 555 0100", "+1 2025550100 is not a UK number"},
		{"+353 85 123 4567", "+353 851234567 is not a UK number"},
		{"0770090012", "0770090012 is too short: a UK mobile number has 11 digits (07700 900123); this has 10"},
		{"07700 9001", "is too short: a UK mobile number has 11 digits"},
		{"077009001234", "077009001234 is too long"},
		{"07700 9OO123", "a phone number has no letters"},
		{"07700 900123 ext 5", "a phone number has no letters"},
		{"0800 FLOWERS", "a phone number has no letters"},
		{"07700 900123!", `'!' is not part of a phone number`},
		{"07700 +900123", "a '+' goes only at the start"},
		{"+-()", "enter a UK mobile number"},
		{strings.Repeat("0", 41), "too long to be a phone number"},
	} {
		got, err := sms.ParseUKMobile(tc.in)
		if err == nil || !errors.Is(err, rooms.ErrInvalidPhone) || !strings.Contains(err.Error(), tc.why) {
			t.Errorf("ParseUKMobile(%q) = %q, %v; want an ErrInvalidPhone saying %q", tc.in, got, err, tc.why)
		}
	}
}

func FuzzParseUKMobile(f *testing.F) {
	for _, s := range []string{"07700 900123", "+44 7700 900123", "0044", "+1 202 555 0100", "abc", "((((", "0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := sms.ParseUKMobile(s)
		if err != nil {
			if !errors.Is(err, rooms.ErrInvalidPhone) {
				t.Fatalf("ParseUKMobile(%q): error %v does not wrap ErrInvalidPhone", s, err)
			}
			return
		}
		if len(got) != 13 || !strings.HasPrefix(got, "+447") {
			t.Fatalf("ParseUKMobile(%q) = %q, not a +44 7 mobile in E.164", s, got)
		}
		if again, err := sms.ParseUKMobile(got); err != nil || again != got {
			t.Fatalf("ParseUKMobile(%q) = %q, %v; want it unchanged", got, again, err)
		}
	})
}
