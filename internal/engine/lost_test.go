package engine

import (
	"context"
	"errors"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/moby/client"

	"github.com/nixcross/nixcross/internal/status"
)

// A daemon that is not there fails every call as a daemon error naming
// it, through the Docker client's own wrapping.
func TestUnreachableDaemonIsADaemonError(t *testing.T) {
	host := "unix://" + filepath.Join(t.TempDir(), "docker.sock")
	opts, err := Endpoint{Host: host}.clientOptions()
	if err != nil {
		t.Fatal(err)
	}
	cli, err := client.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	api := &watchedAPI{API: cli, host: host}
	_, err = api.ContainerList(context.Background(), client.ContainerListOptions{})
	var de *DaemonError
	if status.KindOf(err) != status.KindDaemon || status.ExitCode(err) != status.ExitEnvironment || !errors.As(err, &de) || de.Lost {
		t.Fatalf("ContainerList against no daemon: %v (kind %s), want an unreachable-daemon error", err, status.KindOf(err))
	}
	if !strings.Contains(err.Error(), "cannot reach the Docker daemon at "+host) {
		t.Errorf("the error does not name the daemon: %v", err)
	}
}

// A connection the daemon resets is a lost daemon; a connection nixcross
// closed itself, and a stream's end, are not.
func TestLostConnection(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan *net.TCPConn, 2)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c.(*net.TCPConn)
		}
	}()
	host := "tcp://" + ln.Addr().String()
	u := mustParse(t, host)
	base, ok := endpointDialer(u)
	if !ok {
		t.Fatal("no dialer for tcp")
	}
	dial := watchDaemon(host, base)
	ctx := context.Background()

	c, err := dial(ctx, "tcp", "ignored:0")
	if err != nil {
		t.Fatal(err)
	}
	server := <-accepted
	server.SetLinger(0) // close with a reset, as a daemon that dies does
	server.Close()
	_, err = c.Read(make([]byte, 1))
	var de *DaemonError
	if status.KindOf(err) != status.KindDaemon || !errors.As(err, &de) || !de.Lost || !strings.Contains(err.Error(), "lost the connection to the Docker daemon at "+host) {
		t.Fatalf("read from a reset connection: %v, want a lost-daemon error", err)
	}
	c.Close()

	c, err = dial(ctx, "tcp", "ignored:0")
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	server.Close() // an orderly end
	if _, err := c.Read(make([]byte, 1)); err == nil || status.KindOf(err) == status.KindDaemon {
		t.Errorf("the end of a stream is a daemon error: %v", err)
	}
	c.Close()
	if _, err := c.Read(make([]byte, 1)); err == nil || status.KindOf(err) == status.KindDaemon {
		t.Errorf("reading a connection nixcross closed is a daemon error: %v", err)
	}
	if _, ok := c.(closeWriter); !ok {
		t.Error("the watched TCP connection lost CloseWrite, which exec streams need")
	}

	ln.Close()
	if _, err := dial(ctx, "tcp", "ignored:0"); status.KindOf(err) != status.KindDaemon {
		t.Errorf("dial to a closed port: %v, want a daemon error", err)
	}
}

func mustParse(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
