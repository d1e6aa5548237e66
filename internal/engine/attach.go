package engine

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"
	"github.com/moby/term"
)

// Terminal is the client side of an interactive exec.
type Terminal struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
	// TTY is true when In and Out are a terminal: raw mode, one stream, resizes.
	TTY bool
}

// ExecInteractive runs cmd in a running container attached to t, as
// `docker exec -it` does: raw mode restored once, the exec's terminal kept
// the size of ours, output as it comes. A non-zero exit is *ExitError.
func (e *Engine) ExecInteractive(ctx context.Context, id string, cmd []string, t Terminal) error {
	created, err := e.API.ExecCreate(ctx, id, client.ExecCreateOptions{
		Cmd: cmd, TTY: t.TTY, AttachStdin: true, AttachStdout: true, AttachStderr: true,
		Env: []string{"TERM=" + termName()},
	})
	if err != nil {
		return fmt.Errorf("container exec create: %w", err)
	}
	att, err := e.API.ExecAttach(ctx, created.ID, client.ExecAttachOptions{TTY: t.TTY})
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
		stopResize := e.followResize(ctx, created.ID, t.Out)
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
	code, err := e.execExitCode(ctx, created.ID)
	if err != nil {
		return err
	}
	if code != 0 {
		return &ExitError{Cmd: strings.Join(cmd, " "), Code: code}
	}
	return nil
}

// followResize keeps the exec's terminal the size of ours (SIGWINCH).
func (e *Engine) followResize(ctx context.Context, execID string, out io.Writer) func() {
	fd, isTerm := term.GetFdInfo(out)
	if !isTerm {
		return func() {}
	}
	resize := func() {
		if ws, err := term.GetWinsize(fd); err == nil {
			e.API.ExecResize(ctx, execID, client.ExecResizeOptions{Height: uint(ws.Height), Width: uint(ws.Width)})
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
