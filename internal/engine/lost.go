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

	"github.com/nixcross/nixcross/internal/status"
)

// Every byte between nixcross and the daemon goes through a connection
// this file dials and watches, so that a daemon that cannot be reached,
// refuses, or goes away in the middle of a build or an export is one kind
// of error (status.KindDaemon, exit 3) naming the daemon, wherever the
// call or the stream that noticed it was. Errors the client causes itself
// (closing a stream, a cancelled context, a deadline) stay what they are.

// DaemonError is a failure to reach, or to keep talking to, the daemon.
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

func (e *DaemonError) Unwrap() error { return e.Err }

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
