package engine

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"time"

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
	// The consumer reads stdout frames straight off the connection (no
	// pipe, no extra copy: exports are bound by this stream), while stderr
	// frames go to the writer as they arrive.
	demux := &frameReader{r: att.Reader, stderr: stderr}
	name := strings.Join(spec.Cmd, " ")
	if len(name) > 60 {
		name = spec.Cmd[0]
	}
	wait := func() error {
		defer att.Close()
		defer stop()
		// Whatever the consumer left unread (stderr included) is drained,
		// so the exec's exit status is final.
		_, copyErr := io.Copy(io.Discard, demux)
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
	return io.NopCloser(demux), wait, nil
}

// frameReader demultiplexes Docker's attach stream (8-byte headers: stream
// id, 3 zero bytes, big-endian length) as an io.Reader of stdout, writing
// stderr frames to stderr as they come. It is stdcopy.StdCopy turned
// inside out, so stdout needs no intermediate pipe.
type frameReader struct {
	r      io.Reader
	stderr io.Writer
	left   int // bytes of the current stdout frame not yet read
	hdr    [8]byte
	err    error
}

func (f *frameReader) Read(p []byte) (int, error) {
	for f.left == 0 {
		if f.err != nil {
			return 0, f.err
		}
		if _, err := io.ReadFull(f.r, f.hdr[:]); err != nil {
			if err == io.ErrUnexpectedEOF {
				err = fmt.Errorf("truncated stream header")
			}
			f.err = err
			return 0, err
		}
		size := int(binary.BigEndian.Uint32(f.hdr[4:]))
		switch f.hdr[0] {
		case 1: // stdout
			f.left = size
		case 0, 2: // stdin (never sent), stderr
			if _, err := io.CopyN(f.stderr, f.r, int64(size)); err != nil {
				f.err = err
				return 0, err
			}
		case 3: // systemerr: the daemon's own failure
			msg := make([]byte, size)
			io.ReadFull(f.r, msg)
			f.err = fmt.Errorf("docker: %s", msg)
			return 0, f.err
		default:
			f.err = fmt.Errorf("unknown stream id %d in the exec output", f.hdr[0])
			return 0, f.err
		}
	}
	if len(p) > f.left {
		p = p[:f.left]
	}
	n, err := f.r.Read(p)
	f.left -= n
	if err == io.EOF && f.left > 0 {
		err = io.ErrUnexpectedEOF
	}
	if err != nil && err != io.EOF {
		f.err = err
	}
	if err == io.EOF {
		f.err = io.EOF
		if n > 0 {
			err = nil
		}
	}
	return n, err
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
