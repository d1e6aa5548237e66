package build

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/nixcross/nixcross/internal/status"
	"github.com/nixcross/nixcross/internal/system"
)

// TestFailureClassification: Nix's log decides whose problem a failed
// build is, and the advice under it.
func TestFailureClassification(t *testing.T) {
	cases := []struct {
		name     string
		log      string
		eval     string // `nix eval` of the flake's packages; "" fails
		wantExit int
		wantErr  string
		wantHint string
	}{
		{"plain failure", "error: builder for '/nix/store/x.drv' failed with exit code 2", "", status.ExitBuild, "nix build of ./flake#hello for x86_64-linux failed (exit 1)", ""},
		{"no emulation", "error: executing '/nix/store/x-builder': Exec format error", "", status.ExitEnvironment, "failed (exit 1)", "binfmt"},
		{"no machine for the system", "error: a 'aarch64-linux' with features {} is required to build '/nix/store/x.drv'", "", status.ExitEnvironment, "failed (exit 1)", "binfmt status"},
		{"missing attribute", "error: flake 'path:/src' does not provide attribute 'packages.x86_64-linux.hello'", `["cowsay","world"]`, status.ExitUsage, "./flake#hello has no packages.x86_64-linux.hello", "packages for x86_64-linux in this flake: cowsay, world"},
		{"missing attribute, no packages", "error: flake 'path:/src' does not provide attribute 'packages.x86_64-linux.hello'", "[]", status.ExitUsage, "has no packages.x86_64-linux.hello", "the flake offers no packages for x86_64-linux"},
		{"missing attribute, listing fails", "error: flake 'path:/src' does not provide attribute 'packages.x86_64-linux.hello'", "", status.ExitUsage, "has no packages.x86_64-linux.hello", "see what the flake offers with `nix flake show` (listing its packages failed"},
		{"file outside git", "error: getting status of '/nix/store/0c2vm2kqhyp3rsvkylrdhm0ymkjw0mgm-source/lib/extra.nix': No such file or directory", "", status.ExitBuild, "failed (exit 1)", ""},
		{"flake needs a newer Nix", "error: evaluation aborted: This version of Nixpkgs requires Nix >= 2.30, please upgrade:", "", status.ExitBuild, "failed (exit 1)", "the flake needs Nix 2.30 or later to evaluate and nixcross-builder:"},
		{"builder host unknown", "No ED25519 host key is known for 172.17.0.5 and you have requested strict checking.\nHost key verification failed.\nerror: a 'aarch64-linux' with features {} is required to build '/nix/store/x.drv'", "", status.ExitEnvironment, "ssh refused 172.17.0.5: its host key is not in an empty known hosts list", "--builders-known-hosts"},
		{"no sandbox, Nix 2.26", "error: this system does not support the kernel namespaces that are required for sandboxing; use '--no-sandbox' to disable sandboxing", "", status.ExitEnvironment, "could not set up its build sandbox", "seccomp=unconfined and systempaths=unconfined"},
		{"no sandbox, Nix 2.8", "\x1b[31;1merror:\x1b[0m cloning builder process: \x1b[35;1mOperation not permitted\x1b[0m\nerror: unable to start build process", "", status.ExitEnvironment, "nothing was built", "user namespaces"},
		{"no /proc in the sandbox", "error: mounting /proc: Operation not permitted", "", status.ExitEnvironment, "could not set up its build sandbox in the container (mounting /proc", "without --sandbox"},
		{"max-jobs 0, no builders", "error:\n       Unable to start any build;\n       either increase '--max-jobs' or enable remote builds.", "", status.ExitBuild, "failed (exit 1)", "raise --max-jobs"},
		{"syntax error, Nix 2.26", "error: syntax error, unexpected ';'\n       at /nix/store/9gpmbv3zlmmhmmv21kqq15kradf1l7na-source/flake.nix:1:32:", "", status.ExitBuild, "failed (exit 1)", "could not evaluate the flake, so nothing was built"},
		{"type error, Nix 2.26", "error: cannot add a string to an integer\n       at /nix/store/lff2kdjris1262y7q45r4qqsyaaa44f6-source/flake.nix:1:61:", "", status.ExitBuild, "failed (exit 1)", "could not evaluate"},
		{"store volume full", "building '/nix/store/s9baxpx468k1jj9r2mrcwgbwkzqsbqpx-f.drv'...\nerror: builder for '/nix/store/s9baxpx468k1jj9r2mrcwgbwkzqsbqpx-f.drv' failed with exit code 1;\n       last 1 log lines:\n       > head: error writing 'standard output': No space left on device", "", status.ExitEnvironment, "no space left on the Docker daemon's disk", "`nixcross cache gc` or `nixcross cache prune`"},
		{"packages.nix missing", "error: path '/nix/store/0c2vm2kqhyp3rsvkylrdhm0ymkjw0mgm-source/packages.nix' does not exist", "", status.ExitBuild, "failed (exit 1)", "copy example/packages.nix"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			flake, out := flakeDir(t)
			d := newDaemon()
			failingBuild(d, c.log+"\n")
			d.eval = func(*fakeContainer) (string, int) {
				if c.eval == "" {
					return "", 1
				}
				return c.eval, 0
			}
			r, _, _ := d.runner()
			_, err := r.Run(context.Background(), request(t, out), localFlake(flake))
			if status.ExitCode(err) != c.wantExit || !strings.Contains(err.Error(), c.wantErr) || !strings.Contains(status.HintOf(err), c.wantHint) || (c.wantHint == "" && status.HintOf(err) != status.KindOf(err).Advice()) {
				t.Errorf("err = %v (exit %d, hint %q), want exit %d, %q, hint %q", err, status.ExitCode(err), status.HintOf(err), c.wantExit, c.wantErr, c.wantHint)
			}
		})
	}
}

// A failure to list the flake's packages is not "the flake offers nothing".
func TestOfferedHint(t *testing.T) {
	s := system.System{Arch: "aarch64", OS: "linux"}
	cases := []struct {
		names []string
		err   error
		want  string
	}{
		{[]string{"hello", "default"}, nil, "packages for aarch64-linux in this flake: hello, default"},
		{nil, errNoPackages, "the flake offers no packages for aarch64-linux"},
		{nil, errors.New("list packages.aarch64-linux: nix exited with status 1"), "see what the flake offers with `nix flake show` (listing its packages failed: list packages.aarch64-linux: nix exited with status 1)"},
	}
	for _, c := range cases {
		if got := offeredHint(s, c.names, c.err); got != c.want {
			t.Errorf("offeredHint(%q, %v) = %q, want %q", c.names, c.err, got, c.want)
		}
	}
}
