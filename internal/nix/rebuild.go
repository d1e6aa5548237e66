package nix

import (
	"regexp"

	"github.com/nixcross/nixcross/internal/system"
)

// RebuildCommand builds in's derivation once more and compares the new
// outputs with the ones in the store (Nix's --rebuild; the outputs must
// already be valid). --keep-failed makes Nix keep a differing output
// beside the old one as <output>.check, which is what lets nixcross name
// the files that differ.
func RebuildCommand(in Installable, s system.System, f BuildFlags) []string {
	f.KeepFailed = true
	build := BuildCommand(in, s, "", f)
	return append([]string{build[0], build[1], "--rebuild"}, build[2:]...)
}

// CheckSuffix is what Nix appends to an output's path for the differing
// second build it keeps under --rebuild --keep-failed.
const CheckSuffix = ".check"

var (
	ansi = regexp.MustCompile(`\x1b\[[0-9;]*[A-Za-z]`)
	// Nix 2.8 to 2.26: "derivation '…' may not be deterministic: output
	// '/nix/store/…' differs from '/nix/store/….check'".
	notDeterministic = regexp.MustCompile(`may not be deterministic: output '(/nix/store/[^']+)' differs from '(/nix/store/[^']+)'`)
)

// NotDeterministic finds, in the log of a failed RebuildCommand, the
// output whose second build differed and where Nix kept that build; ok is
// false when the rebuild failed for another reason.
func NotDeterministic(log string) (output, check string, ok bool) {
	m := notDeterministic.FindStringSubmatch(ansi.ReplaceAllString(log, ""))
	if m == nil {
		return "", "", false
	}
	return m[1], m[2], true
}
