package engine

import (
	"context"
	"errors"
	"fmt"
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
	System        system.System
	Version       string
	APIVersion    string
	OSType        string
	Rootless      bool
	OperatingOS   string
	DockerRootDir string
	// ContainerdStore: the daemon keeps images in containerd's image
	// store, which can hold a multi-platform image under one name (the
	// classic store holds one platform per name).
	ContainerdStore bool
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
	}
	for _, kv := range info.Info.DriverStatus {
		if kv[0] == "driver-type" && strings.HasPrefix(kv[1], "io.containerd.snapshotter") {
			e.ContainerdStore = true
		}
	}
	for _, o := range info.Info.SecurityOptions {
		if strings.Contains(o, "rootless") {
			e.Rootless = true
		}
	}
	if v, err := api.ServerVersion(pctx, client.ServerVersionOptions{}); err == nil {
		e.APIVersion = v.APIVersion
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
	switch {
	case strings.Contains(msg, "permission denied"):
		hint = "add your user to the docker group (`sudo usermod -aG docker $USER`, then log in again) or use rootless Docker"
	case errors.Is(err, context.DeadlineExceeded):
		msg = fmt.Sprintf("no answer within %s", pingTimeout)
	}
	return status.Daemon(fmt.Errorf("cannot reach the Docker daemon at %s (%s): %s", ep.Host, ep.Source, msg), hint)
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
