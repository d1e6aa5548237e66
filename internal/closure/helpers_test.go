package closure

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"

	"github.com/nix-community/go-nix/pkg/nar"
	"github.com/nix-community/go-nix/pkg/nixbase32"
	"github.com/nix-community/go-nix/pkg/nixhash"
)

// fakePath makes a syntactically valid store path for name.
func fakePath(name string) string {
	sum := sha256.Sum256([]byte(name))
	return "/nix/store/" + nixbase32.EncodeToString(sum[:20]) + "-" + name
}

// sriHash is Nix's narHash of a NAR, in the SRI form Nix 2.8 prints.
func sriHash(data []byte) string {
	sum := sha256.Sum256(data)
	return nixhash.MustNewHashWithEncoding(nixhash.SHA256, sum[:], nixhash.SRI, true).String()
}

func sriHashOf(digest []byte) string {
	return nixhash.MustNewHashWithEncoding(nixhash.SHA256, digest, nixhash.SRI, true).String()
}

func nix32Hash(data []byte) string {
	sum := sha256.Sum256(data)
	return nixhash.MustNewHashWithEncoding(nixhash.SHA256, sum[:], nixhash.NixBase32, true).String()
}

// dumpNAR serialises a directory with go-nix, the way `nix-store --dump`
// would.
func dumpNAR(t testing.TB, p string) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := nar.DumpPath(&b, p); err != nil {
		t.Fatalf("dump %s: %v", p, err)
	}
	return b.Bytes()
}

func infoFor(path string, data []byte) PathInfo {
	return PathInfo{Path: path, NarHash: sriHash(data), NarSize: int64(len(data))}
}

// fakeSource serves NARs from memory through a pipe, so reads block like a
// container's stream and Close unblocks them.
type fakeSource struct {
	mu     sync.Mutex
	nars   map[string][]byte
	calls  [][]string
	mutate func([]byte) []byte // corrupts the concatenated stream
	chunk  int                 // write size; small values exercise short reads
	// block, when set, stops the stream after that many bytes until the
	// context is cancelled.
	block int
}

func newFakeSource() *fakeSource { return &fakeSource{nars: map[string][]byte{}} }

func (f *fakeSource) add(path string, data []byte) PathInfo {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nars[path] = data
	return infoFor(path, data)
}

func (f *fakeSource) Dump(ctx context.Context, paths []string) (io.ReadCloser, func() error, error) {
	f.mu.Lock()
	f.calls = append(f.calls, append([]string(nil), paths...))
	var buf bytes.Buffer
	for _, p := range paths {
		data, ok := f.nars[p]
		if !ok {
			f.mu.Unlock()
			return nil, nil, fmt.Errorf("no such path %s", p)
		}
		buf.Write(data)
	}
	data := buf.Bytes()
	if f.mutate != nil {
		data = f.mutate(data)
	}
	chunk, block := f.chunk, f.block
	f.mu.Unlock()
	if chunk <= 0 {
		chunk = 256 << 10
	}
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		var err error
		for off := 0; off < len(data) && err == nil; off += chunk {
			if block > 0 && off >= block {
				<-ctx.Done()
				err = ctx.Err()
				break
			}
			_, err = pw.Write(data[off:min(off+chunk, len(data))])
		}
		pw.CloseWithError(err)
		done <- err
	}()
	return pr, func() error { return <-done }, nil
}

func (f *fakeSource) dumpCalls() [][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][]string(nil), f.calls...)
}

// narBuilder writes NAR bytes by hand, so tests can say things go-nix's
// writer refuses to.
type narBuilder struct{ bytes.Buffer }

func (b *narBuilder) str(ss ...string) *narBuilder {
	for _, s := range ss {
		b.num(uint64(len(s)))
		b.WriteString(s)
		b.Write(make([]byte, (8-len(s)%8)%8))
	}
	return b
}

func (b *narBuilder) num(n uint64) *narBuilder {
	var x [8]byte
	binary.LittleEndian.PutUint64(x[:], n)
	b.Write(x[:])
	return b
}

// Convenience fragments of the grammar.
func (b *narBuilder) magic() *narBuilder { return b.str("nix-archive-1") }
func (b *narBuilder) file(contents string) *narBuilder {
	return b.str("(", "type", "regular", "contents", contents, ")")
}
func (b *narBuilder) symlink(target string) *narBuilder {
	return b.str("(", "type", "symlink", "target", target, ")")
}
func (b *narBuilder) openDir() *narBuilder  { return b.str("(", "type", "directory") }
func (b *narBuilder) closeDir() *narBuilder { return b.str(")") }
func (b *narBuilder) entry(name string, node func(*narBuilder)) *narBuilder {
	b.str("entry", "(", "name", name, "node")
	node(b)
	return b.str(")")
}

// snapshot records everything under dir (without following links), so a
// test can prove a hostile stream changed nothing it should not have.
func snapshot(t testing.TB, dir string, skip func(rel string) bool) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if skip != nil && skip(rel) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		desc := fi.Mode().String()
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			desc += " -> " + target
		case fi.Mode().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			desc += fmt.Sprintf(" %x", sha256.Sum256(data))
		}
		out[rel] = desc
		return nil
	})
	if err != nil {
		t.Fatalf("snapshot %s: %v", dir, err)
	}
	return out
}

func diffSnapshots(before, after map[string]string) []string {
	var diffs []string
	for k, v := range before {
		if after[k] != v {
			diffs = append(diffs, fmt.Sprintf("%q: %q -> %q", k, v, after[k]))
		}
	}
	for k, v := range after {
		if _, ok := before[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("%q: new %q", k, v))
		}
	}
	sort.Strings(diffs)
	return diffs
}

// listStore names the entries of the output store's nix/store.
func listStore(t testing.TB, s *Store) []string {
	t.Helper()
	entries, err := os.ReadDir(s.storeDir())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func openStore(t testing.TB, root string) *Store {
	t.Helper()
	s, err := OpenStore(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func writeFile(t testing.TB, p string, data string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

func symlink(t testing.TB, target, p string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
}
