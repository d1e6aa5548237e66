// Command docs writes the Markdown command reference, a page per command
// generated from nixcross's command tree (as the man pages are), into
// docs/reference, removing pages of commands that are gone.
//
//	go run ./scripts/docs    # make docs
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/nixcross/nixcross/internal/release"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "docs:", err)
		os.Exit(1)
	}
}

func run() error {
	if _, err := os.Stat("go.mod"); err != nil {
		return fmt.Errorf("run it from the repository root: %w", err)
	}
	pages, err := release.Reference()
	if err != nil {
		return fmt.Errorf("generate reference: %w", err)
	}
	dir := filepath.FromSlash(release.ReferenceDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	old, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range old {
		if strings.HasSuffix(e.Name(), ".md") {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	for _, p := range pages {
		if err := os.WriteFile(filepath.Join(dir, p.Name), p.Data, 0o644); err != nil {
			return err
		}
	}
	fmt.Printf("%s: %d pages\n", dir, len(pages))
	return nil
}
