//go:build integration

package integration

import (
	"context"
	"debug/elf"
	"errors"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/client"
)

func hostHasBinfmtMount(t *testing.T) bool {
	b, err := os.ReadFile("/proc/mounts")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Contains(string(b), "binfmt_misc")
}

// TestEmulatedBuild: from a host with no binfmt_misc mount, aarch64 and
// riscv64 builds run their builder under QEMU and bring back an ELF for the
// target, behind a relative link that resolves on the host.
func TestEmulatedBuild(t *testing.T) {
	if hostHasBinfmtMount(t) {
		t.Log("note: the host has binfmt_misc mounted; the no-mount case is not exercised")
	}
	cases := []struct {
		system  string
		machine elf.Machine
		uname   string
	}{
		{"aarch64-linux", elf.EM_AARCH64, "machine=aarch64"},
		{"riscv64-linux", elf.EM_RISCV, "machine=riscv64"},
	}
	for _, c := range cases {
		t.Run(c.system, func(t *testing.T) {
			dir := workdir(t)
			r := nixcross(t, dir, nil, append([]string{"build", fixtureDir, "--system", c.system, "--json", "--verify"}, offline...)...)
			if r.code != 0 {
				t.Fatalf("exit %d", r.code)
			}
			builds := parseBuilds(t, r.stdout)
			if len(builds) != 1 || builds[0].System != c.system || builds[0].Native {
				t.Fatalf("unexpected builds: %+v", builds)
			}
			b := builds[0]
			if b.Link != "result" || b.Attr != "default" || len(b.Outputs) != 1 {
				t.Fatalf("unexpected build record: %+v", b)
			}
			// The link is relative and resolves on this host.
			target, err := os.Readlink(filepath.Join(dir, "result"))
			if err != nil {
				t.Fatal(err)
			}
			if want := "nix/store/" + filepath.Base(b.Outputs[0]); target != want {
				t.Fatalf("result -> %s, want %s", target, want)
			}
			arch, err := os.ReadFile(filepath.Join(dir, "result", "share", "arch"))
			if err != nil {
				t.Fatal(err)
			}
			// What the builder saw at run time: the emulated CPU.
			if !strings.Contains(string(arch), c.uname) {
				t.Fatalf("builder reported %q, want %q: it did not run under emulation", arch, c.uname)
			}
			f, err := elf.Open(filepath.Join(dir, "result", "bin", "hello"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if f.Machine != c.machine {
				t.Fatalf("result/bin/hello is %v, want %v", f.Machine, c.machine)
			}
			// The runtime dependency came along: the output's link into it
			// is byte-exact (absolute, as Nix wrote it) and resolves inside
			// the exported store.
			dep, err := os.Readlink(filepath.Join(dir, "result", "share", "greeting"))
			if err != nil || !strings.HasPrefix(dep, "/nix/store/") {
				t.Fatalf("greeting link = %q, %v", dep, err)
			}
			g, err := os.ReadFile(filepath.Join(dir, strings.TrimPrefix(dep, "/")))
			if err != nil {
				t.Fatalf("runtime dependency missing from the export: %v", err)
			}
			if !strings.Contains(string(g), "hello from "+c.system) {
				t.Fatalf("greeting = %q", g)
			}
			if b.Closure.Paths != 2 {
				t.Fatalf("closure has %d paths, want 2 (output + dependency)", b.Closure.Paths)
			}
			want := []string{machineName(c.machine)}
			if strings.Join(b.Machines, ",") != strings.Join(want, ",") {
				t.Fatalf("machines = %v, want %v", b.Machines, want)
			}
		})
	}
	if left := managedContainers(t, "build"); len(left) > 0 {
		t.Fatalf("build containers left behind: %v", left)
	}
}

func machineName(m elf.Machine) string {
	switch m {
	case elf.EM_AARCH64:
		return "aarch64"
	case elf.EM_RISCV:
		return "riscv64"
	case elf.EM_X86_64:
		return "x86_64"
	}
	return m.String()
}

// TestNativeBuild: the daemon's own system builds without any binfmt
// helper container.
func TestNativeBuild(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Podman 4.3 sometimes replays events from before the subscription
	// (one from a run minutes earlier failed this test): only events from
	// now on count.
	start := time.Now()
	ev := docker.Events(ctx, client.EventsListOptions{Since: strconv.FormatInt(start.Unix(), 10),
		Filters: client.Filters{}.Add("type", "container").Add("event", "create").Add("label", "nixcross.role=binfmt")})
	created := make(chan string, 16)
	go func() {
		for {
			select {
			case m := <-ev.Messages:
				if m.TimeNano != 0 && m.TimeNano < start.Add(-time.Second).UnixNano() {
					continue
				}
				created <- m.Actor.ID
			case <-ctx.Done():
				close(created)
				return
			}
		}
	}()
	dir := workdir(t)
	r := nixcross(t, dir, nil, append([]string{"build", fixtureDir + "#default", "--system", "x86_64-linux", "--json"}, offline...)...)
	if r.code != 0 {
		t.Fatalf("exit %d", r.code)
	}
	b := parseBuilds(t, r.stdout)
	if len(b) != 1 || !b[0].Native || b[0].Machines[0] != "x86_64" {
		t.Fatalf("unexpected: %+v", b)
	}
	cancel()
	for id := range created {
		t.Fatalf("a binfmt helper container (%s) was created for a native build", id)
	}
	out, err := exec.Command(filepath.Join(dir, "result", "bin", "hello")).Output()
	if err != nil || !strings.Contains(string(out), "goarch=amd64") {
		t.Fatalf("native result does not run on the host: %v %q", err, out)
	}
}

// TestGuideErrors: the cross-compilation guide's messages, exactly, with a
// usage exit code, before any Docker call (DOCKER_HOST points nowhere).
func TestGuideErrors(t *testing.T) {
	env := []string{"DOCKER_HOST=unix:///nonexistent/docker.sock"}
	cases := []struct {
		system, first string
	}{
		{"arm-linux", "Error: Unsupported system 'arm-linux'\nSupported systems: aarch64-linux x86_64-linux aarch64-darwin x86_64-darwin"},
		{"aarch64-darwin", "Error: Cross-compilation between different operating systems (linux -> darwin) is not supported by Nix"},
	}
	for _, c := range cases {
		r := nixcross(t, t.TempDir(), env, "build", fixtureDir, "--system", c.system)
		if r.code != 2 {
			t.Errorf("%s: exit %d, want 2", c.system, r.code)
		}
		if !strings.HasPrefix(r.stderr, c.first) {
			t.Errorf("%s: stderr\n%s\nwant prefix\n%s", c.system, r.stderr, c.first)
		}
		if strings.Contains(r.stderr, "nonexistent") {
			t.Errorf("%s: Docker was contacted before validation", c.system)
		}
	}
}

// TestFailingBuild: a failing derivation exits 1 with the builder's own
// stderr shown, and leaves no container.
func TestFailingBuild(t *testing.T) {
	dir := workdir(t)
	r := nixcross(t, dir, nil, append([]string{"build", fixtureDir + "#failing", "--system", "x86_64-linux"}, offline...)...)
	if r.code != 1 {
		t.Fatalf("exit %d, want 1", r.code)
	}
	if !strings.Contains(r.stderr, "this derivation fails on purpose") {
		t.Fatalf("the builder's stderr is not shown")
	}
	if _, err := os.Lstat(filepath.Join(dir, "result")); err == nil {
		t.Fatalf("a failed build left a result link")
	}
	if left := managedContainers(t, "build"); len(left) > 0 {
		t.Fatalf("build containers left behind: %v", left)
	}
}

// TestExportOwnedByInvokingUser: the export belongs to the user who asked
// for it, who can delete it without root, whether that user is in the
// docker group and runs nixcross directly, or runs it through sudo (root,
// with the user named in SUDO_UID/SUDO_GID, which the test sets the way
// sudo does).
func TestExportOwnedByInvokingUser(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to create the test user")
	}
	const name = "nixcross-it"
	if _, err := user.Lookup(name); err != nil {
		if out, err := exec.Command("useradd", "-M", "-G", "docker", name).CombinedOutput(); err != nil {
			t.Fatalf("useradd: %v %s", err, out)
		}
	}
	u, _ := user.Lookup(name)
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	build := append([]string{"build", fixtureDir, "--system", "aarch64-linux"}, offline...)
	tests := []struct {
		name string
		cmd  func(dir string) *exec.Cmd
	}{
		{"docker group member", func(dir string) *exec.Cmd {
			cmd := exec.Command("runuser", append([]string{"-u", name, "--", nixcrossBin}, build...)...)
			cmd.Env = append(os.Environ(), "HOME="+dir)
			return cmd
		}},
		{"through sudo", func(dir string) *exec.Cmd {
			cmd := exec.Command(nixcrossBin, build...)
			cmd.Env = append(os.Environ(), "SUDO_USER="+name, "SUDO_UID="+u.Uid, "SUDO_GID="+u.Gid)
			return cmd
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := workdir(t)
			cmd := tt.cmd(dir)
			cmd.Dir = dir
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("build: %v\n%s", err, out)
			}
			var n int
			check := func(p string, fi os.FileInfo, err error) error {
				if err != nil {
					return err
				}
				if st := fi.Sys().(*syscall.Stat_t); int(st.Uid) != uid || int(st.Gid) != gid {
					t.Errorf("%s belongs to %d:%d, want %d:%d", p, st.Uid, st.Gid, uid, gid)
				}
				n++
				return nil
			}
			if err := filepath.Walk(filepath.Join(dir, "nix"), check); err != nil {
				t.Fatal(err)
			}
			fi, err := os.Lstat(filepath.Join(dir, "result"))
			if err := check(filepath.Join(dir, "result"), fi, err); err != nil {
				t.Fatal(err)
			}
			if n < 5 {
				t.Fatalf("only %d entries exported", n)
			}
			if out, err := exec.Command("runuser", "-u", name, "--", "rm", "-rf", filepath.Join(dir, "nix"), filepath.Join(dir, "result")).CombinedOutput(); err != nil {
				t.Fatalf("%s cannot remove the export: %v\n%s", name, err, out)
			}
		})
	}
}

// TestEverySupportedLinuxSystem: each Linux system builds and brings back
// an ELF of its own machine, emulated or native as the host allows.
func TestEverySupportedLinuxSystem(t *testing.T) {
	cases := map[string]elf.Machine{
		"armv7l-linux":      elf.EM_ARM,
		"i686-linux":        elf.EM_386,
		"powerpc64le-linux": elf.EM_PPC64,
		"s390x-linux":       elf.EM_S390,
	}
	dir := workdir(t)
	var systems []string
	for s := range cases {
		systems = append(systems, s)
	}
	r := nixcross(t, dir, nil, append([]string{"build", fixtureDir, "--system", strings.Join(systems, ","), "--jobs", "2", "--json", "--verify"}, offline...)...)
	if r.code != 0 {
		t.Fatalf("exit %d", r.code)
	}
	for sys, m := range cases {
		f, err := elf.Open(filepath.Join(dir, "result-"+sys, "bin", "hello"))
		if err != nil {
			t.Fatalf("%s: %v", sys, err)
		}
		if f.Machine != m {
			t.Errorf("%s: %v, want %v", sys, f.Machine, m)
		}
		f.Close()
		arch, _ := os.ReadFile(filepath.Join(dir, "result-"+sys, "share", "arch"))
		t.Logf("%s builder reported %s", sys, strings.TrimSpace(string(arch)))
	}
}

// TestSocketPermissionDenied (issue 24): a user outside the docker group,
// without DOCKER_HOST, is told the socket refused them and how to get in,
// not to start a daemon that runs.
func TestSocketPermissionDenied(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to create the test user")
	}
	const name = "nixcross-it-nodocker"
	if _, err := user.Lookup(name); err != nil {
		if out, err := exec.Command("useradd", "-M", name).CombinedOutput(); err != nil {
			t.Fatalf("useradd: %v %s", err, out)
		}
	}
	dir := workdir(t)
	cmd := exec.Command("runuser", "-u", name, "--", nixcrossBin, "build", fixtureDir, "--system", "x86_64-linux")
	cmd.Dir = dir
	cmd.Env = []string{"HOME=" + dir, "PATH=/usr/bin:/bin"}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Fatalf("exit %v, want 3:\n%s", err, out)
	}
	if !strings.Contains(string(out), "permission denied") || !strings.Contains(string(out), "docker group") {
		t.Fatalf("the refusal and the docker-group hint are missing:\n%s", out)
	}
}

// TestBuildFromSubdirectory (issue 25): run inside a directory of the
// flake (its builders/), nixcross builds the flake above, as nix build
// finds it.
func TestBuildFromSubdirectory(t *testing.T) {
	out := filepath.Join(workdir(t), "result")
	r := nixcross(t, filepath.Join(fixtureDir, "builders"), nil, append([]string{"build", "--system", "x86_64-linux", "-o", out}, offline...)...)
	if r.code != 0 {
		t.Fatalf("exit %d from the flake's subdirectory", r.code)
	}
	if _, err := os.Stat(filepath.Join(out, "bin", "hello")); err != nil {
		t.Fatal(err)
	}
}

// TestPrintOutPaths (issue 25): -q --print-out-paths prints exactly the
// output's path on this machine, and nothing else; after -- it means the
// same, and -- -o is a usage error naming nixcross's -o.
func TestPrintOutPaths(t *testing.T) {
	dir := workdir(t)
	for _, args := range [][]string{{"-q", "--print-out-paths"}, {"-q", "--", "--print-out-paths"}} {
		r := nixcross(t, dir, nil, append(append([]string{"build", fixtureDir, "--system", "x86_64-linux"}, offline...), args...)...)
		if r.code != 0 || r.stderr != "" {
			t.Fatalf("%q: exit %d, stderr %q", args, r.code, r.stderr)
		}
		target, err := os.Readlink(filepath.Join(dir, "result"))
		if err != nil {
			t.Fatal(err)
		}
		if want := filepath.Join(dir, target) + "\n"; r.stdout != want {
			t.Errorf("%q printed %q, want %q", args, r.stdout, want)
		}
	}
	r := nixcross(t, dir, nil, append([]string{"build", fixtureDir, "--system", "x86_64-linux", "--", "-o", "foo"}, offline...)...)
	if r.code != 2 || !strings.Contains(r.stderr, "-o/--out-link") {
		t.Errorf("-- -o foo: exit %d\n%s", r.code, r.stderr)
	}
}

// TestPlatformNames (issue 25): Docker's platform names build what they
// name, and Docker's CPU name for --system is refused with the Nix name.
func TestPlatformNames(t *testing.T) {
	dir := workdir(t)
	r := nixcross(t, dir, nil, append([]string{"build", fixtureDir, "--platform", "linux/arm64"}, offline...)...)
	if r.code != 0 {
		t.Fatalf("--platform linux/arm64: exit %d", r.code)
	}
	if arch, err := os.ReadFile(filepath.Join(dir, "result", "share", "arch")); err != nil || !strings.Contains(string(arch), "machine=aarch64") {
		t.Errorf("result/share/arch: %q %v", arch, err)
	}
	r = nixcross(t, workdir(t), nil, "build", fixtureDir, "--system", "arm64")
	if r.code != 2 || !strings.Contains(r.stderr, "did you mean aarch64-linux?") {
		t.Errorf("--system arm64: exit %d\n%s", r.code, r.stderr)
	}
}

// TestHeartbeat (issue 25): off a terminal, a build step that says
// nothing for 40 s still shows a line that it is going, with its time.
func TestHeartbeat(t *testing.T) {
	r := nixcross(t, workdir(t), nil, append([]string{"build", fixtureDir + "#silent", "--system", "x86_64-linux", "--no-cache"}, offline...)...)
	if r.code != 0 {
		t.Fatalf("exit %d", r.code)
	}
	if !strings.Contains(r.stderr, "still build "+fixtureDir+"#silent for x86_64-linux (") || !strings.Contains(r.stderr, "1/1 derivations)") {
		t.Errorf("no heartbeat line in:\n%s", r.stderr)
	}
}
