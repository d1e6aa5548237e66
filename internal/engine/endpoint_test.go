package engine

import (
	"os"
	"path/filepath"
	"testing"
)

// writeContext lays out a context the way the docker CLI stores it.
func writeContext(t *testing.T, dir, name, host string, tls bool) {
	t.Helper()
	meta := filepath.Join(dir, "contexts", "meta", contextDigest(name))
	if err := os.MkdirAll(meta, 0o755); err != nil {
		t.Fatal(err)
	}
	body := `{"Name":"` + name + `","Metadata":{},"Endpoints":{"docker":{"Host":"` + host + `","SkipTLSVerify":false}}}`
	if err := os.WriteFile(filepath.Join(meta, "meta.json"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if tls {
		d := filepath.Join(dir, "contexts", "tls", contextDigest(name), "docker")
		os.MkdirAll(d, 0o755)
		for _, f := range []string{"ca.pem", "cert.pem", "key.pem"} {
			os.WriteFile(filepath.Join(d, f), []byte("x"), 0o600)
		}
	}
}

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	writeContext(t, dir, "colima", "unix:///Users/me/.colima/default/docker.sock", false)
	writeContext(t, dir, "arm-server", "tcp://10.0.0.5:2376", true)
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"auths":{},"currentContext":"colima"}`), 0o600)
	empty := t.TempDir()

	cases := []struct {
		name      string
		sel       Selection
		env       map[string]string
		host      string
		source    string
		local     bool
		tls       bool
		wantError bool
	}{
		{name: "flag wins", sel: Selection{Host: "tcp://1.2.3.4:2375", ConfigDir: dir}, env: map[string]string{"DOCKER_HOST": "unix:///x.sock"}, host: "tcp://1.2.3.4:2375", source: "--host"},
		{name: "DOCKER_HOST over contexts", sel: Selection{ConfigDir: dir}, env: map[string]string{"DOCKER_HOST": "unix:///x.sock", "DOCKER_CONTEXT": "arm-server"}, host: "unix:///x.sock", source: "DOCKER_HOST", local: true},
		{name: "--context over DOCKER_HOST", sel: Selection{Context: "arm-server", ConfigDir: dir}, env: map[string]string{"DOCKER_HOST": "unix:///x.sock"}, host: "tcp://10.0.0.5:2376", source: "context arm-server (--context)", tls: true},
		{name: "DOCKER_CONTEXT", sel: Selection{ConfigDir: dir}, env: map[string]string{"DOCKER_CONTEXT": "arm-server"}, host: "tcp://10.0.0.5:2376", source: "context arm-server (DOCKER_CONTEXT)", tls: true},
		{name: "current context", sel: Selection{ConfigDir: dir}, host: "unix:///Users/me/.colima/default/docker.sock", source: "context colima (current context in " + filepath.Join(dir, "config.json") + ")", local: true},
		{name: "default socket", sel: Selection{ConfigDir: empty}, host: "unix:///var/run/docker.sock", source: "default socket", local: true},
		{name: "default context by name", sel: Selection{Context: "default", ConfigDir: dir}, host: "unix:///var/run/docker.sock", source: "context default (--context)", local: true},
		{name: "env TLS", sel: Selection{ConfigDir: empty}, env: map[string]string{"DOCKER_HOST": "tcp://h:2376", "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": "/certs"}, host: "tcp://h:2376", source: "DOCKER_HOST", tls: true},
		{name: "unknown context", sel: Selection{Context: "nope", ConfigDir: dir}, wantError: true},
		{name: "host and context", sel: Selection{Host: "unix:///a", Context: "colima"}, wantError: true},
		{name: "DOCKER_CONFIG", sel: Selection{}, env: map[string]string{"DOCKER_CONFIG": dir}, host: "unix:///Users/me/.colima/default/docker.sock", local: true, source: "context colima (current context in " + filepath.Join(dir, "config.json") + ")"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sel := c.sel
			sel.Getenv = func(k string) string { return c.env[k] }
			ep, err := Resolve(sel)
			if c.wantError {
				if err == nil {
					t.Fatalf("no error, got %+v", ep)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ep.Host != c.host || ep.Source != c.source || ep.Local() != c.local || ep.UseTLS != c.tls {
				t.Fatalf("got %+v (local %v), want host %s source %q local %v tls %v", ep, ep.Local(), c.host, c.source, c.local, c.tls)
			}
		})
	}
}

// TestShellFlags: an endpoint the user's shell finds by itself needs no
// flag; one a flag, --host-for or the fleet chose is named.
func TestShellFlags(t *testing.T) {
	cfg := t.TempDir()
	writeContext(t, cfg, "arm", "ssh://me@arm", false)
	os.WriteFile(filepath.Join(cfg, "config.json"), []byte(`{"currentContext":"arm"}`), 0o644)
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	empty := t.TempDir()
	for _, c := range []struct {
		sel  Selection
		want string
	}{
		{Selection{ConfigDir: empty, Getenv: env()}, ""},                              // default socket
		{Selection{ConfigDir: empty, Getenv: env("DOCKER_HOST", "tcp://a:2375")}, ""}, // DOCKER_HOST
		{Selection{ConfigDir: cfg, Getenv: env("DOCKER_CONTEXT", "arm")}, ""},         // DOCKER_CONTEXT
		{Selection{ConfigDir: cfg, Getenv: env()}, ""},                                // the current context
		{Selection{ConfigDir: cfg, Context: "arm", Getenv: env()}, " --context arm"},  // --context
		{Selection{ConfigDir: cfg, Context: "arm", Origin: "fleet /f: aarch64-linux", Getenv: env()}, " --context arm"},
		{Selection{Host: "tcp://a:2375", Getenv: env()}, " -H tcp://a:2375"}, // --host
		{Selection{Host: "tcp://a:2375", Origin: "--host-for aarch64-linux", Getenv: env()}, " -H tcp://a:2375"},
	} {
		ep, err := Resolve(c.sel)
		if err != nil {
			t.Fatalf("%+v: %v", c.sel, err)
		}
		if ep.ShellFlags != c.want {
			t.Errorf("%+v (%s): %q, want %q", c.sel, ep.Source, ep.ShellFlags, c.want)
		}
	}
}
