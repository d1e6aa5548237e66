package hoststore

import (
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nixcross/nixcross/internal/storetest"
)

func TestLink(t *testing.T) {
	tests := []struct {
		name    string
		before  func(t *testing.T, outLink string) // what is at the out-link already
		wantErr string
		// untouched, when set, is checked to be still there unchanged.
		untouched func(t *testing.T, outLink string)
	}{
		{name: "no out-link yet", before: func(*testing.T, string) {}},
		{name: "replaces an old out-link", before: func(t *testing.T, o string) { storetest.Symlink(t, "nix/store/old", o) }},
		{name: "replaces an absolute out-link", before: func(t *testing.T, o string) { storetest.Symlink(t, "/nix/store/old", o) }},
		{
			name:    "refuses a real file",
			before:  func(t *testing.T, o string) { storetest.WriteFile(t, o, "user data", 0o644) },
			wantErr: "not a link: nixcross will not replace it",
			untouched: func(t *testing.T, o string) {
				if data, err := os.ReadFile(o); err != nil || string(data) != "user data" {
					t.Errorf("user file changed: %q, %v", data, err)
				}
			},
		},
		{
			name:    "refuses a directory",
			before:  func(t *testing.T, o string) { storetest.WriteFile(t, filepath.Join(o, "mine"), "user data", 0o644) },
			wantErr: "not a link: nixcross will not replace it",
			untouched: func(t *testing.T, o string) {
				if data, err := os.ReadFile(filepath.Join(o, "mine")); err != nil || string(data) != "user data" {
					t.Errorf("user directory changed: %q, %v", data, err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "build")
			s := openStore(t, dir)
			sp := addTree(t, s, "hello", storetest.Tree{"bin/hello*": "hi"})
			outLink := filepath.Join(dir, "result")
			tt.before(t, outLink)

			err := s.Link(outLink, sp)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				tt.untouched(t, outLink)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			target, err := os.Readlink(outLink)
			if err != nil {
				t.Fatal(err)
			}
			if want := "nix/store/" + path.Base(sp); target != want {
				t.Errorf("out-link -> %q, want %q", target, want)
			}
			if _, err := os.Stat(filepath.Join(outLink, "bin", "hello")); err != nil {
				t.Errorf("out-link does not resolve: %v", err)
			}
			// Relative, so it survives moving the whole directory.
			moved := dir + "-moved"
			if err := os.Rename(dir, moved); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(filepath.Join(moved, "result", "bin", "hello")); err != nil {
				t.Errorf("out-link broken after a move: %v", err)
			}
			entries, _ := os.ReadDir(moved)
			for _, e := range entries {
				if strings.HasPrefix(e.Name(), TempPrefix) {
					t.Errorf("stray temporary %s", e.Name())
				}
			}
		})
	}
}

func TestLinkMissingPath(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	err := s.Link(filepath.Join(dir, "result"), storetest.StorePath("never-exported"))
	if err == nil || !strings.Contains(err.Error(), "not in the output store") {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "result")); err == nil {
		t.Error("out-link created to a missing path")
	}
}
