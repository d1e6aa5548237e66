//go:build integration

package integration

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/nixcross/nixcross/internal/fixture"
	"github.com/nixcross/nixcross/internal/release"
)

// TestAction runs the GitHub Action's two scripts the way action.yml does,
// offline: install.sh fetches this host's release archive (built here, laid
// out like GitHub's release downloads behind a file:// URL), checks it
// against checksums.txt and names the binary; run.sh builds the fixture for
// two systems with it, pushes to a file:// binary cache and writes every
// output action.yml declares.
func TestAction(t *testing.T) {
	root := fixture.RepoRoot()
	declared := actionOutputs(t, filepath.Join(root, "action.yml"))

	const version = "v0.0.0-action-test"
	releases := t.TempDir()
	stamp := release.Stamp{Version: version, Commit: "0000000000000000000000000000000000000000", Date: time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)}
	host := release.Target{OS: runtime.GOOS, Arch: runtime.GOARCH}
	if _, err := release.Build(context.Background(), release.Options{Root: root, Dist: filepath.Join(releases, "download", version), Stamp: stamp, Targets: []release.Target{host}}); err != nil {
		t.Fatal(err)
	}
	runnerArch := map[string]string{"amd64": "X64", "arm64": "ARM64"}[runtime.GOARCH]
	install := script(t, filepath.Join(root, ".github", "action", "install.sh"), t.TempDir(),
		"INPUT_VERSION="+version, "RUNNER_OS=Linux", "RUNNER_ARCH="+runnerArch, "RUNNER_TEMP="+t.TempDir(),
		"NIXCROSS_RELEASES=file://"+releases)
	if install.code != 0 {
		t.Fatalf("install.sh: exit %d", install.code)
	}
	bin := install.outputs["bin"]
	if out, err := exec.Command(bin, "version").Output(); err != nil || !strings.Contains(string(out), version) {
		t.Fatalf("installed %q prints %q (%v), want %s", bin, out, err, version)
	}

	wd := workdir(t)
	cacheDir := filepath.Join(wd, "cache")
	run := script(t, filepath.Join(root, ".github", "action", "run.sh"), wd,
		"NIXCROSS_BIN="+bin, "INPUT_SYSTEM=x86_64-linux, aarch64-linux", "INPUT_FLAKE="+fixtureDir,
		"INPUT_OPTIONS=# the fixture needs no binary cache\nsubstituters =\n", "INPUT_PUSH=file://"+cacheDir)
	if run.code != 0 {
		t.Fatalf("run.sh: exit %d", run.code)
	}
	var got []string
	for k := range run.outputs {
		got = append(got, k)
	}
	sort.Strings(got)
	if strings.Join(got, " ") != strings.Join(declared, " ") {
		t.Fatalf("run.sh wrote outputs %v; action.yml declares %v", got, declared)
	}
	builds := parseBuilds(t, run.outputs["json"])
	var paths, links []string
	for _, b := range builds {
		paths = append(paths, b.Outputs...)
		links = append(links, b.Link)
	}
	if len(builds) != 2 || len(paths) < 2 || run.outputs["paths"] != strings.Join(paths, "\n") || run.outputs["exit-code"] != "0" {
		t.Fatalf("outputs do not match the builds %+v:\n%v", builds, run.outputs)
	}
	if run.outputs["links"] != strings.Join(links, "\n") {
		t.Fatalf("links output %q, builds linked %q", run.outputs["links"], links)
	}
	for _, l := range links {
		if target, err := os.Readlink(filepath.Join(wd, l)); err != nil || !strings.Contains(target, "nix/store/") {
			t.Errorf("link %s: %q %v", l, target, err)
		}
	}

	// push: every output reached the file:// binary cache.
	for _, p := range paths {
		hash, _, _ := strings.Cut(filepath.Base(p), "-")
		if _, err := os.Stat(filepath.Join(cacheDir, hash+".narinfo")); err != nil {
			t.Errorf("%s was not pushed: %v", p, err)
		}
	}

	// A nixcross from before --push (issue 16): the step refuses the push
	// input before building anything, and says why.
	old := filepath.Join(t.TempDir(), "nixcross")
	os.WriteFile(old, []byte("#!/bin/sh\ncase \"$1\" in version) echo 'nixcross v0.0.1';; build) echo 'Usage: nixcross build [FLAKE] [flags]';; esac\n"), 0o755)
	push := script(t, filepath.Join(root, ".github", "action", "run.sh"), wd,
		"NIXCROSS_BIN="+old, "INPUT_SYSTEM=x86_64-linux", "INPUT_FLAKE="+fixtureDir, "INPUT_PUSH=file://"+cacheDir)
	if push.code != 2 || !strings.Contains(push.stderr, "needs nixcross build --push, which nixcross v0.0.1 does not have") || len(push.outputs) != 0 {
		t.Fatalf("run.sh with push and an old nixcross: exit %d, outputs %v\n%s", push.code, push.outputs, push.stderr)
	}
}

// actionOutputs are the output names action.yml declares, sorted.
func actionOutputs(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var action struct {
		Outputs map[string]any `yaml:"outputs"`
	}
	if err := yaml.Unmarshal(data, &action); err != nil {
		t.Fatalf("action.yml: %v", err)
	}
	var names []string
	for k := range action.Outputs {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

type scriptRun struct {
	code    int
	stderr  string
	outputs map[string]string
}

// script runs an action script with env and a fresh $GITHUB_OUTPUT, and
// reads back what it wrote there (name=value and name<<DELIM blocks).
func script(t *testing.T, path, dir string, env ...string) scriptRun {
	t.Helper()
	outFile := filepath.Join(t.TempDir(), "github_output")
	cmd := exec.Command("bash", path)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "GITHUB_OUTPUT="+outFile), env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err := cmd.Run()
	r := scriptRun{stderr: stderr.String(), outputs: map[string]string{}}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %s: %v", path, err)
	}
	t.Logf("%s -> exit %d\nstderr:\n%s", filepath.Base(path), r.code, r.stderr)
	f, err := os.Open(outFile)
	if os.IsNotExist(err) {
		return r
	} else if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if name, delim, ok := strings.Cut(line, "<<"); ok && !strings.Contains(name, "=") {
			var value []string
			for sc.Scan() && sc.Text() != delim {
				value = append(value, sc.Text())
			}
			r.outputs[name] = strings.Join(value, "\n")
			continue
		}
		name, value, _ := strings.Cut(line, "=")
		r.outputs[name] = value
	}
	return r
}
