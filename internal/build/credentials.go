package build

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"

	"github.com/moby/moby/api/types/mount"

	"github.com/nixcross/nixcross/internal/nix"
	"github.com/nixcross/nixcross/internal/status"
)

// Forwarded is what reaches private inputs, handed to Nix in the build
// container for one run: files (the settings among them) go through an
// exec into a tmpfs only root may read (gone with the container), the
// agent's socket into a directory only root may enter; none of it is in
// an image, the cache volume, a log, --json or a process's environment,
// and builders, which run as build users, reach none of it.
type Forwarded struct {
	Nix nix.Credentials
	// SSHAgent is the client's agent socket (SSH_AUTH_SOCK); the private
	// keys stay in the agent.
	SSHAgent string
	// KnownHosts is the client's known_hosts file: host keys are checked,
	// never accepted on first sight.
	KnownHosts string
	// AWS are the client's AWS credential variables ("NAME=value"), for
	// the push to an s3:// store and nothing else.
	AWS []string
}

// Where forwarded credentials go: the agent's socket is a bind mount in a
// directory of its own that only root may enter (the socket's own mode is
// the client's, often open to all: Docker Desktop's is); the files go into
// the build container's in-memory secrets directory. Builders run as
// build users (see addBuildUsers), so they reach neither.
const (
	agentDir             = "/run/nixcross-agent"
	agentSocket          = agentDir + "/agent.sock"
	inputsKnownHostsPath = secretsDir + "/inputs-known_hosts"
	netrcPath            = secretsDir + "/netrc"
	// credentialsConf holds the forwarded Nix settings (access-tokens,
	// netrc-file), which NIX_CONFIG includes: in a file only root may
	// read, never in a process's environment.
	credentialsConf = secretsDir + "/credentials.conf"
)

// desktopAgent is where Docker Desktop for Mac serves the host's agent
// to containers.
const desktopAgent = "/run/host-services/ssh-auth.sock"

// agentSource is the agent socket as the daemon can mount it, "" when it
// cannot, and what ends its forwarding (nil for none). A local daemon
// mounts the client's socket (Docker Desktop's own on macOS). A daemon
// behind ssh:// gets one that an ssh session with agent forwarding holds
// on its host (engine.ForwardAgent) for the run. Other remote daemons have
// no way to the client's socket.
func (r *Runner) agentSource(ctx context.Context, f *Forwarded) (string, func()) {
	switch {
	case f == nil || f.SSHAgent == "":
		return "", nil
	case r.Engine.Endpoint.Local() && runtime.GOOS == "darwin":
		return desktopAgent, nil
	case r.Engine.Endpoint.Local():
		return f.SSHAgent, nil
	case strings.HasPrefix(r.Engine.Endpoint.Host, "ssh://"):
		sock, stop, err := r.Engine.ForwardAgent(ctx, f.SSHAgent)
		if err != nil {
			r.UI.Warnf("the ssh agent is not forwarded to the daemon's host (%v): inputs that need it will fail", err)
			return "", nil
		}
		return sock, stop
	}
	return "", nil
}

// agentMounts shares the ssh agent's socket with the container, in a
// directory root's alone (the daemon mounts the tmpfs first: it orders
// mounts by depth).
func agentMounts(source string) []mount.Mount {
	if source == "" {
		return nil
	}
	return []mount.Mount{
		{Type: mount.TypeTmpfs, Target: agentDir, TmpfsOptions: &mount.TmpfsOptions{SizeBytes: 4096, Mode: 0o700}},
		{Type: mount.TypeBind, Source: source, Target: agentSocket},
	}
}

// credentialEnv puts the forwarded files into the container and returns
// the build exec's environment that makes Nix (and the git and ssh it
// runs) use them.
func (r *Runner) credentialEnv(ctx context.Context, id string, req Request, prep Prepared) ([]string, error) {
	f := req.Forward
	if f == nil {
		if len(req.Secrets) == 0 {
			return nil, nil
		}
		f = &Forwarded{}
	}
	agent := prep.agent != ""
	var env []string
	// Into the in-memory secrets directory, like the builders' key: never
	// in the container's layer, gone before a --keep-failed container is
	// kept.
	put := func(path, src string) error {
		data, err := os.ReadFile(src)
		if err != nil {
			return status.Usage(fmt.Errorf("read %s: %w", src, err), "")
		}
		return r.installSecret(ctx, id, path, data)
	}
	netrc := ""
	if f.Nix.NetrcFile != "" {
		if err := put(netrcPath, f.Nix.NetrcFile); err != nil {
			return nil, err
		}
		netrc = netrcPath
	}
	if !f.Nix.Empty() || len(req.Secrets) > 0 {
		// The settings go in a file NIX_CONFIG includes, not in
		// NIX_CONFIG itself: nothing secret in any process's environment.
		// The user's --option comes last, as on Nix's command line.
		conf := f.Nix.Config(netrc)
		for _, o := range req.Secrets {
			conf += "\n" + o.Name + " = " + o.Value
		}
		if err := r.installSecret(ctx, id, credentialsConf, []byte(conf)); err != nil {
			return nil, err
		}
		env = append(env, "NIX_CONFIG="+nixConfig(prep.Sandbox)+"\ninclude "+credentialsConf)
	}
	if agent {
		env = append(env, "SSH_AUTH_SOCK="+agentSocket)
	}
	if agent || f.KnownHosts != "" {
		// Without the user's known_hosts every host is unknown, and
		// StrictHostKeyChecking refuses it rather than trusting it.
		if f.KnownHosts != "" {
			if err := put(inputsKnownHostsPath, f.KnownHosts); err != nil {
				return nil, err
			}
		}
		env = append(env, "GIT_SSH_COMMAND=ssh -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile="+inputsKnownHostsPath)
	}
	return env, nil
}
