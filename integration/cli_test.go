//go:build integration

package integration

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestInterrupt: SIGINT during a long emulated build stops it, removes its
// containers and exits 130 quickly.
func TestInterrupt(t *testing.T) {
	dir := workdir(t)
	cmd := exec.Command(nixcrossBin, append([]string{"build", fixtureDir + "#slow", "--system", "aarch64-linux"}, offline...)...)
	cmd.Dir = dir
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		signalled := false
		for sc.Scan() {
			t.Log(sc.Text())
			if !signalled && strings.Contains(sc.Text(), "builder: sleeping") {
				signalled = true
				close(started)
			}
		}
	}()
	select {
	case <-started:
	case <-time.After(3 * time.Minute):
		cmd.Process.Kill()
		t.Fatal("the slow build never started")
	}
	sent := time.Now()
	cmd.Process.Signal(syscall.SIGINT)
	err = cmd.Wait()
	took := time.Since(sent)
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	if code != 130 {
		t.Fatalf("exit %d, want 130", code)
	}
	if took > 15*time.Second {
		t.Fatalf("took %s to stop, want under 15s", took)
	}
	if left := managedContainers(t, "build"); len(left) > 0 {
		t.Fatalf("build containers left behind: %v", left)
	}
	if left := managedContainers(t, "binfmt"); len(left) > 0 {
		t.Fatalf("binfmt helper containers left behind: %v", left)
	}
}

// TestKeepFailedAndClean: --keep-failed keeps the failed build's container
// and says how to enter it; `clean` removes it.
func TestKeepFailedAndClean(t *testing.T) {
	dir := workdir(t)
	r := nixcross(t, dir, nil, append([]string{"build", fixtureDir + "#failing", "--system", "x86_64-linux", "--keep-failed", "--json"}, offline...)...)
	if r.code != 1 {
		t.Fatalf("exit %d, want 1", r.code)
	}
	b := parseBuilds(t, r.stdout)
	if len(b) != 1 || b[0].Error == "" {
		t.Fatalf("unexpected %+v", b)
	}
	if !strings.Contains(r.stderr, "docker exec -it nixcross-kept-") {
		t.Fatalf("no command to enter the kept container in:\n%s", r.stderr)
	}
	if !strings.Contains(r.stderr, "keeping build directory") {
		t.Fatalf("Nix did not keep the build directory:\n%s", r.stderr)
	}
	if left := managedContainers(t, "build"); len(left) != 1 {
		t.Fatalf("kept containers: %v, want exactly one", left)
	}
	// A later run must not sweep it away.
	nixcross(t, dir, nil, append([]string{"build", fixtureDir, "--system", "x86_64-linux", "-o", "other"}, offline...)...)
	if left := managedContainers(t, "build"); len(left) != 1 {
		t.Fatalf("kept container swept by a later run: %v", left)
	}
	c := nixcross(t, dir, nil, "clean")
	if c.code != 0 {
		t.Fatalf("clean exit %d", c.code)
	}
	if left := managedContainers(t, "build"); len(left) != 0 {
		t.Fatalf("clean left %v", left)
	}
}

// TestUnreachableDaemon: a DOCKER_HOST socket that does not exist is an
// environment error naming Docker and the endpoint, quickly.
func TestUnreachableDaemon(t *testing.T) {
	r := nixcross(t, workdir(t), []string{"DOCKER_HOST=unix:///nonexistent/docker.sock"}, "build", fixtureDir, "--system", "aarch64-linux")
	if r.code != 3 {
		t.Fatalf("exit %d, want 3", r.code)
	}
	if r.took > 10*time.Second {
		t.Fatalf("took %s", r.took)
	}
	if !strings.Contains(r.stderr, "Docker daemon") || !strings.Contains(r.stderr, "unix:///nonexistent/docker.sock") {
		t.Fatalf("message does not name Docker and the endpoint:\n%s", r.stderr)
	}
}

// TestOutputContract: off a terminal stderr carries no ANSI escapes, and
// --json stays one valid document whatever the other flags.
func TestOutputContract(t *testing.T) {
	combos := [][]string{
		{"--json"},
		{"--json", "--verbose"},
		{"--json", "-q"},
		{"--json", "--verify", "--dereference"},
		{"--json", "--cores", "1", "--max-jobs", "1", "--no-cache"},
		{"--json", "--system", "x86_64-linux,aarch64-linux", "--jobs", "2"},
		{"--json", "--", "--show-trace"},
	}
	for _, extra := range combos {
		dir := workdir(t)
		args := append([]string{"build", fixtureDir}, offline...)
		if !contains(extra, "--system") {
			args = append(args, "--system", "x86_64-linux")
		}
		r := nixcross(t, dir, []string{"TERM=xterm-256color"}, append(args, extra...)...)
		if r.code != 0 {
			t.Fatalf("%v: exit %d", extra, r.code)
		}
		var doc map[string]any
		if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
			t.Fatalf("%v: stdout is not JSON: %v\n%s", extra, err, r.stdout)
		}
		if strings.Contains(r.stderr, "\x1b[") {
			t.Fatalf("%v: ANSI escape on a non-terminal stderr", extra)
		}
		if contains(extra, "-q") && r.stderr != "" {
			t.Fatalf("-q printed:\n%s", r.stderr)
		}
		if contains(extra, "--dereference") {
			if _, err := os.Stat(dir + "/result-deref/bin/hello"); err != nil {
				t.Fatalf("--dereference wrote no copy: %v", err)
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestMaxJobsZero: --max-jobs 0 reaches Nix (it was once dropped as "not
// set"): on an empty store with no builders and no substituter nothing may
// be built, so the build fails with advice instead of building locally.
func TestMaxJobsZero(t *testing.T) {
	dir := workdir(t)
	r := nixcross(t, dir, nil, append([]string{"build", fixtureDir + "#greeting", "--system", "x86_64-linux", "--no-cache", "--max-jobs", "0"}, offline...)...)
	if r.code != 1 || !strings.Contains(r.stderr, "Unable to start any build") || !strings.Contains(r.stderr, "raise --max-jobs") {
		t.Fatalf("exit %d, want 1 with Nix's refusal and the advice", r.code)
	}
	if _, err := os.Lstat(dir + "/result"); !os.IsNotExist(err) {
		t.Fatalf("a result was written: %v", err)
	}
}
