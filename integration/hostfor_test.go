//go:build integration

package integration

import (
	"debug/elf"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHostFor: --host-for sends aarch64-linux to a daemon that cannot see
// the client's files (the local one behind a TCP proxy) while x86_64-linux
// builds on the default one, in one command: both results exported beside
// the out-link, each naming its daemon, the proxied one's source copied.
func TestHostFor(t *testing.T) {
	host := tcpDaemon(t)
	local := "unix://" + daemonSocket
	dir := workdir(t)
	r := nixcross(t, dir, []string{"DOCKER_HOST=" + local}, append([]string{"build", fixtureDir,
		"--system", "x86_64-linux,aarch64-linux", "--host-for", "aarch64-linux=" + host, "-j", "2", "--json"}, offline...)...)
	if r.code != 0 {
		t.Fatalf("exit %d", r.code)
	}
	checkRouted(t, r.stdout, local, host)
	checkHostForExport(t, dir, "x86_64-linux", elf.EM_X86_64)
	checkHostForExport(t, dir, "aarch64-linux", elf.EM_AARCH64)
}

// TestHostForUnreachable: a --host-for daemon that cannot be reached fails
// only its system (exit 3, an environment problem); the other is still
// built, exported and reported.
func TestHostForUnreachable(t *testing.T) {
	dir := workdir(t)
	const gone = "unix:///nonexistent.sock"
	r := nixcross(t, dir, []string{"DOCKER_HOST=unix://" + daemonSocket}, append([]string{"build", fixtureDir,
		"--system", "x86_64-linux,aarch64-linux", "--host-for", "aarch64-linux=" + gone, "--json"}, offline...)...)
	if r.code != 3 {
		t.Fatalf("exit %d, want 3", r.code)
	}
	builds := parseBuilds(t, r.stdout)
	if len(builds) != 2 || builds[0].System != "x86_64-linux" || builds[1].System != "aarch64-linux" {
		t.Fatalf("builds %+v", builds)
	}
	if builds[0].Error != "" || len(builds[0].Outputs) != 1 {
		t.Errorf("x86_64 build %+v, want built", builds[0])
	}
	if !strings.Contains(builds[1].Error, "--host-for aarch64-linux") || builds[1].Docker != gone {
		t.Errorf("aarch64 build %+v, want failed on %s naming its --host-for", builds[1], gone)
	}
	checkHostForExport(t, dir, "x86_64-linux", elf.EM_X86_64)
	if _, err := os.Lstat(filepath.Join(dir, "result-aarch64-linux")); err == nil {
		t.Errorf("the unreachable system has an out-link")
	}
}

// checkRouted: --json reports x86_64-linux built on local and
// aarch64-linux on host, its flake copied there (host cannot see it).
func checkRouted(t *testing.T, stdout, local, host string) {
	t.Helper()
	builds := parseBuilds(t, stdout)
	if len(builds) != 2 || builds[0].System != "x86_64-linux" || builds[1].System != "aarch64-linux" {
		t.Fatalf("builds %+v", builds)
	}
	x86, arm := builds[0], builds[1]
	if x86.Docker != local || arm.Docker != host {
		t.Errorf("x86_64 built on %q, aarch64 on %q; want %s and %s", x86.Docker, arm.Docker, local, host)
	}
	if arm.Source != "copy" {
		t.Errorf("aarch64 source %q, want copy: the daemon at %s cannot see the flake", arm.Source, host)
	}
}

// checkHostForExport: the system's out-link resolves to its program, for
// its machine.
func checkHostForExport(t *testing.T, dir, system string, machine elf.Machine) {
	t.Helper()
	link := filepath.Join(dir, "result-"+system)
	target, err := os.Readlink(link)
	if err != nil || !strings.HasPrefix(target, "nix/store/") {
		t.Fatalf("%s -> %q, %v", link, target, err)
	}
	f, err := elf.Open(filepath.Join(link, "bin", "hello"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Machine != machine {
		t.Errorf("%s/bin/hello is %v, want %v", link, f.Machine, machine)
	}
}
