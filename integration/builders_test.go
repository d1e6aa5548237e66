//go:build integration

package integration

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"

	root "github.com/nixcross/nixcross"
	"github.com/nixcross/nixcross/internal/build"
	"github.com/nixcross/nixcross/internal/engine"
)

// sshNixMachine starts a second machine for the tests: a container of the
// builder image plus sshd, where root logs in with a fresh key. It returns
// the container, its address and the private key file.
func sshNixMachine(t *testing.T) (testcontainers.Container, string, string) {
	t.Helper()
	ctx := context.Background()
	base := engine.BuilderTag(root.Dockerfile, build.DefaultBase)
	const tag = "nixcross-it-remote-builder:latest"
	buildImage(t, tag, "remote-builder", map[string]string{"BUILDER_IMAGE": base})

	dir := t.TempDir()
	key := filepath.Join(dir, "id_ed25519")
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
	ip, err := remote.ContainerIP(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return remote, ip, key
}

// TestRemoteBuilders: --builders and --builders-ssh-key hand Nix's
// distributed builds through. A second container (the builder image plus
// sshd) plays the remote machine; --max-jobs 0 forbids local builds, so
// the derivation can only have been built there, and the result still
// comes back to the host.
func TestRemoteBuilders(t *testing.T) {
	ctx := context.Background()
	remote, ip, key := sshNixMachine(t)

	wd := workdir(t)
	spec := "ssh://root@" + ip + " aarch64-linux,x86_64-linux - 1 1"
	r := nixcross(t, wd, nil, append([]string{"build", fixtureDir + "#greeting", "--system", "aarch64-linux", "--no-cache",
		"--max-jobs", "0", "--builders", spec, "--builders-ssh-key", key, "--json"}, offline...)...)
	if r.code != 0 {
		t.Fatalf("build with a remote builder: exit %d", r.code)
	}
	if strings.Contains(r.stderr+r.stdout, "PRIVATE KEY") {
		t.Fatal("the private key was printed")
	}
	g, err := os.ReadFile(filepath.Join(wd, "result", "greeting"))
	if err != nil || !strings.Contains(string(g), "hello from aarch64-linux") {
		t.Fatalf("result from the remote builder: %q %v", g, err)
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
}
