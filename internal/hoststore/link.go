package hoststore

import (
	"fmt"
	"os"
	"path/filepath"
)

// Link points outLink at storePath with a relative symlink
// (result -> nix/store/<hash>-<name>), so it resolves on a host without
// /nix and keeps resolving when the directory is moved or rsynced. An
// existing symlink is replaced atomically (a new link under a temporary
// name, renamed over it); anything else at outLink is the user's and is
// refused untouched.
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
	if fi, err := os.Lstat(abs); err == nil && fi.Mode()&os.ModeSymlink == 0 {
		return fmt.Errorf("link %s: refusing to replace a %s that is not a symlink", outLink, kind(fi.Mode()))
	} else if err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("link %s: %w", outLink, err)
	}
	tmp := filepath.Join(dir, tempName("link"))
	if err := os.Symlink(target, tmp); err != nil {
		return fmt.Errorf("link %s: %w", outLink, err)
	}
	if err := s.Owner.path(tmp); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("link %s: %w", outLink, err)
	}
	// rename(2) onto a directory fails (EISDIR/ENOTEMPTY), so even a
	// directory appearing after the Lstat above is not lost.
	if err := os.Rename(tmp, abs); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("link %s: %w", outLink, err)
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
