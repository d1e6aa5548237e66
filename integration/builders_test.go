//go:build integration

package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go"
	tcexec "github.com/testcontainers/testcontainers-go/exec"
	"github.com/testcontainers/testcontainers-go/wait"

	root "github.com/nixcross/nixcross"
	"github.com/nixcross/nixcross/internal/build"
	"github.com/nixcross/nixcross/internal/engine"
)

// sshNixMachine starts a second machine for the tests: a container of the
// builder image plus sshd, where root logs in with a fresh key. It returns
// the container, its address, the private key file and a known_hosts file
// with its host key.
func sshNixMachine(t *testing.T) (remote testcontainers.Container, ip, key, knownHosts string) {
	t.Helper()
	ctx := context.Background()
	base := engine.BuilderTag(root.Dockerfile, build.DefaultBase)
	const tag = "nixcross-it-remote-builder:latest"
	buildImage(t, tag, "remote-builder", map[string]string{"BUILDER_IMAGE": base})

	dir := t.TempDir()
	key = filepath.Join(dir, "id_ed25519")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v %s", err, out)
	}
	pub, _ := os.ReadFile(key + ".pub")

	remote, err := testcontainers.Run(ctx, tag,
		testcontainers.WithFiles(testcontainers.ContainerFile{Reader: bytes.NewReader(pub), ContainerFilePath: "/root/.ssh/authorized_keys", FileMode: 0o600}),
		testcontainers.WithCmd("sh", "-c", "ssh-keygen -A && exec /usr/sbin/sshd -D -e -o PermitRootLogin=prohibit-password"),
		testcontainers.WithLabels(map[string]string{"nixcross.test": "remote-builder"}),
		testcontainers.WithWaitStrategy(wait.ForLog("Server listening").WithStartupTimeout(time.Minute)),
	)
	testcontainers.CleanupContainer(t, remote)
	if err != nil {
		t.Fatal(err)
	}
	if ip, err = remote.ContainerIP(ctx); err != nil {
		t.Fatal(err)
	}
	code, reader, err := remote.Exec(ctx, []string{"cat", "/etc/ssh/ssh_host_ed25519_key.pub"}, tcexec.Multiplexed())
	if err != nil || code != 0 {
		t.Fatalf("read the machine's host key: exit %d, %v", code, err)
	}
	hostKey, _ := io.ReadAll(reader)
	fields := strings.Fields(string(hostKey))
	if len(fields) < 2 {
		t.Fatalf("host key %q", hostKey)
	}
	knownHosts = filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(knownHosts, []byte(ip+" "+fields[0]+" "+fields[1]+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return remote, ip, key, knownHosts
}

// TestRemoteBuilders: --builders and --builders-ssh-key hand Nix's
// distributed builds through. A second container (the builder image plus
// sshd) plays the remote machine; --max-jobs 0 forbids local builds, so
// the derivation can only have been built there, and the result still
// comes back to the host.
func TestRemoteBuilders(t *testing.T) {
	ctx := context.Background()
	remote, ip, key, knownHosts := sshNixMachine(t)

	spec := "ssh://root@" + ip + " aarch64-linux,x86_64-linux - 1 1"
	args := append([]string{"build", fixtureDir + "#greeting", "--system", "aarch64-linux", "--no-cache",
		"--max-jobs", "0", "--builders", spec, "--builders-ssh-key", key, "--json"}, offline...)

	// A host whose key nobody knows is refused: HOME has no known_hosts.
	r := nixcross(t, workdir(t), []string{"HOME=" + t.TempDir()}, args...)
	if r.code != 3 || !strings.Contains(r.stderr, "host key") || !strings.Contains(r.stderr, "--builders-known-hosts") {
		t.Fatalf("unknown builder host: exit %d, want 3 and a message about its host key", r.code)
	}

	// Known through --builders-known-hosts: the remote's own host key.
	wd := workdir(t)
	r = nixcross(t, wd, []string{"HOME=" + t.TempDir()}, append(args, "--builders-known-hosts", knownHosts)...)
	if r.code != 0 {
		t.Fatalf("build with a remote builder: exit %d", r.code)
	}
	if strings.Contains(r.stderr+r.stdout, "PRIVATE KEY") {
		t.Fatal("the private key was printed")
	}
	if g := resultGreeting(t, wd); !strings.Contains(g, "hello from aarch64-linux") {
		t.Fatalf("result from the remote builder: %q", g)
	}
	// The remote's store has the path: it was built there.
	outs := parseBuilds(t, r.stdout)[0].Outputs
	code, reader, err := remote.Exec(ctx, []string{"test", "-e", outs[0]})
	if reader != nil {
		io.Copy(io.Discard, reader)
	}
	if err != nil || code != 0 {
		t.Fatalf("%s is not in the remote builder's store (exit %d, %v)", outs[0], code, err)
	}

	// Under --sandbox the local Nix is sandboxed, but what the remote
	// built ran under its own settings: not marked sandboxed, and said.
	// The local store is fresh (--no-cache) and the remote's copy is
	// deleted, so the derivation is built there again.
	code, reader, err = remote.Exec(ctx, []string{"nix-store", "--delete", outs[0]})
	if reader != nil {
		io.Copy(io.Discard, reader)
	}
	if err != nil || code != 0 {
		t.Fatalf("remove %s from the remote's store: exit %d, %v", outs[0], code, err)
	}
	r = nixcross(t, workdir(t), []string{"HOME=" + t.TempDir()}, append(args, "--builders-known-hosts", knownHosts, "--sandbox")...)
	if r.code != 0 || !strings.Contains(r.stderr, "not marked sandboxed") {
		t.Fatalf("--sandbox with a remote builder: exit %d, want 0 and a warning that the result is not marked sandboxed", r.code)
	}
	var doc struct {
		Builds []struct {
			Sandboxed bool `json:"sandboxed"`
		} `json:"builds"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || len(doc.Builds) != 1 || doc.Builds[0].Sandboxed {
		t.Fatalf("--json says %+v (%v), want one build not sandboxed", doc.Builds, err)
	}
}
