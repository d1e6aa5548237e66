package hoststore

import (
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nixcross/nixcross/internal/storetest"
)

// TestWriterPublishes: a path is invisible under its temporary name until
// Publish, a second Publish of the same path (a concurrent run's) is
// success and leaves only the first, and Discard leaves nothing.
func TestWriterPublishes(t *testing.T) {
	s := openStore(t, t.TempDir())
	w, err := s.NewWriter(make([]byte, 4096))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	sp := storetest.StorePath("hello")
	write := func(contents string) Temp {
		t.Helper()
		tmp, err := w.Create(sp)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(tmp.Name, TempPrefix) {
			t.Fatalf("temporary name %q", tmp.Name)
		}
		dir, done, err := tmp.Parent.Dir(tmp.Name)
		if err == nil {
			err = dir.File("f", false, strings.NewReader(contents))
		}
		if err == nil {
			err = done()
		}
		if err != nil {
			t.Fatal(err)
		}
		return tmp
	}
	entries := func() []string {
		des, err := os.ReadDir(filepath.Join(s.Root, "nix", "store"))
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range des {
			names = append(names, e.Name())
		}
		return names
	}

	first := write("first")
	if s.Has(sp) {
		t.Fatal("published before Publish")
	}
	f, err := first.Open("f")
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(f)
	f.Close()
	if err != nil || string(data) != "first" {
		t.Fatalf("read back %q, %v", data, err)
	}
	if err := first.Publish(); err != nil {
		t.Fatal(err)
	}
	if err := write("second").Publish(); err != nil {
		t.Fatalf("publishing a path already there: %v", err)
	}
	write("discarded").Discard()
	if got, want := entries(), []string{path.Base(sp)}; !slices.Equal(got, want) {
		t.Errorf("store holds %q, want %q", got, want)
	}
	if data, err := os.ReadFile(filepath.Join(s.Dir(sp), "f")); err != nil || string(data) != "first" {
		t.Errorf("published %q, %v; want the first", data, err)
	}
	if _, err := w.Create("/tmp/not-a-store-path"); err == nil {
		t.Error("Create took a path outside the store")
	}
}
