package hoststore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

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
	// Left lists symlinks left out of the copy because following them
	// would leave the exported closure, find nothing, or never end. They
	// are not written as links either: a link kept as it is (/etc/shadow,
	// ../../../etc, /nix/store/...) would point from the copy at the
	// host's own files, which `scp -r` or `zip -r` of the copy then ship.
	Left []LeftLink
}

// LeftLink is a symlink Dereference left out of the copy.
type LeftLink struct {
	Path   string // relative to the copy; "." for the output itself
	Target string // the link's target, byte for byte
	Reason string // one of the Reason constants, a verb phrase
}

// The reasons a link is left out, phrased to follow "link PATH -> TARGET".
const (
	ReasonOutside  = "leaves the closure"
	ReasonDangling = "points at nothing in the closure"
	ReasonLoop     = "is a symlink loop"
)

// ErrOutputLeft means the output itself is a link Dereference does not
// follow (DerefReport.Left names it): there is nothing to copy.
var ErrOutputLeft = errors.New("the output is a link that cannot be followed")

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

// Dereference writes a self-contained copy of the exported storePath for
// machines without Nix and points the link dest at it: symlinks into the
// exported closure are replaced by copies of their targets, resolved
// against this output store only (never the host's /nix or anything else
// outside Root); symlinks leaving the closure are left out and reported,
// never followed. An output that is itself such a link is refused
// (ErrOutputLeft) and nothing is written. Whenever no copy can be made,
// an earlier link at dest is removed (dropLink).
//
// dest is a link like the out-link and owned by the same rule
// (Replaceable): a symlink there is replaced, anything else is refused
// (ErrNotOurs) before anything is written. The copy itself is a
// directory of this run's own in DerefDir beside dest, and dest is
// swapped to it by rename, because rename(2) cannot replace a non-empty
// directory: concurrent runs each write their own copy and the last
// link wins, as with the out-link (see sweepCopies for the rest). A
// copy that would exceed limit bytes (DerefLimit) fails with
// ErrDerefTooLarge and leaves nothing behind.
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
	if err := Replaceable(abs); err != nil {
		return rep, fmt.Errorf("dereference %s: %w", storePath, err)
	}
	src, err := os.OpenRoot(s.Root)
	if err != nil {
		return rep, fmt.Errorf("dereference %s: %w", storePath, err)
	}
	defer src.Close()
	d := &derefer{store: s, src: src, rep: &rep, top: []string{"nix", "store", sp.String()}, left: limit}
	if err := d.checkOutput(); err != nil {
		return rep, fmt.Errorf("dereference %s: %w", storePath, errors.Join(err, dropLink(abs)))
	}

	dir := filepath.Dir(abs)
	copies, err := s.openCopies(dir)
	if err != nil {
		return rep, fmt.Errorf("dereference %s: %w", storePath, err)
	}
	defer copies.Close()
	name := runName()
	if err := d.copy(rootWriter{r: copies, owner: s.Owner}, name, d.top, "."); err != nil {
		copies.RemoveAll(name)
		err = errors.Join(err, dropLink(abs))
		if errors.Is(err, ErrDerefTooLarge) {
			return rep, fmt.Errorf("dereference %s: %w: over %d MB, its links lead to the same directories again and again", storePath, err, limit/1e6)
		}
		return rep, fmt.Errorf("dereference %s: %w", storePath, err)
	}
	if err := s.swapLink(abs, DerefDir+"/"+name); err != nil {
		copies.RemoveAll(name)
		return rep, fmt.Errorf("dereference %s: %w", storePath, err)
	}
	if err := sweepCopies(dir, copies, name); err != nil {
		return rep, fmt.Errorf("dereference %s: %s is in place; removing earlier copies: %w", storePath, dest, err)
	}
	return rep, nil
}

// checkOutput refuses an output that is itself a link out of the closure,
// to nothing or in a loop: left out like any such link, it leaves no copy.
func (d *derefer) checkOutput() error {
	loc := strings.Join(d.top, "/")
	fi, err := d.src.Lstat(loc)
	if err != nil || fi.Mode()&os.ModeSymlink == 0 {
		return err
	}
	target, err := d.src.Readlink(loc)
	if err != nil {
		return err
	}
	_, reason, err := d.resolve(d.top[:len(d.top)-1], target)
	if err != nil || reason == "" {
		return err
	}
	d.rep.Left = append(d.rep.Left, LeftLink{Path: ".", Target: target, Reason: reason})
	return ErrOutputLeft
}

// dropLink removes the link at abs, when there is one, because no copy
// of this build's output can be made: left there, it would pair the new
// result with an earlier build's copy. The copy it pointed at goes with
// the next run's sweep (sweepCopies).
func dropLink(abs string) error {
	fi, err := os.Lstat(abs)
	if err != nil || fi.Mode()&os.ModeSymlink == 0 {
		return nil // nothing there, or the user's (never touched)
	}
	if err := os.Remove(abs); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove the earlier copy's link: %w", err)
	}
	return nil
}
