package build

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moby/moby/client"

	"github.com/nixcross/nixcross/internal/engine"
	"github.com/nixcross/nixcross/internal/status"
	"github.com/nixcross/nixcross/internal/system"
)

func sys(t *testing.T, name string) system.System {
	t.Helper()
	s, err := system.Parse(name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// flakeDir is a flake on disk (copy mode reads it) and an output directory.
func flakeDir(t *testing.T) (flake, out string) {
	t.Helper()
	flake, out = t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(flake, "flake.nix"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	return flake, out
}

// TestSourceFallback: in auto mode a mount the daemon cannot see, found
// at create, at start or by the build script, becomes a copy in a fresh
// container; an explicit --source mount fails instead, pointing at copy.
func TestSourceFallback(t *testing.T) {
	bind := func(o client.ContainerCreateOptions) bool {
		for _, m := range o.HostConfig.Mounts {
			if m.Type == "bind" {
				return true
			}
		}
		return false
	}
	cases := []struct {
		name   string
		source SourceMode
		setup  func(d *daemon)
		// wantMade is how many containers were made ("bind" or "copy").
		wantMade []string
		wantErr  string // "" for success
	}{
		{"auto, mount visible", SourceAuto, func(d *daemon) {}, []string{"bind"}, ""},
		{"auto, build script finds no flake", SourceAuto, func(d *daemon) {
			ok := d.build
			d.build = func(ctx context.Context, c *fakeContainer) (string, string, int) {
				if hasMount(c, "bind") {
					return "", "", exitMountInvisible
				}
				return ok(ctx, c)
			}
		}, []string{"bind", "copy"}, ""},
		{"auto, bind source missing at create", SourceAuto, func(d *daemon) {
			d.createErr = func(o client.ContainerCreateOptions) error {
				if bind(o) {
					return errBindMissing
				}
				return nil
			}
		}, []string{"copy"}, ""},
		{"auto, start fails with the mount", SourceAuto, func(d *daemon) {
			d.startErr = func(c *fakeContainer) error {
				if hasMount(c, "bind") {
					return errors.New("mount failed")
				}
				return nil
			}
		}, []string{"bind", "copy"}, ""},
		{"auto, Docker Desktop refuses the mount", SourceAuto, func(d *daemon) {
			d.startErr = func(c *fakeContainer) error {
				if hasMount(c, "bind") {
					return errors.New("Mounts denied: The path /src is not shared from the host and is not known to Docker.")
				}
				return nil
			}
		}, []string{"bind", "copy"}, ""},
		{"copy", SourceCopy, func(d *daemon) {}, []string{"copy"}, ""},
		{"mount, bind source missing", SourceMount, func(d *daemon) {
			d.createErr = func(client.ContainerCreateOptions) error { return errBindMissing }
		}, nil, "is not there for the daemon"},
		{"mount, build script finds no flake", SourceMount, func(d *daemon) {
			d.build = func(context.Context, *fakeContainer) (string, string, int) { return "", "", exitMountInvisible }
		}, []string{"bind"}, "is missing or empty in the container"},
		{"mount, start fails", SourceMount, func(d *daemon) {
			d.startErr = func(*fakeContainer) error { return errors.New("mount failed") }
		}, []string{"bind"}, "the bind mount is missing or empty in the container (start container"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			flake, out := flakeDir(t)
			d := newDaemon()
			d.succeed()
			c.setup(d)
			r, stderr, _ := d.runner()
			req := request(t, out)
			req.Source = c.source
			results, err := r.Run(context.Background(), req, localFlake(flake))
			var made []string
			for _, m := range d.made() {
				kind := "copy"
				if hasMount(m, "bind") {
					kind = "bind"
				} else if !slices.Contains(m.copied, flake) {
					t.Errorf("container without the mount got no copy of the flake (copied to %v)", m.copied)
				}
				made = append(made, kind)
				if !m.removed {
					t.Errorf("container %s left behind", kind)
				}
			}
			if !slices.Equal(made, c.wantMade) {
				t.Errorf("containers made: %v, want %v", made, c.wantMade)
			}
			fellBack := strings.Contains(stderr.String(), "sending the flake through the Docker API instead")
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) || status.ExitCode(err) != status.ExitEnvironment || !strings.Contains(status.HintOf(err), "--source copy") {
					t.Fatalf("err = %v (exit %d, hint %q), want an environment error with %q pointing at --source copy", err, status.ExitCode(err), status.HintOf(err), c.wantErr)
				}
				if fellBack {
					t.Error("explicit --source mount fell back to a copy")
				}
				return
			}
			if err != nil {
				t.Fatalf("Run: %v\n%s", err, stderr)
			}
			want := SourceMount
			if made[len(made)-1] == "copy" {
				want = SourceCopy
			}
			if res := results[0]; res.Source != want || res.Outputs[0] != storePath || res.Link != req.OutLink {
				t.Errorf("result %+v, want source %s and the output linked", res, want)
			}
			if fellBack != (c.source == SourceAuto && want == SourceCopy) {
				t.Errorf("fallback message shown: %v\n%s", fellBack, stderr)
			}
			if target, err := os.Readlink(req.OutLink); err != nil || target != "nix/store/"+filepath.Base(storePath) {
				t.Errorf("out-link -> %q (%v)", target, err)
			}
		})
	}
}

// failingBuild makes Nix fail with stderr as its log.
func failingBuild(d *daemon, stderr string) {
	d.build = func(context.Context, *fakeContainer) (string, string, int) { return "", stderr, 1 }
}

// TestStartRefused: a daemon that refuses to start the container for
// anything but a mount is exit 3 with its own words, and no reason to try
// the flake as a copy: one container, removed.
func TestStartRefused(t *testing.T) {
	flake, out := flakeDir(t)
	d := newDaemon()
	d.succeed()
	d.startErr = func(*fakeContainer) error { return errors.New("authorization denied by plugin policy") }
	r, stderr, _ := d.runner()
	_, err := r.Run(context.Background(), request(t, out), localFlake(flake))
	if status.ExitCode(err) != status.ExitEnvironment || !strings.Contains(err.Error(), "authorization denied by plugin policy") || strings.Contains(status.HintOf(err), "--source copy") {
		t.Fatalf("err = %v (exit %d, hint %q)", err, status.ExitCode(err), status.HintOf(err))
	}
	if made := d.made(); len(made) != 1 || !made[0].removed || strings.Contains(stderr.String(), "through the Docker API instead") {
		t.Errorf("%d containers, fell back to a copy: %v", len(made), strings.Contains(stderr.String(), "instead"))
	}
}

// TestKeepFailed: --keep-failed keeps the failed build's container under
// a name the sweep leaves alone (its ID when the rename fails); without
// it the container goes.
func TestKeepFailed(t *testing.T) {
	cases := []struct {
		name      string
		keep      bool
		renameErr error
	}{
		{"kept", true, nil},
		{"kept, rename fails", true, errors.New("conflict")},
		{"not kept", false, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			flake, out := flakeDir(t)
			d := newDaemon()
			failingBuild(d, "error: builder for '/nix/store/x.drv' failed with exit code 1\n")
			d.renameErr = c.renameErr
			r, stderr, _ := d.runner()
			req := request(t, out)
			req.Nix.KeepFailed = c.keep
			results, err := r.Run(context.Background(), req, localFlake(flake))
			if status.ExitCode(err) != status.ExitBuild {
				t.Fatalf("err = %v, want a build failure", err)
			}
			m := d.made()[0]
			res := results[0]
			switch {
			case !c.keep:
				if !m.removed || res.KeptContainer != "" || len(d.renamed) != 0 {
					t.Errorf("removed %v, kept %q, renamed %v", m.removed, res.KeptContainer, d.renamed)
				}
			case c.renameErr != nil:
				if m.removed || res.KeptContainer != m.id[:12] {
					t.Errorf("removed %v, kept %q, want %s", m.removed, res.KeptContainer, m.id[:12])
				}
			default:
				if m.removed || !strings.HasPrefix(res.KeptContainer, engine.KeptPrefix+"x86_64-linux-") || d.renamed[m.id] != res.KeptContainer {
					t.Errorf("removed %v, kept %q, renamed %v", m.removed, res.KeptContainer, d.renamed)
				}
			}
			if c.keep && !strings.Contains(stderr.String(), "docker exec -it "+res.KeptContainer+" bash") {
				t.Errorf("no command to enter the kept container:\n%s", stderr)
			}
			if hint := status.HintOf(err); c.keep && (strings.Contains(hint, "--keep-failed") || !strings.Contains(hint, res.KeptContainer)) {
				t.Errorf("hint %q under a kept container", hint)
			}
		})
	}
}

// TestParallelSystems: every system gets its own result, out-link and
// container; the error is the failure, and with several the first one's
// kind decides the exit code.
func TestParallelSystems(t *testing.T) {
	flake, out := flakeDir(t)
	d := newDaemon()
	d.succeed()
	ok := d.build
	d.build = func(ctx context.Context, c *fakeContainer) (string, string, int) {
		if c.system == "aarch64-linux" {
			return "", "error: builder for '/nix/store/x.drv' failed with exit code 1\n", 1
		}
		return ok(ctx, c)
	}
	d.probeCodes = []int{1} // aarch64 needs QEMU registered
	r, stderr, emu := d.runner()
	req := request(t, out, sys(t, "x86_64-linux"), sys(t, "aarch64-linux"))
	req.Jobs = 2
	results, err := r.Run(context.Background(), req, localFlake(flake))
	if len(results) != 2 || results[0].System != "x86_64-linux" || results[1].System != "aarch64-linux" {
		t.Fatalf("results %+v", results)
	}
	x86, arm := results[0], results[1]
	if x86.Err() != nil || x86.Link != req.OutLink+"-x86_64-linux" || !x86.Native || x86.Emulator != EmulatorNone {
		t.Errorf("x86_64 result %+v (%v)", x86, x86.Err())
	}
	if arm.Err() == nil || err != arm.Err() || arm.Native || arm.Emulator != EmulatorNixcross || arm.Link != "" {
		t.Errorf("aarch64 result %+v, run error %v", arm, err)
	}
	if _, lerr := os.Lstat(req.OutLink + "-x86_64-linux"); lerr != nil {
		t.Errorf("no per-system out-link: %v", lerr)
	}
	if len(emu.held) != 1 || emu.held[0] != sys(t, "aarch64-linux") || len(emu.released) != 1 {
		t.Errorf("emulation held %v, released %d times", emu.held, len(emu.released))
	}
	if !strings.Contains(stderr.String(), "[aarch64-linux] ") {
		t.Errorf("no per-system prefix in\n%s", stderr)
	}

	// Both fail: both errors, the first system's kind decides.
	d = newDaemon()
	d.build = func(ctx context.Context, c *fakeContainer) (string, string, int) {
		if c.system == "x86_64-linux" {
			return "", "error: flake 'path:/src' does not provide attribute 'packages.x86_64-linux.hello'\n", 1
		}
		return "", "error: builder for '/nix/store/x.drv' failed with exit code 1\n", 1
	}
	r, _, _ = d.runner()
	results, err = r.Run(context.Background(), req, localFlake(flake))
	if len(results) != 2 || results[0].Err() == nil || results[1].Err() == nil {
		t.Fatalf("results %+v", results)
	}
	if status.ExitCode(err) != status.ExitUsage || !strings.Contains(err.Error(), results[0].Error) || !strings.Contains(err.Error(), results[1].Error) {
		t.Errorf("err = %v (exit %d), want both failures with the first's kind", err, status.ExitCode(err))
	}
}

// TestTeardownOnCancel: an interrupted build still removes its container
// and releases emulation, on a context that survived the cancellation,
// and reports the interruption's cause.
func TestTeardownOnCancel(t *testing.T) {
	flake, out := flakeDir(t)
	d := newDaemon()
	d.probeCodes = []int{1}
	interrupted := errors.New("interrupted")
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	d.build = func(bctx context.Context, c *fakeContainer) (string, string, int) {
		cancel(interrupted)
		<-bctx.Done()
		return "", "", 137
	}
	r, _, emu := d.runner()
	_, err := r.Run(ctx, request(t, out, sys(t, "aarch64-linux")), localFlake(flake))
	if !errors.Is(err, interrupted) {
		t.Fatalf("err = %v, want the cancellation's cause", err)
	}
	made := d.made()
	if len(made) != 1 || !made[0].removed {
		t.Fatalf("container not removed: %+v", made)
	}
	for _, cerr := range d.removeCtxErr {
		if cerr != nil {
			t.Errorf("removal ran on a cancelled context: %v", cerr)
		}
	}
	if len(emu.released) != 1 || emu.released[0] != nil {
		t.Errorf("emulation released %v, want once on a live context", emu.released)
	}
}
