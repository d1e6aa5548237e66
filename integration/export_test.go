//go:build integration

package integration

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/nix-community/go-nix/pkg/nar"
	"github.com/nix-community/go-nix/pkg/nixhash"
	"github.com/testcontainers/testcontainers-go"

	root "github.com/nixcross/nixcross"
	"github.com/nixcross/nixcross/internal/build"
	"github.com/nixcross/nixcross/internal/cache"
	"github.com/nixcross/nixcross/internal/engine"
	"github.com/nixcross/nixcross/internal/hoststore"
)

// derivedBuilder builds images/<name>, a Dockerfile derived from the
// builder image (ARG BUILDER_IMAGE), under tag, and removes the fixture's
// cache volume for it when the test ends. It returns that volume's name.
func derivedBuilder(t *testing.T, tag, name string) (volume string) {
	t.Helper()
	imageID := buildImage(t, tag, name, map[string]string{"BUILDER_IMAGE": engine.BuilderTag(root.Dockerfile, build.DefaultBase)})
	volume = storeVolume(t, imageID, fixtureDir)
	t.Cleanup(func() {
		docker.VolumeRemove(context.Background(), volume, client.VolumeRemoveOptions{Force: true})
	})
	return volume
}

// storeVolume is the cache volume that builds of flake use with the image
// imageID, named as nixcross names it.
func storeVolume(t *testing.T, imageID, flake string) string {
	t.Helper()
	src, err := build.ResolveFlake(flake)
	if err != nil {
		t.Fatal(err)
	}
	return cache.VolumeName(imageID, src.StoreKey(flake))
}

// nixPathInfo asks Nix itself, in a fresh container on the fixture's cache
// volume, for the closure of outputs with their NAR hashes.
func nixPathInfo(t *testing.T, outputs []string) map[string]string {
	t.Helper()
	ctx := context.Background()
	image := engine.BuilderTag(root.Dockerfile, build.DefaultBase)
	img, err := docker.ImageInspect(ctx, image)
	if err != nil {
		t.Fatal(err)
	}
	text, code := runContainer(t, image, "path-info",
		testcontainers.ContainerMounts{testcontainers.VolumeMount(storeVolume(t, img.ID, fixtureDir), "/nix")},
		append([]string{"nix", "--extra-experimental-features", "nix-command", "path-info", "--json", "--recursive"}, outputs...)...)
	if code != 0 {
		t.Fatalf("nix path-info: exit %d\n%s", code, text)
	}
	// Up to Nix 2.18 a list of entries with their path; from 2.19 an
	// object keyed by path (the builder image's Nix prints that).
	if i := strings.IndexAny(text, "[{"); i >= 0 {
		text = text[i:]
	}
	type info struct {
		Path    string `json:"path"`
		NarHash string `json:"narHash"`
	}
	var infos []info
	if err := json.Unmarshal([]byte(text), &infos); err != nil {
		var byPath map[string]info
		if err := json.Unmarshal([]byte(text), &byPath); err != nil {
			t.Fatalf("path-info output: %v\n%q", err, text)
		}
		for p, i := range byPath {
			i.Path = p
			infos = append(infos, i)
		}
	}
	out := map[string]string{}
	for _, i := range infos {
		out[i.Path] = i.NarHash
	}
	return out
}

// verifyExport re-serialises every exported path as a NAR and checks it
// hashes to Nix's narHash for that path.
func verifyExport(t *testing.T, dir string, hashes map[string]string) {
	t.Helper()
	if len(hashes) == 0 {
		t.Fatal("no paths to verify")
	}
	for p, want := range hashes {
		h := sha256.New()
		if err := nar.DumpPath(h, filepath.Join(dir, strings.TrimPrefix(p, "/"))); err != nil {
			t.Fatalf("%s missing or unreadable in the export: %v", p, err)
		}
		parsed, err := nixhash.ParseAny(want, nil)
		if err != nil {
			t.Fatal(err)
		}
		if string(parsed.Digest()) != string(h.Sum(nil)) {
			t.Errorf("%s: exported NAR hash differs from Nix's %s", p, want)
		}
	}
}

// TestExportMatchesNix: every exported path's NAR hash equals Nix's.
func TestExportMatchesNix(t *testing.T) {
	dir := workdir(t)
	r := nixcross(t, dir, nil, append([]string{"build", fixtureDir, "--system", "aarch64-linux", "--json"}, offline...)...)
	if r.code != 0 {
		t.Fatalf("exit %d", r.code)
	}
	b := parseBuilds(t, r.stdout)
	hashes := nixPathInfo(t, b[0].Outputs)
	if len(hashes) != b[0].Closure.Paths {
		t.Fatalf("Nix lists %d paths, nixcross %d", len(hashes), b[0].Closure.Paths)
	}
	verifyExport(t, dir, hashes)
}

// TestExportSurvivesSIGKILL: a client killed outright in the middle of a
// large export leaves only a temporary; the rerun completes, everything
// verifies and no temporary remains. The large path is exported from the
// daemon's tar (closure.TarSource), so this also checks that route against
// Nix's own hashes.
func TestExportSurvivesSIGKILL(t *testing.T) {
	dir := workdir(t)
	args := append([]string{"build", fixtureDir + "#files", "--system", "x86_64-linux", "--json"}, offline...)
	cmd := exec.Command(nixcrossBin, args...)
	cmd.Dir = dir
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	store := filepath.Join(dir, "nix", "store")
	killed := false
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		entries, _ := os.ReadDir(store)
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), hoststore.TempPrefix) {
				// Let it copy a little, then kill it mid-way.
				time.Sleep(150 * time.Millisecond)
				cmd.Process.Kill()
				killed = true
			}
		}
		if killed {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	err := cmd.Wait()
	if !killed {
		t.Fatal("never saw the export start")
	}
	// The first run must have died by the signal, not finished first.
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("the first run was not killed: %v", err)
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("the first run ended with %v, not by SIGKILL", ee)
	}
	// --verbose says when a path's tar stream is refused and the path
	// comes as a NAR instead: the 206 MB path must come through the tar.
	r := nixcross(t, dir, nil, append(args, "--verbose")...)
	if r.code != 0 {
		t.Fatalf("rerun: exit %d", r.code)
	}
	if strings.Contains(r.stderr, "instead of the daemon's tar") {
		t.Errorf("the large path fell back to a NAR:\n%s", r.stderr)
	}
	b := parseBuilds(t, r.stdout)
	if b[0].Closure.NarBytes < 200e6 {
		t.Fatalf("the fixture closure is only %d bytes", b[0].Closure.NarBytes)
	}
	// The killed run published at most the paths before the large one:
	// the rerun must have copied the rest, the large path among them.
	if b[0].Copied.Paths == 0 || b[0].Copied.Bytes < 200e6 {
		t.Fatalf("the rerun copied %d paths, %d bytes: the killed run cannot have been mid-export", b[0].Copied.Paths, b[0].Copied.Bytes)
	}
	entries, _ := os.ReadDir(store)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("stray temporary after the rerun: %s", e.Name())
		}
	}
	verifyExport(t, dir, nixPathInfo(t, b[0].Outputs))
}
