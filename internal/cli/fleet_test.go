package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nixcross/nixcross/internal/status"
)

// TestFleetCommand: set, ls and rm edit the file NIXCROSS_FLEET or
// --fleet names; a bad route is exit 2 and changes nothing.
func TestFleetCommand(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fleet")
	env := map[string]string{"NIXCROSS_FLEET": path}
	env["DOCKER_CONFIG"] = t.TempDir() // no contexts
	if code, _, stderr := runCLI(t, env, "fleet", "set", "aarch64-linux", "desktop-linux"); code != 0 || !strings.Contains(stderr, "aarch64-linux builds on desktop-linux") ||
		!strings.Contains(stderr, `warning: there is no Docker context "desktop-linux" yet`) {
		t.Fatalf("set: exit %d %q", code, stderr)
	}
	if code, _, _ := runCLI(t, env, "fleet", "set", "x86_64-linux=ssh://me@server"); code != 0 {
		t.Fatalf("set SYSTEM=ENDPOINT: exit %d", code)
	}
	code, stdout, stderr := runCLI(t, env, "fleet", "ls")
	if code != 0 || !strings.Contains(stdout, "aarch64-linux  desktop-linux") || !strings.Contains(stdout, "x86_64-linux   ssh://me@server") || stderr != "fleet file "+path+"\n" {
		t.Fatalf("ls: exit %d\n%s\nstderr %q", code, stdout, stderr)
	}
	code, stdout, _ = runCLI(t, env, "fleet", "ls", "--json")
	if code != 0 || !strings.Contains(stdout, `"system": "aarch64-linux"`) || !strings.Contains(stdout, `"found": true`) {
		t.Fatalf("ls --json: exit %d\n%s", code, stdout)
	}
	before, _ := os.ReadFile(path)
	for _, args := range [][]string{
		{"fleet", "set", "arm-linux", "x"},
		{"fleet", "set", "aarch64-linux"},
		{"fleet", "set"},
		{"fleet", "set", "aarch64-linux", "tpc://a:2375"},
		{"fleet", "rm", "riscv64-linux"},
	} {
		if code, _, stderr := runCLI(t, env, args...); code != status.ExitUsage {
			t.Errorf("%v: exit %d, want 2: %s", args, code, stderr)
		}
	}
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Errorf("refused commands changed the file:\n%s", after)
	}
	if code, _, _ := runCLI(t, env, "fleet", "rm", "aarch64-linux"); code != 0 {
		t.Fatalf("rm: exit %d", code)
	}
	if b, _ := os.ReadFile(path); string(b) != "x86_64-linux = ssh://me@server\n" {
		t.Errorf("after rm: %q", b)
	}
	other := filepath.Join(t.TempDir(), "ci-fleet")
	if code, _, _ := runCLI(t, env, "fleet", "--fleet", other, "set", "riscv64-linux", "board"); code != 0 {
		t.Fatalf("--fleet set: exit %d", code)
	}
	if b, _ := os.ReadFile(other); string(b) != "riscv64-linux = board\n" {
		t.Errorf("--fleet file: %q", b)
	}
}

// TestBuildFleetErrors: a named fleet file that is missing or has a bad
// line stops a build with exit 2 before Docker, naming the file and line.
func TestBuildFleetErrors(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "flake.nix"), []byte("{}"), 0o644)
	bad := filepath.Join(dir, "fleet")
	os.WriteFile(bad, []byte("# ok\naarch64-linux mac\n"), 0o644)
	env := map[string]string{"DOCKER_HOST": "unix:///nonexistent.sock"}
	code, _, stderr := runCLI(t, env, "build", dir, "--fleet", bad)
	if code != 2 || !strings.Contains(stderr, bad+":2: want SYSTEM=ENDPOINT") {
		t.Errorf("bad line: exit %d %q", code, stderr)
	}
	env["NIXCROSS_FLEET"] = filepath.Join(dir, "missing")
	code, _, stderr = runCLI(t, env, "build", dir)
	if code != 2 || !strings.Contains(stderr, "missing") {
		t.Errorf("missing named file: exit %d %q", code, stderr)
	}
	// --no-fleet: the file is not read; the run gets as far as Docker.
	code, _, stderr = runCLI(t, env, "build", dir, "--no-fleet")
	if code != 3 || !strings.Contains(stderr, "cannot reach the Docker daemon") {
		t.Errorf("--no-fleet: exit %d %q", code, stderr)
	}
	code, _, _ = runCLI(t, env, "build", dir, "--no-fleet", "--fleet", bad)
	if code != 2 {
		t.Errorf("--fleet with --no-fleet: exit %d", code)
	}
}
