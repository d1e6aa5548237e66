package cli

import (
	"fmt"
	"io"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// Version, Commit and Date are stamped at link time by the release build
// (scripts/release):
//
//	-ldflags "-X github.com/nixcross/nixcross/internal/cli.Version=v1.2.3 -X ….Commit=<sha> -X ….Date=<RFC 3339>"
var (
	Version = "dev"
	Commit  = ""
	Date    = ""
)

// versionLine is what `nixcross version` and `--version` print after the
// name. A binary from `go install …@v1.2.3` carries no stamp but knows its
// module version, so that stands in for "dev".
func versionLine() string {
	v := Version
	if v == "dev" {
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
	}
	var about []string
	if Commit != "" {
		about = append(about, "commit "+Commit)
	}
	if Date != "" {
		about = append(about, "built "+Date)
	}
	if len(about) > 0 {
		v += " (" + strings.Join(about, ", ") + ")"
	}
	return v
}

func newVersionCommand(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the nixcross version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if asJSON {
				return writeJSON(a.streams.Out, currentVersion())
			}
			fmt.Fprintln(a.streams.Out, "nixcross "+versionLine())
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the version, commit, build date, Go version and platform as JSON")
	return cmd
}

// Command is nixcross's command tree with nowhere to write, for generating
// shell completions and man pages from it (scripts/release); it is not run.
func Command() *cobra.Command {
	return newApp(Streams{In: strings.NewReader(""), Out: io.Discard, Err: io.Discard}).rootCommand()
}
