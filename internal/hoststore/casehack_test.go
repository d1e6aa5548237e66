package hoststore

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCaseHack: where an entry's name is taken already, which inside a
// path's directory only a case-insensitive file system (default macOS)
// can make happen, the entry gets Nix's case-hack name instead of failing;
// nothing existing is touched. This host's file system is case-sensitive,
// so the collision is made by writing the same name twice.
func TestCaseHack(t *testing.T) {
	dir := t.TempDir()
	r, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	w := rootWriter{r: r, copyBuf: make([]byte, 4096), caseHack: true}
	for i, content := range []string{"first", "second", "third"} {
		if err := w.File("N", false, strings.NewReader(content)); err != nil {
			t.Fatalf("file %d: %v", i, err)
		}
	}
	if err := w.Symlink("link", "N"); err != nil {
		t.Fatal(err)
	}
	if err := w.Symlink("link", "elsewhere"); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		_, done, err := w.Dir("d")
		if err != nil {
			t.Fatal(err)
		}
		done()
	}
	want := map[string]string{
		"N":                    "first",
		"N~nix~case~hack~1":    "second",
		"N~nix~case~hack~2":    "third",
		"link":                 "->N",
		"link~nix~case~hack~1": "->elsewhere",
		"d":                    "dir",
		"d~nix~case~hack~1":    "dir",
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != len(want) {
		t.Errorf("entries %v, want %d", entries, len(want))
	}
	for name, w := range want {
		p := filepath.Join(dir, name)
		switch {
		case w == "dir":
			if fi, err := os.Lstat(p); err != nil || !fi.IsDir() {
				t.Errorf("%s is not a directory: %v", name, err)
			}
		case strings.HasPrefix(w, "->"):
			if got, err := os.Readlink(p); err != nil || got != w[2:] {
				t.Errorf("%s -> %q, %v; want %q", name, got, err, w[2:])
			}
		default:
			if got, err := os.ReadFile(p); err != nil || string(got) != w {
				t.Errorf("%s = %q, %v; want %q", name, got, err, w)
			}
		}
	}

	// At a path's top level the name is nixcross's own temporary: a
	// collision there is an error, never renamed.
	top := rootWriter{r: r, copyBuf: make([]byte, 4096)}
	if err := top.File("N", false, strings.NewReader("x")); !errors.Is(err, fs.ErrExist) {
		t.Errorf("top-level collision: %v, want ErrExist", err)
	}
}
