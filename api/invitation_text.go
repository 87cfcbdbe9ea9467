package api

import (
	"fmt"
	"strings"
	"time"

	"github.com/parley-dev/parley/rooms"
)

// browserAdvice is the seed's wording, in the mail and the copied instructions.
const browserAdvice = "Remember, always use the latest version of Google Chrome, Microsoft Edge or Apple Safari."

// inviterOr is the inviter's name, or a stand-in when the token and the
// request gave none.
func inviterOr(name string) string {
	if name == "" {
		return "A member of the meeting room"
	}
	return name
}

func invitationSubject(name string) string {
	return inviterOr(name) + " invites you to a video call"
}

// untilWords says when a link stops working: "2 December 2026 at 14:30 UTC".
func untilWords(t time.Time) string {
	return t.UTC().Format("2 January 2006 at 15:04 MST")
}

// invitationMail is an invitation's e-mail body: who invites you, to which
// room, the link, the browser advice, that the link admits you at once,
// and when it expires.
func invitationMail(name, room, url string, expires time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Hello,\n\n%s invites you to join a video call in the meeting room %q.\n\n", inviterOr(name), room)
	fmt.Fprintf(&b, "Join the call here:\n%s\n\n", url)
	b.WriteString("As soon as you open the link and enter your details, you are admitted to the call.\n\n")
	b.WriteString(browserAdvice + "\n\n")
	asker := "the person who invited you"
	if name != "" {
		asker = name
	}
	fmt.Fprintf(&b, "The link works until %s. If it has stopped working, ask %s for a new one.\n", untilWords(expires), asker)
	return b.String()
}

// invitationText is an invitation's text message: the same in fewer words,
// at most rooms.MaxTextLen bytes (long names are cut to fit; the link and
// the expiry always go in).
func invitationText(name, room, url string, expires time.Time) string {
	until := expires.UTC().Format("2 Jan 15:04 MST")
	build := func(name, room string) string {
		return fmt.Sprintf("%s invites you to a video call (%s): %s Opening the link and entering your name admits you at once. Use the latest Chrome, Edge or Safari. Link works until %s.",
			inviterOr(name), room, url, until)
	}
	text := build(name, room)
	for n := 32; len(text) > rooms.MaxTextLen && n >= 8; n /= 2 {
		text = build(cut(name, n), cut(room, n))
	}
	if len(text) > rooms.MaxTextLen {
		text = fmt.Sprintf("You are invited to a video call: %s Link works until %s.", url, until)
	}
	return text
}

// cut shortens s to at most n characters, marking the cut with "…".
func cut(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
