package hoststore

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestCheckStoreDir: nix and nix/store beside the out-link must be
// directories nixcross writes, before anything builds.
func TestCheckStoreDir(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T, root string)
		ours  bool
	}{
		{"nothing yet", func(*testing.T, string) {}, true},
		{"empty nix", func(t *testing.T, root string) { mkdir(t, root, "nix") }, true},
		{"nixcross's store", func(t *testing.T, root string) {
			mkdir(t, root, "nix/store/0c2vm2kqhyp3rsvkylrdhm0ymkjw0mgm-hello")
			mkdir(t, root, "nix/store/"+TempPrefix+"00000000-1-2-nar")
		}, true},
		{"a file named nix", func(t *testing.T, root string) { write(t, root, "nix") }, false},
		{"nix a link", func(t *testing.T, root string) { link(t, root, "nix", "/nix") }, false},
		{"a file named nix/store", func(t *testing.T, root string) { mkdir(t, root, "nix"); write(t, root, "nix/store") }, false},
		{"another tool's store", func(t *testing.T, root string) { mkdir(t, root, "nix/store/.links") }, false},
		{"a stray file", func(t *testing.T, root string) { mkdir(t, root, "nix/store"); write(t, root, "nix/store/notes.txt") }, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			c.setup(t, root)
			err := CheckStoreDir(root)
			if c.ours && err != nil || !c.ours && !errors.Is(err, ErrNotOurs) {
				t.Errorf("CheckStoreDir = %v, want ours %v", err, c.ours)
			}
		})
	}
}

func mkdir(t *testing.T, root, rel string) {
	if err := os.MkdirAll(filepath.Join(root, rel), 0o755); err != nil {
		t.Fatal(err)
	}
}

func write(t *testing.T, root, rel string) {
	if err := os.WriteFile(filepath.Join(root, rel), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func link(t *testing.T, root, rel, target string) {
	if err := os.Symlink(target, filepath.Join(root, rel)); err != nil {
		t.Fatal(err)
	}
}
