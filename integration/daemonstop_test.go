//go:build integration

package integration

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/client"

	root "github.com/nixcross/nixcross"
	"github.com/nixcross/nixcross/internal/build"
	"github.com/nixcross/nixcross/internal/engine"
)

// A daemon of the test's own: stopping the shared one would stop every
// other build on the machine. It has its own socket, data and exec roots
// and network namespace, no bridge, and gets the builder image from the
// shared daemon, so it needs no network.
type privateDaemon struct {
	root, sock string
	cmd        *exec.Cmd
}

func (d *privateDaemon) host() string { return "unix://" + d.sock }

func startPrivateDaemon(t *testing.T, dir string) *privateDaemon {
	t.Helper()
	d := &privateDaemon{root: dir, sock: filepath.Join(dir, "docker.sock")}
	// In a network namespace of its own: a dockerd without a bridge
	// deletes the host's docker0, which the shared daemon's containers
	// need (as happened once, before this test ran it so).
	d.cmd = exec.Command("unshare", "--net", "dockerd", "-H", d.host(), "--data-root", filepath.Join(dir, "data"),
		"--exec-root", filepath.Join(dir, "exec"), "--pidfile", filepath.Join(dir, "docker.pid"),
		"--bridge=none", "--iptables=false")
	logf, err := os.OpenFile(filepath.Join(dir, "dockerd.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	d.cmd.Stdout, d.cmd.Stderr = logf, logf
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	cli, err := client.New(client.WithHost(d.host()), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	for start := time.Now(); ; time.Sleep(200 * time.Millisecond) {
		if _, err := cli.Ping(context.Background(), client.PingOptions{}); err == nil {
			return d
		}
		if time.Since(start) > time.Minute {
			t.Fatalf("the private dockerd did not answer in a minute: see %s", filepath.Join(dir, "dockerd.log"))
		}
	}
}

// stop sends the daemon SIGTERM, as `systemctl stop docker` does, and
// waits for it to exit.
func (d *privateDaemon) stop(t *testing.T) {
	t.Helper()
	if d.cmd.ProcessState != nil {
		return
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- d.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		d.cmd.Process.Kill()
		<-done
		t.Error("the private dockerd did not stop in two minutes")
	}
}

// loadBuilder copies the builder image from the shared daemon.
func (d *privateDaemon) loadBuilder(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	ref := engine.BuilderTag(root.Dockerfile, build.DefaultBase)
	saved, err := docker.ImageSave(ctx, []string{ref})
	if err != nil {
		t.Fatalf("save %s: %v", ref, err)
	}
	defer saved.Close()
	cli, err := client.New(client.WithHost(d.host()), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	loaded, err := cli.ImageLoad(ctx, saved, client.ImageLoadWithQuiet(true))
	if err != nil {
		t.Fatalf("load %s: %v", ref, err)
	}
	defer loaded.Close()
	io.Copy(io.Discard, loaded)
	for start := time.Now(); ; time.Sleep(200 * time.Millisecond) {
		if _, err := cli.ImageInspect(ctx, ref); err == nil {
			return
		}
		if time.Since(start) > 3*time.Minute {
			t.Fatalf("%s not loaded into the private daemon", ref)
		}
	}
}

// TestFaultDaemonStopped: dockerd sent SIGTERM mid-build (systemctl stop
// docker, an upgrade) is exit 3 naming the daemon, not a failed build;
// once the daemon is back the next run succeeds.
func TestFaultDaemonStopped(t *testing.T) {
	for _, tool := range []string{"dockerd", "unshare"} {
		if _, err := exec.LookPath(tool); err != nil || os.Geteuid() != 0 {
			t.Skip("needs dockerd, unshare and root to run a daemon of its own")
		}
	}
	dir := workdir(t)
	// Short: a unix socket's path has room for about 100 bytes.
	state, err := os.MkdirTemp("", "nxd-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(state) })
	// The shared daemon has the builder image once any build ran there.
	nixcross(t, dir, nil, append([]string{"build", fixtureDir, "--system", "x86_64-linux", "-o", filepath.Join(dir, "warm")}, offline...)...)
	d := startPrivateDaemon(t, state)
	t.Cleanup(func() { d.stop(t) })
	d.loadBuilder(t)
	env := []string{"DOCKER_HOST=" + d.host()}

	args := append([]string{"build", fixtureDir + "#slow", "--system", "x86_64-linux", "-o", filepath.Join(dir, "result")}, offline...)
	cmd, lines, all := startBuild(t, dir, env, args...)
	waitLine(t, lines, all, "sleeping 2/600")
	d.stop(t)
	code := exitCode(t, cmd)
	out := all.String()
	t.Logf("the run whose daemon stopped: exit %d\n%s", code, out)
	if code != 3 || !strings.Contains(out, "Docker daemon at "+d.host()) {
		t.Fatalf("exit %d, want 3 naming the daemon %s", code, d.host())
	}
	if strings.Contains(out, "log is above") || strings.Contains(out, "nix build of") {
		t.Fatal("a stopped daemon blamed on the build")
	}

	d = startPrivateDaemon(t, state)
	t.Cleanup(func() { d.stop(t) })
	r := nixcross(t, dir, env, append([]string{"build", fixtureDir, "--system", "x86_64-linux", "-o", filepath.Join(dir, "result")}, offline...)...)
	if r.code != 0 {
		t.Fatalf("the run after the daemon came back: exit %d", r.code)
	}
}
