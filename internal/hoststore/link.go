package hoststore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrNotOurs means a path nixcross publishes by a link (the out-link, the
// --dereference link) is taken by something nixcross never makes there.
var ErrNotOurs = errors.New("nixcross will not replace it")

// Replaceable is the one rule for who owns such a path: nixcross only ever
// puts a symlink there, so an absent path or any symlink is its to
// replace (by rename, atomically), and anything else is the user's and
// is refused (ErrNotOurs) before anything is written.
func Replaceable(path string) error {
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return err
	case fi.Mode()&os.ModeSymlink == 0:
		return fmt.Errorf("%s exists and is a %s, not a link: %w", path, kind(fi.Mode()), ErrNotOurs)
	}
	return nil
}

// Link points outLink at storePath with a relative symlink
// (result -> nix/store/<hash>-<name>), so it resolves on a host without
// /nix and keeps resolving when the directory is moved or rsynced. An
// existing symlink is replaced atomically (a new link under a temporary
// name, renamed over it); anything else at outLink is the user's and is
// refused untouched (Replaceable).
func (s *Store) Link(outLink, storePath string) error {
	if !s.Has(storePath) {
		return fmt.Errorf("link %s: %s is not in the output store %s", outLink, storePath, s.Root)
	}
	abs, err := filepath.Abs(outLink)
	if err != nil {
		return fmt.Errorf("link %s: %w", outLink, err)
	}
	dir := filepath.Dir(abs)
	target, err := filepath.Rel(dir, s.Dir(storePath))
	if err != nil {
		return fmt.Errorf("link %s: %w", outLink, err)
	}
	if err := s.swapLink(abs, target); errors.Is(err, ErrNotOurs) {
		return err // names the path already
	} else if err != nil {
		return fmt.Errorf("link %s: %w", outLink, err)
	}
	return nil
}

// swapLink points the link at abs to target: a new link under a temporary
// name beside it, renamed over whatever link is there, so a reader sees
// the old target or the new one and concurrent runs end with the last
// one's. Anything but a link at abs is refused (Replaceable).
func (s *Store) swapLink(abs, target string) error {
	if err := Replaceable(abs); err != nil {
		return err
	}
	tmp := filepath.Join(filepath.Dir(abs), tempName("link"))
	if err := os.Symlink(target, tmp); err != nil {
		return err
	}
	if err := s.Owner.path(tmp); err != nil {
		os.Remove(tmp)
		return err
	}
	// rename(2) onto a directory fails (EISDIR/ENOTEMPTY), so even a
	// directory appearing after the check above is not lost.
	if err := os.Rename(tmp, abs); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

func kind(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "directory"
	case m.IsRegular():
		return "file"
	case m&os.ModeSymlink != 0:
		return "symlink"
	default:
		return "special file"
	}
}
