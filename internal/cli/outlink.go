package cli

import (
	"fmt"
	"os"
	"path/filepath"

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
