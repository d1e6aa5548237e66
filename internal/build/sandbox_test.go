package build

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/nixcross/nixcross/internal/cache"
	"github.com/nixcross/nixcross/internal/nix"
	"github.com/nixcross/nixcross/internal/status"
	"github.com/nixcross/nixcross/internal/system"
)

// TestSandbox: --sandbox gives the build container exactly the two
// security options Nix's sandbox needs on Docker and no capability, turns
// the sandbox on without a fallback for every Nix in the container, and a
// built result says it was sandboxed; without --sandbox nothing changes.
func TestSandbox(t *testing.T) {
	for _, sandbox := range []bool{true, false} {
		d, results := sandboxBuild(t, sandbox, nil)
		o := d.made()[0].opts
		env := o.Config.Env
		hc := o.HostConfig
		if sandbox {
			if !slices.Equal(hc.SecurityOpt, []string{"seccomp=unconfined"}) || hc.MaskedPaths == nil || len(hc.MaskedPaths) != 0 || len(hc.ReadonlyPaths) != 0 {
				t.Errorf("security %q, masked %q, read-only %q", hc.SecurityOpt, hc.MaskedPaths, hc.ReadonlyPaths)
			}
			if !slices.Contains(env, "NIX_CONFIG="+nix.BaseConfig+"\nsandbox = true\nsandbox-fallback = false") {
				t.Errorf("env %q", env)
			}
		} else if len(hc.SecurityOpt) != 0 || hc.MaskedPaths != nil || !slices.Contains(env, "NIX_CONFIG="+nix.BaseConfig) {
			t.Errorf("without --sandbox: security %q, masked %v, env %q", hc.SecurityOpt, hc.MaskedPaths, env)
		}
		if len(hc.CapAdd) != 0 || hc.Privileged {
			t.Errorf("capabilities %q, privileged %v", hc.CapAdd, hc.Privileged)
		}
		if vol := d.made()[0].mounts[0]; strings.HasSuffix(vol, cache.SandboxedSuffix+":/nix") != sandbox {
			t.Errorf("store %s: sandboxed builds need their own", vol)
		}
		if results[0].Sandboxed != sandbox {
			t.Errorf("sandboxed = %v, want %v", results[0].Sandboxed, sandbox)
		}
	}
}

// TestSandboxUnavailable: when Nix cannot set the sandbox up, nothing is
// built and the result is not marked sandboxed: exit 3.
func TestSandboxUnavailable(t *testing.T) {
	flake, out := flakeDir(t)
	d := newDaemon()
	failingBuild(d, "error: this system does not support the kernel namespaces that are required for sandboxing; use '--no-sandbox' to disable sandboxing\n")
	r, _, _ := d.runner()
	req := request(t, out)
	req.Sandbox = true
	results, err := r.Run(context.Background(), req, localFlake(flake))
	if status.ExitCode(err) != status.ExitEnvironment || results[0].Sandboxed || results[0].Link != "" {
		t.Errorf("err %v (exit %d), sandboxed %v, link %q", err, status.ExitCode(err), results[0].Sandboxed, results[0].Link)
	}
}

// TestSandboxRefusedByDaemon: a daemon (an authorization plugin, a runtime)
// that refuses the build container --sandbox asks for is exit 3 with the
// sandbox's advice, at create and at start; without --sandbox the same
// refusal gets no sandbox advice.
func TestSandboxRefusedByDaemon(t *testing.T) {
	refused := fmt.Errorf("Error response from daemon: authorization denied by plugin policy: seccomp=unconfined is not allowed: %w", cerrdefs.ErrPermissionDenied)
	for _, at := range []string{"create", "start"} {
		for _, sandbox := range []bool{true, false} {
			flake, out := flakeDir(t)
			d := newDaemon()
			d.succeed()
			if at == "create" {
				d.createErr = func(client.ContainerCreateOptions) error { return refused }
			} else {
				d.startErr = func(*fakeContainer) error { return refused }
			}
			r, _, _ := d.runner()
			req := request(t, out)
			req.Sandbox = sandbox
			results, err := r.Run(context.Background(), req, localFlake(flake))
			if status.ExitCode(err) != status.ExitEnvironment || !strings.Contains(err.Error(), "authorization denied") || results[0].Link != "" {
				t.Errorf("%s, sandbox %v: err %v (exit %d), link %q", at, sandbox, err, status.ExitCode(err), results[0].Link)
			}
			if hinted := status.HintOf(err) == nix.SandboxMessage; hinted != sandbox {
				t.Errorf("%s, sandbox %v: hint %q", at, sandbox, status.HintOf(err))
			}
			// A failure that is no refusal gets no sandbox advice.
			d.createErr, d.startErr = func(client.ContainerCreateOptions) error { return errors.New("No such image: nixcross-builder") }, nil
			if _, err = r.Run(context.Background(), req, localFlake(flake)); status.HintOf(err) == nix.SandboxMessage {
				t.Errorf("%s, sandbox %v: a missing image got the sandbox's advice", at, sandbox)
			}
			for _, c := range d.made() {
				if !c.removed {
					t.Errorf("%s, sandbox %v: container %s left behind", at, sandbox, c.id)
				}
			}
		}
	}
}

// TestSandboxWithCredentials: the build exec's NIX_CONFIG, which brings
// in forwarded credentials, replaces the container's, so it must keep the
// sandbox settings: once it did not, and a --sandbox build with an access
// token in NIX_CONFIG ran unsandboxed under the image's sandbox = false.
// The credentials themselves are in a root-only file it includes, never
// in the environment of a process.
func TestSandboxWithCredentials(t *testing.T) {
	for _, sandbox := range []bool{true, false} {
		d, _ := sandboxBuild(t, sandbox, func(req *Request) {
			req.Forward = &Forwarded{Nix: nix.Credentials{AccessTokens: "example.org=secret"}}
		})
		c := d.made()[0]
		var conf string
		for i, cmd := range c.cmds {
			if len(cmd) > 3 && cmd[3] == "nix-build" {
				for _, e := range c.envs[i] {
					if v, ok := strings.CutPrefix(e, "NIX_CONFIG="); ok {
						conf = v
					}
				}
			}
		}
		want := nixConfig(sandbox) + "\ninclude " + credentialsConf
		if conf != want {
			t.Errorf("sandbox %v: the build's NIX_CONFIG = %q, want %q", sandbox, conf, want)
		}
		if !slices.ContainsFunc(c.cmds, func(cmd []string) bool { return len(cmd) == 5 && cmd[3] == "put-secret" && cmd[4] == credentialsConf }) {
			t.Errorf("sandbox %v: %s not installed: %q", sandbox, credentialsConf, c.cmds)
		}
		for i := range c.cmds {
			if slices.ContainsFunc(c.envs[i], func(e string) bool { return strings.Contains(e, "secret") }) {
				t.Errorf("sandbox %v: a token in the environment of %q", sandbox, c.cmds[i])
			}
		}
	}
}

// sandboxBuild runs one good build with or without --sandbox, edit
// changing the request further.
func sandboxBuild(t *testing.T, sandbox bool, edit func(*Request)) (*daemon, []*Result) {
	t.Helper()
	flake, out := flakeDir(t)
	d := newDaemon()
	d.succeed()
	r, _, _ := d.runner()
	req := request(t, out)
	req.Sandbox = sandbox
	if edit != nil {
		edit(&req)
	}
	results, err := r.Run(context.Background(), req, localFlake(flake))
	if err != nil {
		t.Fatal(err)
	}
	return d, results
}

// TestSandboxRemoteBuilds: a derivation a --builders machine built ran
// under that machine's settings, which nixcross cannot see: the result is
// not marked sandboxed, and the run says why.
func TestSandboxRemoteBuilds(t *testing.T) {
	for _, remote := range []bool{true, false} {
		flake, out := flakeDir(t)
		d := newDaemon()
		d.succeed()
		ok := d.build
		d.build = func(ctx context.Context, c *fakeContainer) (string, string, int) {
			stdout, stderr, code := ok(ctx, c)
			if remote {
				stderr = "building '/nix/store/0c2vm2kqhyp3rsvkylrdhm0ymkjw0mgm-hello.drv' on 'ssh://root@box'...\n" + stderr
			}
			return stdout, stderr, code
		}
		r, log, _ := d.runner()
		req := request(t, out)
		req.Sandbox = true
		results, err := r.Run(context.Background(), req, localFlake(flake))
		if err != nil {
			t.Fatal(err)
		}
		if results[0].Sandboxed == remote {
			t.Errorf("built remotely %v: sandboxed %v", remote, results[0].Sandboxed)
		}
		if said := strings.Contains(log.String(), "Nix built on ssh://root@box"); said != remote {
			t.Errorf("built remotely %v: the warning is there: %v\n%s", remote, said, log)
		}
	}
}

// TestShellConfig: Nix in a shell is the shell's system (its
// currentSystem and default build system), with the user's options after.
func TestShellConfig(t *testing.T) {
	s := system.System{Arch: "aarch64", OS: "linux"}
	got := shellConfig(s, []nix.Option{{Name: "cores", Value: "2"}})
	if got != "\nsystem = aarch64-linux\nextra-platforms = aarch64-linux\ncores = 2" {
		t.Errorf("shell config %q", got)
	}
}
