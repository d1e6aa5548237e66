// Package shell owns how nixcross puts a value into a POSIX sh script it
// runs in a container: quoted once, by Quote, never with Go's %q (whose
// escapes sh does not read).
package shell

import "strings"

// Quote returns s as one single-quoted sh word: every byte literal, a
// single quote closed, escaped and reopened.
func Quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
