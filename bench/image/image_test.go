// Package image benchmarks getting a built closure into an image, side by
// side in one run: nixcross --tag --load against `docker build` of
// `FROM scratch` + `COPY nix /nix` on the same exported tree, and
// nixcross --push-image against `docker push` of that image, to Debian's
// registry on loopback:
//
//	go test ./bench/image -run '^$' -bench . -benchtime 3x -v
//
// The closure is the fixture's files attribute (5,000 files, 240 MB).
// nixcross's figures include a no-op rebuild (container, `nix build`
// finding everything built), reported alone too so the image's own cost
// is the difference. It needs a Docker daemon and docker-registry; it
// skips otherwise.
package image

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nixcross/nixcross/internal/engine"
	"github.com/nixcross/nixcross/internal/fixture"
	"github.com/nixcross/nixcross/internal/system"
)

type env struct {
	bin, flake, work string
}

func setup(b *testing.B) env {
	b.Helper()
	eng, err := engine.Connect(context.Background(), engine.Selection{})
	if err != nil {
		b.Skip("no docker daemon:", err)
	}
	eng.Close()
	if _, err := exec.LookPath("docker-registry"); err != nil {
		b.Skip("no docker-registry (scripts/provision.sh installs it)")
	}
	root := fixture.RepoRoot()
	tmp := b.TempDir()
	e := env{bin: filepath.Join(tmp, "nixcross"), flake: filepath.Join(tmp, "flake"), work: filepath.Join(tmp, "work")}
	if err := fixture.BuildNixcross(root, e.bin); err != nil {
		b.Fatal(err)
	}
	if err := fixture.Prepare(root, e.flake, []system.System{{Arch: "x86_64", OS: "linux"}}); err != nil {
		b.Fatal(err)
	}
	os.MkdirAll(e.work, 0o755)
	df, err := os.ReadFile(filepath.Join(root, "bench", "image", "Dockerfile"))
	if err != nil {
		b.Fatal(err)
	}
	os.WriteFile(filepath.Join(tmp, "Dockerfile"), df, 0o644)
	// The closure, exported: what both sides start from.
	e.nixcross(b)
	return e
}

// nixcross runs the build of the files attribute with args added.
func (e env) nixcross(b *testing.B, args ...string) {
	b.Helper()
	base := []string{"build", e.flake + "#files", "--system", "x86_64-linux", "-q", "--option", "substituters", ""}
	run(b, e.work, nil, e.bin, append(base, args...)...)
}

func run(b *testing.B, dir string, env []string, name string, args ...string) {
	b.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		b.Fatalf("%s %v: %v\n%s", name, args, err, out.String())
	}
}

// BenchmarkImage reports, per round: nixcross's no-op rebuild; the same
// with --tag --load and with --tag --push-image; `docker build` of FROM
// scratch + COPY nix /nix (no cache); `docker push` of that image.
func BenchmarkImage(b *testing.B) {
	e := setup(b)
	ctx := filepath.Dir(e.work)
	var noop, load, build, push, dpush time.Duration
	for i := 0; i < b.N; i++ {
		// A fresh registry each round: neither pusher finds a layer there
		// already (Docker would mount one from another repository).
		reg, stop, err := fixture.Registry(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		tag := fmt.Sprintf("nixcross-bench-image:%d", i)
		remote := reg + "/bench/nixcross:1"
		docker := reg + "/bench/docker:1"
		b.Cleanup(func() { exec.Command("docker", "image", "rm", "-f", tag, docker).Run() })
		noop += timed(func() { e.nixcross(b) })
		load += timed(func() { e.nixcross(b, "--tag", tag, "--entrypoint", "data/000/00000", "--load") })
		build += timed(func() {
			run(b, ctx, []string{"DOCKER_BUILDKIT=0"}, "docker", "build", "--no-cache", "-q", "-t", docker, "-f", filepath.Join(ctx, "Dockerfile"), e.work)
		})
		push += timed(func() { e.nixcross(b, "--tag", remote, "--entrypoint", "data/000/00000", "--push-image") })
		dpush += timed(func() { run(b, ctx, nil, "docker", "push", "-q", docker) })
		run(b, ctx, nil, "docker", "image", "rm", "-f", tag, docker)
		stop()
	}
	n := time.Duration(b.N)
	noop, load, build, push, dpush = noop/n, load/n, build/n, push/n, dpush/n
	for name, d := range map[string]time.Duration{"noop": noop, "nixcross-load": load, "docker-build": build, "nixcross-push": push, "docker-push": dpush} {
		b.ReportMetric(d.Seconds(), name+"-s/op")
	}
	b.Logf("closure → image in the daemon: nixcross --load %v (%v beyond its no-op rebuild of %v), docker build FROM scratch + COPY %v; "+
		"→ registry: nixcross --push-image %v (%v beyond the no-op), docker push %v",
		r(load), r(load-noop), r(noop), r(build), r(push), r(push-noop), r(dpush))
	b.Logf("per round, same tree: %s", strings.Join([]string{
		fmt.Sprintf("load %.2fx docker build", float64(load-noop)/float64(build)),
		fmt.Sprintf("push %.2fx docker push", float64(push-noop)/float64(dpush)),
	}, ", "))
}

func timed(f func()) time.Duration {
	start := time.Now()
	f()
	return time.Since(start)
}

func r(d time.Duration) time.Duration { return d.Round(10 * time.Millisecond) }
