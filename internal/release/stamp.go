package release

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// GitStamp reads the stamp from the checkout at root: the commit and its
// date (not the clock, so rebuilding a commit gives the same archives). A
// release needs HEAD to carry a v* tag and a clean tree; a snapshot is
// named like goreleaser's, <last tag or v0.0.0>-SNAPSHOT-<short commit>.
func GitStamp(ctx context.Context, root string, snapshot bool) (Stamp, error) {
	git := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, "git", args...)
		cmd.Dir = root
		out, err := cmd.Output()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(ee.Stderr)))
		}
		return strings.TrimSpace(string(out)), err
	}
	commit, err := git("rev-parse", "HEAD")
	if err != nil {
		return Stamp{}, err
	}
	epoch, err := git("log", "-1", "--format=%ct", "HEAD")
	if err != nil {
		return Stamp{}, err
	}
	secs, err := strconv.ParseInt(epoch, 10, 64)
	if err != nil {
		return Stamp{}, fmt.Errorf("commit date %q: %w", epoch, err)
	}
	s := Stamp{Commit: commit, Date: time.Unix(secs, 0).UTC()}
	if snapshot {
		tag, err := git("describe", "--tags", "--abbrev=0", "--match", "v*")
		if err != nil {
			tag = "v0.0.0" // no release yet
		}
		s.Version = tag + "-SNAPSHOT-" + commit[:7]
		return s, nil
	}
	tag, err := git("describe", "--tags", "--exact-match", "--match", "v*", "HEAD")
	if err != nil {
		return Stamp{}, fmt.Errorf("a release needs a v* tag on HEAD (or use -snapshot): %w", err)
	}
	if dirty, err := git("status", "--porcelain", "--untracked-files=no"); err != nil || dirty != "" {
		return Stamp{}, fmt.Errorf("a release needs a clean tree; changed:\n%s", dirty)
	}
	s.Version = tag
	return s, nil
}
