package hoststore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/nixcross/nixcross/internal/storetest"
)

func TestDereference(t *testing.T) {
	root := t.TempDir()
	s := openStore(t, root)
	dep, top := storetest.StorePath("dep"), storetest.StorePath("top")
	// Decoys inside Root but outside the closure: links must not reach them.
	storetest.WriteFile(t, filepath.Join(root, "etc", "passwd"), "decoy", 0o644)
	storetest.WriteFile(t, filepath.Join(root, "nix", "var", "db"), "decoy", 0o644)

	addTree(t, s, "dep", storetest.Tree{
		"bin/dep*":          "dep binary",
		"lib/libdep.so.1":   "libdep",
		"share/data.txt":    "data",
		"share/up":          "->" + top,             // back to the output being copied
		"share/rel-sibling": "->../lib/libdep.so.1", // relative inside dep
	})
	addTree(t, s, "top", storetest.Tree{
		"bin/tool*":     "tool",
		"bin/dep-tool":  "->" + dep + "/bin/dep",
		"lib/libdep.so": "->../../" + path.Base(dep) + "/lib/libdep.so.1",
		"lib/libz.so":   "->libz.so.1",
		"lib/libz.so.1": "z",
		"share":         "->" + dep + "/share",
		"etc-passwd":    "->/etc/passwd",
		"nix-var":       "->/nix/var/db",
		"escape":        "->../../../../../../etc/shadow",
		"dangling":      "->" + top + "/nope",
		"notinclosure":  "->" + storetest.StorePath("not-exported") + "/bin/x",
		"loop1":         "->loop2",
		"loop2":         "->loop1",
		"self":          "->.",
		"abs-self":      "->" + top,
		"updown":        "->../" + path.Base(top) + "/bin/tool",
		"chain":         "->bin/dep-tool",
		"through-file":  "->bin/tool/x",
	})
	dest := filepath.Join(root, "result-deref")

	rep, err := s.Dereference(top, dest, 1<<40)
	if err != nil {
		t.Fatal(err)
	}
	wantLeft := []LeftLink{
		{"abs-self", top, ReasonLoop},
		{"dangling", top + "/nope", ReasonDangling},
		{"escape", "../../../../../../etc/shadow", ReasonOutside},
		{"etc-passwd", "/etc/passwd", ReasonOutside},
		{"loop1", "loop2", ReasonLoop},
		{"loop2", "loop1", ReasonLoop},
		{"nix-var", "/nix/var/db", ReasonOutside},
		{"notinclosure", storetest.StorePath("not-exported") + "/bin/x", ReasonOutside},
		{"share/up", top, ReasonLoop},
		{"through-file", "bin/tool/x", ReasonDangling},
	}
	if !reflect.DeepEqual(rep.Left, wantLeft) {
		t.Errorf("left out:\n got %+v\nwant %+v", rep.Left, wantLeft)
	}
	// bin/dep-tool, chain, lib/libdep.so, share, share/rel-sibling, updown
	if rep.Resolved != 6 || rep.Relative != 2 {
		t.Errorf("resolved %d, relative %d; want 6 and 2", rep.Resolved, rep.Relative)
	}

	tests := []struct {
		rel      string
		contents string      // for files
		link     string      // for kept links
		mode     os.FileMode // permission bits for files
		absent   bool        // for links left out
	}{
		{rel: "bin/tool", contents: "tool", mode: 0o555},
		{rel: "bin/dep-tool", contents: "dep binary", mode: 0o555},
		{rel: "chain", contents: "dep binary", mode: 0o555},
		{rel: "lib/libdep.so", contents: "libdep", mode: 0o444},
		{rel: "lib/libz.so", link: "libz.so.1"},
		{rel: "self", link: "."},
		{rel: "updown", contents: "tool", mode: 0o555},
		{rel: "share/data.txt", contents: "data", mode: 0o444},
		{rel: "share/rel-sibling", contents: "libdep", mode: 0o444},
		{rel: "share/up", absent: true},
		{rel: "etc-passwd", absent: true},
		{rel: "escape", absent: true},
		{rel: "dangling", absent: true},
		{rel: "loop1", absent: true},
	}
	for _, tt := range tests {
		p := filepath.Join(dest, tt.rel)
		fi, err := os.Lstat(p)
		if tt.absent {
			if !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("%s is in the copy: %v", tt.rel, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.rel, err)
			continue
		}
		if tt.link != "" {
			if got, _ := os.Readlink(p); got != tt.link {
				t.Errorf("%s -> %q, want a kept link to %q", tt.rel, got, tt.link)
			}
			continue
		}
		if !fi.Mode().IsRegular() {
			t.Errorf("%s is %v, want a regular file", tt.rel, fi.Mode())
			continue
		}
		if data, _ := os.ReadFile(p); string(data) != tt.contents {
			t.Errorf("%s = %q, want %q", tt.rel, data, tt.contents)
		}
		if fi.Mode().Perm() != tt.mode {
			t.Errorf("%s mode %v, want %v", tt.rel, fi.Mode().Perm(), tt.mode)
		}
	}
	if fi, err := os.Lstat(filepath.Join(dest, "share")); err != nil || !fi.IsDir() {
		t.Errorf("share is not a copied directory: %v", err)
	}
	storetest.CheckModes(t, dest)

	// A rerun replaces the previous copy: dest is a relative link to it.
	first, _ := os.Readlink(dest)
	storetest.WriteFile(t, filepath.Join(dest, "stale"), "from before", 0o644)
	if _, err := s.Dereference(top, dest, 1<<40); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(dest, "stale")); err == nil {
		t.Error("previous copy not replaced")
	}
	if again, _ := os.Readlink(dest); again == first || !strings.HasPrefix(again, DerefDir+"/") {
		t.Errorf("dest -> %q, then %q; want a new copy in %s", first, again, DerefDir)
	}
	entries, _ := os.ReadDir(root)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), TempPrefix) {
			t.Errorf("stray temporary %s", e.Name())
		}
	}
}

func TestDereferenceTopLevelSymlink(t *testing.T) {
	root := t.TempDir()
	s := openStore(t, root)
	dep := addTree(t, s, "dep", storetest.Tree{"bin/dep*": "dep binary"})
	tests := []struct {
		name     string
		target   string
		wantFile string // contents when resolved
		wantLeft string // reason when left out
	}{
		{name: "into the closure", target: dep + "/bin/dep", wantFile: "dep binary"},
		{name: "out of the closure", target: "/etc/passwd", wantLeft: ReasonOutside},
		{name: "a directory out of the closure", target: "/etc", wantLeft: ReasonOutside},
		{name: "nowhere", target: dep + "/nope", wantLeft: ReasonDangling},
		{name: "itself", target: "/nix/store/" + path.Base(storetest.StorePath("link-itself")), wantLeft: ReasonLoop},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "link")
			storetest.Symlink(t, tt.target, dir)
			sp := addDir(t, s, "link-"+strings.ReplaceAll(tt.name, " ", "-"), dir)
			out := t.TempDir()
			dest := filepath.Join(out, "copy")
			rep, err := s.Dereference(sp, dest, 1<<40)
			if tt.wantLeft != "" {
				if !errors.Is(err, ErrOutputLeft) {
					t.Fatalf("err = %v, want ErrOutputLeft", err)
				}
				if len(rep.Left) != 1 || rep.Left[0] != (LeftLink{".", tt.target, tt.wantLeft}) {
					t.Errorf("report %+v", rep)
				}
				if entries, _ := os.ReadDir(out); len(entries) != 0 {
					t.Errorf("written: %v", entries)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if data, err := os.ReadFile(dest); err != nil || string(data) != tt.wantFile {
				t.Errorf("dest = %q, %v", data, err)
			}
		})
	}
}

func TestDereferenceRefuses(t *testing.T) {
	root := t.TempDir()
	s := openStore(t, root)
	top := addTree(t, s, "top", storetest.Tree{"f": "x"})
	tests := []struct {
		name      string
		storePath string
		dest      func(t *testing.T) string
		wantErr   string
	}{
		{"not exported", storetest.StorePath("absent"), func(t *testing.T) string { return filepath.Join(t.TempDir(), "d") }, "not in the output store"},
		{"invalid store path", "/etc", func(t *testing.T) string { return filepath.Join(t.TempDir(), "d") }, "dereference /etc"},
		{"dest is a directory", top, func(t *testing.T) string {
			d := filepath.Join(t.TempDir(), "d")
			storetest.WriteFile(t, filepath.Join(d, "mine"), "the user's", 0o644)
			return d
		}, "is a directory, not a link: nixcross will not replace it"},
		{"dest is a file", top, func(t *testing.T) string {
			d := filepath.Join(t.TempDir(), "d")
			storetest.WriteFile(t, d, "the user's", 0o644)
			return d
		}, "is a file, not a link: nixcross will not replace it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dest := tt.dest(t)
			before := storetest.Snapshot(t, filepath.Dir(dest), nil)
			_, err := s.Dereference(tt.storePath, dest, 1<<40)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if d := storetest.Diff(before, storetest.Snapshot(t, filepath.Dir(dest), nil)); len(d) > 0 {
				t.Errorf("changed: %v", d)
			}
		})
	}
}

// TestDereferenceFanOut: a closure of a few kilobytes whose links double
// at every level would dereference into 2^30 copies of its file; the copy
// stops at its limit with ErrDerefTooLarge and leaves nothing behind.
func TestDereferenceFanOut(t *testing.T) {
	root := t.TempDir()
	s := openStore(t, root)
	const levels = 30
	fan := storetest.StorePath("fan")
	spec := storetest.Tree{fmt.Sprintf("l%d/file", levels): strings.Repeat("x", 1024)}
	for i := range levels {
		next := fmt.Sprintf("->%s/l%d", fan, i+1)
		spec[fmt.Sprintf("l%d/a", i)] = next
		spec[fmt.Sprintf("l%d/b", i)] = next
	}
	if got := addTree(t, s, "fan", spec); got != fan {
		t.Fatalf("exported %s, want %s", got, fan)
	}
	top := addTree(t, s, "top", storetest.Tree{"share": "->" + fan + "/l0"})

	dir := t.TempDir()
	dest := filepath.Join(dir, "copy")
	_, err := s.Dereference(top, dest, 1<<20)
	if !errors.Is(err, ErrDerefTooLarge) {
		t.Fatalf("err = %v, want ErrDerefTooLarge", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 || entries[0].Name() != DerefDir {
		t.Errorf("left behind: %v", entries)
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, DerefDir)); len(entries) != 0 {
		t.Errorf("left behind: %v", entries)
	}

	// The same links a few levels deep are an ordinary copy.
	small := addTree(t, s, "small", storetest.Tree{"share": "->" + fan + fmt.Sprintf("/l%d", levels-3)})
	rep, err := s.Dereference(small, dest, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Resolved != 1+2+4+8 {
		t.Errorf("resolved %d links, want 15", rep.Resolved)
	}
}
