package binfmt

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/nixcross/nixcross/internal/engine"
	"github.com/nixcross/nixcross/internal/status"
	"github.com/nixcross/nixcross/internal/system"
)

// Labels on binfmt helpers, beside engine.Labels(engine.RoleBinfmt).
const (
	// LabelBinfmt says what a helper is for: "hold" (one build), "install"
	// (engine.BinfmtInstalled: the long-lived container of `nixcross binfmt
	// install`) or "helper" (a short-lived listing or unregistering run).
	LabelBinfmt = engine.LabelBinfmt
	// LabelSystems lists the systems a holder keeps registered, comma-separated.
	LabelSystems = "nixcross.systems"
)

// readyTimeout bounds how long a holder may take to mount and register.
const readyTimeout = 60 * time.Second

const privilegeHint = "the Docker daemon must let a container add CAP_SYS_ADMIN with --security-opt systempaths=unconfined; " +
	"if it cannot, register QEMU on the host instead (Debian/Ubuntu: `sudo apt install qemu-user-static`)"

// rootlessHint is how a rootless daemon on an older kernel gets
// emulation: handlers the host registers, with or without systemd.
const rootlessHint = "register QEMU on the host (Debian/Ubuntu: `sudo apt install qemu-user-static`; without systemd also `sudo mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc && sudo update-binfmts --enable`), or use a rootful daemon"

// helperSecurity checks that this daemon's containers can register
// handlers for the host kernel and returns the security options a helper
// needs beyond CAP_SYS_ADMIN and unmasked /proc paths (see createHelper):
// the LSMs unconfined where the daemon applies one, since Docker's AppArmor
// profile denies mount and writes under /proc/sys, and SELinux's container
// type denies the mount.
func helperSecurity(ctx context.Context, eng *engine.Engine) ([]string, error) {
	if eng.Rootless && !eng.KernelAtLeast(6, 7) {
		return nil, status.Environment(fmt.Errorf("rootless Docker cannot register binfmt_misc handlers on Linux %s (its own user namespace can from Linux 6.7)", eng.KernelVersion), rootlessHint)
	}
	secopts, err := eng.SecurityOptions(ctx)
	if err != nil {
		return nil, status.Environment(err, "")
	}
	var opts []string
	for _, o := range secopts {
		switch {
		case strings.Contains(o, "name=userns"):
			// binfmt_misc mounted inside a user namespace is that
			// namespace's own instance (Linux 6.7+), or refused: either
			// way the host's builds would not see the handlers.
			return nil, status.Environment(errors.New("the Docker daemon runs containers in a user namespace (userns-remap), where binfmt_misc handlers do not reach the host kernel"),
				"register QEMU on the host instead (Debian/Ubuntu: `sudo apt install qemu-user-static`)")
		case strings.Contains(o, "name=apparmor"):
			opts = append(opts, "apparmor=unconfined")
		case strings.Contains(o, "name=selinux"):
			opts = append(opts, "label=disable")
		}
	}
	return opts, nil
}

// CanRegister says why helpers on eng's daemon cannot register handlers
// its containers use (a typed error with a hint), or nil when they can.
func CanRegister(ctx context.Context, eng *engine.Engine) error {
	_, err := helperSecurity(ctx, eng)
	return err
}

// helperSpec is what differs between helpers.
type helperSpec struct {
	Image   string
	Script  string
	Labels  map[string]string
	Name    string // "" for a generated name
	Restart string // restart policy, "" for none
}

// helperContainer is a binfmt helper with the least privilege that can
// register: CAP_SYS_ADMIN to mount binfmt_misc, and /proc/sys neither
// masked nor read-only (systempaths=unconfined). No network, a read-only
// root. --privileged is never used: it fails on hosts that lack
// capabilities it asks for.
func helperContainer(ctx context.Context, eng *engine.Engine, spec helperSpec) (engine.ContainerSpec, error) {
	secopt, err := helperSecurity(ctx, eng)
	if err != nil {
		return engine.ContainerSpec{}, err
	}
	return engine.ContainerSpec{
		Name:              spec.Name,
		Image:             spec.Image,
		Entrypoint:        []string{"sh", "-c", spec.Script},
		Labels:            spec.Labels,
		CapAdd:            []string{"SYS_ADMIN"},
		SecurityOpt:       secopt,
		UnmaskSystemPaths: true,
		ReadOnly:          true,
		NoNetwork:         true,
		Restart:           spec.Restart,
	}, nil
}

// createHelper creates (but does not start) a helper.
func createHelper(ctx context.Context, eng *engine.Engine, spec helperSpec) (string, error) {
	cs, err := helperContainer(ctx, eng, spec)
	if err != nil {
		return "", err
	}
	id, err := eng.CreateContainer(ctx, cs)
	if err != nil {
		return "", helperCreateError(spec, err)
	}
	return id, nil
}

func helperCreateError(spec helperSpec, err error) error {
	return status.Environment(fmt.Errorf("create binfmt helper from %s: %w", spec.Image, err), "")
}

// helperLabels labels a helper. Every helper but the install holder dies
// with the process that started it, so it carries engine.LabelRun
// ("host:pid", as the build's containers do) for `nixcross clean` to tell
// a live run's holder from a crashed one's.
func helperLabels(purpose string, systems []system.System) map[string]string {
	extra := []string{LabelBinfmt, purpose}
	if len(systems) > 0 {
		extra = append(extra, LabelSystems, joinSystems(systems))
	}
	if purpose != engine.BinfmtInstalled {
		extra = append(extra, engine.RunLabels()...)
	}
	return engine.Labels(engine.RoleBinfmt, extra...)
}

// runHelper runs script in a short-lived helper and returns its stdout.
func runHelper(ctx context.Context, eng *engine.Engine, image, script, purpose string) (string, error) {
	spec := helperSpec{Image: image, Script: script, Labels: helperLabels("helper", nil)}
	cs, err := helperContainer(ctx, eng, spec)
	if err != nil {
		return "", fmt.Errorf("binfmt %s helper: %w", purpose, err)
	}
	var stdout, stderr bytes.Buffer
	code, err := eng.RunOnce(ctx, engine.OneShot{Spec: cs, Stdout: &stdout, Stderr: &stderr})
	switch engine.FailedStep(err) {
	case "":
	case engine.StepCreate:
		return "", fmt.Errorf("binfmt %s helper: %w", purpose, helperCreateError(spec, err))
	case engine.StepStart:
		return "", status.Environment(fmt.Errorf("binfmt %s helper: %w", purpose, err), privilegeHint)
	default:
		return "", fmt.Errorf("binfmt %s helper: %w", purpose, err)
	}
	if err := helperExit(code, stderr.String()); err != nil {
		return "", fmt.Errorf("binfmt %s helper: %w", purpose, err)
	}
	return stdout.String(), nil
}

// helperExit turns a helper's exit status into an error; 3 is
// mountScript's "could not mount binfmt_misc".
func helperExit(code int, stderr string) error {
	msg := strings.TrimSpace(stderr)
	switch code {
	case 0:
		return nil
	case 3:
		return status.Environment(fmt.Errorf("mount binfmt_misc: %s", msg), privilegeHint)
	default:
		if msg == "" {
			msg = "no output"
		}
		return fmt.Errorf("exited with status %d: %s", code, msg)
	}
}

// startHolder creates and starts a holder and waits until it has
// registered what was missing. It returns the container (removed again on
// failure) and the holder's report.
func startHolder(ctx context.Context, eng *engine.Engine, spec helperSpec) (id, report string, err error) {
	id, err = createHelper(ctx, eng, spec)
	if err != nil {
		return "", "", err
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, eng.RemoveContainer(ctx, id))
			id = ""
		}
	}()
	if err := eng.StartContainer(ctx, id); err != nil {
		return id, "", status.Environment(fmt.Errorf("binfmt holder: %w", err), privilegeHint)
	}
	report, err = waitReady(ctx, eng, id)
	return id, report, err
}

// waitReady follows a holder's output until its ready line. If the
// holder exits first, its exit status and stderr say why.
func waitReady(ctx context.Context, eng *engine.Engine, id string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	pr, pw := io.Pipe()
	defer pr.Close()
	var stderr bytes.Buffer
	followed := make(chan error, 1)
	go func() {
		err := eng.Output(ctx, id, true, pw, &stderr)
		followed <- err // before the close: the reader checks it after EOF
		pw.CloseWithError(err)
	}()
	var out strings.Builder
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
		if sc.Text() == lineReady {
			return out.String(), nil
		}
	}
	// The stream ended (pw is closed, so stderr is complete): the holder
	// exited, or ctx ended.
	if ctx.Err() != nil {
		return "", fmt.Errorf("binfmt holder not ready: %w", context.Cause(ctx))
	}
	select {
	case err := <-followed:
		if err != nil {
			return "", fmt.Errorf("binfmt holder logs: %w", err)
		}
	default:
	}
	code, err := eng.WaitContainer(ctx, id)
	if err != nil {
		return "", fmt.Errorf("binfmt holder: %w", err)
	}
	if err := helperExit(code, stderr.String()); err != nil {
		return "", fmt.Errorf("binfmt holder: %w", err)
	}
	return "", fmt.Errorf("binfmt holder stopped before it was ready: %s", strings.TrimSpace(out.String()+stderr.String()))
}

func joinSystems(systems []system.System) string {
	names := make([]string, len(systems))
	for i, s := range systems {
		names[i] = s.String()
	}
	return strings.Join(names, ",")
}
