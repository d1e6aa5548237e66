package engine

import (
	"context"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/nixcross/nixcross/internal/status"
)

// Ending is what the daemon says about a container after a process in it
// ended abnormally. An exec's status alone cannot tell the daemon shutting
// down, someone's `docker kill` and the OOM killer apart: all three end it
// with 137.
type Ending struct {
	// DaemonDown: the daemon did not answer a new connection, or lost the
	// one asked on. A stopping daemon closes its listener before it stops
	// its containers, but goes on answering on connections already open,
	// so only a new one tells.
	DaemonDown bool
	// Gone: the container no longer exists (removed from outside).
	Gone bool
	// Running: the container still runs, so whatever ended was inside it.
	Running bool
	// OOMKilled: the daemon recorded the container's memory running out.
	OOMKilled bool
	// ExitCode is the container's own status when it is not running.
	ExitCode int
	// MemoryLimit is the container's memory limit in bytes, 0 for none.
	MemoryLimit int64
}

// answerTimeout bounds the wait for a daemon behind a socket that accepts
// but no longer answers (systemd's socket activation keeps accepting while
// dockerd shuts down).
const answerTimeout = 3 * time.Second

// settleTimeout bounds the wait for a container whose process was killed
// by a signal to be recorded as stopped: the exec ends as the container's
// init dies, a moment before the daemon handles the container's exit.
const settleTimeout = 5 * time.Second

// Ending inspects container id and, when it no longer runs, whether the
// daemon still answers. signalled says the process ended by a signal
// (status 128+n), which may be the whole container's end still on its
// way.
func (e *Engine) Ending(ctx context.Context, id string, signalled bool) Ending {
	end := e.inspectEnding(ctx, id)
	if signalled && end.Running {
		wctx, cancel := context.WithTimeout(ctx, settleTimeout)
		w := e.API.ContainerWait(wctx, id, client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
		// Either way, look again: the wait ends when the container stops,
		// when it still runs at the deadline (the process alone was
		// killed), or when the daemon goes away under it.
		select {
		case <-w.Result:
		case <-w.Error:
		}
		cancel()
		end = e.inspectEnding(ctx, id)
	}
	if !end.Running && !end.DaemonDown {
		end.DaemonDown = !e.answers(ctx)
	}
	return end
}

func (e *Engine) inspectEnding(ctx context.Context, id string) Ending {
	var end Ending
	res, err := e.API.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	switch {
	case status.KindOf(err) == status.KindDaemon:
		end.DaemonDown = true
		return end
	case cerrdefs.IsNotFound(err):
		end.Gone = true
	case err != nil:
		// Unknown: no claim about the container; the failure stays the
		// process's own.
		end.Running = true
	default:
		if st := res.Container.State; st != nil {
			end.Running = st.Running && !st.Restarting
			end.OOMKilled = st.OOMKilled
			end.ExitCode = st.ExitCode
		}
		if hc := res.Container.HostConfig; hc != nil {
			end.MemoryLimit = hc.Memory
		}
	}
	return end
}

// answers pings the daemon on a connection of its own (see
// Ending.DaemonDown): through a new client when Connect made one, else
// through the API (unit tests' Fake).
func (e *Engine) answers(ctx context.Context) bool {
	pctx, cancel := context.WithTimeout(ctx, answerTimeout)
	defer cancel()
	api := e.API
	if e.fresh != nil {
		c, err := e.fresh()
		if err != nil {
			return false
		}
		defer c.Close()
		api = c
	}
	_, err := api.Ping(pctx, client.PingOptions{})
	return err == nil
}
