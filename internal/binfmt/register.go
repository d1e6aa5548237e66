package binfmt

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/nixcross/nixcross/internal/engine"
	"github.com/nixcross/nixcross/internal/status"
	"github.com/nixcross/nixcross/internal/system"
)

// How registrations live, and why there are holders.
//
// The kernel keeps binfmt_misc entries for as long as some binfmt_misc
// mount exists. A host that mounts it itself (systemd does) keeps them
// until reboot; a host that does not (measured on the CI kernel) drops them
// the moment the last helper that mounted it exits. So nixcross never
// registers from a one-shot container: every registration is made by a
// holder, a container that mounts binfmt_misc, registers what is missing
// and then idles, keeping its mount (and so every entry) alive:
//
//   - Hold starts one holder per build and removes it when the build ends.
//     Because any live mount keeps every entry, concurrent builds, each
//     with its own holder, never take emulation away from each other.
//   - Install starts one long-lived holder with a restart policy, which
//     registers again on every start: after a daemon restart or a reboot
//     emulation comes back with it.
//
// On hosts with a persistent mount, entries a holder registered outlive
// it. Hold leaves them in place, by design: removing them when "the last
// holder" goes cannot be done safely without a lock shared by every
// nixcross process (a build whose holder starts between another's check
// and its removal would lose emulation mid-build), and a leftover entry is
// harmless: it is named nixcross-<arch>, runs only binaries no other entry
// claimed, is listed by `nixcross binfmt status`, and `nixcross binfmt
// uninstall` removes it.

// InstallName is the container `nixcross binfmt install` leaves running.
const InstallName = "nixcross-binfmt"

// Action is what a registration step did for one system.
type Action string

const (
	// Registered: nixcross registered its handler.
	Registered Action = "registered"
	// Existing: an entry with the F flag was already there (Handler names
	// it: the host's, or an earlier nixcross one) and is used as it is.
	Existing Action = "existing"
	// Native: the daemon's CPU runs the system without emulation.
	Native Action = "native"
	// Unregistered: nixcross removed its handler.
	Unregistered Action = "unregistered"
	// Kept: nixcross's handler was left because a running build holds it.
	Kept Action = "kept"
	// Absent: there was no nixcross handler to remove.
	Absent Action = "absent"
)

// Registration reports one system's outcome of Install or Uninstall.
type Registration struct {
	System  system.System
	Action  Action
	Handler string // the entry that runs the system afterwards, when known
}

// MarshalJSON writes the system by its Nix name.
func (r Registration) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		System  string `json:"system"`
		Action  Action `json:"action"`
		Handler string `json:"handler,omitempty"`
	}{r.System.String(), r.Action, r.Handler})
}

// Hold makes sure the daemon's kernel runs systems' binaries in containers
// until release is called: it starts a holder for this run that registers
// nixcross's handler for each system no F-flag entry handles yet (a host's
// handler is used as it is, never removed or changed) and keeps
// binfmt_misc mounted. The daemon's own system, and systems its CPU runs
// natively, need nothing. release removes the holder; it is safe to call
// more than once and runs after ctx ends.
func Hold(ctx context.Context, eng *engine.Engine, image string, systems []system.System) (release func(context.Context) error, err error) {
	noop := func(context.Context) error { return nil }
	systems, err = foreign(eng, systems)
	if err != nil {
		return nil, err
	}
	systems, _, err = dropNative(ctx, eng, image, systems)
	if err != nil || len(systems) == 0 {
		return noop, err
	}
	id, _, err := startRegistering(ctx, eng, image, systems, "hold")
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) error {
		if err := eng.RemoveContainer(ctx, id); err != nil {
			return fmt.Errorf("release binfmt holder: %w", err)
		}
		return nil
	}, nil
}

// Install leaves a holder named InstallName running with restart policy
// unless-stopped, so systems stay runnable until Uninstall, across daemon
// restarts and reboots. No systems means every supported foreign one. An
// existing installation is replaced by one holding the union of both.
func Install(ctx context.Context, eng *engine.Engine, image string, systems []system.System) ([]Registration, error) {
	if len(systems) == 0 {
		systems = system.LinuxSystems()
	}
	systems, err := foreign(eng, systems)
	if err != nil {
		return nil, err
	}
	exists, installed, err := installation(ctx, eng)
	if err != nil {
		return nil, err
	}
	systems = union(installed, systems)
	systems, native, err := dropNative(ctx, eng, image, systems)
	if err != nil {
		return nil, err
	}
	// The old holder goes before the new one can take its name. On a host
	// without a persistent mount its entries vanish for that moment unless
	// another holder (a running build's) keeps them; the new holder
	// registers them again before Install returns.
	if exists {
		if err := eng.RemoveContainer(ctx, InstallName); err != nil {
			return nil, status.Environment(fmt.Errorf("replace %s: %w", InstallName, err), "")
		}
	}
	var regs []Registration
	if len(systems) > 0 {
		_, regs, err = startRegistering(ctx, eng, image, systems, "install")
		if err != nil {
			return nil, err
		}
	}
	for _, s := range native {
		regs = append(regs, Registration{System: s, Action: Native, Handler: "native"})
	}
	return regs, nil
}

// Uninstall undoes Install for systems (none means all): it removes
// nixcross's handlers for them, and replaces the install holder by one for
// the systems left, or removes it. Entries nixcross did not create are
// never touched. A handler a running build holds is left to that build
// (Kept): on a host without a persistent mount it goes with the build's
// holder; elsewhere a later Uninstall removes it.
func Uninstall(ctx context.Context, eng *engine.Engine, image string, systems []system.System) ([]Registration, error) {
	if len(systems) == 0 {
		systems = system.LinuxSystems()
	}
	exists, installed, err := installation(ctx, eng)
	if err != nil {
		return nil, err
	}
	remaining := slices.DeleteFunc(slices.Clone(installed), func(s system.System) bool { return slices.Contains(systems, s) })
	if exists {
		if err := eng.RemoveContainer(ctx, InstallName); err != nil {
			return nil, status.Environment(fmt.Errorf("remove %s: %w", InstallName, err), "")
		}
		if len(remaining) > 0 {
			if _, _, err := startRegistering(ctx, eng, image, remaining, "install"); err != nil {
				return nil, err
			}
		}
	}
	held, err := heldSystems(ctx, eng)
	if err != nil {
		return nil, err
	}
	var regs []Registration
	var names []string
	bySystem := map[string]system.System{}
	for _, s := range systems {
		h, ok := HandlerFor(s)
		if !ok || slices.Contains(remaining, s) {
			continue
		}
		if held[s] {
			regs = append(regs, Registration{System: s, Action: Kept, Handler: h.Name})
			continue
		}
		names = append(names, h.Name)
		bySystem[h.Name] = s
	}
	if len(names) == 0 {
		return regs, nil
	}
	if CanRegister(ctx, eng) != nil {
		// Helpers cannot reach the handlers here (rootless before Linux
		// 6.7, userns-remap), so nixcross never registered any: nothing
		// of its own to remove.
		return regs, nil
	}
	out, err := runHelper(ctx, eng, image, unregisterScript(names), "unregister")
	if err != nil {
		return nil, fmt.Errorf("unregister %s: %w", strings.Join(names, ", "), err)
	}
	var failed []string
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		for prefix, action := range map[string]Action{lineRemoved: Unregistered, lineAbsent: Absent, lineFailed: ""} {
			name, ok := strings.CutPrefix(line, prefix+" ")
			if !ok {
				continue
			}
			if action == "" {
				failed = append(failed, name)
				continue
			}
			if s, ok := bySystem[name]; ok {
				if action == Absent && exists && slices.Contains(installed, s) {
					// The install holder's end took its registration with it.
					action = Unregistered
				}
				regs = append(regs, Registration{System: s, Action: action})
			}
		}
	}
	if len(failed) > 0 {
		return regs, fmt.Errorf("unregister %s: the kernel refused", strings.Join(failed, ", "))
	}
	return regs, nil
}

// startRegistering starts a holder for systems, "hold" (one build's) or
// "install" (InstallName, restarted with the daemon), and checks its
// report: every system must have an entry.
func startRegistering(ctx context.Context, eng *engine.Engine, image string, systems []system.System, purpose string) (string, []Registration, error) {
	script, err := holderScript(systems)
	if err != nil {
		return "", nil, err
	}
	hs := helperSpec{Image: image, Script: script, Labels: helperLabels(purpose, systems)}
	if purpose == "install" {
		hs.Name, hs.Restart = InstallName, "unless-stopped"
	}
	id, report, err := startHolder(ctx, eng, hs)
	if err != nil {
		return "", nil, fmt.Errorf("register %s: %w", joinSystems(systems), err)
	}
	regs, err := parseReport(report, systems, image)
	if err != nil {
		return "", nil, errors.Join(fmt.Errorf("register %s: %w", joinSystems(systems), err), eng.RemoveContainer(ctx, id))
	}
	return id, regs, nil
}

// parseReport reads the holder's present/registered/missing/failed lines.
func parseReport(report string, systems []system.System, image string) ([]Registration, error) {
	byName := map[string]system.System{}
	for _, s := range systems {
		h, _ := HandlerFor(s)
		byName[h.Name] = s
	}
	got := map[system.System]Registration{}
	var errs []error
	sc := bufio.NewScanner(strings.NewReader(report))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, linePresent+" "):
			name, entry, _ := strings.Cut(strings.TrimPrefix(line, linePresent+" "), " ")
			if s, ok := byName[name]; ok {
				got[s] = Registration{System: s, Action: Existing, Handler: entry}
			}
		case strings.HasPrefix(line, lineRegistered+" "):
			name := strings.TrimPrefix(line, lineRegistered+" ")
			if s, ok := byName[name]; ok {
				got[s] = Registration{System: s, Action: Registered, Handler: name}
			}
		case strings.HasPrefix(line, lineMissing+" "):
			_, interp, _ := strings.Cut(strings.TrimPrefix(line, lineMissing+" "), " ")
			errs = append(errs, status.Environment(fmt.Errorf("image %s has no %s", image, interp),
				"use the builder image (it has qemu-user-static), or install Debian's qemu-user-static in your --image"))
		case strings.HasPrefix(line, lineFailed+" "):
			errs = append(errs, fmt.Errorf("the kernel refused %s", strings.TrimPrefix(line, lineFailed+" ")))
		}
	}
	var regs []Registration
	for _, s := range systems {
		r, ok := got[s]
		if !ok && len(errs) == 0 {
			errs = append(errs, fmt.Errorf("holder did not report %s", s))
		}
		regs = append(regs, r)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return regs, nil
}
