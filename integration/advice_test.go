//go:build integration

package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestShellCommand: without a terminal, `shell` runs the command after --
// in the emulated environment and passes its exit status through.
func TestShellCommand(t *testing.T) {
	r := nixcross(t, workdir(t), nil, "shell", "--system", "aarch64-linux", fixtureDir, "--", "sh", "-c", "./builders/aarch64-linux; exit 7")
	if r.code != 7 {
		t.Fatalf("exit %d, want the command's 7", r.code)
	}
	if !strings.Contains(r.stdout, "goarch=arm64 machine=aarch64") {
		t.Fatalf("the aarch64 program did not run in the shell: %q", r.stdout)
	}
	if left := managedContainers(t, "shell"); len(left) > 0 {
		t.Fatalf("shell containers left: %v", left)
	}
	// The status passes through silently: the command said what it had to.
	r = nixcross(t, workdir(t), nil, "shell", fixtureDir, "--", "false")
	if r.code != 1 || strings.Contains(r.stderr, "Error:") {
		t.Fatalf("shell -- false: exit %d, want 1 with no Error: line\n%s", r.code, r.stderr)
	}
	r = nixcross(t, workdir(t), nil, "shell", fixtureDir)
	if r.code != 2 || !strings.Contains(r.stderr, "no terminal") {
		t.Fatalf("shell without a terminal and without a command: exit %d\n%s", r.code, r.stderr)
	}
}

// TestAdvice: Nix's failures come with nixcross's line of advice.
func TestAdvice(t *testing.T) {
	// A copy of the fixture whose flake imports a file git does not track.
	dir := workdir(t)
	flake := filepath.Join(dir, "flake")
	if out, err := exec.Command("cp", "-a", fixtureDir, flake).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	src, _ := os.ReadFile(filepath.Join(flake, "flake.nix"))
	patched := strings.Replace(string(src), "outputs = { self }:", "outputs = { self }: assert import ./extra.nix == {};", 1)
	os.WriteFile(filepath.Join(flake, "flake.nix"), []byte(patched), 0o644)
	os.WriteFile(filepath.Join(flake, "extra.nix"), []byte("{}"), 0o644)
	git := exec.Command("git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "use extra.nix")
	git.Dir = flake
	if out, err := git.CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	r := nixcross(t, dir, nil, append([]string{"build", flake, "--system", "x86_64-linux"}, offline...)...)
	if r.code == 0 || !strings.Contains(r.stderr, "git add extra.nix") {
		t.Fatalf("untracked file: exit %d, no `git add extra.nix` advice:\n%s", r.code, r.stderr)
	}

	r = nixcross(t, dir, nil, append([]string{"build", fixtureDir + "#nope", "--system", "x86_64-linux"}, offline...)...)
	if r.code != 2 || !strings.Contains(r.stderr, "packages for x86_64-linux in this flake: clock, cpu, default, failing, files, greeting, network, passwd, slow") {
		t.Fatalf("missing attribute: exit %d\n%s", r.code, r.stderr)
	}
}
