package build

import (
	"context"
	"io"
	"sync"

	"github.com/moby/moby/api/types/mount"

	"github.com/nixcross/nixcross/internal/cache"
	"github.com/nixcross/nixcross/internal/engine"
	"github.com/nixcross/nixcross/internal/flake"
)

// DefaultBase is the base image Dockerfile.nix builds on.
const DefaultBase = "debian:trixie-slim"

func baseOr(b string) string {
	if b == "" {
		return DefaultBase
	}
	return b
}

// Prepared is what every system's build of one request shares: the output
// of the "prepare image and store" stage.
type Prepared struct {
	Image  engine.Image
	Volume string // cache volume; "" with --no-cache
	Source FlakeSource
	// Inputs are the flake's inputs on the client, made visible like the
	// flake (see inputMounts and copyInputs).
	Inputs []flake.Input
	// lockOnce reports or writes a changed flake.lock once for all systems.
	lockOnce *sync.Once
	// agent is the ssh agent socket the daemon mounts; "" for none.
	// release ends its forwarding to the daemon's host (nil for none).
	agent   string
	release func()
	// helperImage carries static QEMU for registration: the built-in
	// builder image, built on demand when --image names another.
	helperImage func(context.Context) (string, error)
	// Mode is how the flake reaches the container: SourceMount,
	// SourceCopy, or SourceFetched for flakes Nix fetches itself.
	Mode SourceMode
	// storeMounts are the host binary caches the build container sees
	// (see storeMounts).
	storeMounts []mount.Mount
	// hostCaches are the file:// substituters copied into each build
	// container, for a daemon that cannot mount them.
	hostCaches []hostCache
	// auto allows falling back from mount to copy when the daemon cannot
	// see the directory (see withSourceFallback).
	auto bool
	// nix reads the image's Nix version once for all systems.
	nix *nixCheck
	// Sandbox: the build containers run Nix's sandbox (--sandbox).
	Sandbox bool
	// Memory is the build containers' memory limit in bytes (--memory;
	// 0: the daemon's whole).
	Memory int64
	// userImage: the image is the user's (--image), which may lack Nix's
	// build users (see addBuildUsers).
	userImage bool
	// shellConfig is added to a shell container's NIX_CONFIG (see
	// shellConfig); "" for builds.
	shellConfig string
}

// prepare finds or builds the image, decides how the source travels, and
// creates the store cache volume.
func (r *Runner) prepare(ctx context.Context, req Request, src FlakeSource) (Prepared, error) {
	p := Prepared{Source: src, Inputs: req.Inputs, lockOnce: new(sync.Once), nix: &nixCheck{s3: pushesTo(req.Push, "s3")}, Sandbox: req.Sandbox, Memory: req.Memory, userImage: req.Image != ""}
	p.agent, p.release = r.agentSource(ctx, req.Forward)
	done := r.UI.Phase("", "image")
	var err error
	if req.Image != "" {
		p.Image, err = r.Engine.UserImage(ctx, req.Image)
	} else {
		p.Image, err = r.Engine.EnsureBuilderImage(ctx, r.Dockerfile, baseOr(req.Base), r.announceImageBuild)
	}
	done(err)
	if err != nil {
		return p, err
	}
	if src.Local || len(p.Inputs) > 0 {
		p.Mode = req.Source
		if p.Mode == "" || p.Mode == SourceAuto {
			p.auto = true
			p.Mode = SourceCopy
			if r.Engine.Endpoint.Local() {
				p.Mode = SourceMount
			}
		}
	}
	p.storeMounts = storeMounts(req, r.Engine.Endpoint.Local())
	p.hostCaches = hostCaches(req, r.Engine.Endpoint.Local())
	p.helperImage = func(context.Context) (string, error) { return p.Image.Ref, nil }
	if req.Image != "" {
		var once sync.Once
		var ref string
		var herr error
		p.helperImage = func(ctx context.Context) (string, error) {
			once.Do(func() {
				img, err := r.Engine.EnsureBuilderImage(ctx, r.Dockerfile, baseOr(req.Base), r.announceImageBuild)
				ref, herr = img.Ref, err
			})
			return ref, herr
		}
	}
	if !req.NoCache {
		p.Volume, err = cache.Ensure(ctx, r.Engine, p.Image, src.StoreKey(req.Flake), req.Sandbox)
		if err != nil {
			return p, err
		}
	}
	return p, nil
}

// close stops what prepare started for the length of the run (the ssh
// agent's forwarding); the run calls it when it ends.
func (p Prepared) close() {
	if p.release != nil {
		p.release()
	}
}

// announceImageBuild says the builder image is being built (the first
// run's long wait) and, under --verbose, shows the build's log.
func (r *Runner) announceImageBuild(ref string) io.Writer {
	r.UI.Printf("building the builder image %s from Dockerfile.nix (first use only; about a minute)", ref)
	if r.Verbose {
		return r.UI.Lines("image> ", true)
	}
	return nil
}
