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
	// Nix in the shell is the system's (issue 25): its currentSystem, and
	// so what `nix build .#default` builds there.
	r = nixcross(t, workdir(t), nil, "shell", "--system", "aarch64-linux", fixtureDir, "--", "nix", "eval", "--impure", "--raw", "--expr", "builtins.currentSystem")
	if r.code != 0 || r.stdout != "aarch64-linux" {
		t.Fatalf("currentSystem in an aarch64-linux shell: exit %d, %q", r.code, r.stdout)
	}
	r = nixcross(t, workdir(t), nil, "shell", "--system", "aarch64-linux", fixtureDir, "--", "sh", "-c", "nix build --no-link --print-out-paths --option substituters '' .#default && nix eval --raw .#default.system")
	if r.code != 0 || !strings.HasSuffix(r.stdout, "aarch64-linux") {
		t.Fatalf("nix build .#default in an aarch64-linux shell: exit %d, %q", r.code, r.stdout)
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
	// A copy of the fixture, in a subdirectory of its repository, whose
	// flake imports a file git does not track. Nix names the file relative
	// to the repository's top.
	dir := workdir(t)
	repo := filepath.Join(dir, "repo")
	flake := filepath.Join(repo, "sub")
	os.MkdirAll(repo, 0o755)
	if out, err := exec.Command("cp", "-a", fixtureDir, flake).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	os.RemoveAll(filepath.Join(flake, ".git"))
	src, _ := os.ReadFile(filepath.Join(flake, "flake.nix"))
	patched := strings.Replace(string(src), "outputs = { self }:", "outputs = { self }: assert import ./extra.nix == {};", 1)
	os.WriteFile(filepath.Join(flake, "flake.nix"), []byte(patched), 0o644)
	for _, args := range [][]string{{"init", "-q"}, {"add", "-A"}, {"-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "use extra.nix"}} {
		git := exec.Command("git", args...)
		git.Dir = repo
		if out, err := git.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v %s", args, err, out)
		}
	}
	os.WriteFile(filepath.Join(flake, "extra.nix"), []byte("{}"), 0o644)
	r := nixcross(t, dir, nil, append([]string{"build", flake, "--system", "x86_64-linux"}, offline...)...)
	if want := "`git -C " + repo + " add sub/extra.nix`"; r.code != 1 || !strings.Contains(r.stderr, want) {
		t.Fatalf("untracked file: exit %d, no %s advice:\n%s", r.code, want, r.stderr)
	}

	r = nixcross(t, dir, nil, append([]string{"build", fixtureDir + "#nope", "--system", "x86_64-linux"}, offline...)...)
	if r.code != 2 || !strings.Contains(r.stderr, "packages for x86_64-linux in this flake: clock, cpu, default, dynamic, failing, files, greeting, hog, network, passwd, silent, slow, slowArm, snoop, tamper") {
		t.Fatalf("missing attribute: exit %d\n%s", r.code, r.stderr)
	}
}
