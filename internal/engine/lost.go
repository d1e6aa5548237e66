package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"sync/atomic"

	"github.com/moby/moby/client"

	"github.com/nixcross/nixcross/internal/status"
)

// Every byte between nixcross and the daemon goes through a connection
// this file dials and watches, so that a daemon that cannot be reached,
// refuses, or goes away in the middle of a build or an export is one kind
// of error (status.KindDaemon, exit 3) naming the daemon, wherever the
// call or the stream that noticed it was. Errors the client causes itself
// (closing a stream, a cancelled context, a deadline) stay what they are.

// DaemonError is a failure to reach, or to keep talking to, the daemon.
// It does not unwrap to its cause on purpose: the Docker client replaces a
// refused or timed-out connection it recognises (a net.Error in the chain)
// with a message that drops the chain, and so would drop this error too.
type DaemonError struct {
	Host string
	// Lost is true when an open connection broke, false when none opened.
	Lost bool
	Err  error
}

func (e *DaemonError) Error() string {
	if e.Lost {
		return fmt.Sprintf("lost the connection to the Docker daemon at %s: %v", e.Host, e.Err)
	}
	return fmt.Sprintf("cannot reach the Docker daemon at %s: %v", e.Host, e.Err)
}

func daemonFailure(host string, lost bool, err error) error {
	return status.Daemon(&DaemonError{Host: host, Lost: lost, Err: err}, "")
}

type dialFunc = func(ctx context.Context, network, addr string) (net.Conn, error)

// endpointDialer dials the endpoint's own address whatever the HTTP client
// asks for (it asks for a placeholder host with unix sockets). ok is false
// for named pipes, which are left to the client.
func endpointDialer(u *url.URL) (dial dialFunc, ok bool) {
	var network, addr string
	switch u.Scheme {
	case "unix":
		network, addr = "unix", u.Path
	case "tcp", "http", "https":
		network, addr = "tcp", u.Host
	default:
		return nil, false
	}
	return func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}, true
}

// watchDaemon wraps dial: a failed dial, and a read or write that fails on
// an open connection, become daemon errors naming host.
func watchDaemon(host string, dial dialFunc) dialFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			if ctx.Err() != nil {
				return nil, err
			}
			return nil, daemonFailure(host, false, err)
		}
		w := &watchedConn{Conn: c, host: host}
		if _, ok := c.(closeWriter); ok {
			// Hijacked exec streams half-close stdin through CloseWrite.
			return &watchedCloseWriter{w}, nil
		}
		return w, nil
	}
}

type closeWriter interface{ CloseWrite() error }

type watchedConn struct {
	net.Conn
	host   string
	closed atomic.Bool
}

func (c *watchedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	return n, c.check(err)
}

func (c *watchedConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	return n, c.check(err)
}

func (c *watchedConn) Close() error {
	c.closed.Store(true)
	return c.Conn.Close()
}

// check passes through the ends nixcross causes or expects: the end of a
// stream, a connection it closed, a deadline it set.
func (c *watchedConn) check(err error) error {
	if err == nil || err == io.EOF || c.closed.Load() ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrDeadlineExceeded) {
		return err
	}
	return daemonFailure(c.host, true, err)
}

type watchedCloseWriter struct{ *watchedConn }

func (c *watchedCloseWriter) CloseWrite() error {
	return c.check(c.Conn.(closeWriter).CloseWrite())
}

// watchedAPI classifies what the Docker client reports about the
// connection: it replaces a refused or timed-out dial with its own
// message, without the watched dialer's error, so client.IsErrConnectionFailed
// is how those are recognised. ContainerWait reports on a channel and is
// left as it is.
type watchedAPI struct {
	API
	host string
}

func (w *watchedAPI) check(err error) error {
	if err == nil || status.KindOf(err) == status.KindDaemon || !client.IsErrConnectionFailed(err) {
		return err
	}
	return daemonFailure(w.host, false, err)
}

func (w *watchedAPI) Ping(ctx context.Context, options client.PingOptions) (client.PingResult, error) {
	res, err := w.API.Ping(ctx, options)
	return res, w.check(err)
}

func (w *watchedAPI) Info(ctx context.Context, options client.InfoOptions) (client.SystemInfoResult, error) {
	res, err := w.API.Info(ctx, options)
	return res, w.check(err)
}

func (w *watchedAPI) ServerVersion(ctx context.Context, options client.ServerVersionOptions) (client.ServerVersionResult, error) {
	res, err := w.API.ServerVersion(ctx, options)
	return res, w.check(err)
}

func (w *watchedAPI) ImageInspect(ctx context.Context, image string, opts ...client.ImageInspectOption) (client.ImageInspectResult, error) {
	res, err := w.API.ImageInspect(ctx, image, opts...)
	return res, w.check(err)
}

func (w *watchedAPI) ImageBuild(ctx context.Context, buildContext io.Reader, options client.ImageBuildOptions) (client.ImageBuildResult, error) {
	res, err := w.API.ImageBuild(ctx, buildContext, options)
	return res, w.check(err)
}

func (w *watchedAPI) ImageList(ctx context.Context, options client.ImageListOptions) (client.ImageListResult, error) {
	res, err := w.API.ImageList(ctx, options)
	return res, w.check(err)
}

func (w *watchedAPI) ImageRemove(ctx context.Context, image string, options client.ImageRemoveOptions) (client.ImageRemoveResult, error) {
	res, err := w.API.ImageRemove(ctx, image, options)
	return res, w.check(err)
}

func (w *watchedAPI) ImageLoad(ctx context.Context, input io.Reader, opts ...client.ImageLoadOption) (client.ImageLoadResult, error) {
	res, err := w.API.ImageLoad(ctx, input, opts...)
	return res, w.check(err)
}

func (w *watchedAPI) ContainerCreate(ctx context.Context, options client.ContainerCreateOptions) (client.ContainerCreateResult, error) {
	res, err := w.API.ContainerCreate(ctx, options)
	return res, w.check(err)
}

func (w *watchedAPI) ContainerStart(ctx context.Context, container string, options client.ContainerStartOptions) (client.ContainerStartResult, error) {
	res, err := w.API.ContainerStart(ctx, container, options)
	return res, w.check(err)
}

func (w *watchedAPI) ContainerInspect(ctx context.Context, container string, options client.ContainerInspectOptions) (client.ContainerInspectResult, error) {
	res, err := w.API.ContainerInspect(ctx, container, options)
	return res, w.check(err)
}

func (w *watchedAPI) ContainerList(ctx context.Context, options client.ContainerListOptions) (client.ContainerListResult, error) {
	res, err := w.API.ContainerList(ctx, options)
	return res, w.check(err)
}

func (w *watchedAPI) ContainerRemove(ctx context.Context, container string, options client.ContainerRemoveOptions) (client.ContainerRemoveResult, error) {
	res, err := w.API.ContainerRemove(ctx, container, options)
	return res, w.check(err)
}

func (w *watchedAPI) ContainerLogs(ctx context.Context, container string, options client.ContainerLogsOptions) (client.ContainerLogsResult, error) {
	res, err := w.API.ContainerLogs(ctx, container, options)
	return res, w.check(err)
}

func (w *watchedAPI) ContainerRename(ctx context.Context, container string, options client.ContainerRenameOptions) (client.ContainerRenameResult, error) {
	res, err := w.API.ContainerRename(ctx, container, options)
	return res, w.check(err)
}

func (w *watchedAPI) CopyToContainer(ctx context.Context, container string, options client.CopyToContainerOptions) (client.CopyToContainerResult, error) {
	res, err := w.API.CopyToContainer(ctx, container, options)
	return res, w.check(err)
}

func (w *watchedAPI) CopyFromContainer(ctx context.Context, container string, options client.CopyFromContainerOptions) (client.CopyFromContainerResult, error) {
	res, err := w.API.CopyFromContainer(ctx, container, options)
	return res, w.check(err)
}

func (w *watchedAPI) ExecCreate(ctx context.Context, container string, options client.ExecCreateOptions) (client.ExecCreateResult, error) {
	res, err := w.API.ExecCreate(ctx, container, options)
	return res, w.check(err)
}

func (w *watchedAPI) ExecAttach(ctx context.Context, execID string, options client.ExecAttachOptions) (client.ExecAttachResult, error) {
	res, err := w.API.ExecAttach(ctx, execID, options)
	return res, w.check(err)
}

func (w *watchedAPI) ExecInspect(ctx context.Context, execID string, options client.ExecInspectOptions) (client.ExecInspectResult, error) {
	res, err := w.API.ExecInspect(ctx, execID, options)
	return res, w.check(err)
}

func (w *watchedAPI) ExecResize(ctx context.Context, execID string, options client.ExecResizeOptions) (client.ExecResizeResult, error) {
	res, err := w.API.ExecResize(ctx, execID, options)
	return res, w.check(err)
}

func (w *watchedAPI) VolumeCreate(ctx context.Context, options client.VolumeCreateOptions) (client.VolumeCreateResult, error) {
	res, err := w.API.VolumeCreate(ctx, options)
	return res, w.check(err)
}

func (w *watchedAPI) VolumeList(ctx context.Context, options client.VolumeListOptions) (client.VolumeListResult, error) {
	res, err := w.API.VolumeList(ctx, options)
	return res, w.check(err)
}

func (w *watchedAPI) VolumeRemove(ctx context.Context, volumeID string, options client.VolumeRemoveOptions) (client.VolumeRemoveResult, error) {
	res, err := w.API.VolumeRemove(ctx, volumeID, options)
	return res, w.check(err)
}

func (w *watchedAPI) DiskUsage(ctx context.Context, options client.DiskUsageOptions) (client.DiskUsageResult, error) {
	res, err := w.API.DiskUsage(ctx, options)
	return res, w.check(err)
}
