//go:build integration

package integration

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSSHEndpoint: DOCKER_HOST=ssh://user@host reaches the daemon the way
// the docker CLI does (`docker system dial-stdio` on the far side, here a
// throwaway sshd on loopback); the endpoint counts as remote, so the flake
// travels through the API.
func TestSSHEndpoint(t *testing.T) {
	env := loopbackSSHD(t)
	r := nixcross(t, workdir(t), env, append([]string{"build", fixtureDir, "--system", "aarch64-linux", "--json"}, offline...)...)
	if r.code != 0 {
		t.Fatalf("build over ssh: exit %d", r.code)
	}
	b := parseBuilds(t, r.stdout)
	if b[0].Copied.Paths == 0 && b[0].Closure.Paths == 0 {
		t.Fatalf("nothing came back: %+v", b[0])
	}
	if !strings.Contains(r.stderr, "ssh://root@127.0.0.1") || !strings.Contains(r.stderr, "copy source") {
		t.Fatalf("the ssh endpoint was not used as a remote daemon:\n%s", r.stderr)
	}
}

// loopbackSSHD starts a throwaway sshd on loopback in front of the suite's
// daemon (its sessions' DOCKER_HOST names daemonSocket, so the far side's
// `docker system dial-stdio` reaches it) and returns the environment that makes nixcross reach
// it as DOCKER_HOST=ssh://root@127.0.0.1:PORT, with the client's ssh
// settings (its key, no host key checks) as a user's ~/.ssh/config would
// hold them, through an ssh wrapper first on PATH.
func loopbackSSHD(t *testing.T) []string {
	t.Helper()
	sshd, err := exec.LookPath("sshd")
	if err != nil {
		sshd = "/usr/sbin/sshd"
	}
	if _, err := os.Stat(sshd); err != nil || os.Getuid() != 0 {
		t.Skip("needs root and openssh-server (scripts/provision.sh installs it)")
	}
	dir := t.TempDir()
	run := func(name string, args ...string) {
		if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
	}
	run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(dir, "host_key"))
	run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(dir, "client_key"))
	pub, _ := os.ReadFile(filepath.Join(dir, "client_key.pub"))
	os.WriteFile(filepath.Join(dir, "authorized_keys"), pub, 0o600)
	os.MkdirAll("/run/sshd", 0o755)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cfg := fmt.Sprintf(`Port %d
ListenAddress 127.0.0.1
HostKey %s
AuthorizedKeysFile %s
PermitRootLogin prohibit-password
PasswordAuthentication no
StrictModes no
UsePAM no
AllowAgentForwarding yes
PidFile %s
SetEnv PATH=%s DOCKER_HOST=unix://%s
`, port, filepath.Join(dir, "host_key"), filepath.Join(dir, "authorized_keys"), filepath.Join(dir, "sshd.pid"), os.Getenv("PATH"), daemonSocket)
	os.WriteFile(filepath.Join(dir, "sshd_config"), []byte(cfg), 0o600)
	d := exec.Command(sshd, "-D", "-e", "-f", filepath.Join(dir, "sshd_config"))
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Process.Kill(); d.Wait() })
	for i := 0; i < 50; i++ {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			break
		}
		time.Sleep(100 * time.Millisecond)
	}

	clientCfg := fmt.Sprintf("Host *\n  IdentityFile %s\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n  LogLevel ERROR\n", filepath.Join(dir, "client_key"))
	os.WriteFile(filepath.Join(dir, "ssh_config"), []byte(clientCfg), 0o600)
	bin := filepath.Join(dir, "bin")
	os.MkdirAll(bin, 0o755)
	realSSH, _ := exec.LookPath("ssh")
	os.WriteFile(filepath.Join(bin, "ssh"), []byte("#!/bin/sh\nexec "+realSSH+" -F "+filepath.Join(dir, "ssh_config")+" \"$@\"\n"), 0o755)
	return []string{
		fmt.Sprintf("DOCKER_HOST=ssh://root@127.0.0.1:%d", port),
		"PATH=" + bin + ":" + os.Getenv("PATH"),
	}
}
