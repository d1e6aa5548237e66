//go:build integration

package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// What --sandbox does when the Docker host will not give the build
// container what Nix's sandbox needs (seccomp=unconfined and
// systempaths=unconfined). Two real hosts behave like that: a daemon whose
// authorization plugin refuses the request, and a platform in front of the
// daemon that enforces its own security profile by dropping those options.
// This machine's daemon and kernel allow both options (and its sysctls
// cannot be changed from here: user.max_user_namespaces is read-only to
// us), so the tests put such a policy between nixcross and the real
// daemon: an HTTP proxy that refuses or strips the options on container
// create. Everything behind it is real: the daemon, the kernel's seccomp
// filter and namespaces, and Nix deciding whether it can sandbox.

// sandboxPolicy is what the proxy does to a create asking for the options:
// refuse it with 403, as an authorization plugin answers, or drop some of
// them and create anyway.
type sandboxPolicy struct {
	refuse                    bool
	stripSeccomp, stripMasked bool
}

var (
	refuseSandbox = sandboxPolicy{refuse: true}
	stripSandbox  = sandboxPolicy{stripSeccomp: true, stripMasked: true}
)

// reCreate matches the container create endpoint, versioned or not.
var reCreate = regexp.MustCompile(`^(/v[0-9.]+)?/containers/create$`)

// policyProxy serves the Docker API on TCP, forwarding to the daemon's
// unix socket, and applies policy to creates that ask for the sandbox's
// options. hits counts those creates.
func policyProxy(t *testing.T, policy sandboxPolicy) (host string, hits *atomic.Int32) {
	t.Helper()
	u, err := url.Parse(docker.DaemonHost())
	if err != nil || u.Scheme != "unix" {
		t.Skipf("the proxy forwards to a unix socket; the daemon is at %s", docker.DaemonHost())
	}
	hits = new(atomic.Int32)
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.Out.URL.Scheme, r.Out.URL.Host = "http", "docker"
		},
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", u.Path)
		}},
		FlushInterval: -1, // logs and waits stream as the daemon sends them
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && reCreate.MatchString(r.URL.Path) {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			if out, asked := applyPolicy(t, body, policy); asked {
				hits.Add(1)
				if policy.refuse {
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusForbidden)
					json.NewEncoder(w).Encode(map[string]string{"message": "authorization denied by plugin sandbox-policy: security options seccomp=unconfined and systempaths=unconfined are not allowed on this host"})
					return
				}
				body = out
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.ContentLength = int64(len(body))
			r.Header.Set("Content-Length", strconv.Itoa(len(body)))
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return "tcp://" + srv.Listener.Addr().String(), hits
}

// applyPolicy reports whether a create body asks for the sandbox's options
// and returns it without them (the daemon's defaults apply then).
func applyPolicy(t *testing.T, body []byte, policy sandboxPolicy) ([]byte, bool) {
	var create map[string]json.RawMessage
	if err := json.Unmarshal(body, &create); err != nil {
		t.Errorf("create body: %v", err)
		return body, false
	}
	var hc map[string]json.RawMessage
	if err := json.Unmarshal(create["HostConfig"], &hc); err != nil {
		return body, false
	}
	var opts []string
	json.Unmarshal(hc["SecurityOpt"], &opts)
	asked := false
	kept := []string{}
	for _, o := range opts {
		if o == "seccomp=unconfined" {
			asked = true
			if policy.stripSeccomp {
				continue
			}
		}
		kept = append(kept, o)
	}
	// systempaths=unconfined is empty MaskedPaths and ReadonlyPaths.
	if m, ok := hc["MaskedPaths"]; ok && string(m) == "[]" {
		asked = true
		if policy.stripMasked {
			delete(hc, "MaskedPaths")
			delete(hc, "ReadonlyPaths")
		}
	}
	if !asked || policy.refuse {
		return body, asked
	}
	hc["SecurityOpt"], _ = json.Marshal(kept)
	create["HostConfig"], _ = json.Marshal(hc)
	out, err := json.Marshal(create)
	if err != nil {
		t.Fatal(err)
	}
	return out, true
}

// TestSandboxWithoutPrivilege: --sandbox on a host that refuses or strips
// what the sandbox needs, or either half of it, fails with exit 3 and says what is missing; it
// never builds unsandboxed. The derivation reads the container's
// /etc/passwd, so it builds only where nothing confines it (TestSandbox):
// no result means it did not run unconfined.
func TestSandboxWithoutPrivilege(t *testing.T) {
	for _, tc := range []struct {
		name   string
		policy sandboxPolicy
		says   string // what the error names, beyond the hint
		doctor string // what doctor says of --sandbox
	}{
		{"refused by the daemon", refuseSandbox, "authorization denied by plugin sandbox-policy", "unavailable: the daemon refused the container"},
		{"stripped before the daemon", stripSandbox, "could not set up its build sandbox", "unavailable: the kernel refused the sandbox's namespaces"},
		// Each of the two is needed: without either, Nix refuses.
		{"default seccomp profile", sandboxPolicy{stripSeccomp: true}, "could not set up its build sandbox", "unavailable: the kernel refused the sandbox's namespaces"},
		{"masked /proc", sandboxPolicy{stripMasked: true}, "could not set up its build sandbox", "unavailable: the kernel refused the sandbox's namespaces"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			host, hits := policyProxy(t, tc.policy)
			dir := workdir(t)
			before := managedContainers(t, "")
			r := nixcross(t, dir, nil, append([]string{"-H", host, "build", fixtureDir + "#passwd", "--system", "x86_64-linux", "--no-cache", "--sandbox", "--json"}, offline...)...)
			if hits.Load() == 0 {
				t.Fatal("no container create asked for the sandbox's options: the policy was never applied")
			}
			if r.code != 3 {
				t.Fatalf("exit %d, want 3 (the host lacks what --sandbox needs)", r.code)
			}
			for _, want := range []string{tc.says, "seccomp=unconfined", "systempaths=unconfined", "without --sandbox"} {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("stderr does not say %q", want)
				}
			}
			if strings.Contains(r.stderr, "builder: ") {
				t.Error("the derivation's builder ran")
			}
			if _, err := os.Lstat(filepath.Join(dir, "result")); !os.IsNotExist(err) {
				t.Errorf("a result was written (%v): the derivation built unsandboxed", err)
			}
			if builds := parseBuilds(t, r.stdout); len(builds) != 1 || builds[0].Error == "" || len(builds[0].Outputs) != 0 {
				t.Errorf("--json: %+v, want one build with an error and no outputs", builds)
			}
			if after := managedContainers(t, ""); len(after) > len(before) {
				t.Errorf("containers left behind: %v (before: %v)", after, before)
			}
			// doctor foresees it (and counts it as no problem of its own).
			if d := nixcross(t, dir, nil, "-H", host, "doctor"); !strings.Contains(d.stdout, "sandbox           "+tc.doctor) {
				t.Errorf("doctor does not say %q:\n%s", tc.doctor, d.stdout)
			}
		})
	}
}
