package build

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/docker/go-units"

	"github.com/nixcross/nixcross/internal/engine"
	"github.com/nixcross/nixcross/internal/status"
)

// builderKilled is how Nix reports a builder ended by SIGKILL: the
// kernel's out-of-memory killer, or anyone who can signal it.
const builderKilled = "failed due to signal 9 (Killed)"

// oomKillsScript prints the out-of-memory kills counted in the container's
// own memory cgroup: memory.events under cgroup v2, memory.oom_control
// under v1 (both lines "oom_kill N"). The container is made for one build,
// so any kill there is this build's.
const oomKillsScript = `cat /sys/fs/cgroup/memory.events 2>/dev/null || cat /sys/fs/cgroup/memory/memory.oom_control`

// ending is what became of a build whose exec failed, and the error to
// report when that was no failure of the build itself.
type ending struct {
	engine.Ending
	// err is nil when the build itself failed.
	err error
}

// keepable says whether --keep-failed can keep the container: it still
// exists and the daemon is there to rename it.
func (e ending) keepable() bool { return !e.DaemonDown && !e.Gone }

// endOf looks at the container and the daemon after the build's exec
// failed, before anything blames the build: the daemon shutting down, a
// `docker kill` and the kernel's OOM killer all end it with 137, and a
// builder killed for memory is Nix's "signal 9" too.
func (r *Runner) endOf(ctx context.Context, j job, c *buildContainer, err error, tail string) ending {
	var exit *engine.ExitError
	signalled := !errors.As(err, &exit) || exit.Code > 128
	end := r.containerEnd(ctx, j, c, signalled, "built")
	if end.err == nil && strings.Contains(tail, builderKilled) {
		if kills := r.oomKills(ctx, c.id); kills > 0 {
			end.err = status.Memory(fmt.Errorf("a builder of %s ran out of memory (%s): the kernel's out-of-memory killer ended it, which Nix reports as signal 9", jobName(j), limitText(end.MemoryLimit)), memoryHint(end.MemoryLimit))
		}
	}
	return end
}

// containerEnd judges the container itself after a process in it failed
// while it did (built, exported) the job: err is set when the daemon
// stopped, or the container was OOM-killed, stopped or removed.
func (r *Runner) containerEnd(ctx context.Context, j job, c *buildContainer, signalled bool, did string) ending {
	end := ending{Ending: r.Engine.Ending(ctx, c.id, signalled)}
	what := jobName(j)
	box := "the build container " + shortID(c.id)
	switch {
	case end.DaemonDown:
		end.err = status.Daemon(fmt.Errorf("the Docker daemon at %s stopped while it %s %s: a daemon that shuts down or restarts stops its containers", r.Engine.Endpoint.Host, did, what),
			"rerun when the daemon is back (`docker info` answers): what this run left is swept then")
	case end.OOMKilled:
		end.err = status.Memory(fmt.Errorf("%s ran out of memory (%s) while it %s %s, and the kernel killed it", box, limitText(end.MemoryLimit), did, what), memoryHint(end.MemoryLimit))
	case end.Gone:
		end.err = status.Stopped(fmt.Errorf("%s was removed by something other than nixcross while it %s %s", box, did, what), "")
	case !end.Running:
		end.err = status.Stopped(fmt.Errorf("%s was stopped by something other than nixcross (it exited with %d) while it %s %s", box, end.ExitCode, did, what), "")
	}
	return end
}

func jobName(j job) string { return fmt.Sprintf("%s#%s for %s", j.req.Flake, j.req.Attr, j.system) }

// oomKills counts the out-of-memory kills in container id; 0 when they
// cannot be read.
func (r *Runner) oomKills(ctx context.Context, id string) int {
	var out bytes.Buffer
	if err := r.Engine.Exec(ctx, id, engine.ExecSpec{Cmd: []string{"sh", "-c", oomKillsScript}, Stdout: &out}); err != nil {
		return 0
	}
	return parseOOMKills(out.String())
}

// parseOOMKills reads the "oom_kill N" line of a memory cgroup's events.
func parseOOMKills(events string) int {
	for _, line := range strings.Split(events, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "oom_kill "); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	return 0
}

func limitText(limit int64) string {
	if limit <= 0 {
		return "no --memory limit: all the Docker daemon's machine or VM has"
	}
	return "--memory " + units.BytesSize(float64(limit))
}

// memoryHint is the advice under a build that ran out of memory: emulated
// builds need more than native ones.
func memoryHint(limit int64) string {
	more := "raise --memory"
	if limit <= 0 {
		more = "give Docker more memory (Docker Desktop: Settings > Resources > Memory)"
	}
	return more + ", or build less at once with --max-jobs 1 and a lower --cores; emulated builds need more memory than native ones"
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
