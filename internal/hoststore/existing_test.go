package hoststore

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nixcross/nixcross/internal/storetest"
)

// DumpNAR reads a published path back as the very NAR Nix dumped for it,
// whatever its shape.
func TestDumpNARRoundTrip(t *testing.T) {
	dep := storetest.StorePath("dep-1.0")
	s := openStore(t, t.TempDir())
	for name, make := range map[string]func(p string){
		"tree":    func(p string) { storetest.BuildTree(t, p, storetest.RichTree(dep)) },
		"file":    func(p string) { storetest.WriteFile(t, p, "just a file", 0o755) },
		"symlink": func(p string) { storetest.Symlink(t, dep+"/bin/tool", p) },
	} {
		src := filepath.Join(t.TempDir(), "src")
		make(src)
		sp := addDir(t, s, name, src)
		var got bytes.Buffer
		if err := s.DumpNAR(&got, sp); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if want := storetest.Dump(t, src); !bytes.Equal(got.Bytes(), want) {
			t.Errorf("%s: DumpNAR differs from the NAR it was exported from", name)
		}
	}
}

// An entry the case hack renamed is serialised under the name Nix gave
// it, in Nix's order, so a path exported on a case-insensitive file
// system still hashes to its narHash. Here "A", "a" and "a-b" were
// written as "A", "a~nix~case~hack~1" and "a-b": sorted as on disk, the
// renamed one would come last.
func TestDumpNARUndoesCaseHack(t *testing.T) {
	s := openStore(t, t.TempDir())
	sp := storetest.StorePath("terminfo")
	storetest.BuildTree(t, s.Dir(sp), storetest.Tree{"A": "upper", "a~nix~case~hack~1": "lower", "a-b": "other"})
	want := new(storetest.Builder).Magic().OpenDir().
		Entry("A", func(b *storetest.Builder) { b.File("upper") }).
		Entry("a", func(b *storetest.Builder) { b.File("lower") }).
		Entry("a-b", func(b *storetest.Builder) { b.File("other") }).CloseDir()
	var got bytes.Buffer
	if err := s.DumpNAR(&got, sp); err != nil || !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Fatalf("DumpNAR = %v; want the NAR with the case hack undone", err)
	}
	// Two names that are one once the suffix is gone: no NAR has that.
	storetest.WriteFile(t, filepath.Join(s.Dir(sp), "a"), "again", 0o644)
	if err := s.DumpNAR(&bytes.Buffer{}, sp); err == nil {
		t.Fatalf("two entries named a once the case hack is undone: no error")
	}
}

// A file a NAR cannot hold is an error, not a blocked read.
func TestDumpNARRefusesFIFO(t *testing.T) {
	s := openStore(t, t.TempDir())
	sp := addTree(t, s, "fifo", storetest.Tree{"a": "x"})
	if err := storetest.Mkfifo(filepath.Join(s.Dir(sp), "pipe")); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	if err := s.DumpNAR(&bytes.Buffer{}, sp); err == nil || !strings.Contains(err.Error(), "a NAR cannot hold") {
		t.Fatalf("DumpNAR with a FIFO = %v", err)
	}
}

// Remove takes out a path whose directories someone made read-only, and
// leaves neither it nor a temporary behind.
func TestRemove(t *testing.T) {
	s := openStore(t, t.TempDir())
	sp := addTree(t, s, "tampered", storetest.Tree{"bin/tool*": "#!/bin/sh\n", "share/doc/x": "doc"})
	keep := addTree(t, s, "other", storetest.Tree{"f": "f"})
	os.Chmod(filepath.Join(s.Dir(sp), "share", "doc"), 0o555)
	os.Chmod(filepath.Join(s.Dir(sp), "share"), 0o000)
	if err := s.Remove(sp); err != nil {
		t.Fatal(err)
	}
	if s.Has(sp) || !s.Has(keep) {
		t.Fatalf("after Remove: has %s %v, has %s %v", sp, s.Has(sp), keep, s.Has(keep))
	}
	entries, _ := os.ReadDir(filepath.Join(s.Root, "nix", "store"))
	if len(entries) != 1 {
		t.Errorf("store holds %v, want only %s", entries, keep)
	}
}
