//go:build integration

package integration

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/nixcross/nixcross/internal/fixture"
	"github.com/nixcross/nixcross/internal/system"
)

// TestPrivateInputOverSSH: a git+ssh:// input on a throwaway sshd that
// only accepts a key held in an ssh-agent builds when SSH_AUTH_SOCK names
// that agent, with the host key checked against the user's known_hosts,
// also through a daemon behind ssh:// (ssh's agent forwarding), and fails
// with the credentials hint when it has no agent. The key itself never
// reaches the container or any output.
func TestPrivateInputOverSSH(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("the fixture builds natively for x86_64-linux")
	}
	server, ip, key, _ := sshNixMachine(t)
	code, reader, err := server.Exec(context.Background(), []string{"git", "init", "-q", "--bare", "/srv/lib.git"})
	if reader != nil {
		io.Copy(io.Discard, reader)
	}
	if err != nil || code != 0 {
		t.Fatalf("git init on the server: exit %d, %v", code, err)
	}
	dir := t.TempDir()

	// The user's home: known_hosts holds the server's key, checked once
	// here as a user would.
	home := workdir(t)
	knownHosts := filepath.Join(home, ".ssh", "known_hosts")
	os.MkdirAll(filepath.Dir(knownHosts), 0o700)
	scan, err := exec.Command("ssh-keyscan", "-t", "ed25519", ip).Output()
	if err != nil || len(scan) == 0 {
		t.Fatalf("ssh-keyscan %s: %v", ip, err)
	}
	if err := os.WriteFile(knownHosts, scan, 0o600); err != nil {
		t.Fatal(err)
	}

	// The private repository: one file with a message.
	lib := filepath.Join(dir, "lib")
	os.MkdirAll(lib, 0o755)
	if err := os.WriteFile(filepath.Join(lib, "message"), []byte("hello from a private repository"), 0o644); err != nil {
		t.Fatal(err)
	}
	git(t, lib, "init", "-q", "-b", "main")
	commit(t, lib)
	push := exec.Command("git", "push", "-q", "ssh://root@"+ip+"/srv/lib.git", "main")
	push.Dir = lib
	push.Env = append(os.Environ(), "GIT_SSH_COMMAND=ssh -i "+key+" -o IdentitiesOnly=yes -o UserKnownHostsFile="+knownHosts)
	if out, err := push.CombinedOutput(); err != nil {
		t.Fatalf("git push: %v\n%s", err, out)
	}

	// An agent holding the key: ssh-agent -a returns once it listens.
	sock := filepath.Join(dir, "agent.sock")
	out, err := exec.Command("ssh-agent", "-a", sock).Output()
	if err != nil {
		t.Fatalf("ssh-agent: %v", err)
	}
	m := regexp.MustCompile(`SSH_AGENT_PID=(\d+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("ssh-agent printed no pid: %s", out)
	}
	t.Cleanup(func() { exec.Command("kill", string(m[1])).Run() })
	add := exec.Command("ssh-add", "-q", key)
	add.Env = append(os.Environ(), "SSH_AUTH_SOCK="+sock)
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("ssh-add: %v\n%s", err, out)
	}

	// The flake: builds natively, its greeting read from the input.
	app := filepath.Join(dir, "app")
	x86, _ := system.Parse("x86_64-linux")
	if err := fixture.CompileBuilder(fixture.RepoRoot(), x86, filepath.Join(app, "builders", "x86_64-linux")); err != nil {
		t.Fatal(err)
	}
	flakeNix := `{
  inputs.lib = { url = "git+ssh://root@` + ip + `/srv/lib.git?ref=main"; flake = false; };
  outputs = { self, lib }: {
    packages.x86_64-linux.default = derivation {
      name = "greeting"; system = "x86_64-linux"; builder = ./builders/x86_64-linux;
      mode = "dep"; message = builtins.readFile "${lib}/message";
    };
    packages.x86_64-linux.snoop = derivation {
      name = "snoop"; system = "x86_64-linux"; builder = ./builders/x86_64-linux;
      mode = "snoop"; message = builtins.readFile "${lib}/message";
    };
  };
}`
	if err := os.WriteFile(filepath.Join(app, "flake.nix"), []byte(flakeNix), 0o644); err != nil {
		t.Fatal(err)
	}
	git(t, app, "init", "-q")
	commit(t, app)

	args := slices.Concat([]string{"build", app, "--system", "x86_64-linux", "--json", "--no-cache"}, offline)
	env := []string{"HOME=" + home, "DOCKER_HOST=unix://" + daemonSocket}
	keyText, _ := os.ReadFile(key)
	keyBody := strings.Split(string(keyText), "\n")[1] // a line of the key itself

	wd := workdir(t)
	r := nixcross(t, wd, append(env, "SSH_AUTH_SOCK="+sock), args...)
	if r.code != 0 {
		t.Fatalf("exit %d with the agent", r.code)
	}
	if g := resultGreeting(t, wd); g != "hello from a private repository" {
		t.Fatalf("result/greeting = %q", g)
	}
	if strings.Contains(r.stdout+r.stderr, keyBody) || strings.Contains(r.stdout+r.stderr, "PRIVATE KEY") {
		t.Fatal("the private key was printed")
	}
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	buildersReachNoCredentials(t, app, append(env, "SSH_AUTH_SOCK="+sock), keyBody, strings.Fields(string(pub))[1])

	// A daemon behind ssh:// gets the agent through ssh's own agent
	// forwarding: the flake is copied in, Nix fetches the input there.
	sshEnv := slices.Concat([]string{"HOME=" + home, "SSH_AUTH_SOCK=" + sock}, loopbackSSHD(t))
	wd = workdir(t)
	r = nixcross(t, wd, sshEnv, args...)
	if r.code != 0 || !strings.Contains(r.stderr, "copy source") {
		t.Fatalf("exit %d with the agent through an ssh:// daemon, want 0 with the flake copied", r.code)
	}
	if g := resultGreeting(t, wd); g != "hello from a private repository" {
		t.Fatalf("result/greeting through ssh:// = %q", g)
	}
	if strings.Contains(r.stdout+r.stderr, keyBody) {
		t.Fatal("the private key was printed")
	}

	r = nixcross(t, workdir(t), append(env, "SSH_AUTH_SOCK="), args...)
	if r.code != 3 {
		t.Fatalf("exit %d without the agent, want 3", r.code)
	}
	i := strings.LastIndex(r.stderr, "Hint:")
	if i < 0 {
		t.Fatal("no hint on stderr")
	}
	hint := r.stderr[i:]
	if !strings.Contains(hint, "ssh-add") || !strings.Contains(hint, "root@"+ip) {
		t.Errorf("stderr lacks the credentials hint naming the input")
	}
}
