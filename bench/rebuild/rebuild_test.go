// Package rebuild benchmarks nixcross's no-op rebuild against the legacy
// four-line helper and a bare container start, side by side in one run:
//
//	go test ./bench/rebuild -run '^$' -bench . -benchtime 5x
//
// It needs a Docker daemon and the builder image (any earlier nixcross
// build makes it); it skips otherwise.
package rebuild

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/nixcross/nixcross"
	"github.com/nixcross/nixcross/internal/build"
	"github.com/nixcross/nixcross/internal/engine"
	"github.com/nixcross/nixcross/internal/fixture"
	"github.com/nixcross/nixcross/internal/system"
)

type env struct {
	bin, flake, work, image string
}

func setup(b *testing.B) env {
	b.Helper()
	eng, err := engine.Connect(context.Background(), engine.Selection{})
	if err != nil {
		b.Skip("no docker daemon:", err)
	}
	eng.Close()
	image := engine.BuilderTag(nixcross.Dockerfile, build.DefaultBase)
	root := fixture.RepoRoot()
	tmp := b.TempDir()
	e := env{bin: filepath.Join(tmp, "nixcross"), flake: filepath.Join(tmp, "flake"), work: filepath.Join(tmp, "work"), image: image}
	if err := fixture.BuildNixcross(root, e.bin); err != nil {
		b.Fatal(err)
	}
	sys := []system.System{{Arch: "x86_64", OS: "linux"}, {Arch: "aarch64", OS: "linux"}}
	if err := fixture.Prepare(root, e.flake, sys); err != nil {
		b.Fatal(err)
	}
	os.MkdirAll(e.work, 0o755)
	// Warm: the image exists and the cache volume holds the results.
	for _, s := range []string{"x86_64-linux", "aarch64-linux"} {
		run(b, e.work, e.bin, "build", e.flake, "--system", s, "-q", "--option", "substituters", "", "-o", "warm-"+s)
	}
	return e
}

func run(b *testing.B, dir, name string, args ...string) {
	b.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		b.Fatalf("%s %v: %v\n%s", name, args, err, out.String())
	}
}

// timeIt runs f b.N times and reports the mean as ms/op under name.
func timeIt(b *testing.B, name string, f func()) time.Duration {
	start := time.Now()
	for i := 0; i < b.N; i++ {
		f()
	}
	mean := time.Since(start) / time.Duration(b.N)
	b.ReportMetric(float64(mean.Microseconds())/1000, name+"-ms/op")
	return mean
}

// BenchmarkNoopRebuild reports, in one run: nixcross's no-op rebuild
// (native and emulated), the legacy helper's flow on the same fixture, and
// a bare `docker run --rm <image> true`.
func BenchmarkNoopRebuild(b *testing.B) {
	e := setup(b)
	b.ResetTimer()
	bare := timeIt(b, "bare-docker-run", func() {
		run(b, e.work, "docker", "run", "--rm", e.image, "true")
	})
	native := timeIt(b, "nixcross-noop-native", func() {
		run(b, e.work, e.bin, "build", e.flake, "--system", "x86_64-linux", "-q", "--option", "substituters", "", "-o", "warm-x86_64-linux")
	})
	emulated := timeIt(b, "nixcross-noop-emulated", func() {
		run(b, e.work, e.bin, "build", e.flake, "--system", "aarch64-linux", "-q", "--option", "substituters", "", "-o", "warm-aarch64-linux")
	})
	legacy := timeIt(b, "legacy-helper", func() { legacyFlow(b, e, "default") })
	b.Logf("hello: bare %v, nixcross no-op native %v (%.2fx legacy, +%v over bare), emulated %v, legacy %v",
		bare, native, float64(native)/float64(legacy), native-bare, emulated, legacy)
}

// BenchmarkNoopRebuildLarge is the same comparison for the fixture's
// 200 MB attribute, where the legacy helper's rebuild and `docker cp` of
// /nix cost what they do on a real package set.
func BenchmarkNoopRebuildLarge(b *testing.B) {
	e := setup(b)
	run(b, e.work, e.bin, "build", e.flake+"#files", "--system", "x86_64-linux", "-q", "--option", "substituters", "", "-o", "warm-files")
	b.ResetTimer()
	bare := timeIt(b, "bare-docker-run", func() {
		run(b, e.work, "docker", "run", "--rm", e.image, "true")
	})
	native := timeIt(b, "nixcross-noop-native", func() {
		run(b, e.work, e.bin, "build", e.flake+"#files", "--system", "x86_64-linux", "-q", "--option", "substituters", "", "-o", "warm-files")
	})
	legacy := timeIt(b, "legacy-helper", func() { legacyFlow(b, e, "files") })
	b.Logf("files (200 MB): bare %v, nixcross no-op %v (%.2fx legacy, +%v over bare), legacy %v",
		bare, native, float64(native)/float64(legacy), native-bare, legacy)
}

// legacyFlow is the four-line helper nixcross replaces, on the same
// builder image: a fresh container with the repository bind-mounted,
// nix build inside, docker cp of the whole /nix out.
func legacyFlow(b *testing.B, e env, attr string) {
	name := fmt.Sprintf("nixcross-bench-legacy-%d", time.Now().UnixNano())
	out := filepath.Join(e.work, "legacy")
	os.RemoveAll(out)
	run(b, e.work, "docker", "create", "--name", name, "-v", e.flake+":"+e.flake, e.image, "sleep", "infinity")
	defer exec.Command("docker", "rm", "-f", name).Run()
	run(b, e.work, "docker", "start", name)
	run(b, e.work, "docker", "exec", name, "nix", "build", "--option", "substituters", "", "-o", "/tmp/result", e.flake+"#packages.x86_64-linux."+attr)
	run(b, e.work, "docker", "cp", name+":/nix", out)
	run(b, e.work, "docker", "rm", "-f", name)
}
