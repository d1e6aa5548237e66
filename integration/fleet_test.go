//go:build integration

package integration

import (
	"context"
	"debug/elf"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moby/moby/client"
)

// TestHostForImageIndex: x86_64-linux on the default daemon and
// aarch64-linux on a second endpoint that cannot see the client's files,
// with --tag --push-image --load: one index in the registry with both
// platforms, each image the one its host's export made, and both images
// loaded into the default daemon.
func TestHostForImageIndex(t *testing.T) {
	reg := registry(t)
	host := tcpDaemon(t)
	local := "unix://" + daemonSocket
	dir := workdir(t)
	ref := reg + "/fleet:1"
	loaded := map[string]string{ref + "-x86_64-linux": "amd64", ref + "-aarch64-linux": "arm64"}
	for name := range loaded {
		t.Cleanup(func() { docker.ImageRemove(context.Background(), name, client.ImageRemoveOptions{Force: true}) })
	}
	r := nixcross(t, dir, []string{"DOCKER_HOST=" + local}, append([]string{"build", fixtureDir,
		"--system", "x86_64-linux,aarch64-linux", "--host-for", "aarch64-linux=" + host,
		"--tag", ref, "--push-image", "--load", "--json"}, offline...)...)
	if r.code != 0 {
		t.Fatalf("exit %d", r.code)
	}
	checkRouted(t, r.stdout, local, host)
	doc := parseShip(t, r.stdout)
	if !doc.Image.Pushed || doc.Image.Ref != ref {
		t.Fatalf("--json image %+v", doc.Image)
	}
	checkPushedIndex(t, ref, doc)
	if len(doc.Image.Loaded) != 2 {
		t.Errorf("--json loaded %v, want both systems", doc.Image.Loaded)
	}
	for name, arch := range loaded {
		img, err := docker.ImageInspect(context.Background(), name)
		if err != nil || img.Architecture != arch {
			t.Errorf("%s in the default daemon: %v, architecture %q, want %s", name, err, img.Architecture, arch)
		}
	}
}

// TestFleetFile: a fleet file routes aarch64-linux to its host, named by
// a Docker context, with no flag; --host-for overrides it for one run;
// doctor checks every host of it, counting an unreachable one as the only
// problem.
func TestFleetFile(t *testing.T) {
	host := tcpDaemon(t)
	cfg := dockerContext(t, "arm-box", host)
	local := "unix://" + daemonSocket
	dir := workdir(t)
	file := filepath.Join(dir, "fleet")
	const gone = "unix:///nonexistent/docker.sock"
	if err := os.WriteFile(file, []byte("# the arm box\naarch64-linux = arm-box\nriscv64-linux = "+gone+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"DOCKER_HOST=" + local, "DOCKER_CONFIG=" + cfg, "NIXCROSS_FLEET=" + file}
	r := nixcross(t, dir, env, append([]string{"build", fixtureDir, "--system", "x86_64-linux,aarch64-linux", "--json"}, offline...)...)
	if r.code != 0 {
		t.Fatalf("exit %d", r.code)
	}
	checkRouted(t, r.stdout, local, host)
	checkHostForExport(t, dir, "aarch64-linux", elf.EM_AARCH64)
	if !strings.Contains(r.stderr, "docker "+host+" (context arm-box (fleet "+file+": aarch64-linux)): ") {
		t.Errorf("the run does not say the fleet chose context arm-box, %s", host)
	}

	// --host-for wins over the fleet for one run.
	r = nixcross(t, dir, env, append([]string{"build", fixtureDir, "--system", "aarch64-linux", "--host-for", "aarch64-linux=" + local, "--json"}, offline...)...)
	if b := parseBuilds(t, r.stdout); r.code != 0 || len(b) != 1 || b[0].Docker != local {
		t.Errorf("--host-for over the fleet: exit %d, %+v", r.code, b)
	}

	r = nixcross(t, dir, env, "doctor", "--json")
	if r.code != 3 {
		t.Errorf("doctor with an unreachable fleet host: exit %d, want 3", r.code)
	}
	var doc struct {
		OK       bool     `json:"ok"`
		Problems []string `json:"problems"`
		Fleet    []struct {
			Route    string   `json:"route"`
			Systems  []string `json:"systems"`
			Endpoint string   `json:"endpoint"`
			System   string   `json:"system"`
			Problems []string `json:"problems"`
		} `json:"fleet"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("doctor --json: %v\n%s", err, r.stdout)
	}
	if doc.OK || len(doc.Problems) != 0 || len(doc.Fleet) != 2 {
		t.Fatalf("doctor: %+v", doc)
	}
	arm, rv := doc.Fleet[0], doc.Fleet[1]
	if arm.Route != "arm-box" || arm.Endpoint != host || !slices.Equal(arm.Systems, []string{"aarch64-linux"}) || arm.System != "x86_64-linux" || len(arm.Problems) != 0 {
		t.Errorf("fleet host %+v, want %s checked without problems", arm, host)
	}
	if rv.Route != gone || len(rv.Problems) != 1 || !strings.Contains(rv.Problems[0], "cannot reach") || !strings.Contains(rv.Problems[0], "riscv64-linux") {
		t.Errorf("fleet host %+v, want one problem: %s unreachable", rv, gone)
	}
	r = nixcross(t, dir, env, "doctor")
	if !strings.Contains(r.stdout, "fleet host        arm-box builds aarch64-linux") || !strings.Contains(r.stdout, "routed here       aarch64-linux, emulated") {
		t.Errorf("doctor's report does not show the fleet host:\n%s", r.stdout)
	}
}

// TestFleetHostLostMidBuild: the two hosts build at once without -j (the
// x86_64 build ends while the aarch64 one runs); the aarch64 host's
// connection is then cut mid-build: x86_64, on the default daemon, is
// still exported and reported, the run exits 3 naming the lost daemon,
// and the next run sweeps what the lost host's build left and builds
// there again.
func TestFleetHostLostMidBuild(t *testing.T) {
	p := startProxy(t)
	dir := workdir(t)
	cmd, lines, stderr := startBuild(t, dir, []string{"DOCKER_HOST=unix://" + daemonSocket}, append([]string{"build", fixtureDir + "#slowArm",
		"--system", "x86_64-linux,aarch64-linux", "--host-for", "aarch64-linux=" + p.host()}, offline...)...)
	// x86_64's greeting takes 15 s: its build is exported only after the
	// aarch64 host's has begun, unless the hosts do not build at once.
	for building := false; ; {
		line, ok := <-lines
		if !ok {
			t.Fatalf("nixcross ended before both builds got there:\n%s", stderr)
		}
		if strings.HasPrefix(line, "[aarch64-linux]") && strings.Contains(line, "builder: sleeping") {
			building = true
		}
		if strings.HasPrefix(line, "[x86_64-linux] export done") {
			if !building {
				t.Fatalf("x86_64-linux was exported before the aarch64 host began to build: the hosts did not build at once\n%s", stderr)
			}
			break
		}
	}
	p.cut()
	checkLostDaemon(t, p, cmd, stderr)
	if !strings.Contains(stderr.String(), "✗ aarch64-linux") {
		t.Errorf("the summary does not report aarch64-linux failed:\n%s", stderr)
	}
	checkHostForExport(t, dir, "x86_64-linux", elf.EM_X86_64)
	rerunAfterLoss(t, dir, cmd, append([]string{"build", fixtureDir, "--system", "aarch64-linux", "--verify", "--json"}, offline...))
}

// TestFleetTwoEngines: a fleet of two different engines in one run: the
// suite's daemon (Podman, in `make integration-podman`) builds
// aarch64-linux and the daemon NIXCROSS_IT_SECOND_DAEMON names (the
// machine's Docker there) x86_64-linux, each with its own image, volume
// and emulation; both exported, each build naming its daemon. (Run by
// hand with sid's Docker 28 as the suite's daemon, too.)
func TestFleetTwoEngines(t *testing.T) {
	second := os.Getenv("NIXCROSS_IT_SECOND_DAEMON")
	if second == "" {
		t.Skip("NIXCROSS_IT_SECOND_DAEMON names no second daemon (make integration-podman sets it)")
	}
	first := "unix://" + daemonSocket
	dir := workdir(t)
	r := nixcross(t, dir, []string{"DOCKER_HOST=" + first}, append([]string{"build", fixtureDir,
		"--system", "x86_64-linux,aarch64-linux", "--host-for", "x86_64-linux=" + second, "--json"}, offline...)...)
	if r.code != 0 {
		t.Fatalf("exit %d", r.code)
	}
	builds := parseBuilds(t, r.stdout)
	if len(builds) != 2 || builds[0].Docker != second || builds[1].Docker != first {
		t.Fatalf("builds %+v, want x86_64 on %s and aarch64 on %s", builds, second, first)
	}
	// Each daemon introduced with its engine (Podman and Docker in make
	// integration-podman; any two engines work).
	for _, line := range []string{"docker " + first + " (DOCKER_HOST): ", "docker " + second + " (--host-for x86_64-linux): "} {
		if !strings.Contains(r.stderr, line) {
			t.Errorf("the run does not introduce %q", line)
		}
	}
	checkHostForExport(t, dir, "x86_64-linux", elf.EM_X86_64)
	checkHostForExport(t, dir, "aarch64-linux", elf.EM_AARCH64)
}

// TestFleetOverSSH: a fleet host reached as ssh://user@host (a throwaway
// sshd in front of the daemon, as TestSSHEndpoint) builds aarch64-linux,
// the flake copied to it, while x86_64-linux builds on the local daemon.
func TestFleetOverSSH(t *testing.T) {
	var env []string
	var host string
	for _, kv := range loopbackSSHD(t) {
		if h, ok := strings.CutPrefix(kv, "DOCKER_HOST="); ok {
			host = h // the route's endpoint, not the default daemon
			continue
		}
		env = append(env, kv)
	}
	local := "unix://" + daemonSocket
	dir := workdir(t)
	r := nixcross(t, dir, append(env, "DOCKER_HOST="+local), append([]string{"build", fixtureDir,
		"--system", "x86_64-linux,aarch64-linux", "--host-for", "aarch64-linux=" + host, "--json"}, offline...)...)
	if r.code != 0 {
		t.Fatalf("exit %d", r.code)
	}
	checkRouted(t, r.stdout, local, host)
	checkHostForExport(t, dir, "x86_64-linux", elf.EM_X86_64)
	checkHostForExport(t, dir, "aarch64-linux", elf.EM_AARCH64)
}
