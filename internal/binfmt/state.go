package binfmt

// What Install and Uninstall decide from: the installation and the holders
// running now, and which of the asked systems need a handler at all.

import (
	"context"
	"fmt"
	"slices"

	"github.com/nixcross/nixcross/internal/engine"
	"github.com/nixcross/nixcross/internal/status"
	"github.com/nixcross/nixcross/internal/system"
)

// installation reports whether the install holder exists and what it holds.
func installation(ctx context.Context, eng *engine.Engine) (bool, []system.System, error) {
	labels, found, err := eng.ContainerLabels(ctx, InstallName)
	if err != nil {
		return false, nil, status.Environment(err, "")
	}
	if !found {
		return false, nil, nil
	}
	if labels[engine.LabelManaged] != "true" || labels[LabelBinfmt] != engine.BinfmtInstalled {
		return false, nil, status.Environment(fmt.Errorf("a container named %s exists that nixcross did not create", InstallName),
			"remove or rename it (`docker rm -f "+InstallName+"` if it is not needed)")
	}
	systems, err := system.ParseList([]string{labels[LabelSystems]})
	if err != nil {
		return false, nil, fmt.Errorf("%s label %s: %w", InstallName, LabelSystems, err)
	}
	return true, systems, nil
}

// heldSystems lists the systems running builds' holders keep.
func heldSystems(ctx context.Context, eng *engine.Engine) (map[system.System]bool, error) {
	holders, err := eng.Containers(ctx, engine.RoleBinfmt, LabelBinfmt+"=hold")
	if err != nil {
		return nil, status.Environment(fmt.Errorf("list binfmt holders: %w", err), "")
	}
	held := map[system.System]bool{}
	for _, c := range holders {
		if c.State != "running" && c.State != "created" && c.State != "restarting" {
			continue
		}
		systems, err := system.ParseList([]string{c.Labels[LabelSystems]})
		if err != nil {
			continue // not one of ours to reason about
		}
		for _, s := range systems {
			held[s] = true
		}
	}
	return held, nil
}

// foreign keeps the Linux systems nixcross has a handler for, once each,
// minus the daemon's own: a handler for the host's own CPU would send
// every native binary through QEMU.
func foreign(eng *engine.Engine, systems []system.System) ([]system.System, error) {
	var out []system.System
	for _, s := range systems {
		if _, ok := HandlerFor(s); !ok {
			return nil, status.Usage(fmt.Errorf("no binfmt handler for %s", s), "binfmt handlers exist for: "+joinSystems(system.LinuxSystems()))
		}
		if s != eng.System && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out, nil
}

// compatible lists systems a CPU commonly runs natively besides its own
// (x86_64 kernels run i686 binaries, many aarch64 CPUs run armv7l). Only
// those need a probe before registering; the rest are certainly foreign.
var compatible = map[string][]string{
	"x86_64":  {"i686"},
	"aarch64": {"armv7l"},
}

// dropNative splits off the systems the daemon's CPU runs without any
// binfmt entry, found by running their probes, so nixcross does not route
// binaries the CPU can run through QEMU.
func dropNative(ctx context.Context, eng *engine.Engine, image string, systems []system.System) (rest, native []system.System, err error) {
	var candidates []system.System
	for _, s := range systems {
		if slices.Contains(compatible[eng.System.Arch], s.Arch) {
			candidates = append(candidates, s)
		}
	}
	if len(candidates) == 0 {
		return systems, nil, nil
	}
	sts, err := Detect(ctx, eng, image, candidates)
	if err != nil {
		return nil, nil, err
	}
	var runnable []system.System
	for _, st := range sts {
		if st.Runnable {
			runnable = append(runnable, st.System)
		}
	}
	if len(runnable) > 0 {
		entries, err := Entries(ctx, eng, image)
		if err != nil {
			return nil, nil, err
		}
		for _, s := range runnable {
			if _, handled := Handling(entries, s); !handled {
				native = append(native, s)
			}
		}
	}
	rest = slices.DeleteFunc(slices.Clone(systems), func(s system.System) bool { return slices.Contains(native, s) })
	return rest, native, nil
}

// union is a then b's systems not in a, in order.
func union(a, b []system.System) []system.System {
	out := slices.Clone(a)
	for _, s := range b {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// Borrowed reports whether s may run only thanks to another build's
// holder: one is holding it and `binfmt install` is not. On a host without
// a persistent binfmt_misc mount that registration goes when that build
// ends, so a build that finds s runnable this way must hold its own.
func Borrowed(ctx context.Context, eng *engine.Engine, s system.System) (bool, error) {
	held, err := heldSystems(ctx, eng)
	if err != nil || !held[s] {
		return false, err
	}
	_, installed, err := installation(ctx, eng)
	if err != nil {
		return false, err
	}
	return !slices.Contains(installed, s), nil
}

// Unheld reports whether the entry that runs s is nixcross's (ours),
// and whether nixcross's installation keeps it (installed). Ours and not
// installed, and held by no running build (Borrowed says that), it is a
// build's that ended, on a host whose binfmt_misc mount something else
// keeps: a build that relies on it holds its own, as for Borrowed. Either
// way its CPU model is nixcross's. It lists the entries from image (a
// helper container); when that cannot be done the answer is not ours.
func Unheld(ctx context.Context, eng *engine.Engine, image string, s system.System) (ours, installed bool) {
	entries, err := Entries(ctx, eng, image)
	if err != nil {
		return false, false
	}
	e, ok := Handling(entries, s)
	if !ok || !e.Ours() {
		return false, false
	}
	_, systems, err := installation(ctx, eng)
	return true, err == nil && slices.Contains(systems, s)
}
