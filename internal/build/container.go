package build

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/moby/moby/api/types/mount"

	"github.com/nixcross/nixcross/internal/engine"
	"github.com/nixcross/nixcross/internal/nix"
	"github.com/nixcross/nixcross/internal/shell"
	"github.com/nixcross/nixcross/internal/status"
	"github.com/nixcross/nixcross/internal/system"
)

// buildContainer is the output of the "start container" stage: a running
// container with the store at /nix and the flake where Nix looks for it.
type buildContainer struct {
	id   string // "" when none was made
	mode SourceMode
	// keptAs names it when --keep-failed kept it: nobody removes it then.
	keptAs string
	// nix is the image's Nix version (see nixCheck).
	nix nix.Version
	// nixEnv is the environment of every Nix command after the build's
	// setup: Nix's ssh uses --builders-ssh-key (see remoteBuilders), for
	// the builders and for ssh pushes, and Nix has the forwarded
	// credentials (see credentialEnv), for inputs and https pushes.
	nixEnv []string
	// builtOn are the --builders machines Nix built derivations on.
	builtOn []string
}

// containerSpec is every build and shell container's configuration: the
// one place for its mounts, environment and capabilities (the Nix settings
// every build needs are containerSettings, below).
func containerSpec(prep Prepared, mode SourceMode, s system.System, role string) engine.ContainerSpec {
	mounts := []mount.Mount{}
	if prep.Volume != "" {
		mounts = append(mounts, mount.Mount{Type: mount.TypeVolume, Source: prep.Volume, Target: "/nix"})
	} else {
		// Anonymous volume: seeded from the image, removed with the container.
		mounts = append(mounts, mount.Mount{Type: mount.TypeVolume, Target: "/nix"})
	}
	// Secrets (the builders' key) live in memory only, root's alone.
	mounts = append(mounts, mount.Mount{Type: mount.TypeTmpfs, Target: secretsDir, TmpfsOptions: &mount.TmpfsOptions{SizeBytes: secretsTmpfsMax, Mode: 0o700}})
	if mode == SourceMount && prep.Source.Local {
		mounts = append(mounts, mount.Mount{Type: mount.TypeBind, Source: prep.Source.Top, Target: prep.Source.ContainerTop, ReadOnly: true})
	}
	mounts = append(mounts, prep.storeMounts...)
	if mode == SourceMount {
		mounts = append(mounts, inputMounts(prep.Inputs)...)
	}
	mounts = append(mounts, agentMounts(prep.agent)...)
	workdir := ""
	if prep.Source.Local {
		workdir = prep.Source.ContainerDir
	}
	spec := engine.ContainerSpec{
		Name:       fmt.Sprintf("nixcross-%s-%s-%s", role, s, randomSuffix()),
		Image:      prep.Image.Ref,
		Cmd:        engine.IdleCmd(),
		Env:        []string{"NIX_CONFIG=" + nixConfig(prep.Sandbox) + prep.shellConfig},
		WorkingDir: workdir,
		Labels:     engine.Labels(role, append([]string{engine.LabelSystem, s.String()}, engine.RunLabels()...)...),
		Mounts:     mounts,
		Memory:     prep.Memory,
	}
	if prep.Sandbox {
		sandboxPrivileges(&spec)
	}
	return spec
}

// nixConfig is NIX_CONFIG of every Nix in the container. With sandbox,
// sandbox-fallback = false makes Nix fail instead of building
// unsandboxed when it cannot set the sandbox up.
func nixConfig(sandbox bool) string {
	conf := nix.BaseConfig
	if sandbox {
		conf += "\nsandbox = true\nsandbox-fallback = false"
	}
	return conf
}

// containerSettings are the Nix settings every build in this container
// needs, whatever the user asked: the place to add one.
func containerSettings(img engine.Image, daemon system.System) []nix.Option {
	var opts []nix.Option
	if !img.System.IsZero() && img.System != daemon && !img.System.CompatibleWith(daemon) {
		// Nix itself runs under QEMU, which does not emulate seccomp:
		// loading Nix's syscall filter fails ("unable to load seccomp BPF
		// program") unless it is off.
		opts = append(opts, nix.Option{Name: "filter-syscalls", Value: "false"})
	}
	return opts
}

// errMountInvisible marks a bind mount the daemon cannot make or fills
// with nothing (remote daemon, folder not shared with Docker Desktop).
var errMountInvisible = errors.New("the Docker daemon cannot see the flake directory")

// mountHint is the advice under every errMountInvisible.
const mountHint = "use --source copy to send the flake through the Docker API"

// withSourceFallback runs attempt with prep's source mode and, in auto
// mode, once more with a copy when the daemon turns out not to see the
// mounted flake. It is the one place the mount-to-copy fallback lives.
func (r *Runner) withSourceFallback(ctx context.Context, prep Prepared, prefix string, attempt func(SourceMode) error) error {
	err := attempt(prep.Mode)
	if prep.Mode == SourceMount && prep.auto && errors.Is(err, errMountInvisible) {
		r.UI.Printf("%sthe daemon cannot see %s; sending the flake through the Docker API instead (--source copy)", prefix, prep.Source.Top)
		return attempt(SourceCopy)
	}
	return err
}

// startContainer creates and starts a container of role for system s with
// the flake delivered by mode: bind-mounted read-only at its own path, or
// copied in through the API. A mount the daemon cannot see fails with
// errMountInvisible (withSourceFallback turns that into a copy in auto
// mode). The caller removes the container, also on error.
//
// checkLater leaves the visibility check of a mount to the caller's first
// command (the build script does it, saving a round trip).
func (r *Runner) startContainer(ctx context.Context, prep Prepared, mode SourceMode, s system.System, role string, checkLater bool) (*buildContainer, error) {
	c := &buildContainer{mode: mode}
	t0 := time.Now()
	id, err := r.Engine.CreateContainer(ctx, containerSpec(prep, mode, s, role))
	r.trace("container create", t0)
	if err != nil {
		if mode == SourceMount && strings.Contains(err.Error(), "bind source path does not exist") {
			return c, status.Environment(fmt.Errorf("%w: %s is not there for the daemon at %s", errMountInvisible, prep.Source.Top, r.Engine.Endpoint.Host), mountHint)
		}
		return c, status.Environment(err, privilegeHint(prep, err))
	}
	c.id = id
	t0 = time.Now()
	startErr := r.Engine.StartContainer(ctx, id)
	r.trace("container start", t0)
	if startErr != nil && !mountRefused(startErr) {
		return c, status.Environment(startErr, privilegeHint(prep, startErr))
	}
	if mode == SourceMount {
		t0 = time.Now()
		visible := startErr == nil && (checkLater || r.mountVisible(ctx, id, prep))
		if !checkLater {
			r.trace("mount check", t0)
		}
		if !visible {
			if ctx.Err() != nil {
				return c, context.Cause(ctx)
			}
			cause := fmt.Errorf("the Docker daemon at %s cannot see %s: the bind mount is missing or empty in the container", r.Engine.Endpoint.Host, prep.Source.Top)
			if startErr != nil {
				cause = fmt.Errorf("%w (%v)", cause, startErr)
			}
			if prep.auto {
				cause = fmt.Errorf("%w: %w", errMountInvisible, cause)
			}
			return c, status.Environment(cause, mountHint)
		}
	}
	if startErr != nil {
		return c, status.Environment(startErr, privilegeHint(prep, startErr))
	}
	if prep.userImage {
		if err := r.addBuildUsers(ctx, id, prep.Image.Ref); err != nil {
			return c, err
		}
	}
	if mode == SourceCopy {
		if err := r.sendSource(ctx, id, prep); err != nil {
			return c, err
		}
	}
	for _, hc := range prep.hostCaches {
		if err := r.sendCache(ctx, id, hc); err != nil {
			return c, err
		}
	}
	return c, nil
}

// sendCache copies a file:// substituter into the container for a daemon
// that cannot mount it: the whole directory, on every build, since Nix
// reads only what it needs but nixcross cannot know which in advance.
func (r *Runner) sendCache(ctx context.Context, id string, hc hostCache) error {
	what := "copy substituter " + hc.dir
	done := r.UI.Phase("", what)
	files, err := treeFiles(hc.dir, hc.dir, false)
	if err != nil {
		err = status.Usage(fmt.Errorf("--substituter %s: %w", hc.dir, err), "")
	} else {
		err = copyTree(ctx, r.Engine, id, hc.dir, hc.in, files, r.UI, what)
	}
	done(err)
	return err
}

// mountRefused tells a start the daemon refused for a mount (a bind
// source it cannot make: "error while creating mount source path", Docker
// Desktop's "Mounts denied") from one refused for anything else, which is
// no reason to try the flake another way.
func mountRefused(err error) bool {
	return strings.Contains(strings.ToLower(err.Error()), "mount")
}

// privilegeHint is the advice when the daemon will not create or start a
// build container: when it refused it (see engine.Refused) under
// --sandbox, the likeliest cause is a policy (an authorization plugin, a
// runtime) refusing what the sandbox asks for.
func privilegeHint(prep Prepared, err error) string {
	if prep.Sandbox && engine.Refused(err) {
		return nix.SandboxMessage
	}
	return ""
}

// mountVisible checks the flake and its inputs are really there: a daemon
// on another machine or VM mounts an empty (or missing) directory
// instead. Only a failed test counts as invisible, not a failed exec.
func (r *Runner) mountVisible(ctx context.Context, id string, prep Prepared) bool {
	err := r.Engine.Exec(ctx, id, engine.ExecSpec{Cmd: []string{"sh", "-c", mountCheck(prep)}})
	var exit *engine.ExitError
	return err == nil || !errors.As(err, &exit)
}

// mountCheck is a shell condition that holds when the mounted flake and
// inputs are there.
func mountCheck(prep Prepared) string {
	conds := []string{"true"}
	if prep.Source.Local {
		conds = append(conds, "[ -f "+shell.Quote(prep.Source.ContainerDir+"/flake.nix")+" ]")
	}
	if c := inputChecks(prep.Inputs); c != "" {
		conds = append(conds, c)
	}
	return strings.Join(conds, " && ")
}

// sendSource copies the flake and its local inputs into the container
// (see copySource and copyInputs).
func (r *Runner) sendSource(ctx context.Context, id string, prep Prepared) error {
	src := prep.Source
	what := "copy source " + src.Top
	if !src.Local {
		what = "copy inputs"
	}
	done := r.UI.Phase("", what)
	var err error
	if src.Local {
		err = copySource(ctx, r.Engine, id, src, r.UI)
	}
	if err == nil && src.InGit && src.ContainerDir != src.ContainerTop {
		// A flake in a subdirectory may reach files above it (../lib):
		// only a git repository makes Nix take the whole tree as the
		// flake's source, as it does locally. The copy holds exactly the
		// tracked files, so committing all of it changes nothing else.
		err = r.Engine.Exec(ctx, id, engine.ExecSpec{Cmd: []string{"sh", "-c",
			`cd "$1" && git init -q && git add -A && git -c user.name=nixcross -c user.email=nixcross@localhost commit -qm source`, "git-copy", src.ContainerTop}})
		if err != nil {
			err = status.Environment(fmt.Errorf("make the copied source a git repository: %w", err), "")
		}
	}
	if err == nil {
		err = copyInputs(ctx, r.Engine, id, prep.Inputs, r.UI)
	}
	done(err)
	return err
}
