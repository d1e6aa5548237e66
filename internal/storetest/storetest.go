// Package storetest holds the fixtures shared by the tests of the
// packages that move store paths (nar, hoststore, closure, machine):
// store path names, trees written to disk from a short spec, their NARs
// as Nix would dump them, hand-written NARs for what Nix never writes,
// and snapshots that prove a hostile stream changed nothing it should
// not have. Only tests import it.
package storetest

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/nix-community/go-nix/pkg/nar"
	"github.com/nix-community/go-nix/pkg/nixbase32"
)

// StorePath makes a syntactically valid store path for name.
func StorePath(name string) string {
	sum := sha256.Sum256([]byte(name))
	return "/nix/store/" + nixbase32.EncodeToString(sum[:20]) + "-" + name
}

// Dump serialises a directory with go-nix, the way `nix-store --dump`
// would.
func Dump(t testing.TB, p string) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := nar.DumpPath(&b, p); err != nil {
		t.Fatalf("dump %s: %v", p, err)
	}
	return b.Bytes()
}

// Builder writes NAR bytes by hand, so tests can say things go-nix's
// writer refuses to.
type Builder struct{ bytes.Buffer }

func (b *Builder) Str(ss ...string) *Builder {
	for _, s := range ss {
		b.Num(uint64(len(s)))
		b.WriteString(s)
		b.Write(make([]byte, (8-len(s)%8)%8))
	}
	return b
}

func (b *Builder) Num(n uint64) *Builder {
	var x [8]byte
	binary.LittleEndian.PutUint64(x[:], n)
	b.Write(x[:])
	return b
}

// Convenience fragments of the grammar.
func (b *Builder) Magic() *Builder { return b.Str("nix-archive-1") }
func (b *Builder) File(contents string) *Builder {
	return b.Str("(", "type", "regular", "contents", contents, ")")
}
func (b *Builder) Symlink(target string) *Builder {
	return b.Str("(", "type", "symlink", "target", target, ")")
}
func (b *Builder) OpenDir() *Builder  { return b.Str("(", "type", "directory") }
func (b *Builder) CloseDir() *Builder { return b.Str(")") }
func (b *Builder) Entry(name string, node func(*Builder)) *Builder {
	b.Str("entry", "(", "name", name, "node")
	node(b)
	return b.Str(")")
}

// Snapshot records everything under dir (without following links), so a
// test can prove a hostile stream changed nothing it should not have.
func Snapshot(t testing.TB, dir string, skip func(rel string) bool) map[string]string {
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

// Diff lists what changed between two snapshots.
func Diff(before, after map[string]string) []string {
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

// WriteFile writes data at p with mode, making its directory.
func WriteFile(t testing.TB, p string, data string, mode os.FileMode) {
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

// Symlink makes p a symlink to target, making its directory.
func Symlink(t testing.TB, target, p string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
}

// Tree describes a source tree for a store path: name -> content, with
// "->target" for symlinks, "dir/" for empty directories and a trailing
// "*" on the key for executables.
type Tree map[string]string

// BuildTree writes spec under root.
func BuildTree(t testing.TB, root string, spec Tree) {
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
			Symlink(t, strings.TrimPrefix(v, "->"), p)
		case strings.HasSuffix(name, "/"):
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
		case exec:
			WriteFile(t, p, v, 0o755)
		default:
			WriteFile(t, p, v, 0o644)
		}
	}
}

// RandomString is n reproducible random bytes.
func RandomString(n int, seed uint64) string {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return string(b)
}

// RichTree is everything a store path may hold, odd names included; dep
// is the store path its absolute symlink points into.
func RichTree(dep string) Tree {
	return Tree{
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
		"share/big.bin":                     RandomString(3<<20+5, 1), // > copy buffer, not a multiple of 8
		"share/odd-size":                    RandomString(1001, 2),
		"share/-leading-dash*":              "x",
		"share/" + strings.Repeat("n", 255): "longest name",
	}
}

// CheckModes asserts the host-friendly modes: 0755 directories, 0444 or
// 0555 files, everything owned by us.
func CheckModes(t *testing.T, root string) {
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

// Tar archives dir the way the daemon does for `docker cp`: a walk with
// names sorted bytewise, directories with a trailing slash, the root named
// base, and a file's second name (same inode) as a hard link to its first.
func Tar(t testing.TB, dir, base string) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	seen := map[uint64]string{}
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		name := path.Join(base, filepath.ToSlash(rel))
		hdr := &tar.Header{Name: name, Mode: int64(fi.Mode().Perm()), Format: tar.FormatPAX}
		switch {
		case fi.IsDir():
			hdr.Typeflag, hdr.Name = tar.TypeDir, name+"/"
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, target
		default:
			ino, ok := inode(fi)
			if first, dup := seen[ino]; ok && dup {
				hdr.Typeflag, hdr.Linkname = tar.TypeLink, first
				break
			}
			seen[ino] = name
			hdr.Typeflag, hdr.Size = tar.TypeReg, fi.Size()
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if hdr.Typeflag == tar.TypeReg {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			_, err = tw.Write(data)
			return err
		}
		return nil
	})
	if err == nil {
		err = tw.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// SeedTree is a small store path with every kind of entry and the names a
// decoder might stumble on: the fuzzers' first seed.
func SeedTree() Tree {
	return Tree{
		"bin/hello*":      "#!/bin/sh\n",
		"lib/link":        "->../bin/hello",
		"lib/abs":         "->/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-x",
		"share/new\nline": "x",
		"share/)":         "y",
		"share/empty/":    "",
	}
}
