// Command prepare writes an offline copy of the hello flake, with its
// builder compiled for the given systems, for `make demo`:
//
//	go run ./examples/prepare -o /tmp/demo/flake -systems aarch64-linux
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/nixcross/nixcross/internal/fixture"
	"github.com/nixcross/nixcross/internal/system"
)

func main() {
	out := flag.String("o", "", "directory to write the flake into")
	systems := flag.String("systems", "aarch64-linux", "comma-separated systems to compile builders for")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "prepare: -o is required")
		os.Exit(2)
	}
	list, err := system.ParseList(strings.Split(*systems, ","))
	if err != nil {
		fmt.Fprintln(os.Stderr, "prepare:", err)
		os.Exit(2)
	}
	if err := fixture.Prepare(fixture.RepoRoot(), *out, list); err != nil {
		fmt.Fprintln(os.Stderr, "prepare:", err)
		os.Exit(1)
	}
}
