package cli

import "strings"

// joinOptionPairs turns Nix-style `--option NAME VALUE` and
// `--override-input NAME FLAKEREF` (two words, as in the cross-compilation
// guide) into `--option=NAME=VALUE`, which a flag parser can read. Nix
// option and input names never contain '='. Arguments after `--` belong to
// `nix build` and are left alone.
func joinOptionPairs(args []string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(out, args[i:]...)
		}
		if (a == "--option" || a == "--override-input") && i+2 < len(args) {
			out = append(out, a+"="+args[i+1]+"="+args[i+2])
			i += 2
			continue
		}
		out = append(out, a)
	}
	return out
}

// splitOption splits NAME=VALUE.
func splitOption(s string) (name, value string, ok bool) {
	name, value, ok = strings.Cut(s, "=")
	return name, value, ok && name != ""
}
