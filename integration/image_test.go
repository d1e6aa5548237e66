//go:build integration

package integration

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/moby/client"
)

// TestNixProfileImage: --image with the official nixos/nix layout (Nix only
// in the store, reached through /nix/var/nix/profiles/default, its own
// nix.conf and build users, PATH from the image's ENV) builds the fixture.
// The cache volume is seeded from the image's /nix, so Nix itself lives in
// the volume; a cache gc must not collect it (the profile is a GC root).
func TestNixProfileImage(t *testing.T) {
	ctx := context.Background()
	const tag = "nixcross-it-nix-profile:latest"
	imageID := buildImage(t, tag, "nix-profile", nil)
	t.Cleanup(func() {
		docker.VolumeRemove(ctx, storeVolume(t, imageID, fixtureDir), client.VolumeRemoveOptions{Force: true})
	})

	dir := workdir(t)
	args := append([]string{"build", fixtureDir, "--system", "x86_64-linux", "--image", tag, "--json"}, offline...)
	r := nixcross(t, dir, nil, args...)
	if r.code != 0 {
		t.Fatalf("build with the nix-profile image: exit %d", r.code)
	}
	if b := parseBuilds(t, r.stdout); len(b) != 1 || len(b[0].Outputs) == 0 {
		t.Fatalf("want one build with outputs: %s", r.stdout)
	}
	arch, err := os.ReadFile(filepath.Join(dir, "result", "share", "arch"))
	if err != nil || !strings.Contains(string(arch), "machine=x86_64") {
		t.Fatalf("result/share/arch: %q %v", arch, err)
	}

	// The Nix that ran is the profile's, from the seeded volume.
	sh := nixcross(t, dir, nil, "shell", "--image", tag, fixtureDir, "--",
		"sh", "-c", "test ! -e /usr/bin/nix && readlink -f \"$(command -v nix)\"")
	if sh.code != 0 || !strings.HasPrefix(strings.TrimSpace(sh.stdout), "/nix/store/") {
		t.Fatalf("nix in the container is not the profile's: exit %d %q", sh.code, sh.stdout)
	}

	if g := nixcross(t, dir, nil, "cache", "gc"); g.code != 0 {
		t.Fatalf("cache gc: exit %d", g.code)
	}
	if r := nixcross(t, dir, nil, args...); r.code != 0 {
		t.Fatalf("build after cache gc (did gc collect Nix itself?): exit %d", r.code)
	}
}
