package hoststore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/nixcross/nixcross/internal/proc"
	"github.com/nixcross/nixcross/internal/storetest"
)

// TestDereferenceConcurrent: copies into one link at once all succeed (no
// "file exists" from a rename), and the link ends at a complete copy.
func TestDereferenceConcurrent(t *testing.T) {
	root := t.TempDir()
	s := openStore(t, root)
	top := addTree(t, s, "top", storetest.Tree{"lib/data": "data", "data": "->lib/data"})
	dest := filepath.Join(root, "result-deref")
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() { _, errs[i] = s.Dereference(top, dest, 1<<30) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("copy %d: %v", i, err)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dest, "data")); err != nil || string(b) != "data" {
		t.Errorf("result-deref/data = %q, %v", b, err)
	}
}

// TestSweepCopies: a copy is removed when no link points at it and its run
// has ended (or it is the sweeping run's own); a linked copy, and an
// unlinked one of a live run (which may be about to link it), stay.
func TestSweepCopies(t *testing.T) {
	dir := t.TempDir()
	s := &Store{Root: dir}
	copies, err := s.openCopies(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer copies.Close()
	dead := deadPID(t)
	own := runName()
	names := map[string]string{
		"linked, run ended":   fmt.Sprintf("%s-%d-01", proc.Scope(), dead),
		"unlinked, run ended": fmt.Sprintf("%s-%d-02", proc.Scope(), dead),
		"unlinked, live run":  fmt.Sprintf("%s-%d-03", proc.Scope(), os.Getppid()),
		"unlinked, own":       own,
		"another scope, new":  fmt.Sprintf("ffffffff-%d-04", dead),
		"not a run's":         "something",
	}
	for _, n := range names {
		storetest.WriteFile(t, filepath.Join(dir, DerefDir, n, "f"), "x", 0o644)
	}
	storetest.Symlink(t, DerefDir+"/"+names["linked, run ended"], filepath.Join(dir, "result-deref"))
	if err := sweepCopies(dir, copies, own); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, DerefDir))
	var left []string
	for _, e := range entries {
		left = append(left, e.Name())
	}
	for what, n := range names {
		removed := what == "unlinked, run ended" || what == "unlinked, own"
		if slices.Contains(left, n) == removed {
			t.Errorf("%s (%s): removed = %v, want %v", what, n, !removed, removed)
		}
	}
}

// TestDereferenceDropsEarlierLink: when this output gets no copy, the link
// to an earlier build's copy goes, so that it is not taken for this one's.
func TestDereferenceDropsEarlierLink(t *testing.T) {
	root := t.TempDir()
	s := openStore(t, root)
	good := addTree(t, s, "good", storetest.Tree{"f": "x"})
	dir := filepath.Join(t.TempDir(), "out")
	storetest.Symlink(t, "/etc", dir)
	out := addDir(t, s, "links-out", dir)
	dest := filepath.Join(root, "result-deref")
	if _, err := s.Dereference(good, dest, 1<<30); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Dereference(out, dest, 1<<30); !errors.Is(err, ErrOutputLeft) {
		t.Fatalf("err = %v, want ErrOutputLeft", err)
	}
	if _, err := os.Lstat(dest); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the earlier copy's link is still there: %v", err)
	}
}
