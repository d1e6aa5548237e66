// Package emulation benchmarks what QEMU costs a CPU-bound build of the
// offline fixture, and what the builder image's move from Debian bookworm
// (QEMU 7.2) to trixie (QEMU 10.0) gives, side by side in one run against
// the same work run natively. See README.md for the command and figures.
package emulation

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/nixcross/nixcross"
	"github.com/nixcross/nixcross/internal/build"
	"github.com/nixcross/nixcross/internal/engine"
	"github.com/nixcross/nixcross/internal/fixture"
	"github.com/nixcross/nixcross/internal/system"
)

// oldBase is the base image of the builder image before trixie: the same
// Dockerfile.nix on it gives Nix 2.8 and QEMU 7.2. nixcross refuses that
// Nix, so the old QEMU is measured by running the builder directly.
const oldBase = "debian:bookworm-slim"

var reps = flag.Int("reps", 3, "runs of each case; the median is reported")

var (
	// The builder's own report of its work, in its output and in Nix's
	// build log: "builder: cpu 100 rounds in …, … of CPU (wall … ns,
	// cpu … ns, hwcaps 0x…/0x…)".
	workRe = regexp.MustCompile(`builder: cpu \d+ rounds in .*\(wall \d+ ns, cpu (\d+) ns, hwcaps (\S+)\)`)
	// What --json says of QEMU: its version (provenance) and CPU model.
	qemuRe  = regexp.MustCompile(`"qemu": "(\d+\.\d+)`)
	modelRe = regexp.MustCompile(`"qemuCPU": "([^"]+)"`)
	// The fixture's cpu attribute, whose rounds the direct runs repeat.
	roundsRe = regexp.MustCompile(`mode = "cpu"; rounds = "(\d+)";`)
)

// emulated are the foreign systems measured; the native one is the
// daemon's own.
var emulated = []system.System{{Arch: "aarch64", OS: "linux"}, {Arch: "riscv64", OS: "linux"}}

// A run is one case's samples: the CPU time the builder's work took (as
// the kernel counts it for the process, QEMU's when emulated, so that what
// else the shared machine runs hardly matters), and the wall time of what
// ran it (an exec, or a whole nixcross build).
type run struct {
	name      string
	sys       system.System
	qemu      string // QEMU version, "" when native
	box       string // the container a direct run execs in
	cpu, wall []time.Duration
	// model is the CPU model a nixcross build says QEMU emulated.
	model string
	// args are nixcross's extra arguments (--qemu-cpu S=max: QEMU's
	// default model, what builds emulated before issue 26).
	args []string
	// hwcaps are the CPU features the builder saw, one per sample: each
	// QEMU version announces its own set, which tells which QEMU ran a
	// build through binfmt_misc (another process's registration, from
	// another image, may be the one in force).
	hwcaps []string
}

func BenchmarkEmulation(b *testing.B) {
	ctx := context.Background()
	eng := connect(b, ctx)
	for _, base := range []string{build.DefaultBase, oldBase} {
		if _, err := eng.UserImage(ctx, base); err != nil {
			b.Skipf("base image %s is not on the Docker host (nothing is pulled): %v", base, err)
		}
	}
	onBuild := func(ref string) io.Writer {
		b.Logf("building %s (a few minutes)", ref)
		return nil
	}
	newImg, err := eng.EnsureBuilderImage(ctx, nixcross.Dockerfile, build.DefaultBase, onBuild)
	if err != nil {
		b.Fatal(err)
	}
	oldImg, err := eng.EnsureBuilderImage(ctx, nixcross.Dockerfile, oldBase, onBuild)
	if err != nil {
		b.Fatal(err)
	}
	// Containers at once, by image ID: the integration tests build the
	// same old image under the same tag and remove it when they end, and
	// a container keeps its image however its tags go.
	newBox := startContainer(b, ctx, eng, newImg.ID)
	oldBox := startContainer(b, ctx, eng, oldImg.ID)
	native := eng.System
	systems := []system.System{native}
	for _, s := range emulated {
		if s != native {
			systems = append(systems, s)
		}
	}

	root := fixture.RepoRoot()
	tmp := b.TempDir()
	flake := filepath.Join(tmp, "flake")
	if err := fixture.Prepare(root, flake, systems); err != nil {
		b.Fatal(err)
	}
	rounds := fixtureRounds(b, flake)
	bin := filepath.Join(tmp, "nixcross")
	if err := fixture.BuildNixcross(root, bin); err != nil {
		b.Fatal(err)
	}

	// Direct runs: the builder alone, in a container of each image.
	for _, box := range []string{newBox, oldBox} {
		putBuilders(b, ctx, eng, box, flake, systems)
	}
	// Each foreign system's old QEMU, then its new one: report pairs them.
	direct := []*run{{name: "native", sys: native, box: newBox}}
	for _, s := range systems[1:] {
		for _, box := range []string{oldBox, newBox} {
			v := qemuVersion(b, ctx, eng, box, s)
			direct = append(direct, &run{name: s.Arch + "-qemu" + v, sys: s, qemu: v, box: box})
		}
	}

	// End to end: nixcross on the new image, a real rebuild each time.
	work := filepath.Join(tmp, "work")
	os.MkdirAll(work, 0o755)
	var e2e []*run
	for _, s := range systems {
		// The first build puts the result in the cache volume; after it,
		// `nix build --rebuild` builds again and checks the same output.
		nixcrossBuild(b, bin, work, flake, s, nil)
		if s != native {
			// QEMU's default model beside the one nixcross chose.
			e2e = append(e2e, &run{name: "nixcross-" + s.Arch + "-max", sys: s, args: []string{"--qemu-cpu", s.String() + "=max"}})
		}
		e2e = append(e2e, &run{name: "nixcross-" + s.Arch, sys: s})
	}

	b.ResetTimer()
	var digest string
	for i := 0; i < b.N; i++ {
		// Rounds take turns so that a noisy neighbour hurts every case.
		for rep := 0; rep < *reps; rep++ {
			for _, r := range direct {
				d := runBuilder(b, ctx, eng, r, rounds)
				if digest == "" {
					digest = d
				} else if d != digest {
					b.Fatalf("%s wrote digest %s, native %s: not the same work", r.name, d, digest)
				}
			}
			for _, r := range e2e {
				nixcrossBuild(b, bin, work, flake, r.sys, r)
			}
		}
	}
	b.StopTimer()
	identifyQEMU(direct, e2e)
	report(b, rounds, direct, e2e)
}

// identifyQEMU names the QEMU of each nixcross build by the CPU features
// its builder saw, as the direct runs of each version saw them.
func identifyQEMU(direct, e2e []*run) {
	versions := map[string]string{}
	for _, r := range direct[1:] {
		for _, h := range r.hwcaps {
			versions[r.sys.String()+" "+h] = r.qemu
		}
	}
	for _, r := range e2e[1:] {
		if r.qemu != "" {
			// nixcross named it (--json): version and model.
			r.qemu += " " + r.model
			continue
		}
		var seen []string
		for _, h := range r.hwcaps {
			v, ok := versions[r.sys.String()+" "+h]
			if !ok {
				// The model nixcross chose: no direct run emulates it.
				v = "a model no direct run used (hwcaps " + h + ")"
			}
			if !slices.Contains(seen, v) {
				seen = append(seen, v)
			}
		}
		r.qemu = strings.Join(seen, " and ")
	}
}

// report emits a metric per case and the table README quotes.
func report(b *testing.B, rounds int, direct, e2e []*run) {
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "\ncase\tQEMU\tbuilder's CPU\t/ native\twall\t/ native\n")
	row := func(r, base *run) {
		cpu, wall := median(r.cpu), median(r.wall)
		ratio, wallRatio := cpu.Seconds()/median(base.cpu).Seconds(), wall.Seconds()/median(base.wall).Seconds()
		b.ReportMetric(cpu.Seconds(), r.name+"-cpu-s")
		b.ReportMetric(wall.Seconds(), r.name+"-wall-s")
		if r != base {
			b.ReportMetric(ratio, r.name+"/native")
			b.ReportMetric(wallRatio, r.name+"-wall/native")
		}
		qemu := r.qemu
		if qemu == "" {
			qemu = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%.2f s\t%.1fx\t%.2f s\t%.1fx\n", r.name, qemu, cpu.Seconds(), ratio, wall.Seconds(), wallRatio)
	}
	for _, r := range direct {
		row(r, direct[0])
	}
	for _, r := range e2e {
		row(r, e2e[0])
	}
	tw.Flush()
	// What the new QEMU gives: old time over new for each system.
	for i := 1; i+1 < len(direct); i += 2 {
		old, cur := direct[i], direct[i+1]
		speedup := median(old.cpu).Seconds() / median(cur.cpu).Seconds()
		b.ReportMetric(speedup, fmt.Sprintf("%s-qemu%s/qemu%s", old.sys.Arch, old.qemu, cur.qemu))
		fmt.Fprintf(&buf, "%s: QEMU %s takes %.2fx the CPU time of QEMU %s\n", old.sys.Arch, old.qemu, speedup, cur.qemu)
	}
	b.Logf("fixture #cpu (%d rounds), medians of %d runs each; wall = the exec, or the whole `nixcross build -- --rebuild`:%s",
		rounds, len(direct[0].cpu), buf.String())
}

// runBuilder runs the fixture's builder for r.sys in r's container, under
// the image's QEMU when the system is foreign, and records its times. It
// returns the digest the builder wrote.
func runBuilder(b *testing.B, ctx context.Context, eng *engine.Engine, r *run, rounds int) string {
	b.Helper()
	cmd := []string{"/builders/" + r.sys.String()}
	if r.qemu != "" {
		// Explicitly, not through binfmt_misc: each image's own QEMU.
		cmd = append([]string{"qemu-" + r.sys.QEMU() + "-static"}, cmd...)
	}
	out := "/tmp/cpu-" + r.name
	var stdout, stderr bytes.Buffer
	start := time.Now()
	err := eng.Exec(ctx, r.box, engine.ExecSpec{
		Cmd:    cmd,
		Env:    []string{"mode=cpu", "out=" + out, "rounds=" + strconv.Itoa(rounds)},
		Stdout: &stdout,
		Stderr: &stderr,
	})
	wall := time.Since(start)
	if err != nil {
		b.Fatalf("%s: %v\n%s%s", r.name, err, stdout.String(), stderr.String())
	}
	record(b, r, wall, stdout.String())
	var digest bytes.Buffer
	if err := eng.Exec(ctx, r.box, engine.ExecSpec{Cmd: []string{"cat", out}, Stdout: &digest}); err != nil {
		b.Fatalf("%s: read %s: %v", r.name, out, err)
	}
	return strings.TrimSpace(digest.String())
}

// nixcrossBuild builds the fixture's cpu attribute for s through nixcross on
// the new image. With r set, it forces a real rebuild (`nix build --rebuild`)
// and records its times; without, it is the first build that fills the
// cache volume.
func nixcrossBuild(b *testing.B, bin, dir, flake string, s system.System, r *run) {
	b.Helper()
	args := []string{"build", flake + "#cpu", "--system", s.String(), "--option", "substituters", "", "-o", "result-" + s.Arch}
	if r != nil {
		args = append(append(args, r.args...), "--json", "--", "--rebuild")
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		b.Fatalf("nixcross %s: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	if r != nil {
		record(b, r, wall, stderr.String())
		// Which QEMU and model nixcross says it ran (its provenance):
		// hwcaps alone cannot tell QEMU 10.0 without V from QEMU 7.2.
		if m := qemuRe.FindStringSubmatch(stdout.String()); m != nil {
			r.qemu = m[1]
		}
		if m := modelRe.FindStringSubmatch(stdout.String()); m != nil {
			r.model = m[1]
		}
	}
}

// record adds a sample to r: the wall time, and the CPU time and features
// the builder reported in log.
func record(b *testing.B, r *run, wall time.Duration, log string) {
	b.Helper()
	m := workRe.FindStringSubmatch(log)
	if m == nil {
		b.Fatalf("%s: no work time in the builder's output:\n%s", r.name, log)
	}
	ns, _ := strconv.ParseInt(m[1], 10, 64)
	r.wall = append(r.wall, wall)
	r.cpu = append(r.cpu, time.Duration(ns))
	r.hwcaps = append(r.hwcaps, m[2])
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// fixtureRounds reads the rounds of the fixture's cpu attribute, so the
// direct runs do exactly the work the Nix builds do.
func fixtureRounds(b *testing.B, flake string) int {
	b.Helper()
	src, err := os.ReadFile(filepath.Join(flake, "flake.nix"))
	if err != nil {
		b.Fatal(err)
	}
	m := roundsRe.FindSubmatch(src)
	if m == nil {
		b.Fatalf("no `cpu` attribute with rounds in %s", flake)
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// qemuVersion asks the image's static QEMU for s its version.
func qemuVersion(b *testing.B, ctx context.Context, eng *engine.Engine, id string, s system.System) string {
	b.Helper()
	var out bytes.Buffer
	if err := eng.Exec(ctx, id, engine.ExecSpec{Cmd: []string{"qemu-" + s.QEMU() + "-static", "--version"}, Stdout: &out}); err != nil {
		b.Fatalf("qemu for %s: %v", s, err)
	}
	m := regexp.MustCompile(`version (\d+\.\d+)`).FindStringSubmatch(out.String())
	if m == nil {
		b.Fatalf("qemu for %s: no version in %q", s, out.String())
	}
	return m[1]
}

func connect(b *testing.B, ctx context.Context) *engine.Engine {
	b.Helper()
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	eng, err := engine.Connect(cctx, engine.Selection{})
	if err != nil {
		b.Skipf("no Docker daemon: %v", err)
	}
	b.Cleanup(func() { eng.Close() })
	return eng
}

// startContainer starts an idle container of image, without network.
func startContainer(b *testing.B, ctx context.Context, eng *engine.Engine, image string) string {
	b.Helper()
	id, err := eng.CreateContainer(ctx, engine.ContainerSpec{
		Image: image,
		Cmd:   engine.IdleCmd(),
		// Not nixcross.managed: `nixcross clean` and the integration
		// tests must not remove it from under a running benchmark.
		Labels:    map[string]string{"nixcross.bench": "emulation"},
		NoNetwork: true,
	})
	b.Cleanup(func() {
		if err := eng.RemoveContainer(ctx, id); err != nil {
			b.Error(err)
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	if err := eng.StartContainer(ctx, id); err != nil {
		b.Fatal(err)
	}
	return id
}

// putBuilders copies the fixture's builders to /builders in container id.
func putBuilders(b *testing.B, ctx context.Context, eng *engine.Engine, id, flake string, systems []system.System) {
	b.Helper()
	for _, s := range systems {
		data, err := os.ReadFile(filepath.Join(flake, "builders", s.String()))
		if err != nil {
			b.Fatal(err)
		}
		if err := eng.PutFile(ctx, id, "/", "builders/"+s.String(), data, 0o755); err != nil {
			b.Fatal(err)
		}
	}
}
