package rooms

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode"
)

// SignUp is what the four sign-up steps collect. Field names match the
// JSON API (docs/api.md).
type SignUp struct {
	// Step 1: the administrator's contact details.
	AdminName  string `json:"adminName"`
	AdminEmail string `json:"adminEmail"`
	// Step 2: the group login.
	GroupName string `json:"groupName"`
	Password  string `json:"password"`
	// Step 3: the meeting PIN.
	PIN string `json:"pin"`
	// Step 4: one e-mail address per member. Blank entries are ignored
	// (a form's empty lines); errors name an entry by its index here.
	Members []string `json:"members"`
}

// SignUpSteps is the number of sign-up steps.
const SignUpSteps = 4

// SignUpRules are the operator's settings the sign-up is checked against.
type SignUpRules struct {
	// MinPasswordLen is the shortest password; below MinPasswordLen
	// (and zero) means MinPasswordLen.
	MinPasswordLen int
	// MaxMembers bounds the members listed (the group's endpoint limit);
	// zero means DefaultLimits.Endpoints.
	MaxMembers int
}

// FieldErrors maps a sign-up field ("adminEmail", "members.2", ...) to
// what is wrong with it, in plain words for the person filling the form.
type FieldErrors map[string]string

// Error lists the fields and their messages, sorted, for logs and tests.
func (fe FieldErrors) Error() string {
	keys := make([]string, 0, len(fe))
	for k := range fe {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("invalid sign-up:")
	for _, k := range keys {
		fmt.Fprintf(&b, " %s: %s;", k, fe[k])
	}
	return strings.TrimSuffix(b.String(), ";")
}

// Check validates the fields of steps 1 to step (1-4; out of range means
// all four), normalising them in place (trimmed names, lower-case e-mail
// domains, blank members dropped from MemberEmails' result). It checks
// each field on its own, and members listed twice; whether the group name
// or a member's e-mail is taken is for the caller to ask its GroupStore.
// It returns nil when every checked field is fine.
func (s *SignUp) Check(step int, rules SignUpRules) FieldErrors {
	if step < 1 || step > SignUpSteps {
		step = SignUpSteps
	}
	fe := FieldErrors{}
	set := func(field string, err error, sentinel error) {
		if err != nil {
			fe[field] = Plain(err, sentinel)
		}
	}
	var err error
	s.AdminName, err = ValidatePersonName(s.AdminName)
	set("adminName", err, ErrInvalidPersonName)
	s.AdminEmail, err = ValidateEmail(s.AdminEmail)
	set("adminEmail", err, ErrInvalidEmail)
	if step >= 2 {
		s.GroupName, err = ValidateGroupName(s.GroupName)
		set("groupName", err, ErrInvalidGroupName)
		set("password", ValidatePassword(s.Password, rules.MinPasswordLen), ErrInvalidPassword)
	}
	if step >= 3 {
		set("pin", ValidatePIN(s.PIN), ErrInvalidPIN)
	}
	if step >= 4 {
		s.checkMembers(rules, fe)
	}
	if len(fe) == 0 {
		return nil
	}
	return fe
}

// checkMembers validates step 4's list.
func (s *SignUp) checkMembers(rules SignUpRules, fe FieldErrors) {
	maxMembers := rules.MaxMembers
	if maxMembers <= 0 {
		maxMembers = DefaultLimits.Endpoints
	}
	seen := map[string]int{}
	count := 0
	for i, raw := range s.Members {
		if strings.TrimSpace(raw) == "" {
			continue
		}
		count++
		field := fmt.Sprintf("members.%d", i)
		email, err := ValidateEmail(raw)
		if err != nil {
			fe[field] = Plain(err, ErrInvalidEmail)
			continue
		}
		s.Members[i] = email
		if j, dup := seen[EmailKey(email)]; dup {
			fe[field] = fmt.Sprintf("This address is already in the list (entry %d).", j+1)
			continue
		}
		seen[EmailKey(email)] = i
	}
	switch {
	case count == 0:
		fe["members"] = "Enter the email address of at least one member."
	case count > maxMembers:
		fe["members"] = fmt.Sprintf("At most %d members can be listed (this list has %d); the operator can raise the limit later.", maxMembers, count)
	}
}

// MemberEmails returns the non-blank members, with the index each has in
// Members (for error fields).
func (s *SignUp) MemberEmails() (emails []string, index []int) {
	for i, m := range s.Members {
		if strings.TrimSpace(m) != "" {
			emails = append(emails, strings.TrimSpace(m))
			index = append(index, i)
		}
	}
	return emails, index
}

// Plain turns an error wrapping sentinel ("invalid PIN: the PIN must
// ...") into the sentence a form shows beside its field ("The PIN must
// ..."): the words after the sentinel, capitalised, with a full stop.
func Plain(err, sentinel error) string {
	msg := err.Error()
	if sentinel != nil && errors.Is(err, sentinel) {
		if i := strings.Index(msg, sentinel.Error()+": "); i >= 0 {
			msg = msg[i+len(sentinel.Error())+2:]
		}
	}
	if msg == "" {
		return msg
	}
	r := []rune(msg)
	r[0] = unicode.ToUpper(r[0])
	msg = string(r)
	if !strings.HasSuffix(msg, ".") {
		msg += "."
	}
	return msg
}
