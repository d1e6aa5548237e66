package closure

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/nixcross/nixcross/internal/storetest"
)

// tarFake is a TarSource: NARs as fakeSource serves them, and per path a
// tar made by tarOf (what the daemon sends) or by hand.
type tarFake struct {
	*fakeSource
	mu    sync.Mutex
	tars  map[string][]byte
	calls []string
}

func newTarFake() *tarFake { return &tarFake{fakeSource: newFakeSource(), tars: map[string][]byte{}} }

func (f *tarFake) Tar(ctx context.Context, storePath string) (io.ReadCloser, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, storePath)
	data, ok := f.tars[storePath]
	if !ok {
		return nil, errors.New("no such container path")
	}
	return io.NopCloser(bytes.NewReader(data)), nil
}

// withTarMinSize lowers the tar threshold for a test's small paths.
func withTarMinSize(t *testing.T, n int64) {
	old := tarMinSize
	tarMinSize = n
	t.Cleanup(func() { tarMinSize = old })
}

func TestExportThroughTar(t *testing.T) {
	withTarMinSize(t, 1)
	dep := storetest.StorePath("dep-1.0")
	tests := []struct {
		name string
		make func(t *testing.T, p string)
	}{
		{"directory tree", func(t *testing.T, p string) {
			storetest.BuildTree(t, p, storetest.RichTree(dep))
			// A second name for a file, as Nix's store optimisation makes.
			if err := os.Link(filepath.Join(p, "share", "odd-size"), filepath.Join(p, "share", "z-hardlink")); err != nil {
				t.Fatal(err)
			}
		}},
		{"single file", func(t *testing.T, p string) { storetest.WriteFile(t, p, "just a file", 0o644) }},
		{"single executable", func(t *testing.T, p string) { storetest.WriteFile(t, p, "#!/bin/sh\n", 0o755) }},
		{"empty directory", func(t *testing.T, p string) { os.Mkdir(p, 0o755) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srcDir := filepath.Join(t.TempDir(), "src")
			tt.make(t, srcDir)
			data := storetest.Dump(t, srcDir)
			sp := storetest.StorePath("tar-" + strings.ReplaceAll(tt.name, " ", "-"))
			src := newTarFake()
			info := src.add(sp, data)
			src.tars[sp] = storetest.Tar(t, srcDir, path.Base(sp))

			s := openStore(t, filepath.Join(t.TempDir(), "out"))
			var failed []error
			st, err := Export(context.Background(), s, src, Closure{info}, ExportOptions{
				TarFailed: func(_ string, err error) { failed = append(failed, err) },
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(failed) > 0 || len(src.dumpCalls()) > 0 {
				t.Fatalf("exported from the NAR, not the tar: %v", failed)
			}
			if st.Paths != 1 || st.Bytes != int64(len(data)) {
				t.Errorf("stats = %+v", st)
			}
			if got := storetest.Dump(t, s.Dir(sp)); !bytes.Equal(got, data) {
				t.Fatalf("re-dumped NAR differs")
			}
			storetest.CheckModes(t, s.Dir(sp))
		})
	}
}

// TestExportTarRefused: every tar the decoder must not trust is refused
// before anything is published, nothing lands outside the output store,
// and the path still arrives, verified, from its NAR.
func TestExportTarRefused(t *testing.T) {
	withTarMinSize(t, 1)
	srcDir := filepath.Join(t.TempDir(), "src")
	storetest.BuildTree(t, srcDir, storetest.Tree{"a/f": "file a/f", "b/g*": "exec b/g", "c": "->a/f"})
	data := storetest.Dump(t, srcDir)
	sp := storetest.StorePath("refused")
	base := path.Base(sp)
	good := storetest.Tar(t, srcDir, base)

	type entry struct {
		name, link string
		typ        byte
		body       string
		size       int64 // overrides len(body) in the header when set
	}
	dir := func(name string) entry { return entry{name: name + "/", typ: tar.TypeDir} }
	file := func(name, body string) entry { return entry{name: name, typ: tar.TypeReg, body: body} }
	root, a, b := dir(base), dir(base+"/a"), dir(base+"/b")
	af, bg := file(base+"/a/f", "file a/f"), entry{name: base + "/b/g", typ: tar.TypeReg, body: "exec b/g"}
	c := entry{name: base + "/c", typ: tar.TypeSymlink, link: "a/f"}
	tests := []struct {
		name    string
		entries []entry
		raw     []byte
		wantErr string
	}{
		{"parent directory", []entry{root, file(base+"/../escape", "x")}, nil, "not in the directory"},
		{"dot-dot entry", []entry{root, dir(base + "/..")}, nil, "invalid entry name"},
		{"absolute name", []entry{root, file("/etc/escape", "x")}, nil, "outside"},
		{"another root", []entry{root, file("other/x", "x")}, nil, "outside"},
		{"wrong root", []entry{dir("other")}, nil, "root entry"},
		{"unsorted", []entry{root, b, a}, nil, "not sorted"},
		{"duplicate", []entry{root, a, a}, nil, "not sorted"},
		{"back into a closed directory", []entry{root, a, b, file(base+"/a/late", "x")}, nil, "not in the directory"},
		{"skipped level", []entry{root, file(base+"/a/f", "x")}, nil, "not in the directory"},
		{"through a symlink", []entry{root, c, file(base+"/c/x", "x")}, nil, "not in the directory"},
		{"hard link outside", []entry{root, {name: base + "/h", typ: tar.TypeLink, link: "/etc/passwd"}}, nil, "hard link"},
		{"hard link to a symlink", []entry{root, c, {name: base + "/d", typ: tar.TypeLink, link: base + "/c"}}, nil, "hard link"},
		{"device", []entry{root, {name: base + "/dev", typ: tar.TypeChar}}, nil, "no NAR form"},
		{"larger than narSize", []entry{root, file(base+"/big", strings.Repeat("x", len(data)))}, nil, "does not fit"},
		{"entries after a file root", []entry{file(base, "x"), file(base+"/y", "y")}, nil, "after the root"},
		{"tampered contents", []entry{root, a, file(base+"/a/f", "FILE A/F"), b, bg, c}, nil, "hash mismatch"},
		{"lost executable bit", []entry{root, a, af, b, file(base+"/b/g", "exec b/g"), c}, nil, "narSize"},
		{"empty", nil, []byte{}, "empty tar"},
		{"truncated", nil, good[:len(good)/2], "narSize"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := tt.raw
			if raw == nil {
				var buf bytes.Buffer
				tw := tar.NewWriter(&buf)
				for _, e := range tt.entries {
					size := int64(len(e.body))
					if e.size != 0 {
						size = e.size
					}
					if e.typ != tar.TypeReg {
						size = 0
					}
					mode := int64(0o444)
					if e.name == bg.name && e.body == bg.body && e.typ == tar.TypeReg && tt.name != "lost executable bit" {
						mode = 0o555
					}
					if err := tw.WriteHeader(&tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Size: size, Mode: mode, Format: tar.FormatPAX}); err != nil {
						t.Fatal(err)
					}
					io.WriteString(tw, e.body)
				}
				tw.Close()
				raw = buf.Bytes()
			}
			work := t.TempDir()
			out := filepath.Join(work, "out")
			src := newTarFake()
			info := src.add(sp, data)
			src.tars[sp] = raw
			s := openStore(t, out)
			before := storetest.Snapshot(t, work, nil)
			var failed []error
			_, err := Export(context.Background(), s, src, Closure{info}, ExportOptions{
				TarFailed: func(_ string, err error) { failed = append(failed, err) },
			})
			if err != nil {
				t.Fatalf("the NAR fallback failed: %v", err)
			}
			if len(failed) != 1 || !strings.Contains(failed[0].Error(), tt.wantErr) {
				t.Fatalf("tar failures %v, want one with %q", failed, tt.wantErr)
			}
			if calls := src.dumpCalls(); len(calls) != 1 || !slices.Equal(calls[0], []string{sp}) {
				t.Errorf("NAR requests %v", calls)
			}
			if got := storetest.Dump(t, s.Dir(sp)); !bytes.Equal(got, data) {
				t.Errorf("the published path is not the verified NAR's tree")
			}
			// Only the store path itself is new.
			changed := storetest.Diff(before, storetest.Snapshot(t, work, nil))
			for _, c := range changed {
				if !strings.HasPrefix(strings.TrimPrefix(c, `"`), "out/nix/store/"+base) {
					t.Errorf("changed outside the path: %s", c)
				}
			}
		})
	}
}

// TestExportTarThreshold: small paths go in one NAR stream, large ones
// (and only those) through the tar, and a path whose tar cannot be had
// at all comes as a NAR.
func TestExportTarThreshold(t *testing.T) {
	withTarMinSize(t, 4096)
	src := newTarFake()
	var c Closure
	for _, name := range []string{"small-1", "small-2", "large-1", "large-2", "large-no-tar"} {
		dir := filepath.Join(t.TempDir(), name)
		size := 100
		if strings.HasPrefix(name, "large") {
			size = 8192
		}
		storetest.BuildTree(t, dir, storetest.Tree{"f": storetest.RandomString(size, uint64(len(name)))})
		sp := storetest.StorePath(name)
		c = append(c, src.add(sp, storetest.Dump(t, dir)))
		if name == "large-1" || name == "large-2" {
			src.tars[sp] = storetest.Tar(t, dir, path.Base(sp))
		}
	}
	s := openStore(t, t.TempDir())
	st, err := Export(context.Background(), s, src, c, ExportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Paths != 5 || st.Bytes != c.NarBytes() {
		t.Errorf("stats %+v", st)
	}
	if want := []string{c[2].Path, c[3].Path, c[4].Path}; !slices.Equal(src.calls, want) {
		t.Errorf("tar requests %v, want %v", src.calls, want)
	}
	if calls := src.dumpCalls(); len(calls) != 1 || !slices.Equal(calls[0], []string{c[0].Path, c[1].Path, c[4].Path}) {
		t.Errorf("NAR requests %v", calls)
	}
}
