package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"
	"github.com/moby/term"

	"github.com/nixcross/nixcross/internal/engine"
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
}

// Terminal is the client side of a shell session.
type Terminal struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
	// TTY is true when In and Out are a terminal: raw mode, one stream, resizes.
	TTY bool
}

// Shell runs an interactive shell (or req.Cmd) in a container set up like
// a build: the flake mounted, the cache volume, emulation held. The
// command's exit status comes back as *status.ExitStatus.
func (r *Runner) Shell(ctx context.Context, req ShellRequest, src FlakeSource, t Terminal) (err error) {
	s := req.System
	if s.IsZero() {
		s = r.Engine.System
	}
	if err := system.CheckHost(s, r.Engine.System.OS); err != nil {
		return err
	}
	prep, err := r.prepare(ctx, Request{Image: req.Image, Base: req.Base, NoCache: req.NoCache}, src)
	if err != nil {
		return err
	}
	id, err := r.startContainer(ctx, &prep, s, engine.RoleShell, false)
	defer func() {
		if id != "" {
			err = errors.Join(err, r.Engine.RemoveContainer(ctx, id))
		}
	}()
	if err != nil {
		return err
	}
	if s != r.Engine.System {
		release, _, err := r.ensureRunnable(ctx, id, s, "", prep.helperImage)
		if release != nil {
			defer release(context.WithoutCancel(ctx))
		}
		if err != nil {
			return err
		}
	}
	cmd := req.Cmd
	if len(cmd) == 0 {
		if !t.TTY {
			return status.Usage(errors.New("no terminal: give the command to run after --"), "e.g. nixcross shell --system aarch64-linux -- nix build .#hello")
		}
		cmd = []string{"bash", "-l"}
	}
	return r.attachExec(ctx, id, cmd, t)
}

func (r *Runner) attachExec(ctx context.Context, id string, cmd []string, t Terminal) error {
	api := r.Engine.API
	created, err := api.ExecCreate(ctx, id, client.ExecCreateOptions{
		Cmd: cmd, TTY: t.TTY, AttachStdin: true, AttachStdout: true, AttachStderr: true,
		Env: []string{"TERM=" + termName()},
	})
	if err != nil {
		return fmt.Errorf("container exec create: %w", err)
	}
	att, err := api.ExecAttach(ctx, created.ID, client.ExecAttachOptions{TTY: t.TTY})
	if err != nil {
		return fmt.Errorf("container exec attach: %w", err)
	}
	defer att.Close()

	if t.TTY {
		if fd, isTerm := term.GetFdInfo(t.In); isTerm {
			state, err := term.SetRawTerminal(fd)
			if err == nil {
				restore := sync.OnceFunc(func() { term.RestoreTerminal(fd, state) })
				defer restore()
			}
		}
		stopResize := r.followResize(ctx, created.ID, t.Out)
		defer stopResize()
	}
	go func() {
		io.Copy(att.Conn, t.In)
		att.CloseWrite()
	}()
	outDone := make(chan error, 1)
	go func() {
		var err error
		if t.TTY {
			_, err = io.Copy(t.Out, att.Reader)
		} else {
			_, err = stdcopy.StdCopy(t.Out, t.Err, att.Reader)
		}
		outDone <- err
	}()
	select {
	case <-outDone:
	case <-ctx.Done():
		return context.Cause(ctx)
	}
	for {
		res, err := api.ExecInspect(ctx, created.ID, client.ExecInspectOptions{})
		if err != nil {
			return fmt.Errorf("container exec inspect: %w", err)
		}
		if !res.Running {
			if res.ExitCode != 0 {
				return &status.ExitStatus{Code: res.ExitCode}
			}
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// followResize keeps the exec's terminal the size of ours (SIGWINCH).
func (r *Runner) followResize(ctx context.Context, execID string, out io.Writer) func() {
	fd, isTerm := term.GetFdInfo(out)
	if !isTerm {
		return func() {}
	}
	resize := func() {
		if ws, err := term.GetWinsize(fd); err == nil {
			r.Engine.API.ExecResize(ctx, execID, client.ExecResizeOptions{Height: uint(ws.Height), Width: uint(ws.Width)})
		}
	}
	resize()
	ch := make(chan os.Signal, 1)
	notifyResize(ch)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-ch:
				resize()
			case <-done:
				return
			}
		}
	}()
	return func() { signal.Stop(ch); close(done) }
}

func termName() string {
	if t := os.Getenv("TERM"); t != "" {
		return t
	}
	return "xterm"
}
