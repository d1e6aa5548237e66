package nix

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/nixcross/nixcross/internal/system"
)

// MainProgramCommand prints the installable's meta.mainProgram as JSON,
// null when it has none (a derivation without meta, as the fixture's). It
// takes the build's settings and input overrides, so it reads the flake
// the build read, but not the arguments after --, which are nix build's.
func MainProgramCommand(in Installable, s system.System, f BuildFlags) []string {
	cmd := []string{"nix", "eval", "--json", "--no-write-lock-file", "--option", "extra-platforms", s.String()}
	for _, o := range f.Options {
		cmd = append(cmd, "--option", o.Name, o.Value)
	}
	cmd = append(cmd, OverrideArgs(f.Overrides)...)
	return append(cmd, in.Flake+"#"+AttrPath(in.Attr, s), "--apply", "p: p.meta.mainProgram or null")
}

// ParseMainProgram reads MainProgramCommand's output: "" for null.
func ParseMainProgram(out []byte) (string, error) {
	var name *string
	if err := json.Unmarshal([]byte(strings.TrimSpace(string(out))), &name); err != nil {
		return "", fmt.Errorf("meta.mainProgram: %w", err)
	}
	if name == nil {
		return "", nil
	}
	return *name, nil
}
