package engine

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// Fake is an API for unit tests: set the function fields a test needs;
// any other call panics through the nil embedded API, which shows at once
// which call a test did not expect. The fields cover what a build uses.
type Fake struct {
	API
	ImageInspectFunc      func(ctx context.Context, image string) (client.ImageInspectResult, error)
	VolumeCreateFunc      func(ctx context.Context, options client.VolumeCreateOptions) (client.VolumeCreateResult, error)
	ContainerCreateFunc   func(ctx context.Context, options client.ContainerCreateOptions) (client.ContainerCreateResult, error)
	ContainerStartFunc    func(ctx context.Context, container string, options client.ContainerStartOptions) (client.ContainerStartResult, error)
	ContainerListFunc     func(ctx context.Context, options client.ContainerListOptions) (client.ContainerListResult, error)
	ContainerRemoveFunc   func(ctx context.Context, container string, options client.ContainerRemoveOptions) (client.ContainerRemoveResult, error)
	ContainerRenameFunc   func(ctx context.Context, container string, options client.ContainerRenameOptions) (client.ContainerRenameResult, error)
	ContainerWaitFunc     func(ctx context.Context, container string, options client.ContainerWaitOptions) client.ContainerWaitResult
	ContainerLogsFunc     func(ctx context.Context, container string, options client.ContainerLogsOptions) (client.ContainerLogsResult, error)
	CopyToContainerFunc   func(ctx context.Context, container string, options client.CopyToContainerOptions) (client.CopyToContainerResult, error)
	CopyFromContainerFunc func(ctx context.Context, container string, options client.CopyFromContainerOptions) (client.CopyFromContainerResult, error)
	// ContainerInspectFunc and PingFunc, when nil, answer as a daemon
	// whose containers all run: what every test that stops none expects
	// when a failed build has its container looked at (Engine.Ending).
	ContainerInspectFunc func(ctx context.Context, container string) (client.ContainerInspectResult, error)
	PingFunc             func(ctx context.Context) (client.PingResult, error)
	// ExecFunc answers ExecCreate, ExecAttach and ExecInspect together: it
	// runs cmd "in" container and returns what it printed and its status.
	// ctx is the attach's: a command that blocks should end with it.
	ExecFunc func(ctx context.Context, container string, cmd, env []string) (stdout, stderr string, code int)

	mu    sync.Mutex
	execs map[string]*fakeExec
}

type fakeExec struct {
	container string
	opts      client.ExecCreateOptions
	done      chan struct{}
	code      int
}

func (f *Fake) ImageInspect(ctx context.Context, image string, _ ...client.ImageInspectOption) (client.ImageInspectResult, error) {
	return f.ImageInspectFunc(ctx, image)
}

func (f *Fake) VolumeCreate(ctx context.Context, options client.VolumeCreateOptions) (client.VolumeCreateResult, error) {
	return f.VolumeCreateFunc(ctx, options)
}

func (f *Fake) ContainerCreate(ctx context.Context, options client.ContainerCreateOptions) (client.ContainerCreateResult, error) {
	return f.ContainerCreateFunc(ctx, options)
}

func (f *Fake) ContainerStart(ctx context.Context, container string, options client.ContainerStartOptions) (client.ContainerStartResult, error) {
	return f.ContainerStartFunc(ctx, container, options)
}

func (f *Fake) ContainerList(ctx context.Context, options client.ContainerListOptions) (client.ContainerListResult, error) {
	return f.ContainerListFunc(ctx, options)
}

func (f *Fake) ContainerRemove(ctx context.Context, container string, options client.ContainerRemoveOptions) (client.ContainerRemoveResult, error) {
	return f.ContainerRemoveFunc(ctx, container, options)
}

func (f *Fake) ContainerRename(ctx context.Context, container string, options client.ContainerRenameOptions) (client.ContainerRenameResult, error) {
	return f.ContainerRenameFunc(ctx, container, options)
}

// FakeWait is a ContainerWait answer: the container stopped (with 137),
// or the wait ended with it still running (its deadline).
func FakeWait(stopped bool) client.ContainerWaitResult {
	res, errs := make(chan container.WaitResponse, 1), make(chan error, 1)
	if stopped {
		res <- container.WaitResponse{StatusCode: 137}
	} else {
		errs <- context.DeadlineExceeded
	}
	return client.ContainerWaitResult{Result: res, Error: errs}
}

func (f *Fake) ContainerWait(ctx context.Context, container string, options client.ContainerWaitOptions) client.ContainerWaitResult {
	if f.ContainerWaitFunc == nil {
		// As for ContainerInspectFunc: the container runs on.
		return FakeWait(false)
	}
	return f.ContainerWaitFunc(ctx, container, options)
}

func (f *Fake) ContainerLogs(ctx context.Context, container string, options client.ContainerLogsOptions) (client.ContainerLogsResult, error) {
	return f.ContainerLogsFunc(ctx, container, options)
}

func (f *Fake) CopyToContainer(ctx context.Context, container string, options client.CopyToContainerOptions) (client.CopyToContainerResult, error) {
	return f.CopyToContainerFunc(ctx, container, options)
}

func (f *Fake) CopyFromContainer(ctx context.Context, container string, options client.CopyFromContainerOptions) (client.CopyFromContainerResult, error) {
	return f.CopyFromContainerFunc(ctx, container, options)
}

func (f *Fake) ContainerInspect(ctx context.Context, id string, options client.ContainerInspectOptions) (client.ContainerInspectResult, error) {
	if f.ContainerInspectFunc == nil {
		return client.ContainerInspectResult{Container: container.InspectResponse{ID: id, State: &container.State{Status: container.StateRunning, Running: true}}}, nil
	}
	return f.ContainerInspectFunc(ctx, id)
}

func (f *Fake) Ping(ctx context.Context, options client.PingOptions) (client.PingResult, error) {
	if f.PingFunc == nil {
		return client.PingResult{}, nil
	}
	return f.PingFunc(ctx)
}

func (f *Fake) ExecCreate(ctx context.Context, container string, options client.ExecCreateOptions) (client.ExecCreateResult, error) {
	if f.ExecFunc == nil {
		return f.API.ExecCreate(ctx, container, options)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.execs == nil {
		f.execs = map[string]*fakeExec{}
	}
	id := fmt.Sprintf("exec-%d", len(f.execs)+1)
	f.execs[id] = &fakeExec{container: container, opts: options, done: make(chan struct{})}
	return client.ExecCreateResult{ID: id}, nil
}

func (f *Fake) exec(id string) *fakeExec {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.execs[id]
}

// ExecAttach runs ExecFunc in the background and streams its output in
// Docker's multiplexed framing, as the daemon does.
func (f *Fake) ExecAttach(ctx context.Context, execID string, options client.ExecAttachOptions) (client.ExecAttachResult, error) {
	if f.ExecFunc == nil {
		return f.API.ExecAttach(ctx, execID, options)
	}
	x := f.exec(execID)
	if x == nil {
		return client.ExecAttachResult{}, fmt.Errorf("no such exec %s", execID)
	}
	ours, theirs := net.Pipe()
	go func() {
		defer ours.Close()
		stdout, stderr, code := f.ExecFunc(ctx, x.container, x.opts.Cmd, x.opts.Env)
		x.code = code
		close(x.done)
		writeFrame(ours, 2, stderr)
		writeFrame(ours, 1, stdout)
	}()
	return client.ExecAttachResult{HijackedResponse: client.NewHijackedResponse(theirs, "")}, nil
}

func writeFrame(w io.Writer, stream byte, payload string) {
	if payload == "" {
		return
	}
	var h [8]byte
	h[0] = stream
	binary.BigEndian.PutUint32(h[4:], uint32(len(payload)))
	w.Write(h[:])
	io.WriteString(w, payload)
}

func (f *Fake) ExecInspect(ctx context.Context, execID string, options client.ExecInspectOptions) (client.ExecInspectResult, error) {
	if f.ExecFunc == nil {
		return f.API.ExecInspect(ctx, execID, options)
	}
	x := f.exec(execID)
	if x == nil {
		return client.ExecInspectResult{}, fmt.Errorf("no such exec %s", execID)
	}
	select {
	case <-x.done:
		return client.ExecInspectResult{ID: execID, ExitCode: x.code}, nil
	default:
		return client.ExecInspectResult{ID: execID, Running: true}, nil
	}
}
