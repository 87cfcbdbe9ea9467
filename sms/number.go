package sms

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/nyaruka/phonenumbers"

	"github.com/parley-dev/parley/rooms"
)

// maxNumberInput bounds the text ParseUKMobile looks at, in bytes.
const maxNumberInput = 40

// ukMobileLen is the length of a UK mobile's national significant number
// (7 and nine more digits; written nationally with a leading 0).
const ukMobileLen = 10

// ParseUKMobile checks that s is a UK mobile number and returns it in E.164
// form ("+447700900123"). It accepts the usual ways of writing one, with
// spaces, hyphens, dots and brackets: "07700 900123", "+44 7700 900123",
// "0044 7700-900123", "(07700) 900 123", "447700900123", "+44 (0)7700
// 900123". Mobiles of the Channel Islands and the Isle of Man (+44 7624,
// +44 7781, ...) count: they are UK numbers to a UK gateway. Numbers in
// Ofcom's range for drama and examples (07700 900000 to 900999) are
// accepted too, so the documented examples work; no phone answers them.
//
// Anything else is refused with an error wrapping rooms.ErrInvalidPhone
// that says why in words for the person typing: empty, letters, a
// character that is not part of a phone number, too short or too long, not
// a UK number, a UK landline, freephone, pager or personal number.
func ParseUKMobile(s string) (string, error) {
	s = strings.TrimSpace(s)
	if err := checkCharacters(s); err != nil {
		return "", err
	}
	num, err := phonenumbers.Parse(s, "GB")
	if err != nil {
		return "", refuse("%q is not a phone number: type a UK mobile number like 07700 900123", s)
	}
	if cc := int(num.GetCountryCode()); cc != 44 {
		return "", refuse("+%d %s is not a UK number: text messages go only to UK mobile numbers (starting 07 or +44 7)",
			cc, phonenumbers.GetNationalSignificantNumber(num))
	}
	nsn := ukNational(s)
	if strings.HasPrefix(nsn, "7") && len(nsn) != ukMobileLen {
		what := "short"
		if len(nsn) > ukMobileLen {
			what = "long"
		}
		return "", refuse("%s is too %s: a UK mobile number has 11 digits (07700 900123); this has %d", national(nsn), what, len(nsn)+1)
	}
	e164 := "+44" + nsn
	if strings.HasPrefix(nsn, "7700900") {
		return e164, nil // Ofcom's drama range, which libphonenumber calls unassigned
	}
	if num, err = phonenumbers.Parse(e164, "GB"); err == nil && phonenumbers.IsValidNumber(num) {
		t := phonenumbers.GetNumberType(num)
		if t == phonenumbers.MOBILE {
			return e164, nil
		}
		return "", refuse("%s is %s, not a mobile: a text message needs a UK mobile number (starting 07)", national(nsn), kindOf(t))
	}
	if strings.HasPrefix(nsn, "7") {
		return "", refuse("%s is not a UK mobile number in use: check the number", national(nsn))
	}
	return "", refuse("%s is not a UK mobile number: those start 07 (or +44 7)", national(nsn))
}

// ukNational is the national significant number of s, a number that
// libphonenumber placed in +44: its digits without the international
// prefix (+44, 0044, or 44 before eleven or more digits) and without the
// trunk 0 (also as "(0)" after +44).
func ukNational(s string) string {
	d := phonenumbers.NormalizeDigitsOnly(s)
	switch {
	case strings.HasPrefix(d, "0044"):
		d = d[4:]
	case strings.HasPrefix(s, "+44"), strings.HasPrefix(d, "44") && len(d) >= 12:
		d = d[2:]
	}
	return strings.TrimPrefix(d, "0")
}

// checkCharacters refuses what cannot be part of a written phone number:
// letters (which libphonenumber would read as a keypad's digits), other
// symbols, a '+' anywhere but first, too few digits or too much text.
func checkCharacters(s string) error {
	if s == "" {
		return refuse("enter a UK mobile number, like 07700 900123")
	}
	if len(s) > maxNumberInput {
		return refuse("that is too long to be a phone number (%d characters): type a UK mobile number like 07700 900123", len(s))
	}
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9', r == ' ', r == '-', r == '.', r == '(', r == ')':
		case r == '+' && i == 0:
		case r == '+':
			return refuse("a '+' goes only at the start of a number (+44 7700 900123)")
		case unicode.IsLetter(r):
			return refuse("a phone number has no letters: type the digits only, like 07700 900123")
		default:
			return refuse("%q is not part of a phone number: use digits, with spaces or '-' if you like", r)
		}
	}
	if n := strings.IndexFunc(s, unicode.IsDigit); n < 0 {
		return refuse("enter a UK mobile number, like 07700 900123")
	}
	return nil
}

// national writes a UK national significant number the way people do:
// "07700 900123" (or the digits with a 0 in front, if not 10 long).
func national(nsn string) string {
	if len(nsn) == ukMobileLen && nsn[0] == '7' {
		return "0" + nsn[:4] + " " + nsn[4:]
	}
	return "0" + nsn
}

// kindOf names a type of number in words.
func kindOf(t phonenumbers.PhoneNumberType) string {
	switch t {
	case phonenumbers.FIXED_LINE, phonenumbers.FIXED_LINE_OR_MOBILE:
		return "a landline number"
	case phonenumbers.TOLL_FREE:
		return "a freephone number"
	case phonenumbers.PREMIUM_RATE:
		return "a premium-rate number"
	case phonenumbers.SHARED_COST:
		return "a shared-cost number"
	case phonenumbers.VOIP:
		return "an internet-phone (VoIP) number"
	case phonenumbers.PERSONAL_NUMBER:
		return "a personal number (070)"
	case phonenumbers.PAGER:
		return "a pager number"
	case phonenumbers.UAN:
		return "a non-geographic company number"
	case phonenumbers.VOICEMAIL:
		return "a voicemail number"
	}
	return "not a mobile number"
}

func refuse(format string, args ...any) error {
	return fmt.Errorf("%w: %s", rooms.ErrInvalidPhone, fmt.Sprintf(format, args...))
}
