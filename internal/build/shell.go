package build

import (
	"context"
	"errors"

	"github.com/nixcross/nixcross/internal/engine"
	"github.com/nixcross/nixcross/internal/flake"
	"github.com/nixcross/nixcross/internal/nix"
	"github.com/nixcross/nixcross/internal/status"
	"github.com/nixcross/nixcross/internal/system"
)

// ShellRequest is `nixcross shell`.
type ShellRequest struct {
	System  system.System
	Image   string
	Base    string
	NoCache bool
	Cmd     []string // empty: an interactive shell
	// Options are the user's --option settings, for every Nix in the
	// shell, after the system's.
	Options []nix.Option
	// Inputs are the flake's inputs on the client's file system (see
	// ResolveInputs): mounted or copied as for a build, so Nix in the
	// shell finds what flake.lock names.
	Inputs []flake.Input
}

// Terminal is the client side of a shell session.
type Terminal = engine.Terminal

// Shell runs an interactive shell (or req.Cmd) in a container set up like
// a build: the same stages up to a runnable system, then the command
// attached to t. The command's exit status comes back as *status.ExitStatus.
func (r *Runner) Shell(ctx context.Context, req ShellRequest, src FlakeSource, t Terminal) error {
	s := req.System
	if s.IsZero() {
		s = r.Engine.System
	}
	if err := system.CheckHost(s, r.Engine.System.OS); err != nil {
		return err
	}
	prep, err := r.prepare(ctx, Request{Image: req.Image, Base: req.Base, NoCache: req.NoCache, Inputs: req.Inputs}, src)
	defer prep.close()
	if err != nil {
		return err
	}
	prep.shellConfig = shellConfig(s, append(containerSettings(prep.Image, r.Engine.System), req.Options...))
	return r.withSourceFallback(ctx, prep, "", func(mode SourceMode) error {
		return r.shellIn(ctx, prep, mode, s, req.Cmd, t)
	})
}

func (r *Runner) shellIn(ctx context.Context, prep Prepared, mode SourceMode, s system.System, cmd []string, t Terminal) (err error) {
	c, err := r.startContainer(ctx, prep, mode, s, engine.RoleShell, false)
	defer func() { err = errors.Join(err, r.Engine.RemoveContainer(ctx, c.id)) }()
	if err != nil {
		return err
	}
	if s != r.Engine.System {
		run, err := r.makeRunnable(ctx, c.id, s, "", prep.helperImage)
		if run.release != nil {
			defer run.release(context.WithoutCancel(ctx))
		}
		if err != nil {
			return err
		}
	}
	if len(cmd) == 0 {
		if !t.TTY {
			return status.Usage(errors.New("no terminal: give the command to run after --"), "e.g. nixcross shell --system aarch64-linux -- nix build .#hello")
		}
		cmd = []string{"bash", "-l"}
	}
	err = r.Engine.ExecInteractive(ctx, c.id, cmd, t)
	var exit *engine.ExitError
	if errors.As(err, &exit) {
		return &status.ExitStatus{Code: exit.Code}
	}
	return err
}

// shellConfig is what Nix in a shell for s needs beyond every container's
// NIX_CONFIG: s as its system, so builtins.currentSystem, `nix build
// .#default` and `nix develop` are s's, as in a build (which passes
// --system-like flags itself), and the settings given.
func shellConfig(s system.System, opts []nix.Option) string {
	conf := "\nsystem = " + s.String() + "\nextra-platforms = " + s.String()
	for _, o := range opts {
		conf += "\n" + o.Name + " = " + o.Value
	}
	return conf
}
