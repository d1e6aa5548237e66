package nix

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/nixcross/nixcross/internal/system"
)

var aarch64 = system.System{Arch: "aarch64", OS: "linux"}

func TestSplitRef(t *testing.T) {
	cases := []struct{ in, flake, attr string }{
		{"", ".", "default"},
		{".", ".", "default"},
		{"#hello", ".", "hello"},
		{"./sub#hello", "./sub", "hello"},
		{"github:owner/repo#pkg", "github:owner/repo", "pkg"},
	}
	for _, c := range cases {
		f, a := SplitRef(c.in)
		if f != c.flake || a != c.attr {
			t.Errorf("SplitRef(%q) = %q, %q", c.in, f, a)
		}
	}
}

func TestBuildCommand(t *testing.T) {
	three, zero := 3, 0
	cmd := BuildCommand(Installable{Flake: "/src", Attr: "hello"}, aarch64, "", BuildFlags{
		Options:    []Option{{"substituters", ""}, {"sandbox", "false"}},
		Cores:      2,
		MaxJobs:    &three,
		Verbose:    true,
		KeepFailed: true,
		Overrides:  []InputOverride{{"lib", "/home/me/lib"}, {"lib/nixpkgs", "github:NixOS/nixpkgs"}},
		Extra:      []string{"--show-trace", "--option", "x", "y"},
	})
	want := []string{"nix", "build", "--json", "--no-write-lock-file", "--no-link",
		"--option", "extra-platforms", "aarch64-linux", "--cores", "2", "--max-jobs", "3", "-L", "-v", "--keep-failed",
		"--option", "substituters", "", "--option", "sandbox", "false",
		"--override-input", "lib", "/home/me/lib", "--override-input", "lib/nixpkgs", "github:NixOS/nixpkgs",
		"--show-trace", "--option", "x", "y",
		"/src#packages.aarch64-linux.hello"}
	if !reflect.DeepEqual(cmd, want) {
		t.Fatalf("got  %q\nwant %q", cmd, want)
	}
	// --max-jobs 0 (only remote builders) is passed; no --max-jobs is
	// Nix's default.
	if cmd := strings.Join(BuildCommand(Installable{Flake: "/src"}, aarch64, "", BuildFlags{MaxJobs: &zero}), " "); !strings.Contains(cmd, "--max-jobs 0") {
		t.Errorf("--max-jobs 0 dropped: %s", cmd)
	}
	if cmd := strings.Join(BuildCommand(Installable{Flake: "/src"}, aarch64, "", BuildFlags{}), " "); strings.Contains(cmd, "--max-jobs") {
		t.Errorf("--max-jobs without the flag: %s", cmd)
	}
	cmd = BuildCommand(Installable{Flake: "/src", Attr: "legacyPackages.aarch64-linux.hello"}, aarch64, "/nix/var/nix/gcroots/nixcross/x", BuildFlags{})
	if cmd[len(cmd)-1] != "/src#legacyPackages.aarch64-linux.hello" || !strings.Contains(strings.Join(cmd, " "), "--out-link /nix/var/nix/gcroots/nixcross/x") {
		t.Fatalf("got %q", cmd)
	}
}

func TestParseBuildJSON(t *testing.T) {
	out, err := ParseBuildJSON([]byte(`[{"drvPath":"/nix/store/a.drv","outputs":{"dev":"/nix/store/d-x-dev","out":"/nix/store/o-x"}}]`))
	if err != nil || !reflect.DeepEqual(out, []string{"/nix/store/o-x", "/nix/store/d-x-dev"}) {
		t.Fatalf("got %v %v", out, err)
	}
	if _, err := ParseBuildJSON([]byte(`not json`)); err == nil {
		t.Fatal("accepted garbage")
	}
	if _, err := ParseBuildJSON([]byte(`[]`)); err == nil {
		t.Fatal("accepted no outputs")
	}
}

func TestExplain(t *testing.T) {
	cases := []struct {
		stderr string
		kind   AdviceKind
		path   string
	}{
		{"error: a 'aarch64-linux' with features {} is required to build '/nix/store/x.drv', but I am a 'x86_64-linux' with features {benchmark}", "emulation", ""},
		{"error: executing '/nix/store/x-builder': Exec format error", "exec", ""},
		{"bash: ./x: cannot execute binary file", "exec", ""},
		{"error: getting status of '/nix/store/0c2vm2kqhyp3rsvkylrdhm0ymkjw0mgm-source/lib/extra.nix': No such file or directory", "untracked", "lib/extra.nix"},
		{"error: path '/nix/store/0c2vm2kqhyp3rsvkylrdhm0ymkjw0mgm-source/packages.nix' does not exist", "packages-nix", "packages.nix"},
		{"error: flake 'path:/src' does not provide attribute 'packages.aarch64-linux.nope'", "attribute", "packages.aarch64-linux.nope"},
		{"error: builder for '/nix/store/x.drv' failed with exit code 1", "", ""},
		// Nix 2.26, each path-reading builtin on a file git does not track.
		{"error:\n       … while calling the 'readFile' builtin\n         at /nix/store/rkdz3p31gqi5jbi58md3lpdx30pkjb6z-source/flake.nix:1:57:\n\n       error: opening file '/nix/store/rkdz3p31gqi5jbi58md3lpdx30pkjb6z-source/secret.txt': No such file or directory", "untracked", "secret.txt"},
		{"error:\n       … while calling the 'readDir' builtin\n         at /nix/store/fcwxghmwas6qmyfpbf1l32hc140d7wf9-source/flake.nix:1:57:\n\n       error: reading directory /nix/store/fcwxghmwas6qmyfpbf1l32hc140d7wf9-source/sub: No such file or directory", "untracked", "sub"},
		{"error:\n       … while calling the 'path' builtin\n\n       … while adding path '/nix/store/k471way1a40hmbm55bi4wpw5f904xkw5-source/sub2'\n\n       error: path '/nix/store/k471way1a40hmbm55bi4wpw5f904xkw5-source/sub2' does not exist", "untracked", "sub2"},
		{"error:\n       … while calling the 'import' builtin\n\n       error: path '/nix/store/mi992ggmw67f15jzkhwdhwvjmjwdyybx-source/other.nix' does not exist", "untracked", "other.nix"},
		// Nix 2.26's evaluation errors: no derivation built, so no log.
		{"error: syntax error, unexpected ';'\n       at /nix/store/9gpmbv3zlmmhmmv21kqq15kradf1l7na-source/flake.nix:1:32:\n            1| { outputs = { self }: { x = 1 +; }; }\n             |                                ^", "evaluation", ""},
		{"error: cannot add a string to an integer\n       at /nix/store/lff2kdjris1262y7q45r4qqsyaaa44f6-source/flake.nix:1:61:", "evaluation", ""},
		{"error: undefined variable 'undefinedVar'\n       at /nix/store/0iyymz8igh4251fsmmkfvha7b9vmqg1k-source/flake.nix:1:57:", "evaluation", ""},
		// A builder that fails for want of space: the disk, not the build.
		{"building '/nix/store/s9baxpx468k1jj9r2mrcwgbwkzqsbqpx-f.drv'...\nerror: builder for '/nix/store/s9baxpx468k1jj9r2mrcwgbwkzqsbqpx-f.drv' failed with exit code 1;\n       last 1 log lines:\n       > head: error writing 'standard output': No space left on device", "no-space", ""},
		{"error: writing to file: No space left on device", "no-space", ""},
		// A derivation that failed is the cause, whatever traces came before.
		{"error:\n       … while calling the 'derivationStrict' builtin\nerror: builder for '/nix/store/x.drv' failed with exit code 2", "", ""},
		// Nix 2.26 with --max-jobs 0 and nothing to build it on.
		{"error:\n                           Unable to start any build;\n                           either increase '--max-jobs' or enable remote builds.", "no-local-builds", ""},
		// The refused substitute is why nothing could be built.
		{"warning: ignoring substitute for '/nix/store/x-hello' from 'file:///c', as it's not signed by any of the keys in 'trusted-public-keys'\nerror:\n       Unable to start any build;\n       either increase '--max-jobs' or enable remote builds.", "untrusted", ""},
		// nixpkgs' default.nix on an old Nix, as Nix 2.8 prints the abort.
		{"error: evaluation aborted with the following error message: '\n    This version of Nixpkgs requires Nix >= 2.18, please upgrade:\n'", "nix-version", "2.18"},
		{"This version of Nixpkgs requires Nix >= 2.18.0, please upgrade:", "nix-version", "2.18.0"},
		{"git@example.org: Permission denied (publickey).\nfatal: Could not read from remote repository.\nerror: … while fetching the input 'git+ssh://git@example.org/org/private'", "credentials", "input git+ssh://git@example.org/org/private"},
		{"Host key verification failed.\nfatal: Could not read from remote repository.", "credentials", "an input"},
		// A derivation's builder that cannot reach the network (as under
		// --sandbox) is no unreachable input.
		{"network> builder: dial udp 192.0.2.1:9: connect: network is unreachable\nerror: builder for '/nix/store/x-network.drv' failed with exit code 1", "", ""},
		// The same ssh words from a --builders machine are the builder's.
		{"error: failed to start SSH connection to 'me@arm': No ED25519 host key is known for arm and you have requested strict checking.\nHost key verification failed.", "host-key", "arm"},
		{"root@172.17.0.3: Permission denied (publickey,password).\nfatal: Could not read from remote repository.\nerror: program 'git' failed with exit code 128", "credentials", "the input at root@172.17.0.3"},
		{"error: unable to download 'https://api.github.com/repos/org/private/commits/HEAD': HTTP error 404", "credentials", "input https://api.github.com/repos/org/private/commits/HEAD"},
		{"error: unable to download 'https://example.org/x.tar.gz': Could not resolve host: example.org (6)", "unreachable", "input https://example.org/x.tar.gz"},
		{"error:\n       … while fetching the input 'github:org/private'\n\n       error: unable to download 'https://172.17.0.1:44409/api/v3/repos/org/private/commits/HEAD': HTTP error 404", "credentials", "input github:org/private"},
	}
	for _, c := range cases {
		a := Explain(c.stderr)
		if c.kind == "" {
			if a != nil {
				t.Errorf("%q: unexpected advice %+v", c.stderr, a)
			}
			continue
		}
		if a == nil || a.Kind != c.kind || a.Path != c.path || a.Message == "" {
			t.Errorf("%q: got %+v, want kind %s path %s", c.stderr, a, c.kind, c.path)
		}
	}
	if a := Explain("a 'riscv64-linux' with features {} is required to build"); a.System != "riscv64-linux" || !strings.Contains(a.Message, "binfmt install --system riscv64-linux") {
		t.Errorf("emulation advice = %+v", a)
	}
}

func TestBuildScriptRunsInShell(t *testing.T) {
	// A stand-in `nix` on PATH: `build` prints build JSON, `path-info`
	// echoes the paths it was given, so the script's plumbing is checked
	// with a real sh.
	dir := t.TempDir()
	fake := `#!/bin/sh
case "$1" in
build) echo '[{"drvPath":"/nix/store/aaaa-x.drv","outputs":{"out":"/nix/store/bbbb-x","dev":"/nix/store/cccc-x-dev"}}]';;
path-info) shift 3; echo "[\"$*\"]";;
fail) echo 'error: boom' >&2; exit 3;;
esac
`
	if err := os.WriteFile(filepath.Join(dir, "nix"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	run := func(build ...string) ([]byte, error) {
		args := BuildScript("touch "+filepath.Join(dir, "prelude-ran"), build)
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Env = append(os.Environ(), "PATH="+dir+":"+os.Getenv("PATH"))
		return cmd.Output()
	}
	out, err := run("nix", "build", "--json")
	if err != nil {
		t.Fatal(err)
	}
	b, c, err := SplitBuildOutput(out)
	if err != nil {
		t.Fatal(err)
	}
	if outs, err := ParseBuildJSON(b); err != nil || len(outs) != 2 {
		t.Fatalf("build part: %v %v", outs, err)
	}
	if got := strings.TrimSpace(string(c)); got != `["/nix/store/bbbb-x /nix/store/cccc-x-dev"]` {
		t.Fatalf("closure query got %s", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "prelude-ran")); err != nil {
		t.Fatal("prelude did not run")
	}
	_, err = run("nix", "fail")
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 {
		t.Fatalf("a failed build must exit with Nix's status, got %v", err)
	}
}

func TestParseCredentials(t *testing.T) {
	var c Credentials
	ParseCredentials("# mine\naccess-tokens = github.com=one # a comment\nnetrc-file = /home/me/.netrc\nsubstituters = x\n", &c)
	ParseCredentials("extra-access-tokens = gitlab.com=two", &c)
	want := Credentials{AccessTokens: "github.com=one gitlab.com=two", NetrcFile: "/home/me/.netrc"}
	if c != want {
		t.Fatalf("credentials = %+v, want %+v", c, want)
	}
	ParseCredentials("access-tokens = example.org=three", &c)
	if c.AccessTokens != "example.org=three" {
		t.Errorf("a later access-tokens does not replace: %q", c.AccessTokens)
	}
	conf := c.Config("/run/x/netrc")
	if conf != "\naccess-tokens = example.org=three\nnetrc-file = /run/x/netrc" {
		t.Errorf("NIX_CONFIG = %q", conf)
	}
}
