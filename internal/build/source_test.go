package build

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nixcross/nixcross/internal/status"
)

func TestResolveFlake(t *testing.T) {
	for _, remote := range []string{"github:NixOS/nixpkgs", "git+https://example.com/x", "https://example.com/x.tar.gz"} {
		src, err := ResolveFlake(remote)
		if err != nil || src.Local || src.Ref(remote) != remote || src.StoreKey(remote) != remote {
			t.Errorf("%s: %+v %v", remote, src, err)
		}
	}
	top := t.TempDir()
	top, _ = filepath.EvalSymlinks(top)
	sub := filepath.Join(top, "sub")
	os.MkdirAll(sub, 0o755)
	os.WriteFile(filepath.Join(sub, "flake.nix"), []byte("{}"), 0o644)
	os.WriteFile(filepath.Join(sub, "untracked.nix"), []byte("{}"), 0o644)
	src, err := ResolveFlake(sub)
	if err != nil || src.InGit || src.Top != sub || src.ContainerDir != sub || src.StoreKey(sub) != sub {
		t.Fatalf("outside git: %+v %v", src, err)
	}
	git := func(args ...string) {
		cmd := exec.Command("git", append([]string{"-C", top, "-c", "user.name=t", "-c", "user.email=t@t"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v %s", args, err, out)
		}
	}
	git("init", "-q")
	git("add", "sub/flake.nix")
	git("commit", "-qm", "x")
	src, err = ResolveFlake(sub)
	if err != nil || !src.InGit || src.Top != top || src.ContainerTop != top || src.ContainerDir != top+"/sub" || src.StoreKey(sub) != top {
		t.Fatalf("in git: %+v %v", src, err)
	}
	// Nix names files relative to the repository's top, not the flake's
	// directory; a path from a log must stay inside the repository.
	os.WriteFile(filepath.Join(filepath.Dir(top), "outside.nix"), []byte("{}"), 0o644)
	os.Symlink(filepath.Join(filepath.Dir(top), "outside.nix"), filepath.Join(top, "escape.nix"))
	for rel, want := range map[string]bool{
		"sub/untracked.nix": true,
		"untracked.nix":     false, // not at the top
		"sub/flake.nix":     false, // tracked
		"sub/missing.nix":   false,
		"../outside.nix":    false,
		"/etc/passwd":       false,
		"escape.nix":        false, // a link out of the repository
	} {
		add, ok := src.UntrackedFile(rel)
		if ok != want || ok && add != rel {
			t.Errorf("UntrackedFile(%q) = %q, %v; want %v", rel, add, ok, want)
		}
	}
}

// TestFlakeFoundAbove (issue 25): from a directory inside a flake, the
// flake is the nearest directory above with flake.nix, as Nix finds it,
// but never above a git repository's top; a path: reference is taken as
// it is.
func TestFlakeFoundAbove(t *testing.T) {
	outer := t.TempDir()
	os.WriteFile(filepath.Join(outer, "flake.nix"), []byte("{}"), 0o644)
	sub := filepath.Join(outer, "pkgs", "hello")
	os.MkdirAll(sub, 0o755)
	src, err := ResolveFlake(sub)
	if real, _ := filepath.EvalSymlinks(outer); err != nil || src.HostDir != real {
		t.Fatalf("from %s: %+v %v, want the flake at %s", sub, src, err, real)
	}
	if _, err := ResolveFlake("path:" + sub); status.ExitCode(err) != status.ExitUsage {
		t.Errorf("path:%s: %v, want no search upward", sub, err)
	}
	repo := filepath.Join(outer, "repo")
	os.MkdirAll(filepath.Join(repo, ".git"), 0o755)
	os.MkdirAll(filepath.Join(repo, "src"), 0o755)
	if _, err := ResolveFlake(filepath.Join(repo, "src")); status.ExitCode(err) != status.ExitUsage || !strings.Contains(err.Error(), "no flake.nix") {
		t.Errorf("inside a repository without a flake: %v, want not the flake above the repository", err)
	}
}
