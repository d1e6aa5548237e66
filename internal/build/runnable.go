package build

import (
	"bytes"
	"context"
	"fmt"

	"github.com/nixcross/nixcross/internal/binfmt"
	"github.com/nixcross/nixcross/internal/engine"
	"github.com/nixcross/nixcross/internal/status"
	"github.com/nixcross/nixcross/internal/system"
)

// Emulation is what the build needs from binfmt: find out, by running a
// probe inside the build container, whether a system runs, and if not
// register it for as long as the build needs it.
type Emulation interface {
	// Probe returns the probe program for s.
	Probe(s system.System) ([]byte, error)
	// Diagnose explains a failed probe run.
	Diagnose(s system.System, output string, err error) (summary, hint string)
	// Hold makes s runnable until release is called, registering QEMU from
	// helperImage (the builder image, which carries static QEMU).
	Hold(ctx context.Context, eng *engine.Engine, helperImage string, s system.System) (release func(context.Context) error, err error)
	// Borrowed reports whether s ran only thanks to another build's hold,
	// which may end before this build does.
	Borrowed(ctx context.Context, eng *engine.Engine, s system.System) (bool, error)
	// Unheld reports whether s ran thanks to an entry nixcross registered
	// (listed from helperImage), and whether `binfmt install` keeps it.
	Unheld(ctx context.Context, eng *engine.Engine, helperImage string, s system.System) (ours, installed bool)
}

// runnable is the output of the "make the system runnable" stage.
type runnable struct {
	// native: the CPU runs the system itself, in its compatibility mode
	// (i686 on x86_64, armv7l on aarch64): no QEMU involved.
	native   bool
	emulator Emulator
	// release ends the emulation held for this build; nil when none was.
	release func(context.Context) error
}

const probeDir = "/tmp"

// makeRunnable runs s's probe inside the build container itself (no extra
// container when the system already runs) and, when it does not run, holds
// emulation for the rest of the build and checks again.
//
// A system that runs thanks to nixcross's own handler is held too, and
// reported as nixcross's (its CPU model is nixcross's choice): another
// build's hold (Borrowed), or an entry no build holds any more (Unheld),
// which goes when the last binfmt_misc mount does. That check lists the
// kernel's entries from the builder image, so it is made only when the
// image is at hand (helperAtHand: no --image, which would build it).
func (r *Runner) makeRunnable(ctx context.Context, id string, s system.System, prefix string, helperImage func(context.Context) (string, error), helperAtHand bool) (runnable, error) {
	if r.Emulation == nil {
		return runnable{}, status.Environment(fmt.Errorf("%s needs emulation, which is disabled", s), "")
	}
	done := r.UI.Phase(prefix, "emulation "+s.String())
	probe, err := r.Emulation.Probe(s)
	if err != nil {
		done(err)
		return runnable{}, err
	}
	name := "nixcross-probe-" + s.String()
	if err := r.Engine.PutFile(ctx, id, probeDir, name, probe, 0o755); err != nil {
		done(err)
		return runnable{}, status.Environment(err, "")
	}
	run := func() (string, error) {
		var out bytes.Buffer
		err := r.Engine.Exec(ctx, id, engine.ExecSpec{Cmd: []string{probeDir + "/" + name}, Stdout: &out, Stderr: &out})
		return out.String(), err
	}
	out, perr := run()
	if perr == nil && s.CompatibleWith(r.Engine.System) {
		done(nil)
		return runnable{native: true}, nil
	}
	borrowed := false
	if perr == nil {
		if borrowed, err = r.Emulation.Borrowed(ctx, r.Engine, s); err != nil {
			done(err)
			return runnable{}, err
		}
		if !borrowed && helperAtHand {
			if helper, herr := helperImage(ctx); herr == nil {
				ours, installed := r.Emulation.Unheld(ctx, r.Engine, helper, s)
				if ours && installed {
					done(nil)
					return runnable{emulator: EmulatorNixcross}, nil
				}
				borrowed = ours
			}
		}
		if !borrowed {
			done(nil)
			return runnable{emulator: EmulatorHost}, nil
		}
	}
	if ctx.Err() != nil {
		done(ctx.Err())
		return runnable{}, context.Cause(ctx)
	}
	helper, err := helperImage(ctx)
	if err != nil {
		done(err)
		return runnable{}, err
	}
	release, err := r.Emulation.Hold(ctx, r.Engine, helper, s)
	if err != nil {
		done(err)
		return runnable{}, err
	}
	held := runnable{emulator: EmulatorNixcross, release: release}
	out, perr = run()
	if perr != nil {
		done(perr)
		summary, hint := r.Emulation.Diagnose(s, out, perr)
		return runnable{release: release}, status.Environment(fmt.Errorf("cannot run %s binaries on the Docker host even after registering QEMU: %s", s, summary), hint)
	}
	done(nil)
	return held, nil
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

func (Binfmt) Borrowed(ctx context.Context, eng *engine.Engine, s system.System) (bool, error) {
	return binfmt.Borrowed(ctx, eng, s)
}

func (Binfmt) Unheld(ctx context.Context, eng *engine.Engine, helperImage string, s system.System) (bool, bool) {
	return binfmt.Unheld(ctx, eng, helperImage, s)
}
