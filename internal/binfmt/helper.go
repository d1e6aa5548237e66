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

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"

	"github.com/nixcross/nixcross/internal/engine"
	"github.com/nixcross/nixcross/internal/status"
	"github.com/nixcross/nixcross/internal/system"
)

// Labels on binfmt helpers, beside engine.Labels(engine.RoleBinfmt).
const (
	// LabelBinfmt says what a helper is for: "hold" (one build), "install"
	// (the long-lived container of `nixcross binfmt install`) or "helper"
	// (a short-lived listing or unregistering run).
	LabelBinfmt = "nixcross.binfmt"
	// LabelSystems lists the systems a holder keeps registered, comma-separated.
	LabelSystems = "nixcross.systems"
)

// readyTimeout bounds how long a holder may take to mount and register.
const readyTimeout = 60 * time.Second

const privilegeHint = "the Docker daemon must let a container add CAP_SYS_ADMIN with --security-opt systempaths=unconfined; " +
	"if it cannot, register QEMU on the host instead (Debian/Ubuntu: `sudo apt install qemu-user-static`)"

// helperSecurity checks that this daemon's containers can register
// handlers for the host kernel and returns the security options a helper
// needs beyond CAP_SYS_ADMIN and unmasked /proc paths (see createHelper):
// the LSMs unconfined where the daemon applies one, since Docker's AppArmor
// profile denies mount and writes under /proc/sys, and SELinux's container
// type denies the mount.
func helperSecurity(ctx context.Context, eng *engine.Engine) ([]string, error) {
	if eng.Rootless {
		return nil, status.Environment(errors.New("rootless Docker cannot register binfmt_misc handlers for the host kernel"),
			"register QEMU on the host instead (Debian/Ubuntu: `sudo apt install qemu-user-static`), or use a rootful daemon")
	}
	info, err := eng.API.Info(ctx, client.InfoOptions{})
	if err != nil {
		return nil, status.Environment(fmt.Errorf("docker info: %w", err), "")
	}
	var opts []string
	for _, o := range info.Info.SecurityOptions {
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

// helperSpec is what differs between helpers.
type helperSpec struct {
	Image   string
	Script  string
	Labels  map[string]string
	Name    string // "" for a generated name
	Restart string // restart policy, "" for none
}

// createHelper creates a binfmt helper with the least privilege that can
// register: CAP_SYS_ADMIN to mount binfmt_misc, and /proc/sys neither
// masked nor read-only (systempaths=unconfined). No network, a read-only
// root. --privileged is never used: it fails on hosts that lack
// capabilities it asks for.
func createHelper(ctx context.Context, eng *engine.Engine, spec helperSpec) (string, error) {
	secopt, err := helperSecurity(ctx, eng)
	if err != nil {
		return "", err
	}
	id, err := eng.CreateContainer(ctx, engine.ContainerSpec{
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
	})
	if err != nil {
		return "", status.Environment(fmt.Errorf("create binfmt helper from %s: %w", spec.Image, err), "")
	}
	return id, nil
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
	if purpose != "install" {
		extra = append(extra, engine.LabelRun, engine.RunID())
	}
	return engine.Labels(engine.RoleBinfmt, extra...)
}

// runHelper runs script in a short-lived helper and returns its stdout.
func runHelper(ctx context.Context, eng *engine.Engine, image, script, purpose string) (out string, err error) {
	id, err := createHelper(ctx, eng, helperSpec{Image: image, Script: script, Labels: helperLabels("helper", nil)})
	if err != nil {
		return "", fmt.Errorf("binfmt %s helper: %w", purpose, err)
	}
	defer func() { err = errors.Join(err, eng.RemoveContainer(ctx, id)) }()
	if err := eng.StartContainer(ctx, id); err != nil {
		return "", status.Environment(fmt.Errorf("binfmt %s helper: %w", purpose, err), privilegeHint)
	}
	code, err := eng.WaitContainer(ctx, id)
	if err != nil {
		return "", fmt.Errorf("binfmt %s helper: %w", purpose, err)
	}
	var stdout, stderr bytes.Buffer
	if err := eng.ContainerOutput(ctx, id, &stdout, &stderr); err != nil {
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
	logs, err := eng.API.ContainerLogs(ctx, id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Follow: true})
	if err != nil {
		return "", fmt.Errorf("binfmt holder logs: %w", err)
	}
	defer logs.Close()
	pr, pw := io.Pipe()
	defer pr.Close()
	var stderr bytes.Buffer
	go func() {
		_, err := stdcopy.StdCopy(pw, &stderr, logs)
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
