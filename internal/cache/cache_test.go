package cache

import (
	"strings"
	"testing"
)

func TestCacheVolumeName(t *testing.T) {
	a := VolumeName("sha256:c5c1781b5ec2b28bc9d433590525c135cd2e0aa3dc1c")
	if a != "nixcross-store-c5c1781b5ec2b28b" {
		t.Fatalf("got %s", a)
	}
	if VolumeName("sha256:d5c1781b5ec2b28b0000") == a {
		t.Fatal("two images share a volume name")
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
