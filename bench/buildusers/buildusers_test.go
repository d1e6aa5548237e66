// Package buildusers measures what running builders as Nix's build users
// costs (issue 21), side by side in one run: the same Nix in one container
// of the builder image builds the fixture, and rebuilds nothing, with
// build-users-group = nixbld (what every nixcross build does) and with it
// empty (builders as root, what nixcross did before), taking turns.
//
//	go test ./bench/buildusers -run '^$' -bench . -benchtime 5x -v
//
// It needs a Docker daemon and the builder image (any nixcross build makes
// it); it skips otherwise.
package buildusers

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/moby/moby/api/types/mount"

	"github.com/nixcross/nixcross"
	"github.com/nixcross/nixcross/internal/build"
	"github.com/nixcross/nixcross/internal/engine"
	"github.com/nixcross/nixcross/internal/fixture"
	"github.com/nixcross/nixcross/internal/system"
)

// modes are the two values of build-users-group compared.
var modes = []struct{ name, group string }{{"root", ""}, {"build-users", "nixbld"}}

func BenchmarkBuildUsers(b *testing.B) {
	ctx := context.Background()
	eng, err := engine.Connect(ctx, engine.Selection{})
	if err != nil {
		b.Skip("no docker daemon:", err)
	}
	defer eng.Close()
	image := engine.BuilderTag(nixcross.Dockerfile, build.DefaultBase)
	flake := filepath.Join(b.TempDir(), "flake")
	if err := fixture.Prepare(fixture.RepoRoot(), flake, []system.System{{Arch: "x86_64", OS: "linux"}}); err != nil {
		b.Fatal(err)
	}
	id, err := eng.CreateContainer(ctx, engine.ContainerSpec{
		Name: "nixcross-bench-buildusers", Image: image, Cmd: engine.IdleCmd(),
		Labels: engine.Labels("bench"),
		Mounts: []mount.Mount{{Type: mount.TypeBind, Source: flake, Target: "/flake", ReadOnly: true}},
	})
	if err != nil {
		b.Skip("the builder image is needed (run any nixcross build first):", err)
	}
	defer eng.RemoveContainer(context.WithoutCancel(ctx), id)
	if err := eng.StartContainer(ctx, id); err != nil {
		b.Fatal(err)
	}
	nixBuild := func(group string, extra ...string) []byte {
		var out, errs bytes.Buffer
		cmd := slices.Concat([]string{"nix", "--extra-experimental-features", "nix-command flakes", "build", "--no-link", "--print-out-paths",
			"--option", "substituters", "", "--option", "build-users-group", group}, extra, []string{"/flake#packages.x86_64-linux.default"})
		if err := eng.Exec(ctx, id, engine.ExecSpec{Cmd: cmd, Stdout: &out, Stderr: &errs}); err != nil {
			b.Fatalf("nix build (build-users-group %q): %v\n%s", group, err, errs.String())
		}
		return out.Bytes()
	}
	// Forget the fixture's outputs, so the next build runs both builders.
	forget := func() {
		if err := eng.Exec(ctx, id, engine.ExecSpec{Cmd: []string{"sh", "-c", `nix --extra-experimental-features nix-command store delete $(nix --extra-experimental-features 'nix-command flakes' path-info --recursive /flake#packages.x86_64-linux.default | grep -v -e '-source$' -e '-x86_64-linux$')`}}); err != nil {
			b.Fatalf("delete the outputs: %v", err)
		}
	}
	nixBuild("") // evaluate once, so the first timed round pays no more than the others
	took := map[string][]time.Duration{}
	for i := 0; i < b.N; i++ {
		for _, m := range modes {
			forget()
			t0 := time.Now()
			nixBuild(m.group)
			took[m.name+"-build"] = append(took[m.name+"-build"], time.Since(t0))
			t0 = time.Now()
			nixBuild(m.group)
			took[m.name+"-noop"] = append(took[m.name+"-noop"], time.Since(t0))
		}
	}
	for _, m := range modes {
		for _, what := range []string{"build", "noop"} {
			d := took[m.name+"-"+what]
			slices.Sort(d)
			b.ReportMetric(float64(d[len(d)/2].Microseconds())/1000, fmt.Sprintf("%s-%s-median-ms", m.name, what))
		}
	}
}
