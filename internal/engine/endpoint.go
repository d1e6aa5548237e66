package engine

import (
	"cmp"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/docker/go-connections/tlsconfig"
	"github.com/moby/moby/client"

	"github.com/nixcross/nixcross/internal/status"
)

// Selection is what the user said about which daemon to use.
type Selection struct {
	Host    string // --host
	Context string // --context
	// Getenv reads the environment (os.Getenv when nil).
	Getenv func(string) string
	// ConfigDir is the Docker CLI config dir (DOCKER_CONFIG or ~/.docker when empty).
	ConfigDir string
	// Origin names where Host or Context came from when not the global
	// flags ("--host-for aarch64-linux", a fleet file), for messages.
	Origin string
}

// Endpoint is a resolved daemon address and how it was found.
type Endpoint struct {
	Host   string
	Source string // "--host", "DOCKER_HOST", "context foo (DOCKER_CONTEXT)", "default socket", ...
	// TLS material, from DOCKER_CERT_PATH/DOCKER_TLS_VERIFY or the context.
	TLSVerify bool
	CAFile    string
	CertFile  string
	KeyFile   string
	UseTLS    bool
	// ShellFlags is what the docker CLI (and nixcross) needs on its command
	// line to reach this endpoint from the user's shell, with a space
	// before it: "" when the shell's environment or config finds it
	// already (DOCKER_HOST, DOCKER_CONTEXT, the current context, the
	// default socket), else " -H HOST" or " --context NAME" (a --host,
	// --context, --host-for or fleet route). Resolve sets it.
	ShellFlags string
}

// Local reports whether the daemon shares this machine's filesystem, so a
// bind mount of a local directory shows the user's files: a unix socket or
// a Windows named pipe. TCP and SSH endpoints are taken to be remote.
func (e Endpoint) Local() bool {
	return strings.HasPrefix(e.Host, "unix://") || strings.HasPrefix(e.Host, "npipe://")
}

func (s Selection) getenv(k string) string {
	if s.Getenv != nil {
		return s.Getenv(k)
	}
	return os.Getenv(k)
}

func (s Selection) configDir() string {
	if s.ConfigDir != "" {
		return s.ConfigDir
	}
	if d := s.getenv("DOCKER_CONFIG"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".docker")
}

// DefaultHost is the daemon address used when nothing selects another.
func DefaultHost() string {
	if runtime.GOOS == "windows" {
		return "npipe:////./pipe/docker_engine"
	}
	return "unix:///var/run/docker.sock"
}

// Resolve finds the endpoint the way the docker CLI does: --host, then
// DOCKER_HOST, then --context, then DOCKER_CONTEXT, then the current
// context of the CLI config, then the default socket.
func Resolve(s Selection) (Endpoint, error) {
	if s.Host != "" && s.Context != "" {
		return Endpoint{}, status.Usage(errors.New("--host and --context cannot be used together"), "pick one")
	}
	if s.Host != "" {
		return withEnvTLS(s, Endpoint{Host: s.Host, Source: cmp.Or(s.Origin, "--host"), ShellFlags: " -H " + s.Host})
	}
	if s.Context == "" {
		if h := s.getenv("DOCKER_HOST"); h != "" {
			return withEnvTLS(s, Endpoint{Host: h, Source: "DOCKER_HOST"})
		}
	}
	name, source := s.Context, cmp.Or(s.Origin, "--context")
	flags := " --context " + name // chosen here, not by the shell's environment
	if name == "" {
		flags = ""
		name, source = s.getenv("DOCKER_CONTEXT"), "DOCKER_CONTEXT"
	}
	if name == "" {
		name, source = currentContext(s.configDir()), "current context in "+filepath.Join(s.configDir(), "config.json")
	}
	if name == "" || name == "default" {
		src := "default socket"
		if name == "default" && source != "" && !strings.HasPrefix(source, "current context") {
			src = "context default (" + source + ")"
		}
		return withEnvTLS(s, Endpoint{Host: DefaultHost(), Source: src, ShellFlags: flags})
	}
	ep, err := loadContext(s.configDir(), name)
	if err != nil {
		return Endpoint{}, status.Environment(fmt.Errorf("docker context %q (%s): %w", name, source, err),
			"list contexts with `docker context ls`, or select a daemon with --host")
	}
	ep.Source = fmt.Sprintf("context %s (%s)", name, source)
	ep.ShellFlags = flags
	return ep, nil
}

func withEnvTLS(s Selection, ep Endpoint) (Endpoint, error) {
	certPath := s.getenv("DOCKER_CERT_PATH")
	verify := s.getenv("DOCKER_TLS_VERIFY") != ""
	if certPath == "" && !verify {
		return ep, nil
	}
	if certPath == "" {
		certPath = s.configDir()
	}
	ep.UseTLS = true
	ep.TLSVerify = verify
	ep.CAFile = filepath.Join(certPath, "ca.pem")
	ep.CertFile = filepath.Join(certPath, "cert.pem")
	ep.KeyFile = filepath.Join(certPath, "key.pem")
	return ep, nil
}

func currentContext(dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return ""
	}
	var cfg struct {
		CurrentContext string `json:"currentContext"`
	}
	if json.Unmarshal(b, &cfg) != nil {
		return ""
	}
	return cfg.CurrentContext
}

// contextDigest is how the docker CLI names a context's directories.
func contextDigest(name string) string {
	sum := sha256.Sum256([]byte(name))
	return hex.EncodeToString(sum[:])
}

func loadContext(dir, name string) (Endpoint, error) {
	digest := contextDigest(name)
	b, err := os.ReadFile(filepath.Join(dir, "contexts", "meta", digest, "meta.json"))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return Endpoint{}, errors.New("no such context")
		}
		return Endpoint{}, err
	}
	var meta struct {
		Endpoints map[string]struct {
			Host          string `json:"Host"`
			SkipTLSVerify bool   `json:"SkipTLSVerify"`
		} `json:"Endpoints"`
	}
	if err := json.Unmarshal(b, &meta); err != nil {
		return Endpoint{}, fmt.Errorf("read context metadata: %w", err)
	}
	d, ok := meta.Endpoints["docker"]
	if !ok || d.Host == "" {
		return Endpoint{}, errors.New("context has no docker endpoint")
	}
	ep := Endpoint{Host: d.Host}
	tlsDir := filepath.Join(dir, "contexts", "tls", digest, "docker")
	if _, err := os.Stat(tlsDir); err == nil {
		ep.UseTLS = true
		ep.TLSVerify = !d.SkipTLSVerify
		for file, dst := range map[string]*string{"ca.pem": &ep.CAFile, "cert.pem": &ep.CertFile, "key.pem": &ep.KeyFile} {
			if _, err := os.Stat(filepath.Join(tlsDir, file)); err == nil {
				*dst = filepath.Join(tlsDir, file)
			}
		}
	}
	return ep, nil
}

func (e Endpoint) clientOptions() ([]client.Opt, error) {
	u, err := url.Parse(e.Host)
	if err != nil {
		return nil, fmt.Errorf("parse %q: %w", e.Host, err)
	}
	switch u.Scheme {
	case "unix", "npipe", "tcp", "http", "https":
	case "ssh":
		dial, err := sshDialer(u)
		if err != nil {
			return nil, err
		}
		// The host is a placeholder: every connection goes through ssh.
		return []client.Opt{client.WithHost("http://docker.example.com"), client.WithDialContext(watchDaemon(e.Host, dial))}, nil
	default:
		return nil, fmt.Errorf("unsupported scheme %q (use unix://, tcp://, ssh:// or npipe://)", u.Scheme)
	}
	opts := []client.Opt{client.WithHost(e.Host)}
	dial, ok := endpointDialer(u)
	if e.UseTLS {
		if !ok {
			return nil, fmt.Errorf("TLS with a %s:// endpoint is not supported (use tcp://)", u.Scheme)
		}
		cfg, err := tlsconfig.Client(tlsconfig.Options{CAFile: e.CAFile, CertFile: e.CertFile, KeyFile: e.KeyFile,
			InsecureSkipVerify: !e.TLSVerify, ExclusiveRootPools: true})
		if err != nil {
			return nil, fmt.Errorf("TLS for %s: %w", e.Host, err)
		}
		// TLS on top of the watched dial rather than the client's own: the
		// client dials hijacked streams (exec, attach) itself when it holds
		// the TLS configuration, and those would go unwatched.
		dial = tlsDialer(dial, cfg, u.Hostname())
	}
	if ok {
		opts = append(opts, client.WithDialContext(watchDaemon(e.Host, dial)))
	}
	return opts, nil
}

// tlsDialer runs TLS over what dial connects, verifying the server as
// serverName (unless cfg skips verification).
func tlsDialer(dial dialFunc, cfg *tls.Config, serverName string) dialFunc {
	cfg = cfg.Clone()
	if cfg.ServerName == "" {
		cfg.ServerName = serverName
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		tc := tls.Client(c, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			c.Close()
			return nil, fmt.Errorf("TLS handshake: %w", err)
		}
		return tc, nil
	}
}

// ContextNames lists the Docker contexts in the selection's config
// directory, "default" first, for shell completion; unreadable ones are
// skipped.
func ContextNames(s Selection) []string {
	names := []string{"default"}
	metas, _ := filepath.Glob(filepath.Join(s.configDir(), "contexts", "meta", "*", "meta.json"))
	for _, m := range metas {
		b, err := os.ReadFile(m)
		if err != nil {
			continue
		}
		var meta struct{ Name string }
		if json.Unmarshal(b, &meta) == nil && meta.Name != "" && meta.Name != "default" {
			names = append(names, meta.Name)
		}
	}
	return names
}
