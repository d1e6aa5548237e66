package build

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/nixcross/nixcross/internal/engine"
	"github.com/nixcross/nixcross/internal/status"
)

// Nix 2.26's words for a builder ended by SIGKILL, and the memory cgroup
// of a container whose builder the OOM killer ended (cgroup v1, as read in
// a `docker run -m 128m` container of the builder image).
const (
	nixSignal9   = "building '/nix/store/a62arvymyg62maq5cwymw27l5jm3k1fh-k.drv'...\nerror: builder for '/nix/store/a62arvymyg62maq5cwymw27l5jm3k1fh-k.drv' failed due to signal 9 (Killed)\n"
	oomControlV1 = "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n"
	noOOMV1      = "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n"
	eventsV2     = "low 0\nhigh 0\nmax 31\noom 1\noom_kill 1\noom_group_kill 0\n"
)

func stopped(code int, oom bool, memory int64) func(*fakeContainer) (client.ContainerInspectResult, error) {
	return func(c *fakeContainer) (client.ContainerInspectResult, error) {
		return client.ContainerInspectResult{Container: container.InspectResponse{ID: c.id,
			State:      &container.State{Status: container.StateExited, ExitCode: code, OOMKilled: oom},
			HostConfig: &container.HostConfig{Resources: container.Resources{Memory: memory}}}}, nil
	}
}

// stopsOnSecondLook is a container that the daemon first reports running,
// then exited: a kill it had not yet recorded when the exec ended.
func stopsOnSecondLook() func(*fakeContainer) (client.ContainerInspectResult, error) {
	looks := map[string]int{}
	return func(c *fakeContainer) (client.ContainerInspectResult, error) {
		looks[c.id]++
		if looks[c.id] == 1 {
			return client.ContainerInspectResult{Container: container.InspectResponse{ID: c.id, State: &container.State{Running: true}}}, nil
		}
		return stopped(137, false, 0)(c)
	}
}

// TestAbnormalEnd: a build exec that ends because of the daemon, someone
// outside or memory is named for that, exit 3, never "nix build failed"
// with the derivation-log hint; --keep-failed keeps what is left and says
// so only where it can.
func TestAbnormalEnd(t *testing.T) {
	cases := []struct {
		name      string
		code      int    // the build exec's status
		stderr    string // Nix's log
		state     func(*fakeContainer) (client.ContainerInspectResult, error)
		down      bool
		settles   bool
		memEvents string
		kind      status.Kind
		words     []string // in the message
		hint      string   // in the hint
		kept      string   // in stderr with --keep-failed
	}{
		{name: "daemon stopping", code: 137, state: stopped(0, false, 0), down: true,
			kind: status.KindDaemon, words: []string{"Docker daemon at unix:///var/run/docker.sock stopped", "shuts down or restarts"},
			hint: "rerun when the daemon is back", kept: "no container left to keep"},
		{name: "daemon gone", code: 137, state: func(*fakeContainer) (client.ContainerInspectResult, error) {
			return client.ContainerInspectResult{}, status.Daemon(&engine.DaemonError{Host: "unix:///var/run/docker.sock", Lost: true}, "")
		}, kind: status.KindDaemon, words: []string{"stopped while it built"}, hint: "rerun when the daemon is back", kept: "no container left to keep"},
		{name: "docker kill", code: 137, state: stopped(137, false, 0),
			kind: status.KindStopped, words: []string{"stopped by something other than nixcross (it exited with 137)"},
			hint: "docker stop or kill", kept: "docker start "},
		{name: "docker kill, recorded a moment after the exec ended", code: 137, state: stopsOnSecondLook(), settles: true,
			kind: status.KindStopped, words: []string{"exited with 137"}, kept: "docker start "},
		{name: "only Nix killed, the container runs on", code: 137,
			kind: status.KindBuild, words: []string{"failed (exit 137)"}, kept: "docker exec -it "},
		{name: "docker stop", code: 137, state: stopped(0, false, 0),
			kind: status.KindStopped, words: []string{"stopped by something other than nixcross"}, kept: "docker start "},
		{name: "removed", code: 137, state: func(*fakeContainer) (client.ContainerInspectResult, error) {
			return client.ContainerInspectResult{}, cerrdefs.ErrNotFound
		}, kind: status.KindStopped, words: []string{"was removed by something other than nixcross"}, kept: "no container left to keep"},
		{name: "container OOM-killed", code: 137, state: stopped(137, true, 256<<20),
			kind: status.KindMemory, words: []string{"ran out of memory (--memory 256MiB)", "the kernel killed it"},
			hint: "raise --memory", kept: "docker start "},
		{name: "builder OOM-killed, cgroup v1", code: 1, stderr: nixSignal9, memEvents: oomControlV1,
			kind: status.KindMemory, words: []string{"a builder of", "out-of-memory killer", "signal 9", "no --memory limit"},
			hint: "Docker Desktop: Settings > Resources > Memory", kept: "docker exec -it "},
		{name: "builder OOM-killed, cgroup v2", code: 1, stderr: nixSignal9, memEvents: eventsV2,
			kind: status.KindMemory, words: []string{"out-of-memory killer"}, kept: "docker exec -it "},
		{name: "builder killed by someone", code: 1, stderr: nixSignal9, memEvents: noOOMV1,
			kind: status.KindBuild, words: []string{"nix build of", "failed (exit 1)"}, kept: "docker exec -it "},
	}
	for _, c := range cases {
		for _, keep := range []bool{false, true} {
			t.Run(c.name, func(t *testing.T) {
				flake, out := flakeDir(t)
				d := newDaemon()
				d.build = func(context.Context, *fakeContainer) (string, string, int) { return "", c.stderr, c.code }
				d.state, d.down, d.memEvents, d.settles = c.state, c.down, c.memEvents, c.settles
				r, stderr, _ := d.runner()
				req := request(t, out)
				req.Nix.KeepFailed = keep
				_, err := r.Run(context.Background(), req, localFlake(flake))
				if got := status.KindOf(err); got != c.kind {
					t.Fatalf("kind %s, want %s: %v", got, c.kind, err)
				}
				for _, w := range c.words {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("message %q does not say %q", err, w)
					}
				}
				hint := status.HintOf(err)
				if !strings.Contains(hint, c.hint) {
					t.Errorf("hint %q does not say %q", hint, c.hint)
				}
				if c.kind != status.KindBuild && (strings.Contains(err.Error(), "nix build of") || strings.Contains(hint, "log is above") || strings.Contains(hint, "--keep-failed")) {
					t.Errorf("blames the build: %v (hint %q)", err, hint)
				}
				if keep && !strings.Contains(stderr.String(), c.kept) {
					t.Errorf("--keep-failed: stderr does not say %q:\n%s", c.kept, stderr)
				}
				if keep && strings.Contains(stderr.String(), "removing the keys") {
					t.Errorf("--keep-failed tried to empty a container that is not running:\n%s", stderr)
				}
			})
		}
	}
}

func TestParseOOMKills(t *testing.T) {
	for in, want := range map[string]int{oomControlV1: 1, noOOMV1: 0, eventsV2: 1, "": 0, "cat: no such file\n": 0} {
		if got := parseOOMKills(in); got != want {
			t.Errorf("parseOOMKills(%q) = %d, want %d", in, got, want)
		}
	}
}

// TestExportNoSpace: a host disk that fills up during the export is named
// with the directory and what the closure needs.
func TestExportNoSpace(t *testing.T) {
	cause := &os.PathError{Op: "write", Path: "/out/nix/store/.nixcross-tmp-x", Err: syscall.ENOSPC}
	err := exportFailure(context.Background(), fmt.Errorf("export /nix/store/x-files: %w", cause), "/out", 238<<20)
	if status.KindOf(err) != status.KindSpace || status.ExitCode(err) != status.ExitEnvironment {
		t.Fatalf("kind %s exit %d, want space, 3: %v", status.KindOf(err), status.ExitCode(err), err)
	}
	if !strings.Contains(err.Error(), "no space left for the result in /out/nix") || !strings.Contains(status.HintOf(err), "about 249.6MB there") {
		t.Errorf("err %q, hint %q", err, status.HintOf(err))
	}
}

// TestExportContainerStopped: an export stream that breaks because the
// container was stopped says so, rather than "rerun: the export resumes".
func TestExportContainerStopped(t *testing.T) {
	flake, out := flakeDir(t)
	d := newDaemon()
	d.succeed()
	d.nar = d.nar[:len(d.nar)/2] // the stream ends mid-NAR: the container died
	d.state = stopped(137, false, 0)
	r, _, _ := d.runner()
	_, err := r.Run(context.Background(), request(t, out), localFlake(flake))
	if status.KindOf(err) != status.KindStopped || !strings.Contains(err.Error(), "while it exported") {
		t.Fatalf("kind %s: %v, want the container stopped while it exported", status.KindOf(err), err)
	}
}

// endings answers what Engine.Ending asks the fake daemon: the
// container's state (d.state; nil: it runs), whether it stops when waited
// for (d.settles), whether the daemon answers (d.down).
func (d *daemon) endings(f *engine.Fake) {
	f.ContainerInspectFunc = func(ctx context.Context, id string) (client.ContainerInspectResult, error) {
		if d.state == nil {
			return client.ContainerInspectResult{Container: container.InspectResponse{ID: id, State: &container.State{Running: true}}}, nil
		}
		return d.state(d.container(id))
	}
	f.ContainerWaitFunc = func(ctx context.Context, id string, o client.ContainerWaitOptions) client.ContainerWaitResult {
		return engine.FakeWait(d.settles)
	}
	f.PingFunc = func(ctx context.Context) (client.PingResult, error) {
		if d.down {
			return client.PingResult{}, errors.New("Cannot connect to the Docker daemon")
		}
		return client.PingResult{}, nil
	}
}
