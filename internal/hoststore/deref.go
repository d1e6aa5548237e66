package hoststore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/nix-community/go-nix/pkg/storepath"
)

// DerefReport says what Dereference did with the symlinks it met.
type DerefReport struct {
	// Resolved counts symlinks replaced by a copy of their target.
	Resolved int
	// Relative counts relative symlinks kept as they are because they
	// resolve inside the copied output itself, so they still resolve in
	// the copy (lib/libz.so -> libz.so.1 is not worth a second copy).
	Relative int
	// Kept lists symlinks kept as links because following them would
	// leave the exported closure, or would never end.
	Kept []KeptLink
}

// KeptLink is a symlink Dereference did not follow.
type KeptLink struct {
	Path   string // relative to dest; "." for dest itself
	Target string // the link's target, byte for byte
	Reason string // one of the Reason constants
}

const (
	ReasonOutside  = "points outside the exported closure"
	ReasonDangling = "target does not exist"
	ReasonLoop     = "symlink loop"
)

// maxHops is Linux's limit on symlinks followed in one lookup.
const maxHops = 40

// ErrDerefTooLarge means the dereferenced copy outgrew its limit: links
// that lead to the same directories again and again (a/x and a/y both to
// b, b/x and b/y both to c, ...) make a copy that doubles at every level
// while the closure stays small, and would fill the disk.
var ErrDerefTooLarge = errors.New("the dereferenced copy outgrows the closure")

// DerefLimit is the size Dereference may write for an output of a closure
// of narBytes: a copy resolves each link into the closure once per link,
// so a few links to the same library cost a few copies of it, but nothing
// short of fan-out costs several times the whole closure. The floor keeps
// small closures with many links to one big file working.
func DerefLimit(narBytes int64) int64 { return max(4*narBytes, 1<<30) }

// derefEntryCost is what each directory entry counts toward the limit
// besides its contents, about what it costs in a NAR, so that fan-out
// through empty files and directories is bounded too.
const derefEntryCost = 256

// Dereference writes a self-contained copy of the exported storePath at
// dest, for machines without Nix: symlinks into the exported closure are
// replaced by copies of their targets, resolved against this output store
// only (never the host's /nix or anything else outside Root); symlinks
// leaving the closure are kept as links and reported, never followed.
//
// The copy is built under a temporary name beside dest and renamed into
// place. dest is nixcross's to own, like an out-link: a directory or file
// already there (an earlier copy) is replaced; a symlink or anything else
// is refused untouched. A copy that would exceed limit bytes (DerefLimit)
// fails with ErrDerefTooLarge and leaves nothing behind.
func (s *Store) Dereference(storePath, dest string, limit int64) (DerefReport, error) {
	var rep DerefReport
	sp, err := storepath.FromAbsolutePath(storePath)
	if err != nil {
		return rep, fmt.Errorf("dereference %s: %w", storePath, err)
	}
	if !s.Has(storePath) {
		return rep, fmt.Errorf("dereference %s: not in the output store %s", storePath, s.Root)
	}
	abs, err := filepath.Abs(dest)
	if err != nil {
		return rep, fmt.Errorf("dereference %s: %w", storePath, err)
	}
	old, err := os.Lstat(abs)
	switch {
	case err == nil && !old.IsDir() && !old.Mode().IsRegular():
		return rep, fmt.Errorf("dereference %s: refusing to replace %s, a %s", storePath, dest, kind(old.Mode()))
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return rep, fmt.Errorf("dereference %s: %w", storePath, err)
	}
	exists := err == nil

	src, err := os.OpenRoot(s.Root)
	if err != nil {
		return rep, fmt.Errorf("dereference %s: %w", storePath, err)
	}
	defer src.Close()
	out, err := os.OpenRoot(filepath.Dir(abs))
	if err != nil {
		return rep, fmt.Errorf("dereference %s: %w", storePath, err)
	}
	defer out.Close()

	d := &derefer{store: s, src: src, rep: &rep, top: []string{"nix", "store", sp.String()}, left: limit}
	tmp := tempName("deref")
	if err := d.copy(rootWriter{r: out, owner: s.Owner}, tmp, d.top, "."); err != nil {
		out.RemoveAll(tmp)
		if errors.Is(err, ErrDerefTooLarge) {
			return rep, fmt.Errorf("dereference %s: %w: over %d MB, its links lead to the same directories again and again", storePath, err, limit/1e6)
		}
		return rep, fmt.Errorf("dereference %s: %w", storePath, err)
	}
	base := filepath.Base(abs)
	if exists {
		// rename(2) will not replace a non-empty directory: move the old
		// copy aside first, and back if the new one cannot take its place.
		aside := tempName("old")
		if err := out.Rename(base, aside); err != nil {
			out.RemoveAll(tmp)
			return rep, fmt.Errorf("dereference %s: replace %s: %w", storePath, dest, err)
		}
		if err := out.Rename(tmp, base); err != nil {
			out.Rename(aside, base)
			out.RemoveAll(tmp)
			return rep, fmt.Errorf("dereference %s: %w", storePath, err)
		}
		if err := out.RemoveAll(aside); err != nil {
			return rep, fmt.Errorf("dereference %s: remove previous copy: %w", storePath, err)
		}
		return rep, nil
	}
	if err := out.Rename(tmp, base); err != nil {
		out.RemoveAll(tmp)
		return rep, fmt.Errorf("dereference %s: %w", storePath, err)
	}
	return rep, nil
}
