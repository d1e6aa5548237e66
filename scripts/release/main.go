// Command release builds nixcross's release archives and checksums into a
// directory, without publishing anything (internal/release says what and why
// not goreleaser).
//
//	go run ./scripts/release -snapshot        # make release-snapshot
//	go run ./scripts/release                  # HEAD tagged v1.2.3, clean tree
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/nixcross/nixcross/internal/release"
)

func main() {
	dist := flag.String("dist", "dist", "output directory (emptied first)")
	snapshot := flag.Bool("snapshot", false, "build an untagged snapshot (version <tag>-SNAPSHOT-<commit>)")
	goCmd := flag.String("go", "go", "the go command")
	flag.Parse()
	if err := run(*dist, *snapshot, *goCmd); err != nil {
		fmt.Fprintln(os.Stderr, "release:", err)
		os.Exit(1)
	}
}

func run(dist string, snapshot bool, goCmd string) error {
	ctx := context.Background()
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		return fmt.Errorf("run it from the repository root: %w", err)
	}
	stamp, err := release.GitStamp(ctx, root, snapshot)
	if err != nil {
		return err
	}
	if !filepath.IsAbs(dist) {
		dist = filepath.Join(root, dist)
	}
	archives, err := release.Build(ctx, release.Options{
		Root: root, Dist: dist, Go: goCmd, Stamp: stamp, Targets: release.Targets, Log: os.Stderr,
	})
	if err != nil {
		return err
	}
	for _, a := range archives {
		fmt.Println(a)
	}
	fmt.Println(filepath.Join(dist, release.ChecksumsFile))
	return nil
}
