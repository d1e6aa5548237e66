package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/nixcross/nixcross/internal/build"
	"github.com/nixcross/nixcross/internal/hoststore"
	"github.com/nixcross/nixcross/internal/status"
)

// checkOutLinks fails before any build when a result could not be
// written: the directory is missing or read-only, or a link's name (or,
// with --dereference, its -deref link's) is taken by something that is
// not a link, which is the user's and never replaced
// (hoststore.Replaceable, the rule the export applies again).
func checkOutLinks(links []string, deref bool) error {
	abs, err := filepath.Abs(links[0])
	if err != nil {
		return status.Usage(fmt.Errorf("out-link %s: %w", links[0], err), "")
	}
	dir := filepath.Dir(abs)
	st, err := os.Stat(dir)
	if err != nil || !st.IsDir() {
		return status.Usage(fmt.Errorf("out-link directory %s does not exist", dir), "create it first or choose another -o")
	}
	if !writable(dir) {
		return status.Usage(fmt.Errorf("out-link directory %s is not writable", dir), "choose a directory you can write with -o")
	}
	if err := hoststore.CheckStoreDir(dir); err != nil {
		if !errors.Is(err, hoststore.ErrNotOurs) {
			return status.Environment(fmt.Errorf("output store beside %s: %w", links[0], err), "")
		}
		return status.Usage(err, "nixcross keeps the result's closure in nix/store beside the out-link: move that away or choose another -o")
	}
	for _, link := range links {
		if err := checkReplaceable(link, "move it away or choose another -o"); err != nil {
			return err
		}
		// Before the copy became a link, nixcross wrote a directory here.
		if deref {
			if err := checkReplaceable(link+build.DerefSuffix, "move it away or choose another -o (one an older nixcross wrote as a directory is only a copy of the result)"); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkReplaceable(link, hint string) error {
	abs, err := filepath.Abs(link)
	if err == nil {
		err = hoststore.Replaceable(abs)
	}
	if err != nil {
		return status.Usage(err, hint)
	}
	return nil
}

// warnUnignored warns, once (when the output store is not there yet), that
// the output store and links would land untracked-but-not-ignored in the
// flake's own git repository, and gives the .gitignore lines.
func warnUnignored(warnf func(string, ...any), src build.FlakeSource, links []string) {
	abs, err := filepath.Abs(links[0])
	if err != nil {
		return
	}
	dir := filepath.Dir(abs)
	if _, err := os.Lstat(filepath.Join(dir, "nix")); err == nil {
		return
	}
	names := make([]string, len(links))
	for i, l := range links {
		names[i] = filepath.Base(l)
	}
	if lines := src.Unignored(dir, names); len(lines) > 0 {
		warnf("the result's store goes to %s, inside the flake's git repository, and git does not ignore it: `git add -A` would commit it and the next build copy it into itself; add to %s:\n  %s",
			filepath.Join(dir, "nix"), filepath.Join(src.Top, ".gitignore"), strings.Join(lines, "\n  "))
	}
}
