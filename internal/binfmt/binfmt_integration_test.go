//go:build integration

// Over 350 lines: the registration scenarios against a real kernel share
// the helpers at the top (the engine, what is handled, holders); split,
// each file would repeat them.

package binfmt

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/nixcross/nixcross"
	"github.com/nixcross/nixcross/internal/engine"
	"github.com/nixcross/nixcross/internal/shell"
	"github.com/nixcross/nixcross/internal/system"
)

// These tests change the kernel's binfmt_misc entries of the Docker host
// and put them back. Run them with `go test -tags integration
// ./internal/binfmt/`; NIXCROSS_TEST_IMAGE names the builder image
// (default: the one built from the embedded Dockerfile.nix, built here when
// missing).

var (
	aarch64 = system.System{Arch: "aarch64", OS: "linux"}
	riscv64 = system.System{Arch: "riscv64", OS: "linux"}
	s390x   = system.System{Arch: "s390x", OS: "linux"}
)

func integrationEngine(t *testing.T) *engine.Engine {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	eng, err := engine.Connect(ctx, engine.Selection{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	if os.Getenv("NIXCROSS_TEST_IMAGE") == "" {
		if _, err := eng.EnsureBuilderImage(ctx, nixcross.Dockerfile, "debian:bookworm-slim", nil); err != nil {
			t.Fatal(err)
		}
	} else if _, err := eng.UserImage(ctx, testImage()); err != nil {
		t.Fatal(err)
	}
	if eng.System.Arch != "x86_64" {
		t.Skipf("the tests emulate aarch64 and riscv64 on an x86_64 daemon; this one is %s", eng.System)
	}
	return eng
}

// requireUnhandled skips the test when the kernel already runs one of
// systems through an entry this test did not make, or nixcross is
// installed: proving anything would mean destroying that state.
func requireUnhandled(t *testing.T, eng *engine.Engine, systems ...system.System) {
	t.Helper()
	ctx := context.Background()
	if exists, _, err := installation(ctx, eng); err != nil || exists {
		t.Skipf("%s exists (err %v); uninstall it to run this test", InstallName, err)
	}
	entries, err := Entries(ctx, eng, testImage())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range systems {
		if e, ok := Handling(entries, s); ok {
			t.Skipf("the kernel already runs %s through %q, registered outside this test", s, e.Name)
		}
	}
}

func detect(t *testing.T, eng *engine.Engine, image string, systems ...system.System) map[system.System]Status {
	t.Helper()
	ctx := context.Background()
	sts, err := Detect(ctx, eng, image, systems)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := Entries(ctx, eng, testImage())
	if err != nil {
		t.Fatal(err)
	}
	out := map[system.System]Status{}
	for _, st := range Attribute(sts, entries) {
		out[st.System] = st
	}
	return out
}

// concurrentlyHeld reports (and logs) a system that runs because a build
// outside this test holds it: the kernel is shared with whatever else uses
// the daemon, and Uninstall rightly leaves a running build's handler alone.
func concurrentlyHeld(t *testing.T, eng *engine.Engine, st Status) bool {
	t.Helper()
	if !st.Runnable {
		return false
	}
	held, err := heldSystems(context.Background(), eng)
	if err != nil {
		t.Fatal(err)
	}
	if held[st.System] {
		t.Logf("%s runs through %s, held by a build outside this test; not asserting it fails", st.System, st.Handler)
	}
	return held[st.System]
}

func entryNames(t *testing.T, eng *engine.Engine) []string {
	t.Helper()
	entries, err := Entries(context.Background(), eng, testImage())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if e.Enabled {
			names = append(names, e.Name)
		}
	}
	return names
}

// (a) With no handler, probes fail and the failure is diagnosed as such.
func TestIntegrationDetectWithoutHandlers(t *testing.T) {
	eng := integrationEngine(t)
	requireUnhandled(t, eng, aarch64, riscv64)
	sts := detect(t, eng, testImage(), aarch64, riscv64, eng.System)
	for _, s := range []system.System{aarch64, riscv64} {
		st := sts[s]
		if concurrentlyHeld(t, eng, st) {
			continue
		}
		if st.Runnable || st.Diagnosis.Kind != NoHandler || st.Handler != "" {
			t.Errorf("%s: %+v, want not runnable, no handler", s, st)
		}
		if !strings.Contains(st.Diagnosis.Hint, "nixcross binfmt install --system "+s.String()) {
			t.Errorf("%s: hint %q", s, st.Diagnosis.Hint)
		}
	}
	if st := sts[eng.System]; !st.Runnable || st.Handler != HandlerNative {
		t.Errorf("%s (native): %+v", eng.System, st)
	}
}

// (b) Install makes aarch64 and riscv64 run in plain unprivileged
// containers, even of an image without QEMU (the F flag), keeps them across
// a restart of its container, and Uninstall takes them away again.
func TestIntegrationInstallUninstall(t *testing.T) {
	eng := integrationEngine(t)
	requireUnhandled(t, eng, aarch64, riscv64, s390x)
	restoreEntries(t, eng)
	ctx := context.Background()
	t.Cleanup(func() {
		if _, err := Uninstall(ctx, eng, testImage(), []system.System{aarch64, riscv64, s390x}); err != nil {
			t.Error(err)
		}
	})

	regs, err := Install(ctx, eng, testImage(), []system.System{aarch64, riscv64})
	if err != nil {
		t.Fatal(err)
	}
	want := []Registration{
		{System: aarch64, Action: Registered, Handler: handlerName(aarch64)},
		{System: riscv64, Action: Registered, Handler: handlerName(riscv64)},
	}
	if !slices.Equal(regs, want) {
		t.Errorf("install: %+v, want %+v", regs, want)
	}
	c, err := eng.API.ContainerInspect(ctx, InstallName, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	hc := c.Container.HostConfig
	if !c.Container.State.Running || hc.RestartPolicy.Name != "unless-stopped" {
		t.Errorf("install holder: running %v, restart %q", c.Container.State.Running, hc.RestartPolicy.Name)
	}
	caps := []string(hc.CapAdd)
	if hc.Privileged || len(caps) != 1 || strings.TrimPrefix(caps[0], "CAP_") != "SYS_ADMIN" || !hc.ReadonlyRootfs || hc.NetworkMode != "none" {
		t.Errorf("install holder privilege: privileged %v, caps %v, read-only %v, network %q", hc.Privileged, hc.CapAdd, hc.ReadonlyRootfs, hc.NetworkMode)
	}
	if l := c.Container.Config.Labels; l[engine.LabelRole] != engine.RoleBinfmt || l[LabelBinfmt] != "install" || l[LabelSystems] != "aarch64-linux,riscv64-linux" {
		t.Errorf("install holder labels: %v", l)
	}

	for _, image := range []string{testImage(), "debian:bookworm-slim"} {
		if _, err := eng.UserImage(ctx, image); err != nil {
			continue
		}
		sts := detect(t, eng, image, aarch64, riscv64)
		for s, name := range map[system.System]string{aarch64: handlerName(aarch64), riscv64: handlerName(riscv64)} {
			if st := sts[s]; !st.Runnable || st.Handler != name {
				t.Errorf("after install, %s in %s: %+v, want runnable by %s", s, image, st, name)
			}
		}
	}

	// A second install adds to the first.
	regs, err = Install(ctx, eng, testImage(), []system.System{s390x})
	if err != nil {
		t.Fatal(err)
	}
	if len(regs) != 3 || regs[2].System != s390x || regs[2].Handler != "nixcross-s390x" {
		t.Errorf("second install: %+v, want aarch64, riscv64 and s390x", regs)
	}

	// The holder registers on every start: end it as a crash would and let
	// the restart policy bring emulation back. The exec may die with the
	// container's init (SIGKILLed with its PID namespace, exit 137: as
	// measured on Docker 28 with containerd 2.1), or end first (20.10).
	err = eng.Exec(ctx, InstallName, engine.ExecSpec{Cmd: []string{"sh", "-c", "kill 1"}})
	if exit, ok := errors.AsType[*engine.ExitError](err); err != nil && (!ok || exit.Code != 137) {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := eng.API.ContainerInspect(ctx, InstallName, client.ContainerInspectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if c.Container.RestartCount > 0 && c.Container.State.Running {
			if st := detect(t, eng, testImage(), aarch64)[aarch64]; st.Runnable {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("install holder did not come back with aarch64 registered (restarts %d)", c.Container.RestartCount)
		}
		time.Sleep(200 * time.Millisecond)
	}

	regs, err = Uninstall(ctx, eng, testImage(), []system.System{aarch64, riscv64, s390x})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range regs {
		if r.Action != Unregistered && r.Action != Absent {
			t.Errorf("uninstall %s: %s", r.System, r.Action)
		}
	}
	if _, err := eng.API.ContainerInspect(ctx, InstallName, client.ContainerInspectOptions{}); err == nil {
		t.Errorf("%s still exists after uninstall", InstallName)
	}
	sts := detect(t, eng, testImage(), aarch64, riscv64, s390x)
	for _, s := range []system.System{aarch64, riscv64, s390x} {
		if st := sts[s]; !concurrentlyHeld(t, eng, st) && (st.Runnable || st.Diagnosis.Kind != NoHandler) {
			t.Errorf("after uninstall, %s: %+v, want not runnable, no handler", s, st)
		}
	}
}

// startHostHandler plays the host: outside nixcross's labels, it
// registers qemu-<arch> for s with QEMU's magic and the given flags, and
// holds it. Cleanup unregisters it and removes the container.
func startHostHandler(t *testing.T, eng *engine.Engine, s system.System, flags string) string {
	t.Helper()
	ctx := context.Background()
	h, _ := HandlerFor(s)
	h.Name = "qemu-" + s.QEMU()
	line := strings.TrimSuffix(h.RegisterLine(), ":F") + ":" + flags
	script := mountScript + "printf '%s' " + shell.Quote(line) + " > \"$d/register\" || exit 4\necho '" + lineReady + "'\n" + idleScript
	id, _, err := startHolder(ctx, eng, helperSpec{Image: testImage(), Script: script, Labels: map[string]string{"nixcross.test": "host-handler"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := eng.Exec(ctx, id, engine.ExecSpec{Cmd: []string{"sh", "-c", "echo -1 > /proc/sys/fs/binfmt_misc/" + h.Name}}); err != nil {
			t.Error(err)
		}
		if err := eng.RemoveContainer(ctx, id); err != nil {
			t.Error(err)
		}
	})
	return h.Name
}

// A host handler without the F flag works only where its interpreter's
// path exists: in the builder image, not in a plain Debian one, where the
// failure is diagnosed as a missing interpreter. Hold makes it work.
func TestIntegrationHandlerWithoutFFlag(t *testing.T) {
	eng := integrationEngine(t)
	requireUnhandled(t, eng, s390x)
	ctx := context.Background()
	if _, err := eng.UserImage(ctx, "debian:bookworm-slim"); err != nil {
		t.Skip(err)
	}
	name := startHostHandler(t, eng, s390x, "")
	if st := detect(t, eng, testImage(), s390x)[s390x]; !st.Runnable || st.Handler != name {
		t.Errorf("in %s, which has the interpreter: %+v", testImage(), st)
	}
	st := detect(t, eng, "debian:bookworm-slim", s390x)[s390x]
	if st.Runnable || st.Diagnosis.Kind != NoInterpreter || st.Handler != name {
		t.Errorf("in debian:bookworm-slim: %+v, want not runnable, no interpreter, handler %s", st, name)
	}

	// Hold shadows that entry with its own F-flag one, leaving the host's.
	restoreEntries(t, eng)
	release, err := Hold(ctx, eng, testImage(), []system.System{s390x})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { release(ctx) })
	if st := detect(t, eng, "debian:bookworm-slim", s390x)[s390x]; !st.Runnable || st.Handler != "nixcross-s390x" {
		t.Errorf("held, in debian:bookworm-slim: %+v, want runnable by nixcross-s390x", st)
	}
	if names := entryNames(t, eng); !slices.Contains(names, name) {
		t.Errorf("the host's %s is gone: %v", name, names)
	}
}

// (c) A handler the host registered is used, never replaced or removed.
func TestIntegrationHostHandlerSurvives(t *testing.T) {
	eng := integrationEngine(t)
	requireUnhandled(t, eng, aarch64, riscv64)
	restoreEntries(t, eng)
	ctx := context.Background()
	startHostHandler(t, eng, aarch64, "F")
	t.Cleanup(func() {
		if _, err := Uninstall(ctx, eng, testImage(), []system.System{aarch64, riscv64}); err != nil {
			t.Error(err)
		}
	})

	release, err := Hold(ctx, eng, testImage(), []system.System{aarch64})
	if err != nil {
		t.Fatal(err)
	}
	if names := entryNames(t, eng); slices.Contains(names, handlerName(aarch64)) {
		t.Errorf("hold registered its aarch64 handler beside the host's qemu-aarch64: %v", names)
	}
	if err := release(ctx); err != nil {
		t.Fatal(err)
	}

	regs, err := Install(ctx, eng, testImage(), []system.System{aarch64, riscv64})
	if err != nil {
		t.Fatal(err)
	}
	want := []Registration{
		{System: aarch64, Action: Existing, Handler: "qemu-aarch64"},
		{System: riscv64, Action: Registered, Handler: handlerName(riscv64)},
	}
	if !slices.Equal(regs, want) {
		t.Errorf("install: %+v, want %+v", regs, want)
	}
	names := entryNames(t, eng)
	if !slices.Contains(names, "qemu-aarch64") || slices.Contains(names, handlerName(aarch64)) {
		t.Errorf("after install, entries %v: want the host's qemu-aarch64 and no handler of nixcross's", names)
	}
	if st := detect(t, eng, testImage(), aarch64)[aarch64]; !st.Runnable || st.Handler != "qemu-aarch64" {
		t.Errorf("after install, aarch64: %+v, want runnable by qemu-aarch64", st)
	}

	if _, err := Uninstall(ctx, eng, testImage(), []system.System{aarch64, riscv64}); err != nil {
		t.Fatal(err)
	}
	names = entryNames(t, eng)
	if !slices.Contains(names, "qemu-aarch64") || slices.Contains(names, handlerName(riscv64)) {
		t.Errorf("after uninstall, entries %v: want the host's qemu-aarch64 only", names)
	}
	sts := detect(t, eng, testImage(), aarch64, riscv64)
	if st := sts[aarch64]; !st.Runnable || st.Handler != "qemu-aarch64" {
		t.Errorf("after uninstall, aarch64: %+v, want still runnable by the host's handler", st)
	}
	if st := sts[riscv64]; st.Runnable && !concurrentlyHeld(t, eng, st) {
		t.Errorf("after uninstall, riscv64 still runs: %+v", st)
	}
}

// (d) Two builds' holders, started at the same moment: releasing one
// leaves the other's emulation working.
func TestIntegrationOverlappingHolds(t *testing.T) {
	eng := integrationEngine(t)
	requireUnhandled(t, eng, aarch64)
	restoreEntries(t, eng)
	ctx := context.Background()

	releases := make([]func(context.Context) error, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range releases {
		wg.Add(1)
		go func() {
			defer wg.Done()
			releases[i], errs[i] = Hold(ctx, eng, testImage(), []system.System{aarch64})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("hold %d: %v", i, err)
		}
		t.Cleanup(func() { releases[i](ctx) })
	}
	if st := detect(t, eng, testImage(), aarch64)[aarch64]; !st.Runnable || st.Handler != handlerName(aarch64) {
		t.Fatalf("with two holds, aarch64: %+v", st)
	}
	if err := releases[0](ctx); err != nil {
		t.Fatal(err)
	}
	if st := detect(t, eng, testImage(), aarch64)[aarch64]; !st.Runnable {
		t.Errorf("after releasing one of two holds, aarch64 no longer runs: %+v", st)
	}
	if err := releases[0](ctx); err != nil {
		t.Errorf("second release: %v", err)
	}
}

// testImage is the builder image the Docker tests run helpers and probes
// from (sh and Debian's qemu-user-static): the one nixcross builds from
// the embedded Dockerfile.nix, unless NIXCROSS_TEST_IMAGE names another.
func testImage() string {
	if img := os.Getenv("NIXCROSS_TEST_IMAGE"); img != "" {
		return img
	}
	return engine.BuilderTag(nixcross.Dockerfile, "debian:bookworm-slim")
}

// Every probe runs in a plain container once Hold has registered
// handlers: the handler table, the register line, the holder and the
// probes' machine code all work together on a real kernel.
func TestProbesRunUnderEmulation(t *testing.T) {
	eng := integrationEngine(t)
	ctx := context.Background()
	restoreEntries(t, eng)
	release, err := Hold(ctx, eng, testImage(), system.LinuxSystems())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := release(ctx); err != nil {
			t.Error(err)
		}
	})
	statuses, err := Detect(ctx, eng, testImage(), system.LinuxSystems())
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range statuses {
		if !st.Runnable {
			t.Errorf("%s probe did not run: %+v", st.System, st.Diagnosis)
		}
	}
}

// restoreEntries removes, when the test ends, the nixcross entries that
// appeared during it: on a host whose binfmt_misc stays mounted (by the
// host, or by another container) they would outlive the test. Entries a
// running build's holder keeps are left to it, as Uninstall does.
func restoreEntries(t *testing.T, eng *engine.Engine) {
	t.Helper()
	ctx := context.Background()
	before, err := Entries(ctx, eng, testImage())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		after, err := Entries(ctx, eng, testImage())
		if err != nil {
			t.Error(err)
			return
		}
		held, err := heldSystems(ctx, eng)
		if err != nil {
			t.Error(err)
			return
		}
		_, installed, err := installation(ctx, eng)
		if err != nil {
			t.Error(err)
			return
		}
		var names []string
	next:
		for _, e := range after {
			for _, b := range before {
				if b.Name == e.Name {
					continue next
				}
			}
			for _, s := range system.LinuxSystems() {
				if h, _ := HandlerFor(s); h.Name == e.Name && (held[s] || slices.Contains(installed, s)) {
					continue next
				}
			}
			if e.Ours() {
				names = append(names, e.Name)
			}
		}
		if len(names) == 0 {
			return
		}
		if _, err := runHelper(ctx, eng, testImage(), unregisterScript(names), "unregister"); err != nil {
			t.Errorf("restore binfmt entries: %v", err)
		}
	})
}

// handlerName is the entry nixcross registers for s.
func handlerName(s system.System) string {
	h, _ := HandlerFor(s)
	return h.Name
}
