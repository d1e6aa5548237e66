package build

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nixcross/nixcross/internal/status"
)

// TestRemoteBuildersSecrets: with --builders, the known hosts (and the key)
// go to the secrets tmpfs through stdin, ssh checks host keys strictly,
// and a kept container has had its secrets removed first.
func TestRemoteBuildersSecrets(t *testing.T) {
	flake, out := flakeDir(t)
	key := filepath.Join(t.TempDir(), "id")
	os.WriteFile(key, []byte("PRIVATE"), 0o600)
	d := newDaemon()
	failingBuild(d, "error: builder for '/nix/store/x.drv' failed with exit code 1\n")
	var env []string
	ok := d.build
	d.build = func(ctx context.Context, c *fakeContainer) (string, string, int) {
		env = c.envs[len(c.envs)-1]
		return ok(ctx, c)
	}
	r, _, _ := d.runner()
	req := request(t, out)
	req.Builders, req.BuildersSSHKey, req.Nix.KeepFailed = "ssh://me@arm aarch64-linux", key, true
	_, err := r.Run(context.Background(), req, localFlake(flake))
	if status.ExitCode(err) != status.ExitBuild {
		t.Fatalf("err = %v", err)
	}
	m := d.made()[0]
	if !slices.Contains(m.mounts, "tmpfs::"+secretsDir) {
		t.Errorf("no tmpfs at %s: %q", secretsDir, m.mounts)
	}
	wantEnv := "NIX_SSHOPTS=-i " + builderKeyPath + " -o StrictHostKeyChecking=yes -o UserKnownHostsFile=" + knownHostsPath + " -o GlobalKnownHostsFile=/dev/null"
	if !slices.Contains(env, wantEnv) {
		t.Errorf("build env %q, want %q", env, wantEnv)
	}
	var puts []string
	dropped := -1
	for i, cmd := range m.cmds {
		if len(cmd) == 5 && cmd[3] == "put-secret" {
			puts = append(puts, cmd[4])
		}
		if len(cmd) > 3 && cmd[3] == "drop-secrets" {
			dropped = i
		}
	}
	if !slices.Equal(puts, []string{knownHostsPath, builderKeyPath}) {
		t.Errorf("secrets installed: %q", puts)
	}
	if dropped < 0 || d.renamed[m.id] == "" || !strings.HasPrefix(d.renamed[m.id], "nixcross-kept-") {
		t.Errorf("kept %q with secrets dropped at command %d", d.renamed[m.id], dropped)
	}
}

// TestRefusedHostAfterLocalBuild: Nix builds locally when ssh refuses
// every builder; nixcross still fails, exit 3, naming the host.
func TestRefusedHostAfterLocalBuild(t *testing.T) {
	flake, out := flakeDir(t)
	d := newDaemon()
	d.succeed()
	ok := d.build
	d.build = func(ctx context.Context, c *fakeContainer) (string, string, int) {
		stdout, _, code := ok(ctx, c)
		return stdout, "cannot build on 'ssh://me@arm': error: failed to start SSH connection to 'me@arm': No ED25519 host key is known for arm and you have requested strict checking.\nHost key verification failed.\nbuilding '/nix/store/x.drv'...\n", code
	}
	r, _, _ := d.runner()
	req := request(t, out)
	req.Builders = "ssh://me@arm aarch64-linux"
	results, err := r.Run(context.Background(), req, localFlake(flake))
	if status.ExitCode(err) != status.ExitEnvironment || !strings.Contains(err.Error(), "ssh refused the --builders host arm") || results[0].Link != "" {
		t.Errorf("err %v (exit %d), link %q", err, status.ExitCode(err), results[0].Link)
	}
	if !strings.Contains(status.HintOf(err), "--builders-known-hosts") {
		t.Errorf("hint %q", status.HintOf(err))
	}
}

// TestPutSecretScript: the secret lands whole, root's alone, with stdin
// still open after it (a transport that cannot half-close), and a short
// stream fails.
func TestPutSecretScript(t *testing.T) {
	secret := []byte("-----BEGIN KEY-----\nline\n")
	path := filepath.Join(t.TempDir(), "keys", "k")
	cmd := exec.Command("sh", "-c", putSecretScript(len(secret)), "put-secret", path)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stdin.Write(secret) // and never closed until the script is done
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatal("the script waits for the end of stdin")
	}
	stdin.Close()
	got, err := os.ReadFile(path)
	fi, _ := os.Stat(path)
	if err != nil || string(got) != string(secret) || fi.Mode().Perm() != 0o600 {
		t.Fatalf("secret %q (%v), mode %v", got, err, fi.Mode())
	}
	short := exec.Command("sh", "-c", putSecretScript(len(secret)+5), "put-secret", path)
	short.Stdin = bytes.NewReader(secret)
	if err := short.Run(); err == nil {
		t.Error("a short stream was taken for the secret")
	}
}

// TestLogWatchCountsDerivations: the heartbeat's "3/7 derivations" comes
// from Nix's own lines, as 2.26 prints them.
func TestLogWatchCountsDerivations(t *testing.T) {
	var w logWatch
	lines := []string{
		"these 2 derivations will be built:",
		"  /nix/store/0gj8zcl6jiap8s4z7h2pb1m6lcdqgxsj-greeting.drv",
		"building '/nix/store/0gj8zcl6jiap8s4z7h2pb1m6lcdqgxsj-greeting.drv'...",
		"greeting> builder: mode dep",
		"building '/nix/store/ksgj4pa863vfyd0iw517gi7fqlfa9idb-hello.drv'...",
	}
	var progress []bool
	for _, l := range lines {
		progress = append(progress, w.see(l))
	}
	if w.derivations != 2 || w.started != 2 || !slices.Equal(progress, []bool{true, false, true, false, true}) {
		t.Errorf("derivations %d, started %d, progress %v", w.derivations, w.started, progress)
	}
	var one logWatch
	if !one.see("this derivation will be built:") || one.derivations != 1 {
		t.Errorf("one derivation: %d", one.derivations)
	}
}
