//go:build integration

package integration

import (
	"context"
	"debug/elf"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/moby/moby/client"

	root "github.com/nixcross/nixcross"
	"github.com/nixcross/nixcross/internal/build"
	"github.com/nixcross/nixcross/internal/engine"
)

// TestNoopRebuild: the second build of the same attribute builds nothing
// and copies nothing.
func TestNoopRebuild(t *testing.T) {
	dir := workdir(t)
	args := append([]string{"build", fixtureDir, "--system", "aarch64-linux", "--json"}, offline...)
	if r := nixcross(t, dir, nil, args...); r.code != 0 {
		t.Fatalf("first build: exit %d", r.code)
	}
	r := nixcross(t, dir, nil, args...)
	if r.code != 0 {
		t.Fatalf("second build: exit %d", r.code)
	}
	if strings.Contains(r.stderr, "building '") {
		t.Fatalf("the second build built derivations:\n%s", r.stderr)
	}
	b := parseBuilds(t, r.stdout)
	if b[0].Copied.Bytes != 0 || b[0].Copied.Paths != 0 {
		t.Fatalf("second build copied %+v", b[0].Copied)
	}
}

// TestSeveralSystems: one call, two systems, one link each.
func TestSeveralSystems(t *testing.T) {
	dir := workdir(t)
	r := nixcross(t, dir, nil, append([]string{"build", fixtureDir, "--system", "aarch64-linux,riscv64-linux", "--json"}, offline...)...)
	if r.code != 0 {
		t.Fatalf("exit %d", r.code)
	}
	if len(parseBuilds(t, r.stdout)) != 2 {
		t.Fatalf("want two builds in %s", r.stdout)
	}
	for sys, m := range map[string]elf.Machine{"aarch64-linux": elf.EM_AARCH64, "riscv64-linux": elf.EM_RISCV} {
		f, err := elf.Open(filepath.Join(dir, "result-"+sys, "bin", "hello"))
		if err != nil {
			t.Fatal(err)
		}
		if f.Machine != m {
			t.Errorf("result-%s is %v", sys, f.Machine)
		}
		f.Close()
	}
	if _, err := os.Lstat(filepath.Join(dir, "result")); err == nil {
		t.Errorf("several systems also wrote a plain result link")
	}
}

// TestConcurrentInvocations: four runs at once, different systems and
// attributes, one output directory: all succeed with correct results.
func TestConcurrentInvocations(t *testing.T) {
	dir := workdir(t)
	runs := []struct{ ref, system, link, want string }{
		{fixtureDir, "aarch64-linux", "a", "machine=aarch64"},
		{fixtureDir, "riscv64-linux", "b", "machine=riscv64"},
		{fixtureDir, "x86_64-linux", "c", "machine=x86_64"},
		{fixtureDir + "#greeting", "aarch64-linux", "d", "hello from aarch64-linux"},
	}
	var wg sync.WaitGroup
	results := make([]run, len(runs))
	for i, c := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = nixcross(t, dir, nil, append([]string{"build", c.ref, "--system", c.system, "-o", c.link}, offline...)...)
		}()
	}
	wg.Wait()
	for i, c := range runs {
		if results[i].code != 0 {
			t.Fatalf("%s %s: exit %d", c.ref, c.system, results[i].code)
		}
		file := filepath.Join(dir, c.link, "share", "arch")
		if strings.HasSuffix(c.ref, "#greeting") {
			file = filepath.Join(dir, c.link, "greeting")
		}
		got, err := os.ReadFile(file)
		if err != nil || !strings.Contains(string(got), c.want) {
			t.Errorf("%s: %q %v, want %q", c.link, got, err, c.want)
		}
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "nix", "store"))
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("stray temporary left in the output store: %s", e.Name())
		}
	}
}

// TestImageChangeUsesNewVolume: another image (here a derived one via
// --image) gets its own cache volume; cache ls lists it; once the image is
// gone, cache prune removes it.
func TestImageChangeUsesNewVolume(t *testing.T) {
	ctx := context.Background()
	base := engine.BuilderTag(root.Dockerfile, build.DefaultBase)
	tag := "nixcross-it-derived:latest"
	// The derived image keeps something of its own under /nix, as images
	// like nixos/nix keep Nix itself there: a new cache volume must be
	// seeded from it.
	derivedVolume := derivedBuilder(t, tag, "seeded-builder")

	dir := workdir(t)
	if r := nixcross(t, dir, nil, append([]string{"build", fixtureDir, "--system", "x86_64-linux", "--image", tag}, offline...)...); r.code != 0 {
		t.Fatalf("build with --image: exit %d", r.code)
	}
	sh := nixcross(t, dir, nil, "shell", "--image", tag, fixtureDir, "--", "cat", "/nix/var/seed/marker")
	if sh.code != 0 || !strings.Contains(sh.stdout, "seeded-from-image") {
		t.Fatalf("the new volume was not seeded from the image's /nix: exit %d %q", sh.code, sh.stdout)
	}
	ls := nixcross(t, dir, nil, "cache", "ls", "--json")
	var doc struct {
		Volumes []struct {
			Name         string `json:"name"`
			Image        string `json:"image"`
			ImagePresent bool   `json:"imagePresent"`
		} `json:"volumes"`
	}
	if err := json.Unmarshal([]byte(ls.stdout), &doc); err != nil {
		t.Fatalf("cache ls --json: %v\n%s", err, ls.stdout)
	}
	found := map[string]bool{}
	for _, v := range doc.Volumes {
		found[v.Name] = v.ImagePresent
	}
	builderImg, err := docker.ImageInspect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	builderVolume := storeVolume(t, builderImg.ID, fixtureDir)
	if present, ok := found[derivedVolume]; !ok || !present {
		t.Fatalf("derived image's volume %s not listed as live: %+v", derivedVolume, doc.Volumes)
	}
	if _, ok := found[builderVolume]; !ok {
		t.Fatalf("builder image's volume not listed: %+v", doc.Volumes)
	}
	if derivedVolume == builderVolume {
		t.Fatal("two images share one volume")
	}
	if _, err := docker.ImageRemove(ctx, tag, client.ImageRemoveOptions{Force: true, PruneChildren: true}); err != nil {
		t.Fatal(err)
	}
	pr := nixcross(t, dir, nil, "cache", "prune")
	if pr.code != 0 || !strings.Contains(pr.stdout, derivedVolume) {
		t.Fatalf("cache prune: exit %d, stdout %q", pr.code, pr.stdout)
	}
	if _, err := docker.VolumeInspect(ctx, derivedVolume, client.VolumeInspectOptions{}); err == nil {
		t.Fatal("volume of the removed image still exists")
	}
	if _, err := docker.VolumeInspect(ctx, builderVolume, client.VolumeInspectOptions{}); err != nil {
		t.Fatalf("prune removed the live volume: %v", err)
	}
}

// TestCacheGC: gc keeps what recent results need; with --keep 0s the
// results' roots go and the next build builds again.
func TestCacheGC(t *testing.T) {
	dir := workdir(t)
	args := append([]string{"build", fixtureDir + "#greeting", "--system", "riscv64-linux"}, offline...)
	if r := nixcross(t, dir, nil, args...); r.code != 0 {
		t.Fatalf("build: exit %d", r.code)
	}
	if r := nixcross(t, dir, nil, "cache", "gc"); r.code != 0 {
		t.Fatalf("gc: exit %d", r.code)
	}
	if r := nixcross(t, dir, nil, args...); r.code != 0 || strings.Contains(r.stderr, "building '") {
		t.Fatalf("after gc with the default --keep, the result was rebuilt (exit %d)", r.code)
	}
	if r := nixcross(t, dir, nil, "cache", "gc", "--keep", "0s"); r.code != 0 || !strings.Contains(r.stderr, "dropped root") {
		t.Fatalf("gc --keep 0s: exit %d\n%s", r.code, r.stderr)
	}
	if r := nixcross(t, dir, nil, args...); r.code != 0 || !strings.Contains(r.stderr, "building '") {
		t.Fatalf("after gc --keep 0s the result was not rebuilt (exit %d)", r.code)
	}
}

// TestPruneGoneFlake: a flake directory that is removed leaves its cache
// volume behind; cache ls says the flake is gone and cache prune removes
// that volume, never the volume of a flake still there.
func TestPruneGoneFlake(t *testing.T) {
	ctx := context.Background()
	flake := filepath.Join(workdir(t), "flake")
	if out, err := exec.Command("cp", "-a", fixtureDir, flake).CombinedOutput(); err != nil {
		t.Fatalf("copy the fixture: %v\n%s", err, out)
	}
	dir := workdir(t)
	for _, f := range []string{flake, fixtureDir} {
		if r := nixcross(t, dir, nil, append([]string{"build", f + "#greeting", "--system", "x86_64-linux"}, offline...)...); r.code != 0 {
			t.Fatalf("build %s: exit %d", f, r.code)
		}
	}
	img, err := docker.ImageInspect(ctx, engine.BuilderTag(root.Dockerfile, build.DefaultBase))
	if err != nil {
		t.Fatal(err)
	}
	gone, live := storeVolume(t, img.ID, flake), storeVolume(t, img.ID, fixtureDir)
	t.Cleanup(func() { docker.VolumeRemove(ctx, gone, client.VolumeRemoveOptions{Force: true}) })
	if err := os.RemoveAll(flake); err != nil {
		t.Fatal(err)
	}
	ls := nixcross(t, dir, nil, "cache", "ls")
	if !strings.Contains(ls.stdout, flake+" (gone)") {
		t.Fatalf("cache ls does not say %s is gone:\n%s", flake, ls.stdout)
	}
	pr := nixcross(t, dir, nil, "cache", "prune")
	if pr.code != 0 || !strings.Contains(pr.stdout, gone) {
		t.Fatalf("cache prune: exit %d, stdout %q", pr.code, pr.stdout)
	}
	if _, err := docker.VolumeInspect(ctx, gone, client.VolumeInspectOptions{}); err == nil {
		t.Fatal("the gone flake's volume is still there")
	}
	if _, err := docker.VolumeInspect(ctx, live, client.VolumeInspectOptions{}); err != nil {
		t.Fatalf("prune removed the volume of a flake that is still there: %v", err)
	}
}
