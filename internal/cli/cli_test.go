package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/nixcross/nixcross/internal/build"
	"github.com/nixcross/nixcross/internal/nix"
	"github.com/nixcross/nixcross/internal/status"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestJoinOptionPairs(t *testing.T) {
	cases := []struct{ in, want []string }{
		{[]string{"build", "--option", "substituters", "", "--system", "aarch64-linux"}, []string{"build", "--option=substituters=", "--system", "aarch64-linux"}},
		{[]string{"build", "--option", "a", "b", "--option", "c", "d=e"}, []string{"build", "--option=a=b", "--option=c=d=e"}},
		{[]string{"build", "--", "--option", "x", "y"}, []string{"build", "--", "--option", "x", "y"}},
		{[]string{"build", "--option", "lonely"}, []string{"build", "--option", "lonely"}},
		{[]string{"build", "--override-input", "lib", "path:../lib?dir=nix", "-s", "x"}, []string{"build", "--override-input=lib=path:../lib?dir=nix", "-s", "x"}},
	}
	for _, c := range cases {
		if got := joinOptionPairs(c.in); !reflect.DeepEqual(got, c.want) {
			t.Errorf("joinOptionPairs(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func runCLI(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Run(context.Background(), args, Streams{In: strings.NewReader(""), Out: &out, Err: &errb, Getenv: func(k string) string { return env[k] }})
	return code, out.String(), errb.String()
}

func TestGuideErrorsBeforeDocker(t *testing.T) {
	env := map[string]string{"DOCKER_HOST": "unix:///nonexistent.sock"}
	code, _, stderr := runCLI(t, env, "build", "--system", "arm-linux")
	if code != 2 || !strings.HasPrefix(stderr, "Error: Unsupported system 'arm-linux'\nSupported systems: aarch64-linux x86_64-linux aarch64-darwin x86_64-darwin") {
		t.Fatalf("exit %d stderr %q", code, stderr)
	}
	code, _, stderr = runCLI(t, env, "build", "--system", "aarch64-darwin")
	if code != 2 || stderr != "Error: Cross-compilation between different operating systems (linux -> darwin) is not supported by Nix\nHint: use a native darwin builder for aarch64-darwin\n" {
		t.Fatalf("exit %d stderr %q", code, stderr)
	}
	code, _, stderr = runCLI(t, env, "build", "--no-such-flag")
	if code != 2 || !strings.Contains(stderr, "unknown flag") {
		t.Fatalf("exit %d stderr %q", code, stderr)
	}
}

func TestUnreachableDaemon(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "flake.nix"), []byte("{}"), 0o644)
	code, _, stderr := runCLI(t, map[string]string{"DOCKER_HOST": "unix:///nonexistent/docker.sock", "DOCKER_CONFIG": t.TempDir()}, "build", dir)
	if code != 3 || !strings.Contains(stderr, "cannot reach the Docker daemon at unix:///nonexistent/docker.sock (DOCKER_HOST)") || !strings.Contains(stderr, "Hint:") {
		t.Fatalf("exit %d stderr %q", code, stderr)
	}
}

// --json prints its document, with the error, also when the run fails
// before any build.
func TestJSONOnEarlyFailure(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "flake.nix"), []byte("{}"), 0o644)
	env := map[string]string{"DOCKER_HOST": "unix:///nonexistent/docker.sock", "DOCKER_CONFIG": t.TempDir()}
	cases := []struct {
		name string
		args []string
		code int
		kind string
	}{
		{"no daemon", []string{"build", "--json", "-o", filepath.Join(dir, "result"), dir}, 3, "daemon"},
		{"bad system", []string{"build", "--json", "--system", "arm-linux", dir}, 2, "usage"},
	}
	for _, c := range cases {
		code, stdout, stderr := runCLI(t, env, c.args...)
		var doc struct {
			Builds    []json.RawMessage `json:"builds"`
			Error     string            `json:"error"`
			ErrorKind string            `json:"errorKind"`
		}
		if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
			t.Fatalf("%s: stdout is not the JSON document: %v\n%q", c.name, err, stdout)
		}
		if code != c.code || doc.Builds == nil || len(doc.Builds) != 0 || doc.Error == "" || doc.ErrorKind != c.kind {
			t.Errorf("%s: exit %d, document %+v; want exit %d, no builds, an error of kind %s", c.name, code, doc, c.code, c.kind)
		}
		if !strings.Contains(stderr, "Error: "+doc.Error) {
			t.Errorf("%s: stderr %q does not carry the error", c.name, stderr)
		}
	}
}

// An exit status passed through (nixcross shell -- false) prints nothing;
// joined to a real failure (the container could not be removed), the
// failure is shown.
func TestSilentExitStatus(t *testing.T) {
	cases := []struct {
		err    error
		silent bool
	}{
		{&status.ExitStatus{Code: 1}, true},
		{errors.Join(&status.ExitStatus{Code: 1}), true},
		{&silentError{errors.New("reported in the summary")}, true},
		{errors.Join(&status.ExitStatus{Code: 1}, errors.New("remove container: gone")), false},
		{errors.New("plain"), false},
	}
	for _, c := range cases {
		if got := silent(c.err); got != c.silent {
			t.Errorf("silent(%v) = %v, want %v", c.err, got, c.silent)
		}
	}
}

// TestHelpGolden pins every command's --help (run with -update to rewrite).
func TestHelpGolden(t *testing.T) {
	cmds := [][]string{{}, {"build"}, {"cache"}, {"cache", "ls"}, {"cache", "gc"}, {"cache", "prune"}, {"clean"}, {"binfmt"}, {"binfmt", "status"}, {"binfmt", "install"}, {"binfmt", "uninstall"}, {"doctor"}, {"fleet"}, {"fleet", "ls"}, {"fleet", "set"}, {"fleet", "rm"}, {"shell"}, {"key"}, {"key", "generate"}}
	for _, c := range cmds {
		name := "help-" + strings.Join(append([]string{"nixcross"}, c...), "-") + ".golden"
		t.Run(name, func(t *testing.T) {
			code, out, _ := runCLI(t, nil, append(c, "--help")...)
			if code != 0 {
				t.Fatalf("exit %d", code)
			}
			golden(t, name, out)
		})
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/cli -update)", err)
	}
	if string(want) != got {
		t.Fatalf("%s differs from golden file:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestForwardedCredentials(t *testing.T) {
	home := t.TempDir()
	for name, content := range map[string]string{
		".config/nix/nix.conf": "access-tokens = github.com=from-file\nnetrc-file = " + filepath.Join(home, "netrc") + "\n",
		".ssh/known_hosts":     "example.org ssh-ed25519 AAAA\n",
		"netrc":                "machine example.org password x\n",
	} {
		p := filepath.Join(home, name)
		os.MkdirAll(filepath.Dir(p), 0o700)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	sock := filepath.Join(home, "agent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	env := map[string]string{"HOME": home, "SSH_AUTH_SOCK": sock, "NIX_CONFIG": "extra-access-tokens = gitlab.com=from-env",
		"AWS_ACCESS_KEY_ID": "AKIA", "AWS_SECRET_ACCESS_KEY": "shh", "AWS_PROFILE": "not-forwarded"}
	f := forwardedCredentials(func(k string) string { return env[k] })
	want := &build.Forwarded{
		Nix:        nix.Credentials{AccessTokens: "github.com=from-file gitlab.com=from-env", NetrcFile: filepath.Join(home, "netrc")},
		SSHAgent:   sock,
		KnownHosts: filepath.Join(home, ".ssh", "known_hosts"),
		AWS:        []string{"AWS_ACCESS_KEY_ID=AKIA", "AWS_SECRET_ACCESS_KEY=shh"},
	}
	if !reflect.DeepEqual(f, want) {
		t.Errorf("forwarded = %+v, want %+v", f, want)
	}
	// A socket path that is not a socket, no config: nothing to forward.
	empty := t.TempDir()
	if f := forwardedCredentials(func(k string) string {
		return map[string]string{"HOME": empty, "SSH_AUTH_SOCK": filepath.Join(empty, "gone")}[k]
	}); f != nil {
		t.Errorf("forwarded = %+v, want nil", f)
	}
}
