package cache

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCacheVolumeName: one volume per image and flake.
func TestCacheVolumeName(t *testing.T) {
	const img = "sha256:c5c1781b5ec2b28bc9d433590525c135cd2e0aa3dc1c"
	a := VolumeName(img, "/src/a")
	if a != "nixcross-store-c5c1781b5ec2b28b-"+FlakeKey("/src/a") || len(FlakeKey("/src/a")) != 12 {
		t.Fatalf("got %s", a)
	}
	if VolumeName("sha256:d5c1781b5ec2b28b0000", "/src/a") == a {
		t.Fatal("two images share a volume name")
	}
	if VolumeName(img, "/src/b") == a || VolumeName(img, "github:owner/a") == a {
		t.Fatal("two flakes share a volume name")
	}
}

// TestRoot: one root per system, attribute and flake; names stay plain.
func TestRoot(t *testing.T) {
	a := Root("aarch64-linux", "hello", "/src/flake")
	if !strings.HasPrefix(a, RootsDir+"/aarch64-linux-hello-") || len(a) != len(RootsDir+"/aarch64-linux-hello-")+12 {
		t.Fatalf("Root = %s", a)
	}
	if Root("aarch64-linux", "hello", "/src/other") == a || Root("x86_64-linux", "hello", "/src/flake") == a {
		t.Fatal("two results share a root")
	}
	if got := Root("x86_64-linux", "a.b/c d", "k"); strings.ContainsAny(strings.TrimPrefix(got, RootsDir+"/"), "./ ") {
		t.Fatalf("attribute not sanitised: %s", got)
	}
}

// TestStale: prune takes volumes whose image is gone and the shared volumes
// of before stores per flake, never a live flake's.
func TestStale(t *testing.T) {
	for _, c := range []struct {
		v    Volume
		want bool
	}{
		{Volume{ImagePresent: true, Flake: "/src/a"}, false},
		{Volume{ImagePresent: false, Flake: "/src/a"}, true},
		{Volume{ImagePresent: true}, true},
		{Volume{ImagePresent: true, Flake: "/src/a", FlakeGone: true}, true},
	} {
		if got := c.v.Stale(); got != c.want {
			t.Errorf("%+v: Stale = %v, want %v", c.v, got, c.want)
		}
	}
}

// TestFlakeGone: a flake directory counts as gone only on the machine that
// recorded it, and only when it does not exist; references never are.
func TestFlakeGone(t *testing.T) {
	here := t.TempDir()
	gone := filepath.Join(here, "removed")
	unreadable := filepath.Join(here, "locked", "flake")
	os.Mkdir(filepath.Join(here, "locked"), 0o000)
	t.Cleanup(func() { os.Chmod(filepath.Join(here, "locked"), 0o755) })
	for _, c := range []struct {
		flake, host string
		want        bool
	}{
		{gone, "me", true},
		{here, "me", false},
		{gone, "other", false}, // another client's directory
		{gone, "", false},      // made before the host was recorded
		{"github:owner/repo", "me", false},
	} {
		if got := flakeGone(c.flake, c.host, "me"); got != c.want {
			t.Errorf("flakeGone(%q, %q) = %v, want %v", c.flake, c.host, got, c.want)
		}
	}
	if os.Geteuid() != 0 && flakeGone(unreadable, "me", "me") {
		t.Error("a directory that cannot be read counts as gone")
	}
}
