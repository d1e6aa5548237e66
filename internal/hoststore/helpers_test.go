package hoststore

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/nixcross/nixcross/internal/nar"
	"github.com/nixcross/nixcross/internal/storetest"
)

func openStore(t testing.TB, root string) *Store {
	t.Helper()
	s, err := Open(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// addTree builds spec as a store path named name and adds it to s.
func addTree(t *testing.T, s *Store, name string, spec storetest.Tree) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "src")
	storetest.BuildTree(t, dir, spec)
	return addDir(t, s, name, dir)
}

// addDir adds dir to s as the store path named name, the way an export
// does: its NAR decoded through a Writer, then published.
func addDir(t *testing.T, s *Store, name, dir string) string {
	t.Helper()
	sp := storetest.StorePath(name)
	data := storetest.Dump(t, dir)
	w, err := s.NewWriter(make([]byte, 64<<10))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	tmp, err := w.Create(sp)
	if err != nil {
		t.Fatal(err)
	}
	if err := nar.Decode(bytes.NewReader(data), tmp.Parent, tmp.Name, nar.Options{Size: int64(len(data))}); err != nil {
		tmp.Discard()
		t.Fatal(err)
	}
	if err := tmp.Publish(); err != nil {
		t.Fatal(err)
	}
	return sp
}
