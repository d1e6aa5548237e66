//go:build integration

package integration

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/moby/client"
	"github.com/nix-community/go-nix/pkg/nar"

	root "github.com/nixcross/nixcross"
	"github.com/nixcross/nixcross/internal/build"
	"github.com/nixcross/nixcross/internal/engine"
)

// TestStoresIsolatedByFlake (issue 15): a flake whose store is tampered
// with, overwriting a store path another flake's result depends on, cannot
// change what that other flake's next export puts on the host. B is the
// fixture's default (it depends on greeting); A is another copy of the
// fixture whose #tamper tries to overwrite greeting's files, the same store
// path, in the store it builds in. That store was B's too while one volume
// served every flake. Builders run as build users (issue 21), so #tamper
// fails now; root in A's container (a `nixcross shell` of A, or whatever
// escapes a builder) still can, and does here.
func TestStoresIsolatedByFlake(t *testing.T) {
	ctx := context.Background()
	img, err := docker.ImageInspect(ctx, engine.BuilderTag(root.Dockerfile, build.DefaultBase))
	if err != nil {
		t.Fatal(err)
	}
	flakeA, flakeB := fixtureCopy(t), fixtureCopy(t)
	volA, volB := storeVolume(t, img.ID, flakeA), storeVolume(t, img.ID, flakeB)
	t.Cleanup(func() {
		for _, v := range []string{volA, volB} {
			docker.VolumeRemove(ctx, v, client.VolumeRemoveOptions{Force: true})
		}
	})
	if volA == volB {
		t.Fatalf("two flakes share the volume %s", volA)
	}
	buildB := func() map[string]string {
		t.Helper()
		dir := workdir(t)
		if r := nixcross(t, dir, nil, append([]string{"build", flakeB, "--system", "x86_64-linux"}, offline...)...); r.code != 0 {
			t.Fatalf("build B: exit %d", r.code)
		}
		return exportedHashes(t, dir)
	}

	first := buildB()
	greeting := ""
	for p := range first {
		if strings.HasSuffix(p, "-greeting") {
			greeting = p
		}
	}
	if greeting == "" {
		t.Fatalf("no greeting in B's export: %v", first)
	}

	dirA := workdir(t)
	if r := nixcross(t, dirA, nil, append([]string{"build", flakeA + "#tamper", "--system", "x86_64-linux"}, offline...)...); r.code != 1 || !strings.Contains(r.stderr, "permission denied") {
		t.Fatalf("build A#tamper: exit %d, want 1: a build user may not write the store", r.code)
	}
	sh := nixcross(t, dirA, nil, "shell", flakeA, "--", "cat", greeting+"/greeting")
	if sh.code != 0 || sh.stdout == "tampered\n" {
		t.Fatalf("%s/greeting in A's store after A#tamper: exit %d %q, want it untouched", greeting, sh.code, sh.stdout)
	}
	// Root in A's container overwrites B's greeting, by name: garbage now
	// in A's store.
	sh = nixcross(t, dirA, nil, "shell", flakeA, "--", "sh", "-c", `chmod u+w "$1" "$1/greeting" && echo tampered > "$1/greeting" && cat "$1/greeting"`, "tamper", greeting)
	if sh.code != 0 || sh.stdout != "tampered\n" {
		t.Fatalf("%s/greeting in A's store: exit %d %q, want the tampered file", greeting, sh.code, sh.stdout)
	}

	second := buildB()
	if len(second) != len(first) {
		t.Fatalf("B's export changed: %v, then %v", first, second)
	}
	for p, h := range first {
		if second[p] != h {
			t.Errorf("%s: exported NAR hash %s, then %s after A's build", p, h, second[p])
		}
	}
}

// fixtureCopy is a copy of the fixture flake (a git repository of its own)
// in a directory of its own: another flake to nixcross.
func fixtureCopy(t *testing.T) string {
	t.Helper()
	flake := filepath.Join(workdir(t), "flake")
	if out, err := exec.Command("cp", "-a", fixtureDir, flake).CombinedOutput(); err != nil {
		t.Fatalf("copy the fixture: %v %s", err, out)
	}
	return flake
}

// exportedHashes is the SHA-256 of the NAR of every path an export put in
// dir's store.
func exportedHashes(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, "nix", "store"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		h := sha256.New()
		if err := nar.DumpPath(h, filepath.Join(dir, "nix", "store", e.Name())); err != nil {
			t.Fatal(err)
		}
		out["/nix/store/"+e.Name()] = hex.EncodeToString(h.Sum(nil))
	}
	if len(out) == 0 {
		t.Fatalf("nothing exported in %s", dir)
	}
	return out
}
