package hoststore

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// DerefDir is the directory beside the out-links that holds the
// --dereference copies, one per run, each named by runName; every
// <out-link>-deref is a relative link to one of them
// (result-deref -> .nixcross-deref/<scope>-<pid>-<random>), swapped by
// rename like a Nix profile's generations. One hidden directory keeps the
// copies out of the way, and out of nix/, which is shipped with result.
const DerefDir = ".nixcross-deref"

// openCopies creates DerefDir in dir if needed, given to the owner, and
// opens it.
func (s *Store) openCopies(dir string) (*os.Root, error) {
	out, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer out.Close()
	err = out.Mkdir(DerefDir, dirMode)
	if err == nil {
		err = s.Owner.entry(out, DerefDir)
	}
	if err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, err
	}
	if fi, err := out.Lstat(DerefDir); err != nil || !fi.IsDir() {
		// Only nixcross makes it, and never as anything but a directory.
		return nil, errors.Join(err, errors.New(filepath.Join(dir, DerefDir)+" is not a directory"))
	}
	return out.OpenRoot(DerefDir)
}

// sweepCopies removes the copies in copies (DerefDir in dir) that no link
// in dir points at and that are this run's own (own, linked already and
// replaced since by a concurrent run) or whose run has ended (runEnded,
// the rule for temporaries): a killed run's partial copy, the copy of a
// link the user removed, a concurrent run's replaced one. Another live
// run's copy is never removed, linked or not: it may be between writing
// its copy and linking it, and only that run links to it, so once it has
// ended an unlinked copy stays unlinked.
func sweepCopies(dir string, copies *os.Root, own string) error {
	linked, err := linkedCopies(dir)
	if err != nil {
		return err
	}
	entries, err := fs.ReadDir(copies.FS(), ".")
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		if linked[e.Name()] || e.Name() != own && !runEnded(e.Name(), e) {
			continue
		}
		// A copy holds only directories nixcross made 0755, so RemoveAll
		// never needs to change a mode first.
		if err := copies.RemoveAll(e.Name()); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// linkedCopies is the set of copies some link in dir points at, by name.
func linkedCopies(dir string) (map[string]bool, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	linked := map[string]bool{}
	for _, e := range entries {
		if e.Type()&fs.ModeSymlink == 0 {
			continue
		}
		target, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err != nil {
			continue // gone since ReadDir: it links nothing now
		}
		if name, ok := strings.CutPrefix(target, DerefDir+"/"); ok {
			linked[name] = true
		}
	}
	return linked, nil
}
