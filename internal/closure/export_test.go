package closure

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// treeSpec describes a source tree for a store path: name -> content, with
// "->target" for symlinks, "dir/" for empty directories and a trailing
// "*" on the key for executables.
type treeSpec map[string]string

func buildTree(t testing.TB, root string, spec treeSpec) {
	t.Helper()
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, v := range spec {
		exec := strings.HasSuffix(name, "*")
		name = strings.TrimSuffix(name, "*")
		p := filepath.Join(root, name)
		switch {
		case strings.HasPrefix(v, "->"):
			symlink(t, strings.TrimPrefix(v, "->"), p)
		case strings.HasSuffix(name, "/"):
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
		case exec:
			writeFile(t, p, v, 0o755)
		default:
			writeFile(t, p, v, 0o644)
		}
	}
}

func randomString(n int, seed uint64) string {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return string(b)
}

// richTree is everything a store path may hold, odd names included.
func richTree(dep string) treeSpec {
	return treeSpec{
		"bin/hello*":                        "#!/bin/sh\necho hello\n",
		"bin/readonly":                      "data",
		"lib/libdep.so":                     "->" + dep + "/lib/libdep.so.1",
		"lib/relative":                      "->../bin/hello",
		"lib/escape":                        "->../../../etc/passwd",
		"lib/absolute-outside":              "->/etc/passwd",
		"share/doc/a/b/c/deep.txt":          "deep",
		"share/empty/":                      "",
		"share/with space":                  "space",
		"share/new\nline":                   "newline",
		"share/not-utf8-\xff\xfe":           "latin1",
		"share/)":                           "a file named like the NAR's closing token",
		"share/entry":                       "and one named like a keyword",
		"share/zz-after-paren":              "must not be dropped",
		"share/empty-file":                  "",
		"share/big.bin":                     randomString(3<<20+5, 1), // > copy buffer, not a multiple of 8
		"share/odd-size":                    randomString(1001, 2),
		"share/-leading-dash*":              "x",
		"share/" + strings.Repeat("n", 255): "longest name",
	}
}

func TestExportRoundTrip(t *testing.T) {
	dep := fakePath("dep-1.0")
	tests := []struct {
		name string
		make func(t *testing.T, p string) // builds the source at p
	}{
		{"directory tree", func(t *testing.T, p string) { buildTree(t, p, richTree(dep)) }},
		{"single file", func(t *testing.T, p string) { writeFile(t, p, "just a file", 0o644) }},
		{"single executable", func(t *testing.T, p string) { writeFile(t, p, "#!/bin/sh\n", 0o755) }},
		{"single symlink", func(t *testing.T, p string) { symlink(t, dep+"/bin/tool", p) }},
		{"empty directory", func(t *testing.T, p string) { os.Mkdir(p, 0o755) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srcDir := filepath.Join(t.TempDir(), "src")
			tt.make(t, srcDir)
			data := dumpNAR(t, srcDir)
			sp := fakePath("test-" + strings.ReplaceAll(tt.name, " ", "-"))
			src := newFakeSource()
			src.chunk = 4093 // odd-sized reads cross every token boundary
			info := src.add(sp, data)

			s := openStore(t, filepath.Join(t.TempDir(), "out"))
			st, err := s.Export(context.Background(), src, Closure{info}, ExportOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if st != (Stats{Paths: 1, Bytes: int64(len(data)), TotalPaths: 1, TotalBytes: int64(len(data))}) {
				t.Errorf("stats = %+v", st)
			}
			// The exported path serialises to the very NAR Nix hashed.
			if got := dumpNAR(t, s.Dir(sp)); !bytes.Equal(got, data) {
				t.Fatalf("re-dumped NAR differs (hash %s, want %s)", sriHash(got), info.NarHash)
			}
			if names := listStore(t, s); len(names) != 1 || names[0] != path.Base(sp) {
				t.Errorf("store holds %q, want only the path", names)
			}
			checkModes(t, s.Dir(sp))
		})
	}
}

// checkModes asserts the host-friendly modes: 0755 directories, 0444 or
// 0555 files, everything owned by us.
func checkModes(t *testing.T, root string) {
	t.Helper()
	uid := os.Getuid()
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		if owner := fileOwner(fi); owner != uid {
			t.Errorf("%s owned by %d, want %d", p, owner, uid)
		}
		switch m := fi.Mode(); {
		case m.IsDir() && m.Perm() != 0o755:
			t.Errorf("%s: dir mode %v, want 0755", p, m.Perm())
		case m.IsRegular() && m.Perm() != 0o444 && m.Perm() != 0o555:
			t.Errorf("%s: file mode %v, want 0444 or 0555", p, m.Perm())
		}
		return nil
	})
}

func TestExportKeepsExecutableBits(t *testing.T) {
	srcDir := filepath.Join(t.TempDir(), "src")
	buildTree(t, srcDir, treeSpec{"exe*": "x", "plain": "y"})
	src := newFakeSource()
	sp := fakePath("modes")
	info := src.add(sp, dumpNAR(t, srcDir))
	s := openStore(t, t.TempDir())
	if _, err := s.Export(context.Background(), src, Closure{info}, ExportOptions{}); err != nil {
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
		buildTree(t, dir, treeSpec{
			"bin/tool*":   randomString(1000+i*37, uint64(i)),
			"lib/libx.so": randomString(70000, uint64(100+i)),
			"share/link":  "->../bin/tool",
		})
		c = append(c, src.add(fakePath("pkg-"+string(rune('a'+i))), dumpNAR(t, dir)))
	}
	return src, c
}

func TestExportIncremental(t *testing.T) {
	src, c := testClosure(t, 3)
	s := openStore(t, t.TempDir())
	ctx := context.Background()
	first, err := s.Export(ctx, src, c, ExportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if first.Paths != 3 || first.Bytes != c.NarBytes() || first.Skipped != 0 {
		t.Errorf("first run: %+v", first)
	}

	again, err := s.Export(ctx, src, c, ExportOptions{})
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
	partial, err := s.Export(ctx, src, c, ExportOptions{})
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
		if got := dumpNAR(t, s.Dir(p.Path)); sriHash(got) != p.NarHash {
			t.Errorf("%s does not verify", p.Path)
		}
	}
}

func TestExportAcceptsNix32Hashes(t *testing.T) {
	src, c := testClosure(t, 1)
	c[0].NarHash = nix32Hash(src.nars[c[0].Path])
	s := openStore(t, t.TempDir())
	if _, err := s.Export(context.Background(), src, c, ExportOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestExportRejects covers streams that must not publish anything: every
// case ends in an error naming the path, an empty nix/store (no temporary
// left) and nothing changed beside the store.
func TestExportRejects(t *testing.T) {
	tests := []struct {
		name    string
		closure func(c Closure)                  // what path-info claims
		stream  func(c Closure, s []byte) []byte // what the container sends
		wantErr string
		// published lists closure indexes that arrive whole before the
		// fault, verify, and so are rightly published.
		published []int
	}{
		{
			name:    "hash mismatch",
			closure: func(c Closure) { c[0].NarHash = sriHash([]byte("something else")) },
			wantErr: "hash mismatch",
		},
		{
			name: "flipped byte in contents",
			stream: func(c Closure, s []byte) []byte {
				s[bytes.Index(s, []byte("libx.so"))+300] ^= 1 // inside its contents
				return s
			},
			wantErr: "hash mismatch",
		},
		{
			name:    "stream truncated mid-NAR",
			stream:  func(c Closure, s []byte) []byte { return s[:c[0].NarSize/2] },
			wantErr: "unexpected EOF",
		},
		{
			name:      "stream truncated at a NAR boundary",
			stream:    func(c Closure, s []byte) []byte { return s[:c[0].NarSize] },
			wantErr:   "unexpected EOF",
			published: []int{0},
		},
		{
			name:    "stream empty",
			stream:  func(c Closure, s []byte) []byte { return nil },
			wantErr: "unexpected EOF",
		},
		{
			name:      "extra bytes after the last NAR",
			stream:    func(c Closure, s []byte) []byte { return append(s, "trailing junk"...) },
			wantErr:   "continues after the last NAR",
			published: []int{0, 1},
		},
		{
			name:    "narSize larger than the NAR",
			closure: func(c Closure) { c[0].NarSize += 8 },
			wantErr: "before its narSize",
		},
		{
			name:    "narSize smaller than the NAR",
			closure: func(c Closure) { c[0].NarSize -= 8 },
			wantErr: "longer than its narSize",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, c := testClosure(t, 2)
			if tt.closure != nil {
				tt.closure(c)
			}
			if tt.stream != nil {
				src.mutate = func(s []byte) []byte { return tt.stream(c, s) }
			}
			base := t.TempDir()
			sentinel := filepath.Join(base, "sentinel")
			writeFile(t, filepath.Join(sentinel, "keep"), "precious", 0o644)
			s := openStore(t, filepath.Join(base, "out"))
			before := snapshot(t, base, nil)

			_, err := s.Export(context.Background(), src, c, ExportOptions{})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			var want []string
			for _, i := range tt.published {
				want = append(want, path.Base(c[i].Path))
			}
			sort.Strings(want)
			if len(tt.published) == 0 && !strings.Contains(err.Error(), c[0].Path) {
				t.Errorf("error %q does not name %s", err, c[0].Path)
			}
			if got := listStore(t, s); strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("store holds %q, want %q", got, want)
			}
			for _, i := range tt.published {
				if got := dumpNAR(t, s.Dir(c[i].Path)); sriHash(got) != c[i].NarHash {
					t.Errorf("published %s does not verify", c[i].Path)
				}
			}
			after := snapshot(t, base, func(rel string) bool { return strings.HasPrefix(rel, "out/nix/store/") })
			if d := diffSnapshots(before, after); len(d) > 0 {
				t.Errorf("changed outside the store:\n%s", strings.Join(d, "\n"))
			}
		})
	}
}

// TestExportHostileStreams feeds hand-written NARs that try to escape or
// overwrite. Each carries its true narHash, so only the decoder's own
// checks stand between it and the disk.
func TestExportHostileStreams(t *testing.T) {
	file := func(b *narBuilder) { b.file("pwned") }
	dirWith := func(name string, node func(*narBuilder)) func(*narBuilder) {
		return func(b *narBuilder) { b.openDir().entry(name, node).closeDir() }
	}
	tests := []struct {
		name    string
		nar     func(sentinel string) []byte
		wantErr string // "" means contained: accepted, nothing outside touched
	}{
		{"dotdot entry", func(string) []byte { return new(narBuilder).magic().openDir().entry("..", file).closeDir().Bytes() }, "invalid entry name"},
		{"dot entry", func(string) []byte { return new(narBuilder).magic().openDir().entry(".", file).closeDir().Bytes() }, "invalid entry name"},
		{"empty name", func(string) []byte { return new(narBuilder).magic().openDir().entry("", file).closeDir().Bytes() }, "invalid entry name"},
		{"slash in name", func(string) []byte { return new(narBuilder).magic().openDir().entry("a/b", file).closeDir().Bytes() }, "invalid entry name"},
		{"absolute name", func(s string) []byte {
			return new(narBuilder).magic().openDir().entry(s+"/pwned", file).closeDir().Bytes()
		}, "invalid entry name"},
		{"dotdot path name", func(string) []byte {
			return new(narBuilder).magic().openDir().entry("../../../sentinel/pwned", file).closeDir().Bytes()
		}, "invalid entry name"},
		{"nested dotdot", func(string) []byte {
			return new(narBuilder).magic().openDir().entry("a", dirWith("..", dirWith("..", file))).closeDir().Bytes()
		}, "invalid entry name"},
		{"NUL in name", func(string) []byte { return new(narBuilder).magic().openDir().entry("a\x00b", file).closeDir().Bytes() }, "invalid entry name"},
		{"name longer than NAME_MAX", func(string) []byte {
			return new(narBuilder).magic().openDir().entry(strings.Repeat("a", 256), file).closeDir().Bytes()
		}, "at most 255"},
		{"duplicate names", func(string) []byte {
			return new(narBuilder).magic().openDir().entry("a", file).entry("a", file).closeDir().Bytes()
		}, "not sorted or duplicate"},
		{"unsorted names", func(string) []byte {
			return new(narBuilder).magic().openDir().entry("b", file).entry("a", file).closeDir().Bytes()
		}, "not sorted or duplicate"},
		{"symlink then directory of the same name", func(s string) []byte {
			return new(narBuilder).magic().openDir().
				entry("x", func(b *narBuilder) { b.symlink(s) }).
				entry("x", func(b *narBuilder) { b.openDir().entry("pwned", file).closeDir() }).
				closeDir().Bytes()
		}, "not sorted or duplicate"},
		{"symlink then file of the same name", func(s string) []byte {
			return new(narBuilder).magic().openDir().
				entry("x", func(b *narBuilder) { b.symlink(s + "/keep") }).
				entry("x", file).
				closeDir().Bytes()
		}, "not sorted or duplicate"},
		{"symlink then write through it", func(s string) []byte {
			return new(narBuilder).magic().openDir().
				entry("x", func(b *narBuilder) { b.symlink(s) }).
				entry("x/pwned", file).
				closeDir().Bytes()
		}, "invalid entry name"},
		{"huge declared file size", func(string) []byte {
			return new(narBuilder).magic().str("(", "type", "regular", "contents").num(1 << 62).Bytes()
		}, "does not fit"},
		{"huge declared name size", func(string) []byte {
			return new(narBuilder).magic().openDir().str("entry", "(", "name").num(1 << 40).Bytes()
		}, "at most 255"},
		{"huge declared symlink target", func(string) []byte {
			return new(narBuilder).magic().str("(", "type", "symlink", "target").num(1 << 40).Bytes()
		}, "at most 4095"},
		{"empty symlink target", func(string) []byte { return new(narBuilder).magic().symlink("").Bytes() }, "invalid symlink target"},
		{"NUL in symlink target", func(string) []byte { return new(narBuilder).magic().symlink("/etc\x00").Bytes() }, "invalid symlink target"},
		{"non-zero padding", func(string) []byte {
			b := new(narBuilder).magic().file("abc")
			out := b.Bytes()
			out[len(out)-16-1] = 'X' // inside the padding of "abc"
			return out
		}, "padding"},
		{"unknown node type", func(string) []byte {
			return new(narBuilder).magic().str("(", "type", "fifo", ")").Bytes()
		}, "unknown node type"},
		{"junk token in directory", func(string) []byte {
			return new(narBuilder).magic().openDir().str("junk").closeDir().Bytes()
		}, "expected entry"},
		{"bad executable placeholder", func(string) []byte {
			return new(narBuilder).magic().str("(", "type", "regular", "executable", "x", "contents", "", ")").Bytes()
		}, "expected \"\""},
		{"wrong magic", func(string) []byte { return new(narBuilder).str("nix-archive-2").file("x").Bytes() }, "expected"},
		{"deeper than PATH_MAX", func(string) []byte {
			b := new(narBuilder).magic()
			const depth = 2100
			for range depth {
				b.openDir().str("entry", "(", "name", "a", "node")
			}
			b.file("deep")
			for range depth {
				b.str(")").closeDir()
			}
			return b.Bytes()
		}, "deeper than"},
		// Contained, not rejected: a symlink is data and is never followed.
		{"root symlink to the sentinel", func(s string) []byte { return new(narBuilder).magic().symlink(s).Bytes() }, ""},
		{"symlink to the sentinel in a directory", func(s string) []byte {
			return new(narBuilder).magic().openDir().
				entry("a", func(b *narBuilder) { b.symlink(s) }).
				entry("b", func(b *narBuilder) { b.symlink("../../../../sentinel/keep") }).
				closeDir().Bytes()
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := t.TempDir()
			sentinel := filepath.Join(base, "sentinel")
			writeFile(t, filepath.Join(sentinel, "keep"), "precious", 0o644)
			s := openStore(t, filepath.Join(base, "out"))
			data := tt.nar(sentinel)
			sp := fakePath("hostile")
			src := newFakeSource()
			info := src.add(sp, data)
			before := snapshot(t, base, nil)

			_, err := s.Export(context.Background(), src, Closure{info}, ExportOptions{})
			storeEntries := listStore(t, s)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if got := dumpNAR(t, s.Dir(sp)); !bytes.Equal(got, data) {
					t.Error("contained path does not round-trip")
				}
				if len(storeEntries) != 1 {
					t.Errorf("store holds %q", storeEntries)
				}
			} else {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), sp) {
					t.Fatalf("err = %v, want %q naming %s", err, tt.wantErr, sp)
				}
				if len(storeEntries) != 0 {
					t.Errorf("store holds %q after a rejected stream", storeEntries)
				}
			}
			after := snapshot(t, base, func(rel string) bool { return strings.HasPrefix(rel, "out/nix/store/") })
			if d := diffSnapshots(before, after); len(d) > 0 {
				t.Errorf("changed outside the store:\n%s", strings.Join(d, "\n"))
			}
		})
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
			st, err := OpenStore(s.Root, nil)
			if err == nil {
				_, err = st.Export(context.Background(), src, c, ExportOptions{})
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
		if got := dumpNAR(t, s.Dir(p.Path)); sriHash(got) != p.NarHash {
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
	_, err := s.Export(ctx, src, c, ExportOptions{})
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
	_, err := s.Export(context.Background(), src, c, ExportOptions{Progress: func(copied, total int64) {
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
	_, err := s.Export(context.Background(), newFakeSource(), c, ExportOptions{})
	if err == nil || !strings.Contains(err.Error(), "start dump") {
		t.Fatalf("err = %v", err)
	}
}

// genSource streams one large generated file as a NAR without holding it,
// so the test measures the exporter's memory, not its own.
type genSource struct{ size int64 }

func (g genSource) nar(w io.Writer) error {
	b := new(narBuilder).magic().str("(", "type", "regular", "contents").num(uint64(g.size))
	if _, err := w.Write(b.Bytes()); err != nil {
		return err
	}
	r := rand.New(rand.NewPCG(7, 7))
	buf := make([]byte, 64<<10)
	for left := g.size; left > 0; left -= int64(len(buf)) {
		for i := 0; i < len(buf); i += 8 {
			v := r.Uint64()
			for j := 0; j < 8; j++ {
				buf[i+j] = byte(v >> (8 * j))
			}
		}
		if _, err := w.Write(buf[:min(int64(len(buf)), left)]); err != nil {
			return err
		}
	}
	tail := new(narBuilder)
	tail.Write(make([]byte, (8-g.size%8)%8))
	tail.str(")")
	_, err := w.Write(tail.Bytes())
	return err
}

func (g genSource) Dump(ctx context.Context, paths []string) (io.ReadCloser, func() error, error) {
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := g.nar(pw)
		pw.CloseWithError(err)
		done <- err
	}()
	return pr, func() error { return <-done }, nil
}

func TestExportMemoryIsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 96 MiB")
	}
	g := genSource{size: 96 << 20}
	h := sha256.New()
	cw := &countWriter{w: h}
	if err := g.nar(cw); err != nil {
		t.Fatal(err)
	}
	sp := fakePath("big")
	info := PathInfo{Path: sp, NarHash: sriHashOf(h.Sum(nil)), NarSize: cw.n}
	s := openStore(t, t.TempDir())

	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if _, err := s.Export(context.Background(), g, Closure{info}, ExportOptions{}); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	// The generator allocates a little too; the exporter's own share is
	// its two 1 MiB buffers.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
		t.Errorf("exporting 96 MiB allocated %d MiB", alloc>>20)
	}
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return c.w.Write(p)
}
