package engine

import (
	"context"
	"errors"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/nixcross/nixcross/internal/status"
)

// TestEnding: what the daemon says about a container after its process
// failed, and whether the daemon still answers a new connection.
func TestEnding(t *testing.T) {
	exited := func(code int, oom bool) client.ContainerInspectResult {
		return client.ContainerInspectResult{Container: container.InspectResponse{
			State:      &container.State{Status: container.StateExited, ExitCode: code, OOMKilled: oom},
			HostConfig: &container.HostConfig{Resources: container.Resources{Memory: 256 << 20}}}}
	}
	running := client.ContainerInspectResult{Container: container.InspectResponse{State: &container.State{Running: true}}}
	lost := status.Daemon(&DaemonError{Host: "unix:///var/run/docker.sock", Lost: true, Err: errors.New("EOF")}, "")
	cases := []struct {
		name      string
		inspect   []client.ContainerInspectResult // one per look
		err       error
		signalled bool
		stops     bool // the wait sees it stop
		pingErr   error
		want      Ending
	}{
		{name: "runs", inspect: []client.ContainerInspectResult{running}, want: Ending{Running: true}},
		{name: "killed, daemon answers", inspect: []client.ContainerInspectResult{exited(137, false)}, signalled: true,
			want: Ending{ExitCode: 137, MemoryLimit: 256 << 20}},
		{name: "stopped by a daemon shutting down", inspect: []client.ContainerInspectResult{exited(0, false)}, signalled: true, pingErr: errors.New("connection refused"),
			want: Ending{DaemonDown: true, MemoryLimit: 256 << 20}},
		{name: "OOM-killed", inspect: []client.ContainerInspectResult{exited(137, true)}, signalled: true,
			want: Ending{OOMKilled: true, ExitCode: 137, MemoryLimit: 256 << 20}},
		{name: "removed", err: cerrdefs.ErrNotFound, signalled: true, want: Ending{Gone: true}},
		{name: "daemon lost", err: lost, signalled: true, want: Ending{DaemonDown: true}},
		{name: "inspect fails otherwise: no claim", err: errors.New("boom"), want: Ending{Running: true}},
		{name: "kill recorded a moment later", inspect: []client.ContainerInspectResult{running, exited(137, false)}, signalled: true, stops: true,
			want: Ending{ExitCode: 137, MemoryLimit: 256 << 20}},
		{name: "only the process killed", inspect: []client.ContainerInspectResult{running, running}, signalled: true,
			want: Ending{Running: true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			looks := 0
			f := &Fake{
				ContainerInspectFunc: func(ctx context.Context, id string) (client.ContainerInspectResult, error) {
					defer func() { looks++ }()
					if c.err != nil {
						return client.ContainerInspectResult{}, c.err
					}
					return c.inspect[min(looks, len(c.inspect)-1)], nil
				},
				ContainerWaitFunc: func(ctx context.Context, id string, o client.ContainerWaitOptions) client.ContainerWaitResult {
					return FakeWait(c.stops)
				},
				PingFunc: func(ctx context.Context) (client.PingResult, error) { return client.PingResult{}, c.pingErr },
			}
			if got := (&Engine{API: f}).Ending(context.Background(), "c1", c.signalled); got != c.want {
				t.Errorf("Ending = %+v, want %+v", got, c.want)
			}
		})
	}
}
