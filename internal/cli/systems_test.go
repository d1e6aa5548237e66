package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// An empty or blank system, alone or beside others, is exit 2 before
// any Docker call (the daemon here does not exist, which would be exit 3),
// for every command that takes --system; leaving --system out is not.
func TestEmptySystemIsUsage(t *testing.T) {
	env := map[string]string{"DOCKER_HOST": "unix:///nonexistent.sock", "DOCKER_CONFIG": t.TempDir()}
	flake := t.TempDir()
	os.WriteFile(filepath.Join(flake, "flake.nix"), []byte("{}"), 0o644)
	lists := []string{"", ",", " ", "aarch64-linux,", ",aarch64-linux", "aarch64-linux, ,x86_64-linux", "\t"}
	one := []string{"", " ", "\t"} // shell takes one system
	for _, cmd := range [][]string{{"build", flake}, {"shell", flake, "--", "true"}, {"binfmt", "install"}, {"binfmt", "uninstall"}} {
		values := lists
		if cmd[0] == "shell" {
			values = one
		}
		for _, v := range values {
			args := append([]string{cmd[0], "--system", v}, cmd[1:]...)
			code, _, stderr := runCLI(t, env, args...)
			if code != 2 || !strings.Contains(stderr, "Error: --system") || !strings.Contains(stderr, "Hint: name a system") {
				t.Errorf("%q: exit %d, stderr %q; want exit 2 naming the empty --system", args, code, stderr)
			}
		}
	}
	// A repeated --system with one empty value is refused too.
	code, _, stderr := runCLI(t, env, "build", flake, "--system", "aarch64-linux", "--system", "")
	if code != 2 || !strings.Contains(stderr, `--system "" has an empty system name`) {
		t.Errorf("repeated empty --system: exit %d, stderr %q", code, stderr)
	}
	// No --system is the default: the run goes on to the (missing) daemon.
	if code, _, stderr := runCLI(t, env, "build", flake); code != 3 {
		t.Errorf("no --system: exit %d, stderr %q; want 3 (the daemon, after validation)", code, stderr)
	}
}

func TestParseSystemsKeepsOrder(t *testing.T) {
	got, err := parseSystems([]string{"aarch64-linux, riscv64-linux", "aarch64-linux"})
	if err != nil || len(got) != 2 || got[0].String() != "aarch64-linux" || got[1].String() != "riscv64-linux" {
		t.Fatalf("parseSystems = %v, %v", got, err)
	}
	if got, err := parseSystems(nil); err != nil || len(got) != 0 {
		t.Fatalf("no --system = %v, %v; want none, the default", got, err)
	}
}
