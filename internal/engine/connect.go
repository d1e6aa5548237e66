package engine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/moby/moby/client"

	"github.com/nixcross/nixcross/internal/status"
	"github.com/nixcross/nixcross/internal/system"
)

// Engine is a reachable Docker daemon.
type Engine struct {
	API      API
	Endpoint Endpoint
	// System is the daemon's own system (e.g. x86_64-linux): what it runs
	// natively without emulation.
	System system.System
	// Product is the engine's name: "Docker", or "Podman" for Podman's
	// Docker-compatible service.
	Product       string
	Version       string
	APIVersion    string
	OSType        string
	Rootless      bool
	OperatingOS   string
	DockerRootDir string
	// KernelVersion is the daemon's kernel ("6.18.44-…"), for what it
	// allows inside user namespaces (see KernelAtLeast).
	KernelVersion string
	// fresh makes a client with connections of its own (see answers).
	fresh func() (API, error)
}

// pingTimeout bounds how long an unreachable daemon can keep the user
// waiting before the environment error.
const pingTimeout = 5 * time.Second

// Connect resolves the endpoint, connects and checks the daemon answers.
func Connect(ctx context.Context, sel Selection) (*Engine, error) {
	ep, err := Resolve(sel)
	if err != nil {
		return nil, err
	}
	opts, err := ep.clientOptions()
	if err != nil {
		return nil, status.Environment(fmt.Errorf("docker endpoint %s: %w", ep.Host, err), "")
	}
	cli, err := client.New(append(opts, client.WithAPIVersionNegotiation())...)
	if err != nil {
		return nil, status.Environment(fmt.Errorf("docker client for %s: %w", ep.Host, err), "")
	}
	e, err := probeDaemon(ctx, &watchedAPI{API: cli, host: ep.Host}, ep)
	if err != nil {
		cli.Close()
		return nil, err
	}
	e.fresh = func() (API, error) {
		return client.New(opts...)
	}
	return e, nil
}

func probeDaemon(ctx context.Context, api API, ep Endpoint) (*Engine, error) {
	pctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	if _, err := api.Ping(pctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, unreachable(ep, err)
	}
	info, err := api.Info(pctx, client.InfoOptions{})
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, unreachable(ep, err)
	}
	sys, err := system.FromDocker(info.Info.OSType, info.Info.Architecture)
	if err != nil {
		return nil, status.Environment(err, "")
	}
	e := &Engine{
		API:           api,
		Endpoint:      ep,
		System:        sys,
		Version:       info.Info.ServerVersion,
		OSType:        info.Info.OSType,
		OperatingOS:   info.Info.OperatingSystem,
		DockerRootDir: info.Info.DockerRootDir,
		KernelVersion: info.Info.KernelVersion,
	}
	for _, o := range info.Info.SecurityOptions {
		if strings.Contains(o, "rootless") {
			e.Rootless = true
		}
	}
	e.Product = "Docker"
	if v, err := api.ServerVersion(pctx, client.ServerVersionOptions{}); err == nil {
		e.APIVersion = v.APIVersion
		e.Product = product(v)
	}
	return e, nil
}

func unreachable(ep Endpoint, err error) error {
	hint := "start Docker (Docker Desktop, Colima, `sudo systemctl start docker`), or point nixcross at another daemon with --host/DOCKER_HOST or --context"
	msg := err.Error()
	var de *DaemonError
	if errors.As(err, &de) {
		msg = de.Err.Error() // the endpoint is named below
	}
	if cause := socketCause(ep); cause != nil {
		// The client's "Is the docker daemon running?" hides why a
		// socket that is there refused: ask the socket itself.
		msg = cause.Error()
	}
	switch {
	case strings.Contains(msg, "permission denied"):
		hint = "add your user to the docker group (`sudo usermod -aG docker $USER`, then log in again) or use rootless Docker"
		if rootless := rootlessSocket(); rootless != "" && "unix://"+rootless != ep.Host {
			hint += " (yours answers at " + rootless + ": --host unix://" + rootless + ")"
		}
	case errors.Is(err, context.DeadlineExceeded):
		msg = fmt.Sprintf("no answer within %s", pingTimeout)
	}
	return status.Daemon(fmt.Errorf("cannot reach the Docker daemon at %s (%s): %s", ep.Host, ep.Source, msg), hint)
}

// KernelAtLeast reports whether the daemon's kernel is major.minor or
// newer; false when it did not say.
func (e *Engine) KernelAtLeast(major, minor int) bool {
	var ma, mi int
	if n, _ := fmt.Sscanf(e.KernelVersion, "%d.%d", &ma, &mi); n != 2 {
		return false
	}
	return ma > major || ma == major && mi >= minor
}

// product names the engine from its version answer: Podman's service
// answers like Docker's, but names itself in the platform or a component.
func product(v client.ServerVersionResult) string {
	names := []string{v.Platform.Name}
	for _, c := range v.Components {
		names = append(names, c.Name)
	}
	for _, n := range names {
		if strings.Contains(strings.ToLower(n), "podman") {
			return "Podman"
		}
	}
	return "Docker"
}

// socketCause dials a unix socket endpoint once more and returns why it
// refused when the socket is there but would not let this user in (nil
// otherwise): the client reports every refusal the same way.
func socketCause(ep Endpoint) error {
	path, ok := strings.CutPrefix(ep.Host, "unix://")
	if !ok {
		return nil
	}
	c, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		c.Close()
		return nil
	}
	if errors.Is(err, fs.ErrPermission) {
		return err
	}
	return nil
}

// rootlessSocket is where a rootless Docker daemon of this user listens,
// when it exists ("" otherwise).
func rootlessSocket() string {
	dir := os.Getenv("XDG_RUNTIME_DIR")
	if dir == "" {
		return ""
	}
	p := filepath.Join(dir, "docker.sock")
	if fi, err := os.Stat(p); err == nil && fi.Mode()&fs.ModeSocket != 0 {
		return p
	}
	return ""
}

// Close releases the client.
func (e *Engine) Close() error { return e.API.Close() }

// SecurityOptions asks the daemon for its security options now (AppArmor,
// SELinux, userns, rootless): what a privileged helper must allow for.
func (e *Engine) SecurityOptions(ctx context.Context) ([]string, error) {
	info, err := e.API.Info(ctx, client.InfoOptions{})
	if err != nil {
		return nil, fmt.Errorf("docker info: %w", err)
	}
	return info.Info.SecurityOptions, nil
}
