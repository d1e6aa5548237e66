package cli

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/nixcross/nixcross/internal/build"
	"github.com/nixcross/nixcross/internal/status"
)

// ownNixArgs takes from nix build's own arguments (after --) those that
// nixcross answers itself: --print-out-paths is nixcross's flag of the
// same name (Nix's stdout is nixcross's to read); the out-link and JSON
// flags would change what nixcross reads and links, so they are refused
// with the flag to use instead.
func ownNixArgs(args []string) (rest []string, printOutPaths bool, err error) {
	for _, a := range args {
		name, _, _ := strings.Cut(a, "=")
		switch name {
		case "--print-out-paths":
			printOutPaths = true
			continue
		case "-o", "--out-link", "--no-link":
			return nil, false, status.Usage(fmt.Errorf("%s after -- is nixcross's to set", name), "use nixcross's own -o/--out-link PATH before --")
		case "--json":
			return nil, false, status.Usage(fmt.Errorf("--json after -- is nixcross's to set"), "use nixcross's own --json before --")
		}
		rest = append(rest, a)
	}
	return rest, printOutPaths, nil
}

// printOutPaths writes each built output's path on the host (in the
// store beside its out-link) on a line of stdout, as `nix build
// --print-out-paths` prints its store paths: what a script can use
// without Nix, `$(nixcross build -q --print-out-paths)/bin/hello`.
func printOutPaths(w io.Writer, results []*build.Result) error {
	for _, r := range results {
		if r.Error != "" || r.Link == "" {
			continue
		}
		dir, err := filepath.Abs(filepath.Dir(r.Link))
		if err != nil {
			return err
		}
		for _, out := range r.Outputs {
			if _, err := fmt.Fprintln(w, filepath.Join(dir, "nix", "store", filepath.Base(out))); err != nil {
				return err
			}
		}
	}
	return nil
}
