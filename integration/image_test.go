//go:build integration

package integration

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/moby/client"

	root "github.com/nixcross/nixcross"
	"github.com/nixcross/nixcross/internal/build"
	"github.com/nixcross/nixcross/internal/engine"
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

// TestImageBuildUsers (issue 21): an --image image whose Nix builds as
// root and that has no build users gets them added to its containers, and
// a derivation that looks for credentials runs as one of them (with an
// access token forwarded, which it does not find); an image with a nixbld
// group that has no members is refused with exit 3 before anything builds,
// and leaves no container behind.
func TestImageBuildUsers(t *testing.T) {
	ctx := context.Background()
	base := engine.BuilderTag(root.Dockerfile, build.DefaultBase)
	for _, memberless := range []bool{false, true} {
		tag, args := "nixcross-it-no-build-users:latest", map[string]string{"BUILDER_IMAGE": base}
		if memberless {
			tag, args["MEMBERLESS"] = "nixcross-it-memberless-build-users:latest", "1"
		}
		imageID := buildImage(t, tag, "no-build-users", args)
		t.Cleanup(func() {
			docker.VolumeRemove(ctx, storeVolume(t, imageID, fixtureDir), client.VolumeRemoveOptions{Force: true})
		})
		dir := workdir(t)
		const token = "example.org=IMAGEBUILDUSERSTOKEN"
		r := nixcross(t, dir, []string{"NIX_CONFIG=access-tokens = " + token}, append([]string{"build", fixtureDir + "#snoop", "--system", "x86_64-linux", "--image", tag}, offline...)...)
		if memberless {
			if r.code != 3 || !strings.Contains(r.stderr, "the group nixbld has no members") || !strings.Contains(r.stderr, "build users") {
				t.Fatalf("memberless nixbld group: exit %d, want 3 naming the cause", r.code)
			}
			if _, err := os.Lstat(filepath.Join(dir, "result")); err == nil {
				t.Error("a result from an image that was refused")
			}
			if left := managedContainers(t, "build"); len(left) != 0 {
				t.Errorf("build containers left behind: %v", left)
			}
			continue
		}
		if r.code != 0 {
			t.Fatalf("image without build users: exit %d, want 0 with users added", r.code)
		}
		found, err := os.ReadFile(filepath.Join(dir, "result", "found"))
		if err != nil {
			t.Fatal(err)
		}
		uid, _, _ := strings.Cut(strings.TrimPrefix(string(found), "uid "), " ")
		if n, err := strconv.Atoi(uid); err != nil || n == 0 {
			t.Errorf("the builder ran as uid %q in an image without build users", uid)
		}
		if strings.Contains(string(found), "IMAGEBUILDUSERSTOKEN") {
			t.Errorf("the builder found the token:\n%s", found)
		}
	}
}
