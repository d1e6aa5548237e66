package release

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// The checked-in command reference is what the command tree generates now:
// a flag, command or help text changed without `make docs` fails here.
func TestReferenceCurrent(t *testing.T) {
	pages, err := Reference()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("..", "..", filepath.FromSlash(ReferenceDir))
	want := map[string]bool{}
	for _, p := range pages {
		want[p.Name] = true
		got, err := os.ReadFile(filepath.Join(dir, p.Name))
		if err != nil {
			t.Errorf("%s/%s is missing; run make docs", ReferenceDir, p.Name)
			continue
		}
		if !bytes.Equal(got, p.Data) {
			t.Errorf("%s/%s is stale; run make docs", ReferenceDir, p.Name)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var extra []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".md") && !want[e.Name()] {
			extra = append(extra, e.Name())
		}
	}
	sort.Strings(extra)
	if len(extra) > 0 {
		t.Errorf("%s has pages of no command: %v; run make docs", ReferenceDir, extra)
	}
	if !want["nixcross.md"] || !want["nixcross_build.md"] {
		t.Errorf("reference lacks the root or the build page: %d pages", len(pages))
	}
}
