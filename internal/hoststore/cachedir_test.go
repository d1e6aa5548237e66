package hoststore

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// entry is one tar header and its contents for ExtractCache.
type entry struct {
	name, body, link string
	typ              byte
}

func tarOf(t *testing.T, entries []entry) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Linkname: e.link, Mode: 0o4777, Size: int64(len(e.body))}
		if e.typ != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(e.body))
	}
	tw.Close()
	return &buf
}

// TestExtractCache: a cache directory's tar merges into the host
// directory, new files counted apart from replaced ones, modes the
// cache's own and not the tar's.
func TestExtractCache(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	os.MkdirAll(filepath.Join(dir, "nar"), 0o755)
	os.WriteFile(filepath.Join(dir, "nix-cache-info"), []byte("old"), 0o644)
	got, err := ExtractCache(tarOf(t, []entry{
		{name: "0/", typ: tar.TypeDir},
		{name: "0/nix-cache-info", body: "StoreDir: /nix/store\n", typ: tar.TypeReg},
		{name: "0/abc.narinfo", body: "StorePath: x\n", typ: tar.TypeReg},
		{name: "0/nar/", typ: tar.TypeDir},
		{name: "0/nar/abc.nar.xz", body: "nar", typ: tar.TypeReg},
	}), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got != (CacheFiles{New: 2, Replaced: 1}) {
		t.Errorf("got %+v, want 2 new and 1 replaced", got)
	}
	for name, want := range map[string]string{"nix-cache-info": "StoreDir: /nix/store\n", "abc.narinfo": "StorePath: x\n", "nar/abc.nar.xz": "nar"} {
		p := filepath.Join(dir, name)
		b, err := os.ReadFile(p)
		if err != nil || string(b) != want {
			t.Errorf("%s = %q, %v; want %q", name, b, err, want)
		}
		if fi, _ := os.Stat(p); fi.Mode() != 0o644 {
			t.Errorf("%s has mode %v, want 0644", name, fi.Mode())
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, TempPrefix+"*")); len(left) != 0 {
		t.Errorf("temporaries left: %v", left)
	}
}

// TestExtractCacheRefuses: nothing in the tar reaches outside the
// directory or makes anything but files and directories.
func TestExtractCacheRefuses(t *testing.T) {
	for _, c := range []struct {
		name  string
		entry entry
		want  string
	}{
		{"dotdot", entry{name: "0/../escaped", body: "x", typ: tar.TypeReg}, "outside its directory"},
		{"other top", entry{name: "1/escaped", body: "x", typ: tar.TypeReg}, "outside its directory"},
		{"absolute", entry{name: "/escaped", body: "x", typ: tar.TypeReg}, "outside its directory"},
		{"symlink", entry{name: "0/link", link: "/etc", typ: tar.TypeSymlink}, "only files and directories"},
		{"hard link", entry{name: "0/hard", link: "/etc/passwd", typ: tar.TypeLink}, "only files and directories"},
		{"device", entry{name: "0/dev", typ: tar.TypeChar}, "only files and directories"},
	} {
		t.Run(c.name, func(t *testing.T) {
			base := t.TempDir()
			dir := filepath.Join(base, "cache")
			_, err := ExtractCache(tarOf(t, []entry{{name: "0/", typ: tar.TypeDir}, c.entry}), dir, nil)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("%s holds %d entries after a refused tar", dir, len(entries))
			}
			if _, err := os.Lstat(filepath.Join(base, "escaped")); err == nil {
				t.Errorf("a file escaped the directory")
			}
		})
	}

	// A symlink already in the directory is not followed out of it.
	base := t.TempDir()
	dir := filepath.Join(base, "cache")
	os.MkdirAll(dir, 0o755)
	os.Symlink(base, filepath.Join(dir, "nar"))
	_, err := ExtractCache(tarOf(t, []entry{{name: "0/", typ: tar.TypeDir}, {name: "0/nar/", typ: tar.TypeDir}, {name: "0/nar/x", body: "x", typ: tar.TypeReg}}), dir, nil)
	if err == nil {
		t.Fatal("wrote through a symlink out of the directory")
	}
	if _, err := os.Lstat(filepath.Join(base, "x")); err == nil {
		t.Errorf("a file escaped through the symlink")
	}
}
