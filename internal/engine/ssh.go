package engine

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"time"
)

// sshDialer reaches a daemon behind ssh://user@host the way the docker CLI
// does: run `docker system dial-stdio` on the remote host and speak HTTP over
// the ssh session's stdin/stdout.
func sshDialer(u *url.URL) (func(ctx context.Context, network, addr string) (net.Conn, error), error) {
	if u.Host == "" {
		return nil, fmt.Errorf("ssh endpoint %q has no host", u.String())
	}
	args := sshArgs(u, "docker", "system", "dial-stdio")
	return func(ctx context.Context, _, _ string) (net.Conn, error) {
		return startSSH(exec.Command("ssh", args...))
	}, nil
}

// startSSH starts cmd, an ssh client, and returns a connection over its
// stdin and stdout.
func startSSH(cmd *exec.Cmd) (*cmdConn, error) {
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start ssh: %w", err)
	}
	return &cmdConn{cmd: cmd, r: stdout, w: stdin}, nil
}

// sshArgs are ssh's arguments to run remote on the host of u, with the
// user's own ssh configuration otherwise (as the docker CLI does).
func sshArgs(u *url.URL, remote ...string) []string {
	args := []string{"-o", "ConnectTimeout=5", "-T"}
	if u.Port() != "" {
		args = append(args, "-p", u.Port())
	}
	target := u.Hostname()
	if u.User != nil {
		target = u.User.Username() + "@" + target
	}
	return append(append(args, "--", target), remote...)
}

// agentForwardCmd runs on the daemon's host in a session with agent
// forwarding: it prints where sshd put the forwarded agent's socket and
// holds the session (and so the socket) open until its stdin closes.
const agentForwardCmd = `printf '%s\n' "$SSH_AUTH_SOCK"; exec cat >/dev/null`

// ForwardAgent makes the client's ssh agent (agentSock, its
// SSH_AUTH_SOCK) reachable on the host of an ssh:// endpoint, where its
// daemon can bind-mount it: an ssh session with agent forwarding (-A)
// holds a socket there for as long as it lasts. It returns that socket's
// path and the function that ends the session. The private keys never
// leave the agent.
func (e *Engine) ForwardAgent(ctx context.Context, agentSock string) (string, func(), error) {
	u, err := url.Parse(e.Endpoint.Host)
	if err != nil || u.Scheme != "ssh" || u.Host == "" {
		return "", nil, fmt.Errorf("agent forwarding needs an ssh:// endpoint, not %s", e.Endpoint.Host)
	}
	args := append([]string{"-A", "-o", "ForwardAgent=yes"}, sshArgs(u, agentForwardCmd)...)
	cmd := exec.Command("ssh", args...)
	cmd.Env = append(os.Environ(), "SSH_AUTH_SOCK="+agentSock)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	conn, err := startSSH(cmd)
	if err != nil {
		return "", nil, err
	}
	// Closing ssh's stdin ends the remote `cat`, and so the session; a
	// session that does not end is killed.
	stop := func() {
		conn.CloseWrite()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			conn.Close()
			<-done
		}
	}
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(conn).ReadString('\n')
		line <- strings.TrimSpace(s)
		io.Copy(io.Discard, conn)
	}()
	var sock string
	select {
	case sock = <-line:
	case <-ctx.Done():
		stop()
		return "", nil, context.Cause(ctx)
	case <-time.After(15 * time.Second):
		stop()
		return "", nil, fmt.Errorf("ssh to %s did not answer within 15 s", u.Host)
	}
	if sock == "" {
		stop()
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = "no forwarded agent socket (is AllowAgentForwarding off in its sshd_config?)"
		}
		return "", nil, fmt.Errorf("ssh to %s: %s", u.Host, msg)
	}
	return sock, stop, nil
}

// cmdConn is a net.Conn over a child process's stdio.
type cmdConn struct {
	cmd *exec.Cmd
	r   io.ReadCloser
	w   io.WriteCloser
}

func (c *cmdConn) Read(p []byte) (int, error)  { return c.r.Read(p) }
func (c *cmdConn) Write(p []byte) (int, error) { return c.w.Write(p) }

// CloseWrite half-closes the connection, as an exec's stdin ends: closing
// ssh's stdin reaches `docker system dial-stdio`, which half-closes its
// own connection to the daemon. Without it a command reading its stdin to
// the end (installSecret's `cat`) waits for ever.
func (c *cmdConn) CloseWrite() error { return c.w.Close() }
func (c *cmdConn) Close() error {
	c.w.Close()
	c.r.Close()
	if c.cmd.Process != nil {
		c.cmd.Process.Kill()
	}
	c.cmd.Wait()
	return nil
}
func (c *cmdConn) LocalAddr() net.Addr                { return dummyAddr{} }
func (c *cmdConn) RemoteAddr() net.Addr               { return dummyAddr{} }
func (c *cmdConn) SetDeadline(t time.Time) error      { return nil }
func (c *cmdConn) SetReadDeadline(t time.Time) error  { return nil }
func (c *cmdConn) SetWriteDeadline(t time.Time) error { return nil }

type dummyAddr struct{}

func (dummyAddr) Network() string { return "ssh" }
func (dummyAddr) String() string  { return "ssh" }
