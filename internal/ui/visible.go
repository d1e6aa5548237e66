package ui

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Visible is how a name that came from a build (a file or link name, a
// link's target, a store path, a file a rebuild found different) is
// shown: a derivation chooses those bytes, and printed as they are, ESC,
// CR or BEL would let it redraw or forge lines and retitle the terminal.
// Every control character is spelled out instead: C0 and DEL as Go
// writes them (\a, \r, \x1b, \x7f), C1 (U+0080 to U+009F, which some
// terminals obey like ESC sequences) as \u0080, and each byte that is not
// UTF-8 as \xff. Printable text, non-ASCII included, is left as it is,
// and so is the backslash: this is for reading, not a reversible
// encoding, and Visible(Visible(s)) == Visible(s).
func Visible(s string) string { return visible(s, false) }

// VisibleLines is Visible for multi-line text: the final error line,
// which can carry Nix's log (newlines and tabs are its layout) and names
// from a build anywhere in it. Everything else is escaped as Visible does.
func VisibleLines(s string) string { return visible(s, true) }

func visible(s string, lines bool) string {
	if !needsEscape(s, lines) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case lines && (r == '\n' || r == '\t'):
			b.WriteRune(r)
		case isControl(r):
			b.WriteString(escapeControl(r))
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func needsEscape(s string, lines bool) bool {
	for _, r := range s {
		if r == utf8.RuneError || isControl(r) && !(lines && (r == '\n' || r == '\t')) {
			return true
		}
	}
	return false
}

// isControl is C0, DEL and C1: what a terminal may act on.
func isControl(r rune) bool { return r < 0x20 || r >= 0x7f && r < 0xa0 }

func escapeControl(r rune) string {
	switch r {
	case '\a':
		return `\a`
	case '\b':
		return `\b`
	case '\t':
		return `\t`
	case '\n':
		return `\n`
	case '\v':
		return `\v`
	case '\f':
		return `\f`
	case '\r':
		return `\r`
	}
	if r < 0x80 {
		return fmt.Sprintf(`\x%02x`, r)
	}
	return fmt.Sprintf(`\u%04x`, r)
}
