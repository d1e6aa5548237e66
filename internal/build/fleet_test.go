package build

import (
	"context"
	"errors"
	"os"
	"runtime"
	"sync"
	"testing"

	"github.com/nixcross/nixcross/internal/status"
	"github.com/nixcross/nixcross/internal/system"
)

// TestRunFleet: each group builds its systems on its own daemon; results
// follow the request's systems whatever the groups' order, links are the
// run's as a whole, each result names its daemon, and a group whose daemon
// could not be reached fails only its systems, with its kind.
func TestRunFleet(t *testing.T) {
	flake, out := flakeDir(t)
	local, remote := newDaemon(), newDaemon()
	local.succeed()
	remote.succeed()
	// Builds in flight across both daemons, against --jobs.
	f := watchFlights(local, remote)
	lr, _, _ := local.runner()
	lr.Engine.Endpoint.Host = "unix:///var/run/docker.sock"
	rr, _, _ := remote.runner()
	rr.Engine.Endpoint.Host = "tcp://arm-box:2375"
	rr.Engine.System = sys(t, "aarch64-linux")
	x86, arm := sys(t, "x86_64-linux"), sys(t, "aarch64-linux")
	req := request(t, out, x86, arm)
	req.Jobs = 1 // one slot shared by both groups: both still finish

	results, err := RunFleet(context.Background(), []Group{
		{Runner: rr, Systems: []system.System{arm}},
		{Runner: lr, Systems: []system.System{x86}},
	}, req, localFlake(flake))
	if err != nil {
		t.Fatalf("fleet: %v", err)
	}
	if len(results) != 2 || results[0].System != "x86_64-linux" || results[1].System != "aarch64-linux" {
		t.Fatalf("results %+v", results)
	}
	if f.most != 1 {
		t.Errorf("%d builds at once across the daemons, --jobs 1", f.most)
	}
	if results[0].Docker != "unix:///var/run/docker.sock" || results[1].Docker != "tcp://arm-box:2375" {
		t.Errorf("docker %q and %q", results[0].Docker, results[1].Docker)
	}
	if !results[1].Native || results[0].Link != req.OutLink+"-x86_64-linux" || results[1].Link != req.OutLink+"-aarch64-linux" {
		t.Errorf("results %+v %+v", results[0], results[1])
	}
	if len(local.order) == 0 || len(remote.order) == 0 {
		t.Errorf("containers: %d on the local daemon, %d on the remote one", len(local.order), len(remote.order))
	}
	for _, s := range []string{"-x86_64-linux", "-aarch64-linux"} {
		if _, lerr := os.Lstat(req.OutLink + s); lerr != nil {
			t.Errorf("no out-link: %v", lerr)
		}
	}

	// The remote daemon unreachable: aarch64 fails with its kind (exit 3),
	// x86_64 still builds.
	_, out2 := flakeDir(t)
	req = request(t, out2, x86, arm)
	unreachable := status.Environment(errors.New("docker tcp://arm-box:2375 is unreachable"), "")
	lr, _, _ = local.runner()
	results, err = RunFleet(context.Background(), []Group{
		{Runner: lr, Systems: []system.System{x86}},
		{Host: "tcp://arm-box:2375", Err: unreachable, Systems: []system.System{arm}},
	}, req, localFlake(flake))
	if status.ExitCode(err) != status.ExitEnvironment {
		t.Errorf("err = %v (exit %d), want exit 3", err, status.ExitCode(err))
	}
	if len(results) != 2 || results[0].Err() != nil || results[1].Err() != unreachable || results[1].Docker != "tcp://arm-box:2375" || results[1].Error == "" {
		t.Fatalf("results %+v %+v", results[0], results[1])
	}
	if _, lerr := os.Lstat(req.OutLink + "-x86_64-linux"); lerr != nil {
		t.Errorf("x86_64 not exported: %v", lerr)
	}
}

// TestRunFleetOnePerDaemon: with Jobs 0 (a fleet run without --jobs) each
// daemon builds one system at a time, whatever the others do: two systems
// on the local daemon never overlap there.
func TestRunFleetOnePerDaemon(t *testing.T) {
	flake, out := flakeDir(t)
	local, remote := newDaemon(), newDaemon()
	local.succeed()
	remote.succeed()
	f := watchFlights(local, remote)
	lr, _, _ := local.runner()
	rr, _, _ := remote.runner()
	rr.Engine.System = sys(t, "aarch64-linux")
	x86, i686, arm := sys(t, "x86_64-linux"), sys(t, "i686-linux"), sys(t, "aarch64-linux")
	req := request(t, out, x86, i686, arm)
	req.Jobs = 0
	results, err := RunFleet(context.Background(), []Group{
		{Runner: lr, Systems: []system.System{x86, i686}},
		{Runner: rr, Systems: []system.System{arm}},
	}, req, localFlake(flake))
	if err != nil || len(results) != 3 {
		t.Fatalf("fleet: %v, %d results", err, len(results))
	}
	if f.mostOn[local] != 1 || f.mostOn[remote] != 1 {
		t.Errorf("builds at once: %d on the local daemon, %d on the remote one; want one each", f.mostOn[local], f.mostOn[remote])
	}
}

// flights counts the builds in flight on fake daemons: the most at once
// in all, and on each daemon.
type flights struct {
	mu        sync.Mutex
	now, most int
	nowOn     map[*daemon]int
	mostOn    map[*daemon]int
}

// watchFlights counts the builds of daemons from now on; each build
// leaves a window for another to overlap it, without waiting on a clock.
func watchFlights(daemons ...*daemon) *flights {
	f := &flights{nowOn: map[*daemon]int{}, mostOn: map[*daemon]int{}}
	for _, d := range daemons {
		build := d.build
		d.build = func(ctx context.Context, c *fakeContainer) (string, string, int) {
			f.mu.Lock()
			f.now++
			f.nowOn[d]++
			f.most, f.mostOn[d] = max(f.most, f.now), max(f.mostOn[d], f.nowOn[d])
			f.mu.Unlock()
			defer func() { f.mu.Lock(); f.now--; f.nowOn[d]--; f.mu.Unlock() }()
			for range 1000 {
				runtime.Gosched()
			}
			return build(ctx, c)
		}
	}
	return f
}
