package nar

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/nixcross/nixcross/internal/storetest"
)

// TestListNARDiff: two builds of an output, read back to back from one
// stream as `nix-store --dump A B` sends them, differ exactly in the
// entries whose contents, executable bit, link target or presence changed.
func TestListNARDiff(t *testing.T) {
	mk := func(stamp byte, mode os.FileMode, target string, extra bool) string {
		d := t.TempDir()
		os.MkdirAll(filepath.Join(d, "share"), 0o755)
		os.WriteFile(filepath.Join(d, "share", "same"), []byte("same\n"), 0o644)
		os.WriteFile(filepath.Join(d, "share", "time"), []byte{byte(stamp)}, 0o644)
		os.WriteFile(filepath.Join(d, "run"), []byte("#!/bin/sh\n"), mode)
		os.Symlink(target, filepath.Join(d, "link"))
		if extra {
			os.WriteFile(filepath.Join(d, "share", "extra"), nil, 0o644)
		}
		return d
	}
	first := mk(1, 0o755, "share/same", false)
	second := mk(2, 0o644, "share/time", true)
	unchanged := mk(1, 0o755, "share/same", false)

	stream := bytes.NewReader(slices.Concat(storetest.Dump(t, first), storetest.Dump(t, second), storetest.Dump(t, unchanged)))
	a, err := List(stream)
	if err != nil {
		t.Fatal(err)
	}
	b, err := List(stream)
	if err != nil {
		t.Fatal(err)
	}
	c, err := List(stream)
	if err != nil {
		t.Fatal(err)
	}
	if stream.Len() != 0 {
		t.Errorf("%d bytes left after three NARs", stream.Len())
	}
	want := []string{"link", "run", "share/extra", "share/time"}
	if got := a.Diff(b); !slices.Equal(got, want) {
		t.Errorf("diff = %q, want %q", got, want)
	}
	if got := b.Diff(a); !slices.Equal(got, want) {
		t.Errorf("reverse diff = %q, want %q", got, want)
	}
	if got := a.Diff(c); len(got) != 0 {
		t.Errorf("identical trees differ in %q", got)
	}
	if a[""] != "directory" || a["share"] != "directory" {
		t.Errorf("root and share should be directories: %q, %q", a[""], a["share"])
	}
}

// TestListNARSingleFile: an output that is one file lists as the root.
func TestListNARSingleFile(t *testing.T) {
	l, err := List(bytes.NewReader((&storetest.Builder{}).Magic().File("x").Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if len(l) != 1 || l[""] != "file 2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881" {
		t.Errorf("listing = %q", l)
	}
	if _, err := List(bytes.NewReader([]byte("not a nar"))); err == nil {
		t.Error("garbage listed without error")
	}
}
