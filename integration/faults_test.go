//go:build integration

package integration

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/nixcross/nixcross/internal/hoststore"
)

// Faults the real world throws at a build (issue 23), on the shared daemon:
// these tests never stop it.

// startBuild starts nixcross with env added to the environment and
// returns its stderr lines as they come.
func startBuild(t *testing.T, dir string, env []string, args ...string) (*exec.Cmd, <-chan string, *lockedText) {
	t.Helper()
	cmd := exec.Command(nixcrossBin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	// A pipe of the test's own: cmd.Wait closes a StderrPipe as soon as the
	// process exits, which can lose its last lines (the error).
	stderr, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = w
	all := &lockedText{done: make(chan struct{})}
	lines := make(chan string, 4096)
	err = cmd.Start()
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	go func() {
		defer close(all.done)
		defer stderr.Close()
		defer close(lines)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			all.add(sc.Text())
			select {
			case lines <- sc.Text():
			default:
			}
		}
	}()
	return cmd, lines, all
}

// waitLine waits for a stderr line containing s.
func waitLine(t *testing.T, lines <-chan string, all *lockedText, s string) {
	t.Helper()
	deadline := time.After(10 * time.Minute)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("nixcross ended before %q:\n%s", s, all)
			}
			if strings.Contains(l, s) {
				return
			}
		case <-deadline:
			t.Fatalf("no %q after 10 minutes:\n%s", s, all)
		}
	}
}

// TestFaultContainerKilled: `docker kill` of the build container mid-build
// is exit 3 naming the container, never a failed build.
func TestFaultContainerKilled(t *testing.T) {
	dir := workdir(t)
	args := append([]string{"build", fixtureDir + "#slow", "--system", "x86_64-linux", "-o", filepath.Join(dir, "result")}, offline...)
	cmd, lines, all := startBuild(t, dir, nil, args...)
	waitLine(t, lines, all, "sleeping 2/600")
	names := containersOfRun(t, cmd.Process.Pid)
	if len(names) != 1 {
		t.Fatalf("the run has containers %v, want its one build container", names)
	}
	if _, err := docker.ContainerKill(context.Background(), strings.TrimPrefix(names[0], "/"), client.ContainerKillOptions{}); err != nil {
		t.Fatal(err)
	}
	code := exitCode(t, cmd)
	out := all.String()
	t.Logf("exit %d\n%s", code, out)
	if code != 3 || !strings.Contains(out, "was stopped by something other than nixcross") {
		t.Fatalf("exit %d, want 3 naming the container stopped from outside", code)
	}
	if strings.Contains(out, "log is above") || strings.Contains(out, "nix build of") {
		t.Fatal("a killed container blamed on the build")
	}
}

// TestFaultOutOfMemory: a derivation that allocates without bound under
// --memory 256m is exit 3 naming memory.
func TestFaultOutOfMemory(t *testing.T) {
	dir := workdir(t)
	args := append([]string{"build", fixtureDir + "#hog", "--system", "x86_64-linux", "--memory", "256m", "-o", filepath.Join(dir, "result")}, offline...)
	r := nixcross(t, dir, nil, args...)
	if r.code != 3 || !strings.Contains(r.stderr, "ran out of memory (--memory 256MiB)") {
		t.Fatalf("exit %d, want 3 naming memory and the limit", r.code)
	}
	if !strings.Contains(r.stderr, "raise --memory") || strings.Contains(r.stderr, "log is above") {
		t.Fatal("the hint is not the memory one")
	}
}

// TestFaultNoSpace: a big result into a small tmpfs is exit 3 naming
// space, nothing is published under a final name, and the rerun with
// room succeeds.
func TestFaultNoSpace(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	dir := filepath.Join(workdir(t), "small")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	mount := func(size string) {
		if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
			t.Fatalf("mount: %v %s", err, out)
		}
	}
	mount("64m")
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	args := append([]string{"build", fixtureDir + "#files", "--system", "x86_64-linux", "-o", filepath.Join(dir, "result")}, offline...)
	r := nixcross(t, dir, nil, args...)
	if r.code != 3 || !strings.Contains(r.stderr, "no space left for the result in "+filepath.Join(dir, "nix")) {
		t.Fatalf("exit %d, want 3 naming the space and %s", r.code, dir)
	}
	if _, err := os.Lstat(filepath.Join(dir, "result")); err == nil {
		t.Fatal("result linked after a failed export")
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "nix", "store"))
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), "-files") {
			t.Fatalf("%s published though it did not fit", e.Name())
		}
	}
	if out, err := exec.Command("mount", "-o", "remount,size=400m", dir).CombinedOutput(); err != nil {
		t.Fatalf("remount: %v %s", err, out)
	}
	if r := nixcross(t, dir, nil, args...); r.code != 0 {
		t.Fatalf("rerun with room: exit %d", r.code)
	}
}

// TestFaultKilledRunRerun: a run SIGKILLed mid-export and a rerun at once
// leave no temporaries in nix/store: the rerun counts the killed run as
// dead even while nobody has reaped it.
func TestFaultKilledRunRerun(t *testing.T) {
	dir := workdir(t)
	args := append([]string{"build", fixtureDir + "#files", "--system", "x86_64-linux", "-o", filepath.Join(dir, "result")}, offline...)
	// The build once, so the killed run reaches its export at once.
	nixcross(t, dir, nil, append(args, "-o", filepath.Join(workdir(t), "result"))...)
	cmd, _, all := startBuild(t, dir, nil, args...)
	store := filepath.Join(dir, "nix", "store")
	for start := time.Now(); !hasTemp(store); time.Sleep(5 * time.Millisecond) {
		if time.Since(start) > 5*time.Minute {
			t.Fatalf("no export began in 5 minutes:\n%s", all)
		}
	}
	// Killed and not yet reaped: a zombie while the rerun starts.
	cmd.Process.Signal(syscall.SIGKILL)
	r := nixcross(t, dir, nil, args...)
	cmd.Wait()
	if r.code != 0 {
		t.Fatalf("rerun: exit %d", r.code)
	}
	if hasTemp(store) {
		entries, _ := os.ReadDir(store)
		t.Fatalf("temporaries left in %s after the rerun: %v", store, entries)
	}
}

func hasTemp(store string) bool {
	entries, _ := os.ReadDir(store)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), hoststore.TempPrefix) {
			return true
		}
	}
	return false
}
