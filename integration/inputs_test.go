//go:build integration

package integration

import (
	"debug/elf"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nixcross/nixcross/internal/fixture"
	"github.com/nixcross/nixcross/internal/system"
)

// inputsTree writes, under dir, a flake (app) whose inputs are two git
// repositories beside it, outside its own repository: lib, a library
// flake with a message, and tools, which carries the static builders and
// takes lib through `follows`. lib2 is another checkout of lib with
// another message, for --override-input.
func inputsTree(t *testing.T, dir string) {
	t.Helper()
	aarch64, err := system.Parse("aarch64-linux")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"lib/flake.nix":  `{ outputs = { self }: { message = "hello from lib v1"; }; }`,
		"lib2/flake.nix": `{ outputs = { self }: { message = "hello from lib v2"; }; }`,
		"tools/flake.nix": `{
  inputs.lib.url = "git+file://` + dir + `/lib-upstream-never-fetched";
  outputs = { self, lib }: {
    builder = system: "${self}/builders/${system}";
    greeting = lib.message + " through tools";
  };
}`,
		"app/flake.nix": `{
  inputs.lib.url = "git+file://` + dir + `/lib";
  inputs.tools.url = "git+file://` + dir + `/tools";
  inputs.tools.inputs.lib.follows = "lib";
  outputs = { self, lib, tools }:
    let
      system = "aarch64-linux";
      mk = name: attrs: derivation ({ inherit name system; builder = tools.builder system; } // attrs);
      greeting = mk "greeting" { mode = "dep"; message = tools.greeting; };
    in { packages.${system}.default = mk "hello" { mode = "hello"; dep = greeting; }; };
}`,
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := fixture.CompileBuilder(fixture.RepoRoot(), aarch64, filepath.Join(dir, "tools", "builders", "aarch64-linux")); err != nil {
		t.Fatal(err)
	}
	for _, repo := range []string{"lib", "lib2", "tools", "app"} {
		git(t, filepath.Join(dir, repo), "init", "-q")
		commit(t, filepath.Join(dir, repo))
	}
}

func git(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=nixcross", "-c", "user.email=nixcross@localhost"}, args...)...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v in %s: %v\n%s", args, dir, err, out)
	}
}

func commit(t *testing.T, dir string) {
	t.Helper()
	git(t, dir, "add", "-A")
	git(t, dir, "commit", "-q", "--allow-empty", "-m", "fixture")
}

// greeting is what the aarch64 result says, checking it is an aarch64 ELF.
func greeting(t *testing.T, result string) string {
	t.Helper()
	f, err := elf.Open(filepath.Join(result, "bin", "hello"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Machine != elf.EM_AARCH64 {
		t.Fatalf("%s/bin/hello is %v, want aarch64", result, f.Machine)
	}
	// share/greeting links to the dependency's /nix/store path, which is
	// in nix/store beside the result link.
	target, err := os.Readlink(filepath.Join(result, "share", "greeting"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(filepath.Dir(result), strings.TrimPrefix(target, "/")))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// TestLocalInputs: a flake whose inputs are local git repositories outside
// its repository builds with a local daemon (bind mounts), reports a lock
// it had to change and writes it only with --write-lock-file, builds
// against another checkout with --override-input, and builds through a
// TCP endpoint whose daemon cannot see any of the directories (copy).
func TestLocalInputs(t *testing.T) {
	dir := workdir(t)
	inputsTree(t, dir)
	app := filepath.Join(dir, "app")
	local := []string{"DOCKER_HOST=unix://" + daemonSocket}
	build := func(extra ...string) []string {
		return slices.Concat([]string{"build", app, "--system", "aarch64-linux", "--json"}, offline, extra)
	}

	// No lock yet: the inputs come from flake.nix, Nix locks them in
	// memory, and the read-only tree stays as it is.
	out := workdir(t)
	r := nixcross(t, out, local, build()...)
	if r.code != 0 {
		t.Fatalf("exit %d", r.code)
	}
	if modes := sourceModes(t, r.stdout); len(modes) != 1 || modes[0] != "mount" {
		t.Fatalf("source = %q, want mount", modes)
	}
	if got := greeting(t, filepath.Join(out, "result")); got != "hello from lib v1 through tools" {
		t.Fatalf("greeting = %q", got)
	}
	if !strings.Contains(r.stderr, "would change") || !strings.Contains(r.stderr, "--write-lock-file") {
		t.Errorf("stderr does not report the lock that would change")
	}
	if _, err := os.Stat(filepath.Join(app, "flake.lock")); err == nil {
		t.Fatalf("flake.lock was written without --write-lock-file")
	}

	// --write-lock-file writes the lock Nix computed, follows included.
	r = nixcross(t, workdir(t), local, build("--write-lock-file")...)
	if r.code != 0 {
		t.Fatalf("exit %d", r.code)
	}
	data, err := os.ReadFile(filepath.Join(app, "flake.lock"))
	if err != nil {
		t.Fatalf("--write-lock-file left no flake.lock: %v", err)
	}
	var lock struct {
		Nodes map[string]struct {
			Inputs map[string]any `json:"inputs"`
			Locked map[string]any `json:"locked"`
		} `json:"nodes"`
	}
	if err := json.Unmarshal(data, &lock); err != nil {
		t.Fatalf("flake.lock: %v\n%s", err, data)
	}
	if got := lock.Nodes["lib"].Locked["url"]; got != "file://"+dir+"/lib" {
		t.Errorf("lib is locked to %q", got)
	}
	if follows, _ := json.Marshal(lock.Nodes["tools"].Inputs["lib"]); string(follows) != `["lib"]` {
		t.Errorf("tools' lib input is %s, want it to follow lib", follows)
	}
	commit(t, app) // a git flake sees only tracked files

	// nixcross shell sees the inputs too: Nix in it evaluates the result,
	// which reads lib's message through tools. An empty store, so the
	// inputs cannot come from the earlier builds' copies.
	r = nixcross(t, app, local, slices.Concat([]string{"shell", "--system", "aarch64-linux", "--no-cache", app, "--", "nix", "eval", "--raw"}, offline, []string{".#packages.aarch64-linux.default.drvPath"})...)
	if r.code != 0 || !strings.HasSuffix(strings.TrimSpace(r.stdout), "-hello.drv") {
		t.Fatalf("nix eval in nixcross shell: exit %d, stdout %q", r.code, r.stdout)
	}

	// --override-input lib: another checkout, given relative to where
	// nixcross runs, another result; the lock that would change stays.
	out = workdir(t)
	r = nixcross(t, app, local, build("--override-input", "lib", "../lib2", "-o", filepath.Join(out, "result"))...)
	if r.code != 0 {
		t.Fatalf("exit %d", r.code)
	}
	if got := greeting(t, filepath.Join(out, "result")); got != "hello from lib v2 through tools" {
		t.Fatalf("greeting with --override-input = %q, want lib2's", got)
	}
	if after, _ := os.ReadFile(filepath.Join(app, "flake.lock")); string(after) != string(data) {
		t.Errorf("--override-input changed flake.lock without --write-lock-file")
	}

	// A daemon over TCP that cannot see app, lib or tools: all three go
	// through the API. The tree moves away so that dir is empty for the
	// daemon; nixcross alone sees it again in its private namespace.
	moved := workdir(t)
	if err := exec.Command("sh", "-c", `mv "$0"/* "$1"/`, dir, moved).Run(); err != nil {
		t.Fatal(err)
	}
	hr := buildHiddenTree(t, []string{"DOCKER_HOST=" + tcpDaemon(t)}, moved, dir, "",
		slices.Concat([]string{"build", "./app", "--system", "aarch64-linux", "--json", "--no-cache"}, offline)...)
	if hr.code != 0 {
		t.Fatalf("exit %d", hr.code)
	}
	if modes := sourceModes(t, hr.stdout); len(modes) != 1 || modes[0] != "copy" {
		t.Fatalf("source = %q, want copy", modes)
	}
	if got := greeting(t, filepath.Join(hr.out, "result")); got != "hello from lib v1 through tools" {
		t.Fatalf("greeting through copy = %q", got)
	}
	if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
		t.Fatalf("%s is visible outside the namespace (%d entries, %v): the test proves nothing", dir, len(entries), err)
	}
	if left := runContainers(t, hr.runID); len(left) > 0 {
		t.Fatalf("build containers left behind: %v", left)
	}
}

// TestMissingInput: an input whose directory is gone is a usage error
// naming the input and the path, before any container starts.
func TestMissingInput(t *testing.T) {
	dir := workdir(t)
	if err := os.WriteFile(filepath.Join(dir, "flake.nix"), []byte(`{ outputs = _: { }; }`), 0o644); err != nil {
		t.Fatal(err)
	}
	gone := filepath.Join(dir, "gone")
	r := nixcross(t, dir, nil, slices.Concat([]string{"build", dir, "--system", "aarch64-linux", "--override-input", "lib", gone}, offline)...)
	if r.code != 2 || !strings.Contains(r.stderr, "input --override-input lib") || !strings.Contains(r.stderr, gone) {
		t.Fatalf("exit %d, want 2 naming the input and %s", r.code, gone)
	}
	if strings.Contains(r.stderr, "docker ") {
		t.Errorf("nixcross reached Docker before rejecting the input")
	}
}
