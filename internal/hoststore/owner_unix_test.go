//go:build !windows

package hoststore

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// fileOwner is the uid owning a file.
func fileOwner(fi os.FileInfo) int { return int(fi.Sys().(*syscall.Stat_t).Uid) }

// TestExportOwner: with an Owner (nixcross under sudo), everything the
// store writes, the store directories, every file, directory and symlink
// of the exported paths, the out-link and the dereferenced copy, belongs
// to that user and not to the process.
func TestExportOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("giving files to another user needs root")
	}
	const uid, gid = 4242, 4343
	dep := fakePath("dep-1.0")
	top := fakePath("top")
	src := newFakeSource()
	depDir := filepath.Join(t.TempDir(), "dep")
	buildTree(t, depDir, treeSpec{"bin/tool": "#!/bin/sh\n", "lib/data": "x"})
	topDir := filepath.Join(t.TempDir(), "top")
	buildTree(t, topDir, richTree(dep))
	c := Closure{src.add(dep, dumpNAR(t, depDir)), src.add(top, dumpNAR(t, topDir))}

	out := t.TempDir()
	s, err := OpenStore(out, &Owner{UID: uid, GID: gid})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Export(context.Background(), src, c, ExportOptions{}); err != nil {
		t.Fatal(err)
	}
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
