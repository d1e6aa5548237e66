package build

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/moby/moby/client"

	"github.com/nixcross/nixcross/internal/binfmt"
	"github.com/nixcross/nixcross/internal/engine"
	"github.com/nixcross/nixcross/internal/status"
	"github.com/nixcross/nixcross/internal/system"
)

const probeDir = "/tmp"

// ensureRunnable runs s's probe inside the build container itself (no extra
// container when the system already runs) and, when it does not run, holds
// emulation for the rest of the build and checks again.
func (r *Runner) ensureRunnable(ctx context.Context, id string, s system.System, prefix string, helperImage func(context.Context) (string, error)) (release func(context.Context) error, emulator string, err error) {
	if r.Emulation == nil {
		return nil, "", status.Environment(fmt.Errorf("%s needs emulation, which is disabled", s), "")
	}
	done := r.UI.Phase(prefix, "emulation "+s.String())
	probe, err := r.Emulation.Probe(s)
	if err != nil {
		done(err)
		return nil, "", err
	}
	name := "nixcross-probe-" + s.String()
	if err := r.Engine.PutFile(ctx, id, probeDir, name, probe, 0o755); err != nil {
		done(err)
		return nil, "", status.Environment(err, "")
	}
	run := func() (string, error) {
		var out bytes.Buffer
		err := r.Engine.Exec(ctx, id, engine.ExecSpec{Cmd: []string{probeDir + "/" + name}, Stdout: &out, Stderr: &out})
		return out.String(), err
	}
	out, perr := run()
	if perr == nil {
		done(nil)
		return nil, "host", nil
	}
	if ctx.Err() != nil {
		done(ctx.Err())
		return nil, "", context.Cause(ctx)
	}
	helper, err := helperImage(ctx)
	if err != nil {
		done(err)
		return nil, "", err
	}
	release, err = r.Emulation.Hold(ctx, r.Engine, helper, s)
	if err != nil {
		done(err)
		return nil, "", err
	}
	out, perr = run()
	if perr != nil {
		done(perr)
		summary, hint := r.Emulation.Diagnose(s, out, perr)
		return release, "", status.Environment(fmt.Errorf("cannot run %s binaries on the Docker host even after registering QEMU: %s", s, summary), hint)
	}
	done(nil)
	return release, "nixcross", nil
}

// sweepLeftovers removes containers of earlier runs on this machine whose
// process is gone (killed outright, crashed): build, shell and probe
// containers and per-run emulation holders. Containers of live runs, of
// other machines, those kept with --keep-failed and the emulation
// installed by `binfmt install` are left alone.
func (r *Runner) sweepLeftovers(ctx context.Context) {
	list, err := r.Engine.API.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: engine.ManagedFilter("")})
	if err != nil {
		return
	}
	host, _ := os.Hostname()
	for _, c := range list.Items {
		run := c.Labels[engine.LabelRun]
		h, _, _ := strings.Cut(run, ":")
		if run == "" || h != host || run == r.RunID || isKept(c.Names) || c.Labels[binfmt.LabelBinfmt] == "install" || engine.RunAlive(run) {
			continue
		}
		r.Engine.RemoveContainer(ctx, c.ID)
	}
}

func isKept(names []string) bool {
	for _, n := range names {
		if strings.HasPrefix(strings.TrimPrefix(n, "/"), KeptPrefix) {
			return true
		}
	}
	return false
}

// Binfmt is Emulation through the kernel's binfmt_misc and QEMU user mode.
type Binfmt struct{}

func (Binfmt) Probe(s system.System) ([]byte, error) { return binfmt.Probe(s) }

func (Binfmt) Diagnose(s system.System, output string, err error) (string, string) {
	d := binfmt.DiagnoseSystem(s, output, err)
	return d.Explanation, d.Hint
}

func (Binfmt) Hold(ctx context.Context, eng *engine.Engine, helperImage string, s system.System) (func(context.Context) error, error) {
	return binfmt.Hold(ctx, eng, helperImage, []system.System{s})
}
