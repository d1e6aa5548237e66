package hoststore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"syscall"

	"github.com/nix-community/go-nix/pkg/storepath"
)

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

// copy writes what loc is, or resolves to, as name in w. The only links
// it writes are relative ones that resolve inside the copied output
// (internal); every other link becomes a copy of its target or nothing.
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
			return w.Symlink(name, target)
		}
		if rfi, err = d.src.Lstat(strings.Join(res, "/")); err != nil {
			return err
		}
		if rfi.IsDir() && d.loops(res) {
			reason = ReasonLoop
		}
	}
	if reason != "" {
		// Left out, not written as it is: see DerefReport.Left.
		d.rep.Left = append(d.rep.Left, LeftLink{Path: rel, Target: target, Reason: reason})
		return nil
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
		return w.File(name, fi.Mode()&0o111 != 0, in)
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
