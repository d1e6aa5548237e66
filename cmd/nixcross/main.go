// Command nixcross builds Nix flakes for other architectures inside Docker.
package main

import (
	"os"

	"github.com/nixcross/nixcross/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], cli.StdStreams()))
}
