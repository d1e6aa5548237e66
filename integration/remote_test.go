//go:build integration

package integration

import (
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/client"
)

// daemonSocket is the local daemon the suite runs against, which the TCP
// proxies forward to: DOCKER_HOST's socket (Podman's, a second Docker
// Engine's), else Docker's default.
var daemonSocket = func() string {
	if p, ok := strings.CutPrefix(os.Getenv("DOCKER_HOST"), "unix://"); ok {
		return p
	}
	return "/var/run/docker.sock"
}()

// tcpDaemon serves the local daemon on tcp://127.0.0.1:<port>, so nixcross
// sees an endpoint it must treat as remote. It stops when the test ends.
func tcpDaemon(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
		wg    sync.WaitGroup
	)
	track := func(c net.Conn) {
		mu.Lock()
		conns = append(conns, c)
		mu.Unlock()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("unix", daemonSocket)
			if err != nil {
				c.Close()
				continue
			}
			track(c)
			track(u)
			wg.Add(1)
			go func() {
				defer wg.Done()
				proxy(c.(*net.TCPConn), u.(*net.UnixConn))
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return "tcp://" + ln.Addr().String()
}

// proxy copies both ways, passing half-closes on: hijacked exec streams
// end one direction before the other.
func proxy(c *net.TCPConn, u *net.UnixConn) {
	defer c.Close()
	defer u.Close()
	done := make(chan struct{})
	go func() {
		io.Copy(u, c)
		u.CloseWrite()
		close(done)
	}()
	io.Copy(c, u)
	c.CloseWrite()
	<-done
}

// hiddenRun is nixcross run on a copy of the fixture in a tmpfs that only
// exists in a private mount namespace: the daemon sees an empty directory
// where the flake is.
type hiddenRun struct {
	run
	// out holds what the build left in the tmpfs (result link and
	// nix/store), copied out before the namespace goes away.
	out string
	// dir is the flake's parent directory as the daemon sees it: empty.
	dir string
	// runID is the nixcross.run label of the containers this run made.
	runID string
}

func buildHidden(t *testing.T, env []string, args ...string) hiddenRun {
	t.Helper()
	return buildHiddenTree(t, env, fixtureDir, workdir(t), "flake", args...)
}

// buildHiddenTree is buildHidden for any tree: tree's contents appear at
// hidden/sub (sub may be "") for nixcross alone, which runs in hidden.
func buildHiddenTree(t *testing.T, env []string, tree, hidden, sub string, args ...string) hiddenRun {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("needs root for a private mount namespace")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("needs unshare(1)")
	}
	out := workdir(t)
	// The tmpfs is mounted over hidden inside the namespace only; the
	// flake is copied there, nixcross runs there, and its output is
	// copied out for the test to read after the namespace is gone.
	const script = `set -e
mount -t tmpfs tmpfs "$HIDDEN"
mkdir -p "$HIDDEN/$SUB"
cp -a "$TREE/." "$HIDDEN/$SUB"
cd "$HIDDEN"
set +e
"$NIXCROSS" "$@" >"$OUT/stdout" &
echo $! >"$OUT/pid"
wait $!
code=$?
for f in result nix cache; do
	if [ -e "$f" ] || [ -L "$f" ]; then cp -a "$f" "$OUT/"; fi
done
exit $code
`
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "unshare", append([]string{"-m", "--propagation", "private", "sh", "-c", script, "sh"}, args...)...)
	cmd.Env = append(withoutDockerEnv(os.Environ()), "HIDDEN="+hidden, "OUT="+out, "TREE="+tree, "SUB="+sub, "NIXCROSS="+nixcrossBin)
	cmd.Env = append(cmd.Env, env...)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	start := time.Now()
	err := cmd.Run()
	r := hiddenRun{run: run{stderr: errb.String(), took: time.Since(start)}, out: out, dir: hidden}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run nixcross %v in a private namespace: %v", args, err)
	}
	stdout, err := os.ReadFile(filepath.Join(out, "stdout"))
	if err != nil {
		t.Fatalf("nixcross never ran: %v\nstderr:\n%s", err, r.stderr)
	}
	r.stdout = string(stdout)
	pid, err := os.ReadFile(filepath.Join(out, "pid"))
	if err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	r.runID = host + ":" + strings.TrimSpace(string(pid))
	t.Logf("nixcross %s (hidden flake, %v) -> exit %d in %s\nstderr:\n%s", strings.Join(args, " "), env, r.code, r.took.Round(time.Millisecond), r.stderr)
	return r
}

// withoutDockerEnv drops the caller's daemon selection so each test's own
// DOCKER_HOST or DOCKER_CONTEXT decides.
func withoutDockerEnv(env []string) []string {
	var kept []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "DOCKER_") {
			kept = append(kept, kv)
		}
	}
	return kept
}

// runContainers lists the build containers one nixcross run made and
// left; other tests' builds may be running at the same time.
func runContainers(t *testing.T, runID string) []string {
	t.Helper()
	f := client.Filters{}.Add("label", "nixcross.managed=true").Add("label", "nixcross.role=build").Add("label", "nixcross.run="+runID)
	res, err := docker.ContainerList(context.Background(), client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		t.Fatalf("list containers: %v", err)
	}
	var names []string
	for _, c := range res.Items {
		names = append(names, strings.Join(c.Names, ","))
	}
	return names
}

// sourceModes reads each build's "source" from the --json document.
func sourceModes(t *testing.T, stdout string) []string {
	t.Helper()
	var doc struct {
		Builds []struct {
			Source string `json:"source"`
		} `json:"builds"`
	}
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatalf("stdout is not the JSON document: %v\n%s", err, stdout)
	}
	var modes []string
	for _, b := range doc.Builds {
		modes = append(modes, b.Source)
	}
	return modes
}

// checkHiddenAarch64 asserts a hidden-flake build of aarch64-linux went
// through copy mode and brought back an aarch64 result.
func checkHiddenAarch64(t *testing.T, r hiddenRun) {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("exit %d", r.code)
	}
	builds := parseBuilds(t, r.stdout)
	if len(builds) != 1 || builds[0].System != "aarch64-linux" || builds[0].Link != "result" {
		t.Fatalf("unexpected builds: %+v", builds)
	}
	if modes := sourceModes(t, r.stdout); len(modes) != 1 || modes[0] != "copy" {
		t.Fatalf("source = %q, want copy (chosen automatically for a remote daemon)", modes)
	}
	f, err := elf.Open(filepath.Join(r.out, "result", "bin", "hello"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Machine != elf.EM_AARCH64 {
		t.Fatalf("result/bin/hello is %v, want aarch64", f.Machine)
	}
	// The daemon really could not have mounted the flake.
	if entries, err := os.ReadDir(r.dir); err != nil || len(entries) != 0 {
		t.Fatalf("%s is visible outside the namespace (%d entries, %v): the test proves nothing", r.dir, len(entries), err)
	}
	if left := runContainers(t, r.runID); len(left) > 0 {
		t.Fatalf("build containers left behind: %v", left)
	}
}

// hiddenBuild is the command line for the hidden flake, plus extra flags.
func hiddenBuild(extra ...string) []string {
	return slices.Concat([]string{"build", "./flake", "--system", "aarch64-linux", "--json"}, offline, extra)
}

// TestRemoteTCPCopy: a daemon over tcp:// that cannot see the flake
// builds it, the source sent through the API without being asked. A
// fresh store (--no-cache) makes Nix really build from the copied tree
// instead of finding the outputs in the shared cache volume.
func TestRemoteTCPCopy(t *testing.T) {
	host := tcpDaemon(t)
	r := buildHidden(t, []string{"DOCKER_HOST=" + host}, hiddenBuild("--no-cache")...)
	checkHiddenAarch64(t, r)
}

// TestRemoteContextCopy: the same daemon selected through a Docker CLI
// context named by DOCKER_CONTEXT.
func TestRemoteContextCopy(t *testing.T) {
	host := tcpDaemon(t)
	const name = "remote"
	cfg := dockerContext(t, name, host)
	r := buildHidden(t, []string{"DOCKER_CONFIG=" + cfg, "DOCKER_CONTEXT=" + name}, hiddenBuild()...)
	checkHiddenAarch64(t, r)
	if !strings.Contains(r.stderr, host) {
		t.Errorf("stderr does not name the context's daemon %s", host)
	}
}

// dockerContext writes a Docker CLI config directory holding one context,
// name, for the daemon at host, as `docker context create` does; it
// returns the directory (DOCKER_CONFIG).
func dockerContext(t *testing.T, name, host string) string {
	t.Helper()
	cfg := t.TempDir()
	sum := sha256.Sum256([]byte(name))
	meta := filepath.Join(cfg, "contexts", "meta", hex.EncodeToString(sum[:]))
	if err := os.MkdirAll(meta, 0o755); err != nil {
		t.Fatal(err)
	}
	doc := `{"Name":"` + name + `","Metadata":{},"Endpoints":{"docker":{"Host":"` + host + `","SkipTLSVerify":false}}}`
	if err := os.WriteFile(filepath.Join(meta, "meta.json"), []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestRemoteSourceMountFails: forcing a bind mount on a daemon that
// cannot see the flake fails as an environment problem that points at
// --source copy, not with Nix's "does not exist", and leaves nothing.
func TestRemoteSourceMountFails(t *testing.T) {
	hosts := map[string]string{"tcp": tcpDaemon(t), "unix": "unix://" + daemonSocket}
	for name, host := range hosts {
		t.Run(name, func(t *testing.T) {
			r := buildHidden(t, []string{"DOCKER_HOST=" + host}, hiddenBuild("--source", "mount")...)
			if r.code != 3 {
				t.Fatalf("exit %d, want 3", r.code)
			}
			if !strings.Contains(r.stderr, "cannot see") || !strings.Contains(r.stderr, "--source copy") {
				t.Fatalf("stderr does not say the daemon cannot see the flake and suggest --source copy")
			}
			if strings.Contains(r.stderr, "nix build") {
				t.Fatalf("Nix ran on an empty mount instead of nixcross stopping first")
			}
			if _, err := os.Lstat(filepath.Join(r.out, "result")); err == nil {
				t.Fatalf("a failed build left a result link")
			}
			if left := runContainers(t, r.runID); len(left) > 0 {
				t.Fatalf("build containers left behind: %v", left)
			}
		})
	}
}

// TestSourceAutoLocalMount: the local socket and a directory the daemon
// shares keep the bind mount.
func TestSourceAutoLocalMount(t *testing.T) {
	dir := workdir(t)
	r := nixcross(t, dir, []string{"DOCKER_HOST=unix://" + daemonSocket}, append([]string{"build", fixtureDir, "--system", "aarch64-linux", "--json"}, offline...)...)
	if r.code != 0 {
		t.Fatalf("exit %d", r.code)
	}
	if modes := sourceModes(t, r.stdout); len(modes) != 1 || modes[0] != "mount" {
		t.Fatalf("source = %q, want mount", modes)
	}
	if _, err := os.Stat(filepath.Join(dir, "result", "bin", "hello")); err != nil {
		t.Fatal(err)
	}
}
