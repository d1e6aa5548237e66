package closure

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nixcross/nixcross/internal/hoststore"
	"github.com/nixcross/nixcross/internal/storetest"
)

func TestExportRoundTrip(t *testing.T) {
	dep := storetest.StorePath("dep-1.0")
	tests := []struct {
		name string
		make func(t *testing.T, p string) // builds the source at p
	}{
		{"directory tree", func(t *testing.T, p string) { storetest.BuildTree(t, p, storetest.RichTree(dep)) }},
		{"single file", func(t *testing.T, p string) { storetest.WriteFile(t, p, "just a file", 0o644) }},
		{"single executable", func(t *testing.T, p string) { storetest.WriteFile(t, p, "#!/bin/sh\n", 0o755) }},
		{"single symlink", func(t *testing.T, p string) { storetest.Symlink(t, dep+"/bin/tool", p) }},
		{"empty directory", func(t *testing.T, p string) { os.Mkdir(p, 0o755) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srcDir := filepath.Join(t.TempDir(), "src")
			tt.make(t, srcDir)
			data := storetest.Dump(t, srcDir)
			sp := storetest.StorePath("test-" + strings.ReplaceAll(tt.name, " ", "-"))
			src := newFakeSource()
			src.chunk = 4093 // odd-sized reads cross every token boundary
			info := src.add(sp, data)

			s := openStore(t, filepath.Join(t.TempDir(), "out"))
			st, err := Export(context.Background(), s, src, Closure{info}, ExportOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if st != (Stats{Paths: 1, Bytes: int64(len(data)), TotalPaths: 1, TotalBytes: int64(len(data))}) {
				t.Errorf("stats = %+v", st)
			}
			// The exported path serialises to the very NAR Nix hashed.
			if got := storetest.Dump(t, s.Dir(sp)); !bytes.Equal(got, data) {
				t.Fatalf("re-dumped NAR differs (hash %s, want %s)", sriHash(got), info.NarHash)
			}
			if names := listStore(t, s); len(names) != 1 || names[0] != path.Base(sp) {
				t.Errorf("store holds %q, want only the path", names)
			}
			storetest.CheckModes(t, s.Dir(sp))
		})
	}
}

func TestExportKeepsExecutableBits(t *testing.T) {
	srcDir := filepath.Join(t.TempDir(), "src")
	storetest.BuildTree(t, srcDir, storetest.Tree{"exe*": "x", "plain": "y"})
	src := newFakeSource()
	sp := storetest.StorePath("modes")
	info := src.add(sp, storetest.Dump(t, srcDir))
	s := openStore(t, t.TempDir())
	if _, err := Export(context.Background(), s, src, Closure{info}, ExportOptions{}); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]os.FileMode{"exe": 0o555, "plain": 0o444} {
		fi, err := os.Stat(filepath.Join(s.Dir(sp), name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", name, fi.Mode().Perm(), want)
		}
	}
}

// testClosure makes a closure of n small paths plus its source.
func testClosure(t testing.TB, n int) (*fakeSource, Closure) {
	t.Helper()
	src := newFakeSource()
	var c Closure
	for i := range n {
		dir := filepath.Join(t.TempDir(), "p")
		storetest.BuildTree(t, dir, storetest.Tree{
			"bin/tool*":   storetest.RandomString(1000+i*37, uint64(i)),
			"lib/libx.so": storetest.RandomString(70000, uint64(100+i)),
			"share/link":  "->../bin/tool",
		})
		c = append(c, src.add(storetest.StorePath("pkg-"+string(rune('a'+i))), storetest.Dump(t, dir)))
	}
	return src, c
}

func TestExportIncremental(t *testing.T) {
	src, c := testClosure(t, 3)
	s := openStore(t, t.TempDir())
	ctx := context.Background()
	first, err := Export(ctx, s, src, c, ExportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if first.Paths != 3 || first.Bytes != c.NarBytes() || first.Skipped != 0 {
		t.Errorf("first run: %+v", first)
	}

	again, err := Export(ctx, s, src, c, ExportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if again != (Stats{Skipped: 3, TotalPaths: 3, TotalBytes: c.NarBytes()}) {
		t.Errorf("rerun: %+v, want 0 bytes copied", again)
	}
	if calls := src.dumpCalls(); len(calls) != 1 {
		t.Errorf("rerun dumped again: %q", calls)
	}

	// A rebuild that changed one path copies that path only.
	if err := os.RemoveAll(s.Dir(c[1].Path)); err != nil {
		t.Fatal(err)
	}
	partial, err := Export(ctx, s, src, c, ExportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if partial.Paths != 1 || partial.Bytes != c[1].NarSize || partial.Skipped != 2 {
		t.Errorf("partial rerun: %+v", partial)
	}
	if calls := src.dumpCalls(); len(calls) != 2 || len(calls[1]) != 1 || calls[1][0] != c[1].Path {
		t.Errorf("dump calls %q, want the one missing path", calls)
	}
	for _, p := range c {
		if got := storetest.Dump(t, s.Dir(p.Path)); sriHash(got) != p.NarHash {
			t.Errorf("%s does not verify", p.Path)
		}
	}
}

func TestExportAcceptsNix32Hashes(t *testing.T) {
	src, c := testClosure(t, 1)
	c[0].NarHash = nix32Hash(src.nars[c[0].Path])
	s := openStore(t, t.TempDir())
	if _, err := Export(context.Background(), s, src, c, ExportOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestExportConcurrent(t *testing.T) {
	src, c := testClosure(t, 4)
	src.chunk = 1 << 10 // slow the streams down so the runs overlap
	s := openStore(t, t.TempDir())
	const runs = 8
	var wg sync.WaitGroup
	errs := make([]error, runs)
	for i := range runs {
		wg.Go(func() {
			// Each run opens the store itself, as separate processes would.
			st, err := hoststore.Open(s.Root, nil)
			if err == nil {
				_, err = Export(context.Background(), st, src, c, ExportOptions{})
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("run %d: %v", i, err)
		}
	}
	if got := listStore(t, s); len(got) != len(c) {
		t.Errorf("store holds %q", got)
	}
	for _, p := range c {
		if got := storetest.Dump(t, s.Dir(p.Path)); sriHash(got) != p.NarHash {
			t.Errorf("%s does not verify", p.Path)
		}
	}
}

func TestExportCancel(t *testing.T) {
	src, c := testClosure(t, 2)
	src.block = int(c[0].NarSize) + 100 // first path arrives, second stalls
	src.chunk = 4 << 10
	s := openStore(t, t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for !s.Has(c[0].Path) {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	_, err := Export(ctx, s, src, c, ExportOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if got := listStore(t, s); len(got) != 1 || got[0] != path.Base(c[0].Path) {
		t.Errorf("store holds %q, want only the verified first path", got)
	}
}

func TestExportProgress(t *testing.T) {
	src, c := testClosure(t, 3)
	s := openStore(t, t.TempDir())
	var calls [][2]int64
	_, err := Export(context.Background(), s, src, c, ExportOptions{Progress: func(copied, total int64) {
		calls = append(calls, [2]int64{copied, total})
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) < 3 {
		t.Fatalf("only %d progress calls", len(calls))
	}
	for i, cl := range calls {
		if cl[1] != c.NarBytes() {
			t.Errorf("call %d: total %d, want %d", i, cl[1], c.NarBytes())
		}
		if i > 0 && cl[0] < calls[i-1][0] {
			t.Errorf("call %d: copied went backwards", i)
		}
	}
	if last := calls[len(calls)-1]; last[0] != c.NarBytes() {
		t.Errorf("last call %v, want copied == total", last)
	}
}

func TestExportDumpFailure(t *testing.T) {
	_, c := testClosure(t, 1)
	s := openStore(t, t.TempDir())
	_, err := Export(context.Background(), s, newFakeSource(), c, ExportOptions{})
	if err == nil || !strings.Contains(err.Error(), "start dump") {
		t.Fatalf("err = %v", err)
	}
}
