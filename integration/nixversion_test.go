//go:build integration

package integration

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"

	root "github.com/nixcross/nixcross"
	"github.com/nixcross/nixcross/internal/engine"
	"github.com/nixcross/nixcross/internal/nix"
)

// oldBase is Debian bookworm, whose Nix (2.8) is older than nixpkgs' floor:
// the builder recipe on it makes the image a user's old --image would be.
const oldBase = "debian:bookworm-slim"

// TestNixpkgsVersionGate: the fixture applies nixpkgs' own check of
// builtins.nixVersion; the default image evaluates it and builds for a
// native and two emulated systems, and reports the Nix it used.
func TestNixpkgsVersionGate(t *testing.T) {
	flake, err := os.ReadFile(filepath.Join(fixtureDir, "flake.nix"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(flake), `requiredVersion = "2.18"`) || !strings.Contains(string(flake), "builtins.compareVersions requiredVersion builtins.nixVersion") {
		t.Fatal("the fixture no longer applies nixpkgs' version check")
	}
	dir := workdir(t)
	systems := []string{"x86_64-linux", "aarch64-linux", "riscv64-linux"}
	r := nixcross(t, dir, nil, append([]string{"build", fixtureDir, "--system", strings.Join(systems, ","), "--jobs", "2", "--json", "--verify"}, offline...)...)
	if r.code != 0 {
		t.Fatalf("exit %d", r.code)
	}
	builds := parseBuilds(t, r.stdout)
	if len(builds) != len(systems) {
		t.Fatalf("%d builds, want %d", len(builds), len(systems))
	}
	for _, b := range builds {
		v, err := nix.ParseVersion("nix (Nix) " + b.Nix)
		if err != nil || v.Supported() != nil {
			t.Errorf("%s: built with Nix %q, want a supported version", b.System, b.Nix)
		}
		if _, err := os.Stat(filepath.Join(dir, "result-"+b.System, "bin", "hello")); err != nil {
			t.Errorf("%s: %v", b.System, err)
		}
	}
}

// TestOldNixImageIsRefused: an --image whose Nix is older than 2.18 is
// refused with exit 3 before anything builds, naming the version found,
// the minimum and why, and leaving nothing behind. The same image really
// fails the fixture's (nixpkgs') check, and nixcross explains that failure.
func TestOldNixImageIsRefused(t *testing.T) {
	ctx := context.Background()
	eng, err := engine.Connect(ctx, engine.Selection{})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	img, err := eng.EnsureBuilderImage(ctx, root.Dockerfile, oldBase, nil)
	if err != nil {
		t.Fatalf("build the builder recipe on %s: %v", oldBase, err)
	}
	t.Cleanup(func() {
		docker.ImageRemove(context.Background(), img.Ref, client.ImageRemoveOptions{Force: true, PruneChildren: true})
	})

	dir := workdir(t)
	r := nixcross(t, dir, nil, append([]string{"build", fixtureDir, "--image", img.Ref, "--system", "aarch64-linux"}, offline...)...)
	if r.code != 3 {
		t.Errorf("exit %d, want 3 (environment)", r.code)
	}
	for _, want := range []string{"Nix is 2.8.0", "Nix 2.18 or later", "nixpkgs", "drop --image"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q", want)
		}
	}
	if strings.Contains(r.stderr, "emulation aarch64-linux") || strings.Contains(r.stderr, "build "+fixtureDir) {
		t.Error("nixcross went on to emulation or the build with an unsupported Nix")
	}
	if _, err := os.Lstat(filepath.Join(dir, "result")); !os.IsNotExist(err) {
		t.Errorf("a result was left: %v", err)
	}
	if left := managedContainers(t, "build"); len(left) > 0 {
		t.Errorf("containers left: %v", left)
	}

	// The gate is real: Nix 2.8 aborts the fixture's evaluation with
	// nixpkgs' words, which nixcross turns into advice.
	out, code := runContainer(t, img.Ref, "old-nix",
		testcontainers.ContainerMounts{testcontainers.BindMount(fixtureDir, "/fixture")},
		"nix", "eval", "--no-write-lock-file", "/fixture#packages.x86_64-linux.default.name")
	t.Logf("nix 2.8 on the fixture: exit %d\n%s", code, out)
	if code == 0 {
		t.Error("Nix 2.8 evaluated the fixture: its version check does not work")
	}
	if a := nix.Explain(string(out)); a == nil || a.Kind != "nix-version" || a.Path != "2.18" {
		t.Errorf("Nix 2.8's failure on the fixture is not recognised as too old a Nix: %+v", a)
	}
}
