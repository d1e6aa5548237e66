package closure

import (
	"bytes"
	"context"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nixcross/nixcross/internal/storetest"
)

// FuzzExport feeds arbitrary bytes as a store path's NAR, with their true
// hash so that only the decoder stands in the way. Whatever the input: no
// panic, nothing outside the store changes, a rejected NAR leaves the
// store empty, and an accepted one is canonical (it re-serialises to the
// same bytes).
func FuzzExport(f *testing.F) {
	dir := filepath.Join(f.TempDir(), "seed")
	storetest.BuildTree(f, dir, storetest.SeedTree())
	f.Add(storetest.Dump(f, dir))
	f.Add(new(storetest.Builder).Magic().File("hello").Bytes())
	f.Add(new(storetest.Builder).Magic().Symlink("../../etc/passwd").Bytes())
	f.Add(new(storetest.Builder).Magic().OpenDir().Entry("..", func(b *storetest.Builder) { b.File("x") }).CloseDir().Bytes())
	f.Add(new(storetest.Builder).Magic().OpenDir().
		Entry("x", func(b *storetest.Builder) { b.Symlink("/tmp") }).
		Entry("x", func(b *storetest.Builder) {
			b.OpenDir().Entry("y", func(b *storetest.Builder) { b.File("z") }).CloseDir()
		}).
		CloseDir().Bytes())

	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		base := t.TempDir()
		storetest.WriteFile(t, filepath.Join(base, "sentinel", "keep"), "precious", 0o644)
		s := openStore(t, filepath.Join(base, "out"))
		before := storetest.Snapshot(t, base, nil)
		sp := storetest.StorePath("fuzz")
		src := newFakeSource()
		info := src.add(sp, data)

		_, err := Export(context.Background(), s, src, Closure{info}, ExportOptions{})
		entries := listStore(t, s)
		if err != nil {
			if len(entries) != 0 {
				t.Fatalf("rejected NAR left %q", entries)
			}
		} else {
			if len(entries) != 1 || entries[0] != path.Base(sp) {
				t.Fatalf("accepted NAR left %q", entries)
			}
			if got := storetest.Dump(t, s.Dir(sp)); !bytes.Equal(got, data) {
				t.Fatalf("accepted a NAR that does not round-trip")
			}
		}
		after := storetest.Snapshot(t, base, func(rel string) bool { return strings.HasPrefix(rel, "out/nix/store/") })
		if d := storetest.Diff(before, after); len(d) > 0 {
			t.Fatalf("changed outside the store: %v", d)
		}
	})
}

// FuzzExportTar feeds arbitrary bytes as the daemon's tar of a store path
// whose NAR is known. Whatever the input: no panic, nothing outside the
// store changes, and the published path is exactly the true one, whether
// the tar was accepted or the path came from its NAR instead.
func FuzzExportTar(f *testing.F) {
	dir := filepath.Join(f.TempDir(), "seed")
	storetest.BuildTree(f, dir, storetest.SeedTree())
	data := storetest.Dump(f, dir)
	sp := storetest.StorePath("fuzz-tar")
	f.Add(storetest.Tar(f, dir, path.Base(sp)))
	f.Add([]byte{})

	f.Fuzz(func(t *testing.T, raw []byte) {
		old := tarMinSize
		tarMinSize = 1
		defer func() { tarMinSize = old }()
		base := t.TempDir()
		storetest.WriteFile(t, filepath.Join(base, "sentinel", "keep"), "precious", 0o644)
		s := openStore(t, filepath.Join(base, "out"))
		before := storetest.Snapshot(t, base, nil)
		src := newTarFake()
		info := src.add(sp, data)
		src.tars[sp] = raw

		if _, err := Export(context.Background(), s, src, Closure{info}, ExportOptions{}); err != nil {
			t.Fatalf("export failed although the NAR is good: %v", err)
		}
		if entries := listStore(t, s); len(entries) != 1 || entries[0] != path.Base(sp) {
			t.Fatalf("store holds %q", entries)
		}
		if got := storetest.Dump(t, s.Dir(sp)); !bytes.Equal(got, data) {
			t.Fatalf("published a path that is not the true one")
		}
		after := storetest.Snapshot(t, base, func(rel string) bool { return strings.HasPrefix(rel, "out/nix/store/") })
		if d := storetest.Diff(before, after); len(d) > 0 {
			t.Fatalf("changed outside the store: %v", d)
		}
	})
}
