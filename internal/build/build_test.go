package build

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/nixcross/nixcross/internal/binfmt"
	"github.com/nixcross/nixcross/internal/engine"
)

// TestSweepLeftovers: only containers of dead runs on this machine go;
// live runs, other machines, kept containers and installed emulation stay.
func TestSweepLeftovers(t *testing.T) {
	host, _ := os.Hostname()
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	deadRun := fmt.Sprintf("%s:%d", host, dead.Process.Pid)
	liveRun := fmt.Sprintf("%s:%d", host, os.Getppid())
	items := []container.Summary{
		{ID: "dead-build", Names: []string{"/nixcross-build-x"}, Labels: map[string]string{engine.LabelRun: deadRun, engine.LabelRole: engine.RoleBuild}},
		{ID: "dead-holder", Names: []string{"/h"}, Labels: map[string]string{engine.LabelRun: deadRun, engine.LabelRole: engine.RoleBinfmt, binfmt.LabelBinfmt: "hold"}},
		{ID: "live", Names: []string{"/nixcross-build-y"}, Labels: map[string]string{engine.LabelRun: liveRun}},
		{ID: "other-host", Names: []string{"/z"}, Labels: map[string]string{engine.LabelRun: "elsewhere:1"}},
		{ID: "kept", Names: []string{"/" + engine.KeptPrefix + "aarch64-linux-1"}, Labels: map[string]string{engine.LabelRun: deadRun}},
		{ID: "installed", Names: []string{"/nixcross-binfmt"}, Labels: map[string]string{binfmt.LabelBinfmt: "install"}},
		{ID: "mine", Names: []string{"/nixcross-build-z"}, Labels: map[string]string{engine.LabelRun: engine.RunID()}},
	}
	var removed []string
	fake := &engine.Fake{
		ContainerListFunc: func(ctx context.Context, o client.ContainerListOptions) (client.ContainerListResult, error) {
			return client.ContainerListResult{Items: items}, nil
		},
		ContainerRemoveFunc: func(ctx context.Context, id string, o client.ContainerRemoveOptions) (client.ContainerRemoveResult, error) {
			if !o.Force {
				t.Errorf("%s removed without force", id)
			}
			removed = append(removed, id)
			return client.ContainerRemoveResult{}, nil
		},
	}
	r := &Runner{Engine: &engine.Engine{API: fake}}
	r.sweepLeftovers(context.Background())
	sort.Strings(removed)
	if fmt.Sprint(removed) != "[dead-build dead-holder]" {
		t.Fatalf("removed %v, want [dead-build dead-holder]", removed)
	}
}

func TestResolveFlake(t *testing.T) {
	for _, remote := range []string{"github:NixOS/nixpkgs", "git+https://example.com/x", "https://example.com/x.tar.gz"} {
		src, err := ResolveFlake(remote)
		if err != nil || src.Local || src.Ref(remote) != remote {
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
	if err != nil || src.InGit || src.Top != sub || src.ContainerDir != sub {
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
	if err != nil || !src.InGit || src.Top != top || src.ContainerTop != top || src.ContainerDir != top+"/sub" {
		t.Fatalf("in git: %+v %v", src, err)
	}
	if !src.UntrackedFile("untracked.nix") || src.UntrackedFile("flake.nix") || src.UntrackedFile("missing.nix") {
		t.Error("UntrackedFile is wrong")
	}
}
