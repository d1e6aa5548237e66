package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"
)

// ContainerSpec is the part of a container's configuration nixcross sets.
type ContainerSpec struct {
	Name        string
	Image       string
	Cmd         []string
	Entrypoint  []string
	Env         []string
	WorkingDir  string
	Labels      map[string]string
	Mounts      []mount.Mount
	CapAdd      []string
	SecurityOpt []string
	ReadOnly    bool
	NoNetwork   bool
	// UnmaskSystemPaths leaves /proc/sys neither masked nor read-only: what
	// `docker run --security-opt systempaths=unconfined` asks the daemon
	// for (as empty MaskedPaths and ReadonlyPaths). binfmt helpers need it.
	UnmaskSystemPaths bool
	// Restart is a Docker restart policy name ("", "unless-stopped", ...).
	Restart   string
	TTY       bool
	OpenStdin bool
	// Memory limits the container's memory in bytes (`docker run -m`);
	// 0 for none. The daemon gives it as much swap again, as docker run does.
	Memory int64
}

// idleCmd keeps a container alive for execs and exits at once on SIGTERM
// (a plain `sleep` as PID 1 ignores it and costs a 10 s stop timeout).
var idleCmd = []string{"sh", "-c", "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done"}

// IdleCmd is the command of containers that only host execs.
func IdleCmd() []string { return append([]string(nil), idleCmd...) }

// CreateContainer creates (but does not start) a container.
func (e *Engine) CreateContainer(ctx context.Context, spec ContainerSpec) (string, error) {
	hc := &container.HostConfig{
		Mounts:         spec.Mounts,
		CapAdd:         spec.CapAdd,
		SecurityOpt:    spec.SecurityOpt,
		ReadonlyRootfs: spec.ReadOnly,
		Resources:      container.Resources{Memory: spec.Memory},
	}
	if spec.NoNetwork {
		hc.NetworkMode = "none"
	}
	if spec.UnmaskSystemPaths {
		hc.MaskedPaths, hc.ReadonlyPaths = []string{}, []string{}
		if e.Product == "Podman" {
			// Podman's Docker API ignores empty path lists (measured on
			// 4.3.1: /proc stays masked); its own option unmasks it.
			// Docker refuses that option, so it is Podman's alone.
			hc.SecurityOpt = append(append([]string(nil), hc.SecurityOpt...), "unmask=ALL")
		}
	}
	if spec.Restart != "" {
		hc.RestartPolicy = container.RestartPolicy{Name: container.RestartPolicyMode(spec.Restart)}
	}
	res, err := e.API.ContainerCreate(ctx, client.ContainerCreateOptions{
		Name: spec.Name,
		Config: &container.Config{
			Image:        spec.Image,
			Cmd:          spec.Cmd,
			Entrypoint:   spec.Entrypoint,
			Env:          spec.Env,
			WorkingDir:   spec.WorkingDir,
			Labels:       spec.Labels,
			Tty:          spec.TTY,
			OpenStdin:    spec.OpenStdin,
			AttachStdin:  spec.OpenStdin,
			AttachStdout: true,
			AttachStderr: true,
		},
		HostConfig: hc,
	})
	if err != nil {
		return "", fmt.Errorf("create container: %w", err)
	}
	return res.ID, nil
}

// StartContainer starts a created container.
func (e *Engine) StartContainer(ctx context.Context, id string) error {
	if _, err := e.API.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
		return fmt.Errorf("start container %s: %w", short(id), err)
	}
	return nil
}

// RemoveContainer force-removes a container. It runs on a context detached
// from ctx's cancellation (teardown must happen after Ctrl-C too) with its
// own deadline, and treats "already gone" as success.
func (e *Engine) RemoveContainer(ctx context.Context, id string) error {
	if id == "" {
		return nil
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	_, err := e.API.ContainerRemove(rctx, id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !cerrdefs.IsNotFound(err) && !isRemovalInProgress(err) {
		return fmt.Errorf("remove container %s: %w", short(id), err)
	}
	return nil
}

// Refused reports whether the daemon turned a request down as not
// allowed rather than failing at it: an authorization plugin's denial
// (403), an option it rejects (400), a runtime refused permission.
func Refused(err error) bool {
	if err == nil {
		return false
	}
	if cerrdefs.IsPermissionDenied(err) || cerrdefs.IsInvalidArgument(err) {
		return true
	}
	return containsAny(strings.ToLower(err.Error()), "authorization denied", "permission denied", "not permitted")
}

func isRemovalInProgress(err error) bool {
	return err != nil && (cerrdefs.IsConflict(err) || containsAny(err.Error(), "removal of container", "is already in progress"))
}

// WaitContainer waits for a container to stop and returns its exit code.
func (e *Engine) WaitContainer(ctx context.Context, id string) (int, error) {
	w := e.API.ContainerWait(ctx, id, client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
	select {
	case r := <-w.Result:
		if r.Error != nil && r.Error.Message != "" {
			return int(r.StatusCode), errors.New(r.Error.Message)
		}
		return int(r.StatusCode), nil
	case err := <-w.Error:
		return -1, fmt.Errorf("wait for container %s: %w", short(id), err)
	}
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
