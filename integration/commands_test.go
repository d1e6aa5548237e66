//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
)

// runForeign runs the fixture's builder for sys (a static binary) in a
// plain, unprivileged debian container and returns its output and exit code.
func runForeign(t *testing.T, sys string) (string, int) {
	t.Helper()
	return runContainer(t, "debian:bookworm-slim", "foreign",
		testcontainers.ContainerMounts{testcontainers.BindMount(filepath.Join(fixtureDir, "builders"), "/builders")},
		"/builders/"+sys)
}

// TestBinfmtCommands: status says foreign systems do not run; install
// makes a plain unprivileged container run aarch64 and riscv64 binaries;
// uninstall makes them fail again.
func TestBinfmtCommands(t *testing.T) {
	dir := workdir(t)
	status := func() map[string]bool {
		r := nixcross(t, dir, nil, "binfmt", "status", "--json")
		if r.code != 0 {
			t.Fatalf("binfmt status: exit %d", r.code)
		}
		var list []struct {
			System   string `json:"system"`
			Runnable bool   `json:"runnable"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &list); err != nil {
			t.Fatalf("binfmt status --json: %v\n%s", err, r.stdout)
		}
		m := map[string]bool{}
		for _, s := range list {
			m[s.System] = s.Runnable
		}
		return m
	}
	before := status()
	if !before["x86_64-linux"] {
		t.Fatalf("the host's own system is not runnable: %v", before)
	}
	if hostHasBinfmtMount(t) || before["aarch64-linux"] {
		t.Skip("the host already runs aarch64 binaries; the install/uninstall cycle cannot be observed")
	}
	if out, code := runForeign(t, "aarch64-linux"); code == 0 {
		t.Fatalf("aarch64 ran before install: %s", out)
	}
	t.Cleanup(func() { nixcross(t, dir, nil, "binfmt", "uninstall") })
	if r := nixcross(t, dir, nil, "binfmt", "install", "--system", "aarch64-linux,riscv64-linux"); r.code != 0 {
		t.Fatalf("install: exit %d", r.code)
	}
	for sys, want := range map[string]string{"aarch64-linux": "machine=aarch64", "riscv64-linux": "machine=riscv64"} {
		out, code := runForeign(t, sys)
		if code != 0 || !strings.Contains(out, want) {
			t.Fatalf("%s after install: exit %d %q", sys, code, out)
		}
	}
	after := status()
	if !after["aarch64-linux"] || !after["riscv64-linux"] {
		t.Fatalf("status after install: %v", after)
	}
	if r := nixcross(t, dir, nil, "binfmt", "uninstall"); r.code != 0 {
		t.Fatalf("uninstall: exit %d", r.code)
	}
	if out, code := runForeign(t, "aarch64-linux"); code == 0 {
		t.Fatalf("aarch64 still runs after uninstall: %s", out)
	}
}

// TestDoctor: a healthy setup reports its endpoint, that --sandbox can
// work, and exits 0; an unreachable one exits 3.
func TestDoctor(t *testing.T) {
	r := nixcross(t, workdir(t), []string{"DOCKER_CONTEXT=", "DOCKER_HOST=unix://" + daemonSocket}, "doctor")
	if r.code != 0 {
		t.Fatalf("doctor: exit %d\n%s", r.code, r.stdout)
	}
	// The engine by its own name (issue 24): Podman's service answers as
	// Docker does, but names itself in its version.
	product := "Docker"
	if v, err := docker.ServerVersion(context.Background(), client.ServerVersionOptions{}); err == nil {
		for _, c := range v.Components {
			if strings.Contains(c.Name, "Podman") {
				product = "Podman"
			}
		}
	}
	for _, want := range []string{"docker endpoint", "daemon            " + product + " ", "builder image", "aarch64-linux", "sandbox           available (--sandbox)", "ok: builds can run"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("doctor output lacks %q:\n%s", want, r.stdout)
		}
	}
	// The same facts for scripts (issue 25).
	j := nixcross(t, workdir(t), []string{"DOCKER_CONTEXT=", "DOCKER_HOST=unix://" + daemonSocket}, "doctor", "--json")
	var doc struct {
		Engine   string   `json:"engine"`
		OK       bool     `json:"ok"`
		Problems []string `json:"problems"`
	}
	if err := json.Unmarshal([]byte(j.stdout), &doc); err != nil || j.code != 0 || !doc.OK || doc.Engine != product || len(doc.Problems) != 0 {
		t.Errorf("doctor --json: exit %d, %+v (%v)\n%s", j.code, doc, err, j.stdout)
	}
	r = nixcross(t, workdir(t), []string{"DOCKER_HOST=unix:///nonexistent.sock"}, "doctor")
	if r.code != 3 {
		t.Fatalf("doctor against no daemon: exit %d", r.code)
	}
}

// TestShellTerminal: with a terminal (script(1) provides one), `shell`
// runs an interactive shell in raw mode under emulation and passes its
// exit status through.
func TestShellTerminal(t *testing.T) {
	if _, err := exec.LookPath("script"); err != nil {
		t.Skip("script(1) not installed")
	}
	cmd := exec.Command("script", "-qefc", nixcrossBin+" shell --system aarch64-linux "+fixtureDir, "/dev/null")
	cmd.Dir = workdir(t)
	cmd.Stdin = strings.NewReader("./builders/aarch64-linux\nexit 3\n")
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	if code != 3 || !strings.Contains(string(out), "machine=aarch64") {
		t.Fatalf("exit %d, want 3; output:\n%s", code, out)
	}
}

// TestRemovalDryRun (issue 25): clean --all and cache prune --all with
// --dry-run list what they would remove and remove nothing.
func TestRemovalDryRun(t *testing.T) {
	ctx := context.Background()
	before, err := docker.VolumeList(ctx, client.VolumeListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := nixcross(t, workdir(t), nil, "clean", "--all", "--dry-run")
	if c.code != 0 || !strings.Contains(c.stderr, "would remove volume nixcross-store-") {
		t.Fatalf("clean --all --dry-run: exit %d\n%s", c.code, c.stderr)
	}
	p := nixcross(t, workdir(t), nil, "cache", "prune", "--all", "--dry-run")
	if p.code != 0 || !strings.Contains(p.stdout, "nixcross-store-") || !strings.Contains(p.stderr, "would remove") {
		t.Fatalf("cache prune --all --dry-run: exit %d\n%s%s", p.code, p.stdout, p.stderr)
	}
	// The same for scripts.
	j := nixcross(t, workdir(t), nil, "cache", "prune", "--all", "--dry-run", "--json")
	var doc struct {
		DryRun  bool     `json:"dryRun"`
		Volumes []string `json:"volumes"`
	}
	if err := json.Unmarshal([]byte(j.stdout), &doc); err != nil || !doc.DryRun || len(doc.Volumes) == 0 {
		t.Errorf("cache prune --all --dry-run --json: %+v (%v)\n%s", doc, err, j.stdout)
	}
	after, err := docker.VolumeList(ctx, client.VolumeListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(after.Items) < len(before.Items) {
		t.Errorf("a dry run removed volumes: %d, then %d", len(before.Items), len(after.Items))
	}
}
