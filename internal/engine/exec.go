package engine

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"
)

// ExitError is a process in a container that exited non-zero.
type ExitError struct {
	Cmd  string
	Code int
}

func (e *ExitError) Error() string { return fmt.Sprintf("%s exited with status %d", e.Cmd, e.Code) }

// ExecSpec describes a command run in a running container.
type ExecSpec struct {
	Cmd     []string
	Env     []string
	WorkDir string
	Stdin   io.Reader
	Stdout  io.Writer
	Stderr  io.Writer
}

// Exec runs a command in a running container, streaming stdout and stderr
// to the spec's writers as they arrive (demultiplexed, never buffered to the
// end), and returns *ExitError when the command fails.
func (e *Engine) Exec(ctx context.Context, id string, spec ExecSpec) error {
	stdout, wait, err := e.ExecStream(ctx, id, spec)
	if err != nil {
		return err
	}
	out := spec.Stdout
	if out == nil {
		out = io.Discard
	}
	_, cerr := io.Copy(out, stdout)
	stdout.Close()
	if werr := wait(); werr != nil {
		return werr
	}
	return cerr
}

// ExecStream starts a command and hands back its stdout as a stream (stderr
// goes to spec.Stderr as it arrives). The caller reads stdout to the end,
// closes it, then calls wait for the exit status.
func (e *Engine) ExecStream(ctx context.Context, id string, spec ExecSpec) (io.ReadCloser, func() error, error) {
	created, err := e.API.ExecCreate(ctx, id, client.ExecCreateOptions{
		Cmd:          spec.Cmd,
		Env:          spec.Env,
		WorkingDir:   spec.WorkDir,
		AttachStdin:  spec.Stdin != nil,
		AttachStdout: true,
		AttachStderr: true,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("container exec create: %w", err)
	}
	att, err := e.API.ExecAttach(ctx, created.ID, client.ExecAttachOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("container exec attach: %w", err)
	}
	// Closing the hijacked connection when ctx ends unblocks the readers.
	stop := context.AfterFunc(ctx, func() { att.Close() })
	if spec.Stdin != nil {
		go func() {
			io.Copy(att.Conn, spec.Stdin)
			att.CloseWrite()
		}()
	}
	stderr := spec.Stderr
	if stderr == nil {
		stderr = io.Discard
	}
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := stdcopy.StdCopy(pw, stderr, att.Reader)
		pw.CloseWithError(err)
		done <- err
	}()
	name := strings.Join(spec.Cmd, " ")
	if len(name) > 60 {
		name = spec.Cmd[0]
	}
	wait := func() error {
		defer att.Close()
		defer stop()
		copyErr := <-done
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		if copyErr != nil {
			return fmt.Errorf("read output of %s: %w", name, copyErr)
		}
		code, err := e.execExitCode(ctx, created.ID)
		if err != nil {
			return err
		}
		if code != 0 {
			return &ExitError{Cmd: name, Code: code}
		}
		return nil
	}
	return &drainCloser{pr}, wait, nil
}

// drainCloser lets a caller close the stream early without wedging the
// demultiplexer: the rest is read and dropped.
type drainCloser struct{ *io.PipeReader }

func (d *drainCloser) Close() error {
	go io.Copy(io.Discard, d.PipeReader)
	return nil
}

// execExitCode polls ExecInspect: the output stream can end a moment before
// the daemon records the process as exited (testcontainers-go does the same).
func (e *Engine) execExitCode(ctx context.Context, execID string) (int, error) {
	for i := 0; ; i++ {
		r, err := e.API.ExecInspect(ctx, execID, client.ExecInspectOptions{})
		if err != nil {
			return -1, fmt.Errorf("container exec inspect: %w", err)
		}
		if !r.Running {
			return r.ExitCode, nil
		}
		select {
		case <-ctx.Done():
			return -1, context.Cause(ctx)
		case <-time.After(time.Duration(min(i+1, 20)) * 5 * time.Millisecond):
		}
	}
}
