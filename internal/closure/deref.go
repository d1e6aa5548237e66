package closure

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

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

// DerefLimit is the size Dereference may write for an output of closure c:
// a copy resolves each link into the closure once per link, so a few
// links to the same library cost a few copies of it, but nothing short
// of fan-out costs several times the whole closure. The floor keeps small
// closures with many links to one big file working.
func DerefLimit(c Closure) int64 { return max(4*c.NarBytes(), 1<<30) }

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

// derefer copies out of the output store. Store locations are handled as
// component lists relative to Root ("nix", "store", "<hash>-x", ...): no
// component is ever ".", ".." or empty, every symlink is resolved by
// resolve rather than the kernel, and all reads go through an os.Root, so
// nothing outside the output store is read whatever the links say.
type derefer struct {
	store *Store
	src   *os.Root
	rep   *DerefReport
	top   []string
	// copying holds the real directories being copied, outermost first: a
	// link to one of them, or to an ancestor, would copy forever.
	copying [][]string
	// left is what the copy may still write (see DerefLimit).
	left int64
}

// spend charges n bytes and one entry to the limit.
func (d *derefer) spend(n int64) error {
	d.left -= n + derefEntryCost
	if d.left < 0 {
		return ErrDerefTooLarge
	}
	return nil
}

// copy writes what loc is, or resolves to, as name in w.
func (d *derefer) copy(w rootWriter, name string, loc []string, rel string) error {
	if err := d.spend(0); err != nil {
		return err
	}
	fi, err := d.src.Lstat(strings.Join(loc, "/"))
	if err != nil {
		return err
	}
	if fi.Mode()&os.ModeSymlink == 0 {
		return d.copyReal(w, name, loc, fi, rel)
	}
	target, err := d.src.Readlink(strings.Join(loc, "/"))
	if err != nil {
		return err
	}
	dir := loc[:len(loc)-1]
	res, reason, err := d.resolve(dir, target)
	if err != nil {
		return fmt.Errorf("%s: %w", rel, err)
	}
	var rfi os.FileInfo
	if reason == "" {
		if d.internal(dir, target, res) {
			d.rep.Relative++
			return w.symlink(name, target)
		}
		if rfi, err = d.src.Lstat(strings.Join(res, "/")); err != nil {
			return err
		}
		if rfi.IsDir() && d.loops(res) {
			reason = ReasonLoop
		}
	}
	if reason != "" {
		d.rep.Kept = append(d.rep.Kept, KeptLink{Path: rel, Target: target, Reason: reason})
		return w.symlink(name, target)
	}
	d.rep.Resolved++
	return d.copyReal(w, name, res, rfi, rel)
}

// copyReal copies a file or directory (never a symlink) at loc.
func (d *derefer) copyReal(w rootWriter, name string, loc []string, fi os.FileInfo, rel string) error {
	p := strings.Join(loc, "/")
	switch {
	case fi.Mode().IsRegular():
		if err := d.spend(fi.Size()); err != nil {
			return err
		}
		in, err := d.src.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		return w.file(name, fi.Mode()&0o111 != 0, in)
	case fi.IsDir():
		dir, err := d.src.Open(p)
		if err != nil {
			return err
		}
		entries, err := dir.ReadDir(-1)
		dir.Close()
		if err != nil {
			return err
		}
		// Directory order is the file system's; the report should not be.
		slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
		sub, done, err := w.subdir(name)
		if err != nil {
			return err
		}
		d.copying = append(d.copying, loc)
		defer func() { d.copying = d.copying[:len(d.copying)-1] }()
		for _, e := range entries {
			child := append(slices.Clip(loc), e.Name())
			if err = d.copy(sub, e.Name(), child, path.Join(rel, e.Name())); err != nil {
				break
			}
		}
		if derr := done(); err == nil {
			err = derr
		}
		return err
	default:
		return fmt.Errorf("%s: unsupported file type %s", rel, fi.Mode().Type())
	}
}

// resolve follows target from the directory dir the way the kernel would
// inside a machine whose only files are the exported closure. It returns
// the real location, or a Reason when the target leaves the closure, does
// not exist or loops. Only the virtual /, /nix and /nix/store are passed
// through without being read; every other component is looked up in the
// output store, and only below a store path that is published there.
func (d *derefer) resolve(dir []string, target string) ([]string, string, error) {
	if target == "" {
		return nil, ReasonDangling, nil
	}
	cur := slices.Clone(dir)
	if strings.HasPrefix(target, "/") {
		cur = cur[:0]
	}
	pending := strings.Split(target, "/")
	hops := 0
	for len(pending) > 0 {
		c := pending[0]
		pending = pending[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(cur) > 0 {
				cur = cur[:len(cur)-1]
			}
			continue
		}
		cur = append(cur, c)
		switch {
		case len(cur) == 1 && c != "nix", len(cur) == 2 && c != "store":
			return nil, ReasonOutside, nil
		case len(cur) < 3:
			continue
		case len(cur) == 3 && !d.store.Has(storepath.StoreDir+"/"+c):
			return nil, ReasonOutside, nil
		}
		fi, err := d.src.Lstat(strings.Join(cur, "/"))
		switch {
		case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
			return nil, ReasonDangling, nil
		case err != nil:
			return nil, "", err
		case fi.Mode()&os.ModeSymlink != 0:
			if hops++; hops > maxHops {
				return nil, ReasonLoop, nil
			}
			link, err := d.src.Readlink(strings.Join(cur, "/"))
			if err != nil {
				return nil, "", err
			}
			if link == "" {
				return nil, ReasonDangling, nil
			}
			cur = cur[:len(cur)-1]
			if strings.HasPrefix(link, "/") {
				cur = cur[:0]
			}
			pending = append(strings.Split(link, "/"), pending...)
		case !fi.IsDir() && len(pending) > 0:
			// "file/..." is ENOTDIR, even "file/" and "file/.".
			return nil, ReasonDangling, nil
		}
	}
	if len(cur) < 3 {
		return nil, ReasonOutside, nil
	}
	return cur, "", nil
}

// internal reports whether a relative link resolves inside the copied
// output to the very place its text names, without the text ever climbing
// above the output: then the copy can keep it as it is and it resolves
// the same there.
func (d *derefer) internal(dir []string, target string, res []string) bool {
	if strings.HasPrefix(target, "/") || !hasPrefix(dir, d.top) {
		return false
	}
	lex := slices.Clone(dir)
	for _, c := range strings.Split(target, "/") {
		switch c {
		case "", ".":
		case "..":
			lex = lex[:len(lex)-1]
			if len(lex) < len(d.top) {
				return false
			}
		default:
			lex = append(lex, c)
		}
	}
	return slices.Equal(lex, res)
}

func (d *derefer) loops(dir []string) bool {
	for _, c := range d.copying {
		if hasPrefix(c, dir) {
			return true
		}
	}
	return false
}

// hasPrefix reports whether p is prefix or a location below it.
func hasPrefix(p, prefix []string) bool {
	return len(p) >= len(prefix) && slices.Equal(p[:len(prefix)], prefix)
}
