package hoststore

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/nix-community/go-nix/pkg/nar"
	"github.com/nix-community/go-nix/pkg/storepath"
)

// A published path was verified when it was written; whatever happened to
// it since (someone's chmod and edit, a path planted by hand) is only seen
// by reading it back. DumpNAR and Remove are what `--check-existing` needs
// for that: the NAR of the path as the host holds it now, to hash against
// Nix's narHash again, and the removal of one that no longer matches.

// DumpNAR writes the NAR Nix would serialise for storePath as it is on
// the host now, with Nix's case hack undone (see caseHackSuffix), so that
// an intact path hashes to its narHash on any file system. Nothing is
// followed out of the store: symlinks are read as links, files opened
// through the store's root. A file type a NAR cannot hold is an error.
func (s *Store) DumpNAR(w io.Writer, storePath string) error {
	root, base, err := s.openPath(storePath)
	if err != nil {
		return err
	}
	defer root.Close()
	nw, err := nar.NewWriter(w)
	if err != nil {
		return err
	}
	// Close stops the writer's goroutine; after an error it reports it again.
	defer nw.Close()
	if err := dumpEntry(nw, root, base, "/"); err != nil {
		return err
	}
	return nw.Close()
}

// openPath opens the store's directory for the published storePath,
// whose name in it is base.
func (s *Store) openPath(storePath string) (root *os.Root, base string, err error) {
	if _, err := storepath.FromAbsolutePath(storePath); err != nil {
		return nil, "", err
	}
	root, err = os.OpenRoot(s.storeDir())
	return root, path.Base(storePath), err
}

// dumpEntry writes the entry at rel (relative to the store) as NAR path
// narPath.
func dumpEntry(nw *nar.Writer, root *os.Root, rel, narPath string) error {
	fi, err := root.Lstat(rel)
	if err != nil {
		return err
	}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		target, err := root.Readlink(rel)
		if err != nil {
			return err
		}
		return nw.WriteHeader(&nar.Header{Path: narPath, Type: nar.TypeSymlink, LinkTarget: target})
	case fi.Mode().IsRegular():
		// Nix's own rule: executable when the owner may execute it.
		hdr := &nar.Header{Path: narPath, Type: nar.TypeRegular, Size: fi.Size(), Executable: fi.Mode()&0o100 != 0}
		if err := nw.WriteHeader(hdr); err != nil {
			return err
		}
		f, err := root.Open(rel)
		if err != nil {
			return err
		}
		defer f.Close()
		n, err := io.Copy(nw, f)
		if err == nil && n != fi.Size() {
			err = fmt.Errorf("%s changed size while being read", narPath)
		}
		return err
	case fi.IsDir():
		if err := nw.WriteHeader(&nar.Header{Path: narPath, Type: nar.TypeDirectory}); err != nil {
			return err
		}
		entries, err := readNames(root, rel)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if err := dumpEntry(nw, root, rel+"/"+e.onDisk, path.Join(narPath, e.inNAR)); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("%s is a %s, which a NAR cannot hold", narPath, fi.Mode().Type())
}

type dirName struct{ onDisk, inNAR string }

// readNames lists a directory in NAR order: by the name Nix serialised,
// which for a case-hacked entry is the name without its suffix.
func readNames(root *os.Root, rel string) ([]dirName, error) {
	d, err := root.Open(rel)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	out := make([]dirName, 0, len(names))
	seen := make(map[string]bool, len(names))
	for _, n := range names {
		inNAR := n
		if i := strings.Index(n, caseHackSuffix); i > 0 {
			inNAR = n[:i]
		}
		if seen[inNAR] {
			return nil, fmt.Errorf("two entries are named %q once the case hack is undone", inNAR)
		}
		seen[inNAR] = true
		out = append(out, dirName{onDisk: n, inNAR: inNAR})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].inNAR < out[j].inNAR })
	return out, nil
}

// Remove takes a published path out of the store, to be exported again.
// It is renamed aside under a temporary name first, so that the final
// name is free at once and a removal that fails half-way leaves a
// temporary (which a later Open removes) rather than a partial path under
// the final name. Its directories are made writable before the removal:
// the path may have been changed by hand, modes included.
func (s *Store) Remove(storePath string) error {
	root, base, err := s.openPath(storePath)
	if err != nil {
		return err
	}
	defer root.Close()
	tmp := tempName(base[:32])
	if err := root.Rename(base, tmp); err != nil {
		return fmt.Errorf("remove %s: %w", storePath, err)
	}
	if err := makeDirsWritable(root, tmp); err != nil {
		return fmt.Errorf("remove %s: %w", storePath, err)
	}
	if err := root.RemoveAll(tmp); err != nil {
		return fmt.Errorf("remove %s: %w", storePath, err)
	}
	return nil
}

// makeDirsWritable gives rel and every directory below it dirMode, the
// mode the store writes, so that RemoveAll can empty them.
func makeDirsWritable(root *os.Root, rel string) error {
	fi, err := root.Lstat(rel)
	if err != nil || !fi.IsDir() {
		return err
	}
	if err := root.Chmod(rel, dirMode); err != nil {
		return err
	}
	d, err := root.Open(rel)
	if err != nil {
		return err
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return err
	}
	var errs []error
	for _, n := range names {
		errs = append(errs, makeDirsWritable(root, rel+"/"+n))
	}
	return errors.Join(errs...)
}
