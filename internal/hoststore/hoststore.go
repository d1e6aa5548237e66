// Package hoststore owns the output store on the host: nix/store beside
// the out-link holding the exported paths, written under temporary names
// and published by rename (Writer), whatever a killed run left removed
// (Open), the relative out-link (Link) and who owns the paths links go
// to (Replaceable), who the files belong to under sudo (Owner,
// SudoOwner), Nix's case hack for case-insensitive file systems, and the
// self-contained copies for machines without Nix (Dereference, kept in
// DerefDir beside the out-links). It is "host" as opposed to the build
// container's store, which internal/nix and internal/cache look after;
// "output" alone would be read as the CLI's output.
package hoststore

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nix-community/go-nix/pkg/storepath"

	"github.com/nixcross/nixcross/internal/proc"
)

// Store is an output store on the host: Root holds nix/store/ with the
// exported paths, next to the out-link (for out-link dir/result, Root is
// dir), so a relative link resolves wherever the directory is moved.
//
// Only verified paths ever carry their final name: everything is written
// under a temporary name (TempPrefix) and renamed into place after its hash
// matched (see Writer). A path's presence therefore means it is complete
// and correct, and whatever a killed run left behind is a temporary that
// Open removes.
type Store struct {
	Root string
	// Owner, when set, receives everything the store writes (see Owner).
	Owner *Owner
}

// TempPrefix starts every temporary name; the rest is
// "<scope>-<pid>-<random>-<what>", scope and PID telling Open whether
// the run that made it is still alive (see proc.Scope).
const TempPrefix = ".nixcross-tmp-"

// foreignTempAge is when a temporary from another scope (another
// container or machine sharing the output directory, whose PIDs cannot
// be checked from here) counts as abandoned: no export runs for a day.
const foreignTempAge = 24 * time.Hour

// Open creates root/nix/store if needed (owned by owner, which may be
// nil) and removes temporaries left in it (and in root, where out-link
// temporaries live) by runs that are no longer alive, or, for runs in
// another PID namespace or on another machine, that are older than a day.
// Temporaries of live runs, including concurrent ones into the same
// store, are left alone.
// A missing root is created as the process's own: the CLI only ever
// exports into the existing directory of the out-link.
func Open(root string, owner *Owner) (*Store, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("open output store %s: %w", root, err)
	}
	s := &Store{Root: abs, Owner: owner}
	if err := os.MkdirAll(abs, dirMode); err != nil {
		return nil, fmt.Errorf("open output store %s: %w", root, err)
	}
	if err := s.makeStoreDir(); err != nil {
		return nil, fmt.Errorf("open output store %s: %w", root, err)
	}
	for _, dir := range []string{s.storeDir(), s.Root} {
		if err := removeStaleTemps(dir); err != nil {
			return nil, fmt.Errorf("open output store %s: %w", root, err)
		}
	}
	return s, nil
}

func (s *Store) storeDir() string { return filepath.Join(s.Root, "nix", "store") }

// makeStoreDir creates nix/ and nix/store/ in Root where missing, giving
// the ones it creates to the owner.
func (s *Store) makeStoreDir() error {
	root, err := os.OpenRoot(s.Root)
	if err != nil {
		return err
	}
	defer root.Close()
	for _, dir := range []string{"nix", "nix/store"} {
		err := root.Mkdir(dir, dirMode)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err == nil {
			err = s.Owner.entry(root, dir)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Dir is where a store path (or a path inside one) lives on the host. The
// path is cleaned as if rooted, so no ".." can climb out of Root.
func (s *Store) Dir(storePath string) string {
	return filepath.Join(s.Root, filepath.FromSlash(path.Clean("/"+storePath)))
}

// Has reports whether storePath is published, which implies verified. A
// store path that is itself a dangling symlink is present too.
func (s *Store) Has(storePath string) bool {
	if _, err := storepath.FromAbsolutePath(storePath); err != nil {
		return false
	}
	_, err := os.Lstat(s.Dir(storePath))
	return err == nil
}

// tempName makes a fresh temporary name; what says what it is for and must
// be short, since the whole name must stay under NAME_MAX.
func tempName(what string) string {
	return TempPrefix + runName() + "-" + what
}

// runName is "<scope>-<pid>-<random>": unique, and saying which run made
// it, for temporaries and --dereference copies alike (runEnded).
func runName() string {
	return fmt.Sprintf("%s-%d-%016x", proc.Scope(), os.Getpid(), rand.Uint64())
}

// runOf extracts the scope and PID from a name that starts as runName's.
func runOf(name string) (scope string, pid int, ok bool) {
	scope, rest, ok := strings.Cut(name, "-")
	if !ok {
		return "", 0, false
	}
	digits, _, ok := strings.Cut(rest, "-")
	if !ok {
		return "", 0, false
	}
	pid, err := strconv.Atoi(digits)
	if err != nil || pid <= 0 {
		return "", 0, false
	}
	return scope, pid, true
}

// abandoned reports whether the temporary e was left by a run that ended.
func abandoned(e fs.DirEntry) bool {
	rest, ok := strings.CutPrefix(e.Name(), TempPrefix)
	return ok && runEnded(rest, e)
}

// runEnded reports whether the run that made e, named by name (runName's
// form), has ended: its PID is gone, or, for another scope whose PIDs
// cannot be checked from here, e is older than a day. A name of another
// form is nobody's run and never counts as ended.
func runEnded(name string, e fs.DirEntry) bool {
	scope, pid, ok := runOf(name)
	switch {
	case !ok:
		return false
	case scope == proc.Scope():
		return !proc.Alive(pid)
	}
	fi, err := e.Info()
	return err == nil && time.Since(fi.ModTime()) > foreignTempAge
}

func removeStaleTemps(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		if !abandoned(e) {
			continue
		}
		// Our temporaries only hold directories we made 0755, so RemoveAll
		// never needs to change a mode first.
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("remove stale temporary: %w", err))
		}
	}
	return errors.Join(errs...)
}
