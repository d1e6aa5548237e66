package nar

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/nixcross/nixcross/internal/storetest"
)

// memNode is a decoded tree held in memory: a file, a symlink or a
// directory.
type memNode struct {
	executable bool
	contents   []byte
	target     string              // set for a symlink
	entries    map[string]*memNode // non-nil for a directory
}

// memWriter is a Writer into memory. It refuses a name written twice in
// a directory, as the host's O_EXCL does, and lets a test read back the
// files written (for the tar route's hard links).
type memWriter struct {
	dir   map[string]*memNode
	rel   string       // this directory, below the root
	files fstest.MapFS // every file written, by path from the top
}

func newMemWriter() *memWriter {
	return &memWriter{dir: map[string]*memNode{}, files: fstest.MapFS{}}
}

func (w *memWriter) add(name string, n *memNode) error {
	if _, ok := w.dir[name]; ok {
		return fmt.Errorf("%s: %w", name, fs.ErrExist)
	}
	w.dir[name] = n
	return nil
}

func (w *memWriter) File(name string, executable bool, contents io.Reader) error {
	data, err := io.ReadAll(contents)
	if err != nil {
		return err
	}
	w.files[path.Join(w.rel, name)] = &fstest.MapFile{Data: data}
	return w.add(name, &memNode{executable: executable, contents: data})
}

func (w *memWriter) Symlink(name, target string) error {
	return w.add(name, &memNode{target: target})
}

func (w *memWriter) Dir(name string) (Writer, func() error, error) {
	n := &memNode{entries: map[string]*memNode{}}
	if err := w.add(name, n); err != nil {
		return nil, nil, err
	}
	sub := &memWriter{dir: n.entries, rel: path.Join(w.rel, name), files: w.files}
	return sub, func() error { return nil }, nil
}

// nar serialises n as Nix would, entries sorted bytewise.
func (n *memNode) nar(b *storetest.Builder) {
	switch {
	case n.entries != nil:
		b.OpenDir()
		names := make([]string, 0, len(n.entries))
		for name := range n.entries {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			b.Entry(name, n.entries[name].nar)
		}
		b.CloseDir()
	case n.target != "":
		b.Symlink(n.target)
	case n.executable:
		b.Str("(", "type", "regular", "executable", "", "contents", string(n.contents), ")")
	default:
		b.File(string(n.contents))
	}
}

// decodeNAR decodes data whole into memory and serialises the tree again.
func decodeNAR(data []byte) ([]byte, error) {
	w := newMemWriter()
	if err := Decode(bytes.NewReader(data), w, "root", Options{Size: int64(len(data))}); err != nil {
		return nil, err
	}
	b := new(storetest.Builder).Magic()
	w.dir["root"].nar(b)
	return b.Bytes(), nil
}

func TestDecodeRoundTrip(t *testing.T) {
	dep := storetest.StorePath("dep-1.0")
	tests := []struct {
		name string
		make func(t *testing.T, p string)
	}{
		{"directory tree", func(t *testing.T, p string) { storetest.BuildTree(t, p, storetest.RichTree(dep)) }},
		{"single file", func(t *testing.T, p string) { storetest.WriteFile(t, p, "just a file", 0o644) }},
		{"single executable", func(t *testing.T, p string) { storetest.WriteFile(t, p, "#!/bin/sh\n", 0o755) }},
		{"single symlink", func(t *testing.T, p string) { storetest.Symlink(t, dep+"/bin/tool", p) }},
		{"empty directory", func(t *testing.T, p string) { storetest.BuildTree(t, p, storetest.Tree{}) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := filepath.Join(t.TempDir(), "src")
			tt.make(t, src)
			data := storetest.Dump(t, src)
			got, err := decodeNAR(data)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, data) {
				t.Error("the decoded tree serialises to another NAR")
			}
		})
	}
}

// TestDecodeReadsExactlySize: Decode stops at Size, leaving the next
// path's bytes unread, and a NAR that ends before or after Size fails.
func TestDecodeReadsExactlySize(t *testing.T) {
	one := new(storetest.Builder).Magic().File("first").Bytes()
	next := "the next path's NAR"
	tests := []struct {
		name    string
		size    int64
		wantErr string
	}{
		{"exact", int64(len(one)), ""},
		{"narSize larger than the NAR", int64(len(one)) + 8, "NAR ends 8 bytes before its narSize"},
		{"narSize smaller than the NAR", int64(len(one)) - 8, "longer than its narSize"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := bytes.NewReader(append(slices.Clone(one), next...))
			err := Decode(r, newMemWriter(), "root", Options{Size: tt.size})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if rest, _ := io.ReadAll(r); string(rest) != next {
				t.Errorf("left %q unread, want %q", rest, next)
			}
		})
	}
}

func TestDecodeChecksBetweenEntries(t *testing.T) {
	data := new(storetest.Builder).Magic().OpenDir().
		Entry("a", func(b *storetest.Builder) { b.File("x") }).
		Entry("b", func(b *storetest.Builder) { b.File("y") }).
		CloseDir().Bytes()
	stop := errors.New("stop")
	calls := 0
	check := func() error {
		if calls++; calls == 2 {
			return stop
		}
		return nil
	}
	err := Decode(bytes.NewReader(data), newMemWriter(), "root", Options{Size: int64(len(data)), Check: check})
	if !errors.Is(err, stop) || !strings.Contains(err.Error(), `at "a"`) {
		t.Fatalf("err = %v, want the check's error at the first entry", err)
	}
}

// FuzzDecode: whatever the bytes, Decode does not panic, and a NAR it
// accepts is canonical: its tree serialises to the very same bytes.
func FuzzDecode(f *testing.F) {
	dir := filepath.Join(f.TempDir(), "seed")
	storetest.BuildTree(f, dir, storetest.SeedTree())
	f.Add(storetest.Dump(f, dir))
	f.Add(new(storetest.Builder).Magic().File("hello").Bytes())
	f.Add(new(storetest.Builder).Magic().OpenDir().Entry("..", func(b *storetest.Builder) { b.File("x") }).CloseDir().Bytes())

	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := decodeNAR(data)
		if err == nil && !bytes.Equal(got, data) {
			t.Fatalf("accepted a NAR that does not round-trip")
		}
	})
}
