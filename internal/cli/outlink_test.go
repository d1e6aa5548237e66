package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestOutLinksTakenBeforeDocker: a file or directory where a run would
// put a link (the out-link, a per-system link, with --dereference the
// -deref link) is the user's: exit 2 before the daemon is even dialed,
// and it is left as it is. A symlink there is nixcross's to replace.
func TestOutLinksTakenBeforeDocker(t *testing.T) {
	unreachable := map[string]string{"DOCKER_HOST": "unix:///nonexistent/docker.sock"}
	tests := []struct {
		name  string
		taken string // made a directory holding a file
		link  bool   // a symlink instead
		args  []string
		want  string // in stderr; "" for a run that goes on to dial Docker
	}{
		{name: "deref directory", taken: "result-deref", args: []string{"--dereference"}, want: "result-deref exists and is a directory, not a link: nixcross will not replace it"},
		{name: "deref directory without --dereference", taken: "result-deref"},
		{name: "deref link", taken: "result-deref", link: true, args: []string{"--dereference"}},
		{name: "per-system link", taken: "result-x86_64-linux", args: []string{"--system", "aarch64-linux,x86_64-linux"}, want: "result-x86_64-linux exists"},
		{name: "per-system deref", taken: "result-aarch64-linux-deref", args: []string{"--system", "aarch64-linux,x86_64-linux", "--dereference"}, want: "result-aarch64-linux-deref exists"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "flake.nix"), []byte("{}"), 0o644)
			taken := filepath.Join(dir, tt.taken)
			mine := filepath.Join(taken, "mine")
			if tt.link {
				os.Symlink(".nixcross-deref/x", taken)
			} else if err := os.MkdirAll(taken, 0o755); err != nil || os.WriteFile(mine, []byte("mine"), 0o644) != nil {
				t.Fatal(err)
			}
			args := append([]string{"build", dir, "-o", filepath.Join(dir, "result")}, tt.args...)
			code, _, stderr := runCLI(t, unreachable, args...)
			if tt.want == "" {
				if code == 2 || !strings.Contains(stderr, "cannot reach the Docker daemon") {
					t.Fatalf("exit %d stderr %q, want to go on to Docker", code, stderr)
				}
				return
			}
			if code != 2 || !strings.Contains(stderr, tt.want) || strings.Contains(stderr, "Docker daemon") {
				t.Fatalf("exit %d stderr %q, want exit 2 with %q", code, stderr, tt.want)
			}
			if b, err := os.ReadFile(mine); err != nil || string(b) != "mine" {
				t.Errorf("the user's file: %q %v", b, err)
			}
		})
	}
}

// TestStoreDirTakenBeforeDocker: a nix beside the out-link that is no
// directory, or a nix/store nixcross did not write, is exit 2 before the
// daemon is dialed (it used to fail after the build, exit 3), left as is.
func TestStoreDirTakenBeforeDocker(t *testing.T) {
	unreachable := map[string]string{"DOCKER_HOST": "unix:///nonexistent/docker.sock"}
	for name, c := range map[string]struct{ file, want string }{
		"a file named nix":     {"nix", "nix is a file, where nixcross keeps the result's store"},
		"another tool's store": {"nix/store/notes.txt", "holds notes.txt, which is no store path"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "flake.nix"), []byte("{}"), 0o644)
			mine := filepath.Join(dir, c.file)
			os.MkdirAll(filepath.Dir(mine), 0o755)
			os.WriteFile(mine, []byte("mine"), 0o644)
			code, _, stderr := runCLI(t, unreachable, "build", dir, "-o", filepath.Join(dir, "result"))
			if code != 2 || !strings.Contains(stderr, c.want) || strings.Contains(stderr, "Docker daemon") {
				t.Fatalf("exit %d stderr %q, want exit 2 with %q", code, stderr, c.want)
			}
			if b, err := os.ReadFile(mine); err != nil || string(b) != "mine" {
				t.Errorf("the user's file: %q %v", b, err)
			}
		})
	}
}

// TestUnignoredStoreWarning: an output store that would land in the
// flake's own repository, not ignored, is warned of once, with the
// .gitignore lines; ignored, or once nix/ is there, it is not.
func TestUnignoredStoreWarning(t *testing.T) {
	unreachable := map[string]string{"DOCKER_HOST": "unix:///nonexistent/docker.sock"}
	top := t.TempDir()
	if out, err := exec.Command("git", "init", "-q", top).CombinedOutput(); err != nil {
		t.Skipf("git init: %v %s", err, out)
	}
	flake := filepath.Join(top, "pkg")
	os.MkdirAll(flake, 0o755)
	os.WriteFile(filepath.Join(flake, "flake.nix"), []byte("{}"), 0o644)
	build := func() string {
		_, _, stderr := runCLI(t, unreachable, "build", flake, "-o", filepath.Join(flake, "result"))
		return stderr
	}
	stderr := build()
	if !strings.Contains(stderr, "inside the flake's git repository, and git does not ignore it") || !strings.Contains(stderr, "\n  /pkg/nix/\n  /pkg/result") {
		t.Fatalf("no warning with the .gitignore lines:\n%s", stderr)
	}
	os.WriteFile(filepath.Join(top, ".gitignore"), []byte("/pkg/nix/\n/pkg/result\n"), 0o644)
	if stderr := build(); strings.Contains(stderr, "git does not ignore") {
		t.Errorf("warned though both are ignored:\n%s", stderr)
	}
	os.Remove(filepath.Join(top, ".gitignore"))
	os.MkdirAll(filepath.Join(flake, "nix", "store"), 0o755)
	if stderr := build(); strings.Contains(stderr, "git does not ignore") {
		t.Errorf("warned again once the store was there:\n%s", stderr)
	}
}
