//go:build !windows

package hoststore

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/nixcross/nixcross/internal/storetest"
)

// TestOwner: with an Owner (nixcross under sudo), everything the store
// writes, the store directories, every file, directory and symlink of the
// exported paths, the out-link and the dereferenced copy, belongs to that
// user and not to the process.
func TestOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("giving files to another user needs root")
	}
	const uid, gid = 4242, 4343
	out := t.TempDir()
	s, err := Open(out, &Owner{UID: uid, GID: gid})
	if err != nil {
		t.Fatal(err)
	}
	dep := addTree(t, s, "dep-1.0", storetest.Tree{"bin/tool": "#!/bin/sh\n", "lib/data": "x"})
	top := addTree(t, s, "top", storetest.RichTree(dep))
	if err := s.Link(filepath.Join(out, "result"), top); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Dereference(top, filepath.Join(out, "result-deref"), 1<<40); err != nil {
		t.Fatal(err)
	}

	var n int
	err = filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == out {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		if st.Uid != uid || st.Gid != gid {
			rel, _ := filepath.Rel(out, p)
			t.Errorf("%s (%v) belongs to %d:%d, want %d:%d", rel, fi.Mode().Type(), st.Uid, st.Gid, uid, gid)
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 20 {
		t.Fatalf("walked only %d entries", n)
	}
}
