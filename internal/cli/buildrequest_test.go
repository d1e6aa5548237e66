package cli

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/nixcross/nixcross/internal/nix"
	"github.com/nixcross/nixcross/internal/status"
)

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

// TestParseMemory: --memory takes what docker run -m takes.
func TestParseMemory(t *testing.T) {
	for in, want := range map[string]int64{"": 0, "256m": 256 << 20, "4g": 4 << 30, "4G": 4 << 30, "1073741824": 1 << 30, "6m": 6 << 20} {
		if got, err := parseMemory(in); err != nil || got != want {
			t.Errorf("parseMemory(%q) = %d, %v, want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"lots", "-1g", "4m", "1k"} {
		if _, err := parseMemory(in); status.ExitCode(err) != status.ExitUsage {
			t.Errorf("parseMemory(%q) = %v, want a usage error", in, err)
		}
	}
}
