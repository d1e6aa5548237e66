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

func TestParseBuildRequest(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "flake.nix"), []byte("{ outputs = _: {}; }"), 0o644)
	o := buildOptions{systems: []string{"aarch64-linux,riscv64-linux"}, options: []string{"substituters=", "cores=4"}, outLink: "out", jobs: 2, source: "auto", cores: 3}
	req, src, err := parseBuildRequest(o, dir+"#hello", []string{"--show-trace"})
	if err != nil {
		t.Fatal(err)
	}
	if req.Attr != "hello" || len(req.Systems) != 2 || req.Nix.Options[0].Name != "substituters" || req.Nix.Options[0].Value != "" ||
		req.Nix.Options[1].Value != "4" || req.Nix.Cores != 3 || req.Nix.Extra[0] != "--show-trace" || !src.Local || src.HostDir == "" {
		t.Fatalf("unexpected request %+v src %+v", req, src)
	}
	lib := t.TempDir()
	o = buildOptions{jobs: 1, outLink: "r", source: "auto", overrides: []string{"lib=path:" + lib, "nixpkgs=github:NixOS/nixpkgs"}}
	req, _, err = parseBuildRequest(o, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantOverrides := []nix.InputOverride{{Name: "lib", Ref: "path:" + lib}, {Name: "nixpkgs", Ref: "github:NixOS/nixpkgs"}}
	if !reflect.DeepEqual(req.Nix.Overrides, wantOverrides) || len(req.Inputs) != 1 || req.Inputs[0].Top != lib {
		t.Fatalf("overrides %+v, inputs %+v: want both passed to Nix and only %s made visible", req.Nix.Overrides, req.Inputs, lib)
	}
	bad := []struct {
		name string
		o    buildOptions
		ref  string
		msg  string
	}{
		{"unsupported", buildOptions{systems: []string{"arm-linux"}, jobs: 1, outLink: "r", source: "auto"}, dir, "Unsupported system 'arm-linux'"},
		{"darwin", buildOptions{systems: []string{"x86_64-darwin"}, jobs: 1, outLink: "r", source: "auto"}, dir, "(linux -> darwin)"},
		{"jobs", buildOptions{jobs: 0, outLink: "r", source: "auto"}, dir, "--jobs"},
		{"source", buildOptions{jobs: 1, outLink: "r", source: "rsync"}, dir, "--source"},
		{"option", buildOptions{jobs: 1, outLink: "r", source: "auto", options: []string{"novalue"}}, dir, "--option needs"},
		{"no flake", buildOptions{jobs: 1, outLink: "r", source: "auto"}, t.TempDir(), "no flake.nix"},
		{"missing dir", buildOptions{jobs: 1, outLink: "r", source: "auto"}, filepath.Join(dir, "nope"), "no such file"},
		{"override without ref", buildOptions{jobs: 1, outLink: "r", source: "auto", overrides: []string{"lib"}}, dir, "--override-input needs"},
		{"override missing", buildOptions{jobs: 1, outLink: "r", source: "auto", overrides: []string{"lib=" + filepath.Join(dir, "gone")}}, dir, "input --override-input lib: " + filepath.Join(dir, "gone")},
		{"lock of a remote flake", buildOptions{jobs: 1, outLink: "r", source: "auto", writeLock: true}, "github:org/app", "--write-lock-file needs"},
	}
	for _, b := range bad {
		_, _, err := parseBuildRequest(b.o, b.ref, nil)
		if err == nil || !strings.Contains(err.Error(), b.msg) || status.ExitCode(err) != status.ExitUsage {
			t.Errorf("%s: got %v (exit %d), want usage error containing %q", b.name, err, status.ExitCode(err), b.msg)
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
	cmds := [][]string{{}, {"build"}, {"cache"}, {"cache", "ls"}, {"cache", "gc"}, {"cache", "prune"}, {"clean"}, {"binfmt"}, {"binfmt", "status"}, {"binfmt", "install"}, {"binfmt", "uninstall"}, {"doctor"}, {"shell"}, {"key"}, {"key", "generate"}}
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

func TestBuildersOptions(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "flake.nix"), []byte("{}"), 0o644)
	key := filepath.Join(dir, "id_ed25519")
	os.WriteFile(key, []byte("secret"), 0o600)
	base := buildOptions{jobs: 1, outLink: filepath.Join(dir, "result"), source: "auto"}

	o := base
	o.builders, o.buildersKey = "ssh://me@arm-box aarch64-linux", key
	req, _, err := parseBuildRequest(o, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	last := req.Nix.Options[len(req.Nix.Options)-1]
	if last.Name != "builders" || last.Value != "ssh://me@arm-box aarch64-linux" || req.BuildersSSHKey != key {
		t.Fatalf("builders not passed through: %+v", req)
	}
	o = base
	o.buildersKey = key
	if _, _, err := parseBuildRequest(o, dir, nil); err == nil {
		t.Fatal("a key without --builders was accepted")
	}
	o.push = []string{"ssh-ng://me@cache-box"}
	if _, _, err := parseBuildRequest(o, dir, nil); err != nil {
		t.Fatalf("a key for an ssh-ng push: %v", err)
	}
	o.push = nil
	o.builders, o.buildersKey = "ssh://x", filepath.Join(dir, "missing")
	if _, _, err := parseBuildRequest(o, dir, nil); err == nil || strings.Contains(err.Error(), "secret") {
		t.Fatalf("missing key: %v", err)
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

// TestBuildersKnownHosts: host keys come from --builders-known-hosts, else
// the user's ~/.ssh/known_hosts when there is one, else from nowhere
// (every host unknown).
func TestBuildersKnownHosts(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "flake.nix"), []byte("{}"), 0o644)
	home := t.TempDir()
	base := buildOptions{jobs: 1, outLink: filepath.Join(dir, "result"), source: "auto", builders: "ssh://me@arm-box aarch64-linux",
		getenv: func(k string) string {
			if k == "HOME" {
				return home
			}
			return ""
		}}
	known := func(o buildOptions) string {
		t.Helper()
		req, _, err := parseBuildRequest(o, dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		return req.BuildersKnownHosts
	}
	if got := known(base); got != "" {
		t.Errorf("no ~/.ssh/known_hosts: got %q", got)
	}
	os.MkdirAll(filepath.Join(home, ".ssh"), 0o700)
	user := filepath.Join(home, ".ssh", "known_hosts")
	os.WriteFile(user, []byte("arm-box ssh-ed25519 AAAA\n"), 0o600)
	if got := known(base); got != user {
		t.Errorf("default: got %q, want %q", got, user)
	}
	file := filepath.Join(dir, "hosts")
	os.WriteFile(file, nil, 0o644)
	o := base
	o.knownHosts = file
	if got := known(o); got != file {
		t.Errorf("--builders-known-hosts: got %q, want %q", got, file)
	}
	o.knownHosts = filepath.Join(dir, "missing")
	if _, _, err := parseBuildRequest(o, dir, nil); status.ExitCode(err) != status.ExitUsage {
		t.Errorf("missing file: %v", err)
	}
	o = base
	o.builders, o.knownHosts = "", file
	if _, _, err := parseBuildRequest(o, dir, nil); status.ExitCode(err) != status.ExitUsage {
		t.Errorf("--builders-known-hosts without --builders: %v", err)
	}
}

// TestSandboxOptions: --sandbox owns Nix's sandbox settings; the user's
// --option may not turn them off, but may add paths.
func TestSandboxOptions(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "flake.nix"), []byte("{}"), 0o644)
	base := buildOptions{jobs: 1, outLink: filepath.Join(dir, "result"), source: "auto", sandbox: true}
	for _, opt := range []string{"sandbox=false", "sandbox-fallback=true", "build-use-sandbox=false", "extra-sandbox-fallback=true"} {
		o := base
		o.options = []string{opt}
		if _, _, err := parseBuildRequest(o, dir, nil); status.ExitCode(err) != status.ExitUsage {
			t.Errorf("--option %s with --sandbox: %v", opt, err)
		}
	}
	// Nor may nix build's own arguments after --.
	for _, args := range [][]string{{"--no-sandbox"}, {"--show-trace", "--option", "sandbox", "false"}, {"--sandbox-fallback"}, {"--option", "build-use-sandbox", "false"}} {
		if _, _, err := parseBuildRequest(base, dir, args); status.ExitCode(err) != status.ExitUsage || !strings.Contains(err.Error(), "after --") {
			t.Errorf("-- %v with --sandbox: %v", args, err)
		}
		o := base
		o.sandbox = false
		if _, _, err := parseBuildRequest(o, dir, args); err != nil {
			t.Errorf("-- %v without --sandbox: %v", args, err)
		}
	}
	// Which user builders run as is nixcross's, with or without --sandbox.
	for _, sandbox := range []bool{true, false} {
		o := base
		o.sandbox = sandbox
		for _, opt := range []string{"build-users-group=", "extra-build-users-group=wheel"} {
			o.options = []string{opt}
			if _, _, err := parseBuildRequest(o, dir, nil); status.ExitCode(err) != status.ExitUsage {
				t.Errorf("--option %s (sandbox %v): %v", opt, sandbox, err)
			}
		}
		o.options = nil
		for _, args := range [][]string{{"--build-users-group", ""}, {"--option", "build-users-group", ""}, {"--build-users-group="}} {
			if _, _, err := parseBuildRequest(o, dir, args); status.ExitCode(err) != status.ExitUsage || !strings.Contains(err.Error(), "after --") {
				t.Errorf("-- %q (sandbox %v): %v", args, sandbox, err)
			}
		}
	}
	// Tokens never go on Nix's command line: --option hands them over in
	// a file, after -- they are refused.
	o := base
	o.options = []string{"access-tokens=github.com=ghp_x", "extra-access-tokens=example.org=y", "cores=2"}
	req, _, err := parseBuildRequest(o, dir, nil)
	if err != nil || len(req.Secrets) != 2 || len(req.Nix.Options) != 1 || req.Secrets[0].Value != "github.com=ghp_x" {
		t.Errorf("--option access-tokens: %v, secrets %q, options %q", err, req.Secrets, req.Nix.Options)
	}
	for _, args := range [][]string{{"--access-tokens", "github.com=x"}, {"--option", "access-tokens", "github.com=x"}, {"--extra-access-tokens=github.com=x"}} {
		if _, _, err := parseBuildRequest(base, dir, args); status.ExitCode(err) != status.ExitUsage || !strings.Contains(err.Error(), "after --") {
			t.Errorf("-- %q: %v", args, err)
		}
	}
	o = base
	o.options = []string{"sandbox-paths=/etc/ssl"}
	req, _, err = parseBuildRequest(o, dir, []string{"--option", "extra-sandbox-paths", "/etc/hosts", "--show-trace"})
	if err != nil || !req.Sandbox {
		t.Errorf("sandbox-paths with --sandbox: %v, sandbox %v", err, req.Sandbox)
	}
}
