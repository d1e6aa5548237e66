//go:build integration

package integration

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/nixcross/nixcross/internal/status"
)

// The daemon is shared with everything else on the machine, so these tests
// never stop it: nixcross talks to it through a TCP proxy, and cutting the
// proxy is the daemon going away as far as nixcross can tell. The
// containers nixcross made stay behind on the real daemon, as they would
// after a daemon restart that kept them, for the next run to sweep.

// daemonProxy forwards TCP connections to the daemon's unix socket.
type daemonProxy struct {
	ln     net.Listener
	socket string
	// env is what nixcross needs besides -H to talk to the proxy (TLS).
	env   []string
	mu    sync.Mutex
	conns []net.Conn
}

func startProxy(t *testing.T) *daemonProxy {
	t.Helper()
	u, err := url.Parse(docker.DaemonHost())
	if err != nil || u.Scheme != "unix" {
		t.Skipf("the proxy forwards to a unix socket; the daemon is at %s", docker.DaemonHost())
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &daemonProxy{ln: ln, socket: u.Path}
	go p.serve()
	t.Cleanup(p.cut)
	return p
}

func (p *daemonProxy) host() string { return "tcp://" + p.ln.Addr().String() }

func (p *daemonProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		d, err := net.Dial("unix", p.socket)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, d)
		p.mu.Unlock()
		go func() { io.Copy(d, c); d.Close() }()
		go func() { io.Copy(c, d); c.Close() }()
	}
}

// cut closes the listener and every connection, resetting the client's.
func (p *daemonProxy) cut() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		if tc, ok := c.(*tls.Conn); ok {
			c = tc.NetConn()
		}
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
		c.Close()
	}
	p.conns = nil
}

// lockedText collects stderr from the reading goroutine; done is closed
// when it has read to the end.
type lockedText struct {
	mu   sync.Mutex
	b    strings.Builder
	done chan struct{}
}

func (l *lockedText) add(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.WriteString(line + "\n")
}

// String is what was read so far; once the process has exited, all of it
// (it waits, a few seconds at most, for the reader to reach the end).
func (l *lockedText) String() string {
	if l.done != nil {
		select {
		case <-l.done:
		case <-time.After(5 * time.Second):
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startThroughProxy starts nixcross against the proxy and returns its
// stderr lines as they come.
func startThroughProxy(t *testing.T, p *daemonProxy, dir string, args ...string) (*exec.Cmd, <-chan string, *lockedText) {
	t.Helper()
	return startBuild(t, dir, p.env, append([]string{"-H", p.host()}, args...)...)
}

// exitCode waits for cmd and returns its exit status; it fails the test
// when the process did not exit on its own.
func exitCode(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			if !ee.Exited() {
				t.Fatalf("nixcross did not exit on its own: %v", ee)
			}
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		t.Fatal("nixcross still runs two minutes after losing its daemon")
		return -1
	}
}

// containersOfRun lists the containers of the nixcross process pid.
func containersOfRun(t *testing.T, pid int) []string {
	t.Helper()
	host, _ := os.Hostname()
	f := client.Filters{}.Add("label", "nixcross.managed=true").Add("label", fmt.Sprintf("nixcross.run=%s:%d", host, pid))
	res, err := docker.ContainerList(context.Background(), client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range res.Items {
		names = append(names, strings.Join(c.Names, ","))
	}
	return names
}

// checkLostDaemon checks the first run's end: exit 3, the error names the
// daemon, its containers are still on the daemon for a later run to sweep.
func checkLostDaemon(t *testing.T, p *daemonProxy, cmd *exec.Cmd, stderr *lockedText) []string {
	t.Helper()
	code := exitCode(t, cmd)
	t.Logf("the run that lost its daemon: exit %d\nstderr:\n%s", code, stderr)
	if code != 3 {
		t.Fatalf("exit %d after losing the daemon, want 3\n%s", code, stderr)
	}
	if !strings.Contains(stderr.String(), "Docker daemon at "+p.host()) {
		t.Fatalf("the error does not name the daemon %s:\n%s", p.host(), stderr)
	}
	// Classified as the daemon's going, whatever step noticed it.
	if !strings.Contains(stderr.String(), "Hint: "+status.KindDaemon.Advice()) {
		t.Fatalf("the advice is not the lost daemon's:\n%s", stderr)
	}
	left := containersOfRun(t, cmd.Process.Pid)
	if len(left) == 0 {
		t.Fatal("no container left on the daemon: the test did not cut the connection mid-run")
	}
	return left
}

// TestDaemonLostMidBuild: the daemon goes away while Nix builds; nixcross
// exits 3 naming it, and the next run sweeps the orphaned containers,
// builds, and its result verifies.
func TestDaemonLostMidBuild(t *testing.T) {
	lostMidBuild(t, startProxy(t))
}

// TestDaemonLostMidBuildTLS: the same through TLS with client
// certificates (DOCKER_TLS_VERIFY, DOCKER_CERT_PATH), where the build's
// log streams over a TLS connection of the exec's own.
func TestDaemonLostMidBuildTLS(t *testing.T) {
	lostMidBuild(t, startTLSProxy(t))
}

func lostMidBuild(t *testing.T, p *daemonProxy) {
	dir := workdir(t)
	cmd, lines, stderr := startThroughProxy(t, p, dir, append([]string{"build", fixtureDir + "#slow", "--system", "aarch64-linux"}, offline...)...)
	deadline := time.After(5 * time.Minute)
	for sleeping := false; !sleeping; {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("nixcross ended before the slow build started:\n%s", stderr)
			}
			sleeping = strings.Contains(line, "builder: sleeping")
		case <-deadline:
			t.Fatalf("the slow build never started:\n%s", stderr)
		}
	}
	p.cut()
	left := checkLostDaemon(t, p, cmd, stderr)
	t.Logf("left on the daemon: %v", left)

	rerunAfterLoss(t, dir, cmd, append([]string{"build", fixtureDir, "--system", "aarch64-linux", "--verify", "--json"}, offline...))
}

// rerunAfterLoss runs nixcross again in dir after the run cmd lost its
// daemon: it must succeed, sweep cmd's orphaned containers, and export a
// result that verifies against Nix's hashes. It returns the build.
func rerunAfterLoss(t *testing.T, dir string, cmd *exec.Cmd, args []string) jsonBuild {
	t.Helper()
	r := nixcross(t, dir, nil, args...)
	if r.code != 0 {
		t.Fatalf("the run after the lost daemon: exit %d", r.code)
	}
	if still := containersOfRun(t, cmd.Process.Pid); len(still) > 0 {
		t.Fatalf("the next run did not sweep the orphaned containers: %v", still)
	}
	b := parseBuilds(t, r.stdout)[0]
	verifyExport(t, dir, nixPathInfo(t, b.Outputs))
	return b
}

// TestDaemonLostMidExport: the daemon goes away while the result streams
// out; nixcross exits 3 naming it and publishes no half-copied path; the
// next run sweeps, copies the rest, and everything verifies.
func TestDaemonLostMidExport(t *testing.T) {
	lostMidExport(t, startProxy(t))
}

// TestDaemonLostMidExportTLS: the same through TLS, where the export's
// streams are TLS connections of their own.
func TestDaemonLostMidExportTLS(t *testing.T) {
	lostMidExport(t, startTLSProxy(t))
}

func lostMidExport(t *testing.T, p *daemonProxy) {
	dir := workdir(t)
	args := append([]string{"build", fixtureDir + "#files", "--system", "x86_64-linux", "--json"}, offline...)
	cmd, lines, stderr := startThroughProxy(t, p, dir, args...)
	go func() {
		for range lines {
		}
	}()
	store := filepath.Join(dir, "nix", "store")
	deadline := time.Now().Add(10 * time.Minute)
	for exporting := false; !exporting; {
		if time.Now().After(deadline) {
			t.Fatalf("never saw the export start:\n%s", stderr)
		}
		entries, _ := os.ReadDir(store)
		for _, e := range entries {
			exporting = exporting || strings.HasPrefix(e.Name(), ".nixcross-tmp-")
		}
		if !exporting {
			time.Sleep(5 * time.Millisecond) // polling the store for the export's first temporary
		}
	}
	p.cut()
	checkLostDaemon(t, p, cmd, stderr)
	entries, _ := os.ReadDir(store)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".nixcross-tmp-") {
			t.Errorf("the failed export left its temporary %s", e.Name())
		}
	}

	if b := rerunAfterLoss(t, dir, cmd, args); b.Copied.Paths == 0 {
		t.Fatal("the rerun copied nothing: the first run cannot have been cut mid-export")
	}
}
